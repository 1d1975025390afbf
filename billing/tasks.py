"""Celery entry points of billing: thin, they take ids and call the rendering/sending code.

The recurring billing run is shared by the workers in chunks (``billing.chunks``):
``billing_run_dispatch`` (or the nightly job ``billing.recurring`` run by a worker)
queues one ``recurring_chunk_task`` per chunk of contract ids; each chunk queues the
``render_invoice_pdfs_task`` of its invoices after its commit. Every task logs which
worker did what (``billing.tasks`` logger), and all are idempotent, so a message
delivered twice (a worker killed before its acknowledgement) changes nothing more.
"""
import datetime
import logging

from celery import shared_task

from billing import pdf

logger = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def recurring_chunk_task(self, contract_ids: list[int], date: str, *, index: int = 0, total: int = 0,
                         render_pdf: bool = True):
    """CGV B1: issue the due invoices of one chunk of contracts, in one transaction (``billing.chunks``).

    ``reject_on_worker_lost``: a pool process killed mid-chunk puts the message
    back in the queue (its transaction was rolled back); the chunk is idempotent.
    """
    from billing import chunks

    result = chunks.recurring_chunk_issue(
        contract_ids=contract_ids, today=datetime.date.fromisoformat(date), render_pdf=render_pdf
    )
    logger.info(
        "billing.recurring %s chunk %s/%s by %s: %s contracts, %s issued, %s already invoiced",
        date, index, total, self.request.hostname, len(contract_ids), result["issued"], result["already_invoiced"],
    )
    return result


@shared_task(acks_late=True)
def billing_run_dispatch(date: str, chunk_size: int | None = None, render_pdf: bool = True):
    """Queue the recurring billing run of ``date`` in chunks for the workers (what beat's nightly job does)."""
    from billing import chunks

    return chunks.recurring_run(
        today=datetime.date.fromisoformat(date), size=chunk_size, queue=True, render_pdf=render_pdf
    )


@shared_task(bind=True, acks_late=True)
def render_invoice_pdfs_task(self, invoice_ids: list[int]):
    """Render (once) and e-mail (once, keyed) the PDFs of freshly issued invoices.

    Not ``reject_on_worker_lost``: a PDF that kills its process (memory) would
    otherwise come back forever; the nightly ``billing.missing_pdfs`` re-queues it once a night.
    """
    from billing.models import Invoice
    from billing.services import invoice_send_email

    rendered = failed = 0
    for invoice_id in invoice_ids:
        try:
            if pdf.invoice_render_and_store(invoice_id):
                rendered += 1
                invoice_send_email(actor=None, invoice=Invoice.objects.select_related("client").get(pk=invoice_id))
        except Exception:  # one bad invoice must not block the others; the nightly job re-queues it
            failed += 1
            logger.exception("PDF of invoice %s failed", invoice_id)
    logger.info(
        "billing.pdf chunk of %s invoices (first id %s) by %s: %s rendered, %s failed, %s already had one",
        len(invoice_ids), invoice_ids[0] if invoice_ids else None, self.request.hostname, rendered, failed,
        len(invoice_ids) - rendered - failed,
    )
    return rendered


@shared_task(acks_late=True)
def render_quote_pdf_task(quote_id: int):
    return pdf.quote_render_and_store(quote_id)


@shared_task(acks_late=True)
def render_quote_signed_copy_task(quote_id: int):
    return pdf.quote_render_signed_copy(quote_id)
