"""Celery entry points of billing: thin, they take ids and call the rendering/sending code."""
import logging

from celery import shared_task

from billing import pdf


@shared_task(acks_late=True)
def render_invoice_pdfs_task(invoice_ids: list[int]):
    """Render (once) and e-mail (once, keyed) the PDFs of freshly issued invoices."""
    from billing.models import Invoice
    from billing.services import invoice_send_email

    rendered = 0
    for invoice_id in invoice_ids:
        try:
            if pdf.invoice_render_and_store(invoice_id):
                rendered += 1
                invoice_send_email(actor=None, invoice=Invoice.objects.select_related("client").get(pk=invoice_id))
        except Exception:  # one bad invoice must not block the others; the nightly job re-queues it
            logging.getLogger(__name__).exception("PDF of invoice %s failed", invoice_id)
    return rendered


@shared_task(acks_late=True)
def render_quote_pdf_task(quote_id: int):
    return pdf.quote_render_and_store(quote_id)


@shared_task(acks_late=True)
def render_quote_signed_copy_task(quote_id: int):
    return pdf.quote_render_signed_copy(quote_id)
