"""PDF rendering with WeasyPrint, from the stored snapshot only (never from live client data).

Invoices and credit notes are PDF/A-3b with their Factur-X XML embedded
(:mod:`billing.einvoice`); quotes are plain PDFs. Each PDF is rendered once,
stored under an unguessable name and then served from storage.

Speed (docs/benchmarks.md, "## billing"): the fontconfig configuration and the
static stylesheet (``templates/billing/pdf.css``) are built once per worker
thread and reused by every render; building them again cost about a third of
a warm render.
"""
import hashlib
import threading
from decimal import Decimal

import facturx
from django.conf import settings
from django.core.files.base import ContentFile
from django.template.loader import render_to_string
from django.utils import timezone, translation
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

from billing import conf
from billing.choices import InvoiceKind, PaymentMethod
from billing.einvoice import invoice_cii_xml, payment_terms_text
from billing.models import Invoice, Quote


def _rows(breakdown) -> list[dict]:
    return [
        {"rate": Decimal(r["rate"]) if r["rate"] is not None else None, "base": Decimal(r["base"]),
         "vat": Decimal(r["vat"])}
        for r in breakdown
    ]


def nature_of_supply(invoice) -> str:
    """L1 (e-invoicing reform): whether the invoice is for goods, services or both."""
    if invoice.kind == InvoiceKind.SHOP:
        return "Livraison de biens"
    if invoice.kind in (InvoiceKind.ORDER, InvoiceKind.DEPOSIT):
        return "Livraison de biens et prestations de services"
    return "Prestations de services"


_thread = threading.local()


def _renderer() -> tuple[FontConfiguration, CSS]:
    """The font configuration and the parsed static stylesheet of this thread, built on first use.

    ``FontConfiguration()`` loads fontconfig's whole configuration and font list
    (about 25 ms), and Pango's font map is not thread-safe: one per thread.
    """
    cached = getattr(_thread, "renderer", None)
    if cached is None:
        font_config = FontConfiguration()
        stylesheet = CSS(string=render_to_string("billing/pdf.css"), font_config=font_config)
        cached = _thread.renderer = (font_config, stylesheet)
    return cached


def _html_to_pdf(html: str, *, pdf_variant: str | None = None) -> bytes:
    font_config, stylesheet = _renderer()
    kwargs = {"pdf_variant": pdf_variant} if pdf_variant else {}
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf(
        font_config=font_config, stylesheets=[stylesheet], **kwargs
    )


def invoice_pdf_bytes(invoice: Invoice) -> bytes:
    """The Factur-X PDF/A-3b of an issued invoice or credit note (EN 16931 XML embedded, XSD-checked)."""
    lines = list(invoice.lines.all())
    with translation.override("fr"):
        html = render_to_string("billing/invoice_pdf.html", {
            "invoice": invoice, "lines": lines, "seller": invoice.seller, "buyer": invoice.buyer,
            "vat_rows": _rows(invoice.vat_breakdown), "nature": nature_of_supply(invoice),
            "payment_terms": payment_terms_text(invoice),
            "is_direct_debit": invoice.payment_method == PaymentMethod.DIRECT_DEBIT,
            "out_of_scope": all(line.vat_rate is None for line in lines),
            "penalty_rate": conf.get("BILLING_LATE_PENALTY_RATE_TEXT"),
            "indemnity": conf.get("BILLING_RECOVERY_INDEMNITY"),
        })
    pdf = _html_to_pdf(html, pdf_variant="pdf/a-3b")
    xml = invoice_cii_xml(invoice, lines)
    title = f"{'Avoir' if invoice.is_credit_note else 'Facture'} {invoice.number}"
    return facturx.generate_from_binary(
        pdf, xml, flavor="factur-x", level="en16931", check_xsd=True, afrelationship="alternative", lang="fr-FR",
        pdf_metadata={
            "author": invoice.seller.get("legal_name", ""), "keywords": "Factur-X, facture",
            "title": title, "subject": f"{title} du {invoice.issue_date:%d/%m/%Y}",
        },
    )


def invoice_render_and_store(invoice_id: int) -> bool:
    """Render and store the PDF of an issued invoice once; returns False when it already had one."""
    invoice = Invoice.objects.select_related("contract", "credited_invoice", "client").get(pk=invoice_id)
    if invoice.pdf or not invoice.is_issued:
        return False
    data = invoice_pdf_bytes(invoice)
    name = invoice.pdf.field.generate_filename(invoice, f"{invoice.number}.pdf")
    stored = invoice.pdf.storage.save(name, ContentFile(data))
    claimed = Invoice.objects.filter(pk=invoice.pk, pdf="").update(
        pdf=stored, pdf_sha256=hashlib.sha256(data).hexdigest(), pdf_rendered_at=timezone.now()
    )
    if not claimed:  # a concurrent worker stored it first: keep its file, drop ours
        invoice.pdf.storage.delete(stored)
        return False
    return True


def quote_pdf_bytes(quote: Quote, *, signed: bool = False) -> bytes:
    with translation.override("fr"):
        html = render_to_string("billing/quote_pdf.html", {
            "quote": quote, "lines": list(quote.lines.all()), "seller": quote.seller, "buyer": quote.buyer,
            "vat_rows": _rows(quote.vat_breakdown), "signed": signed,
            "payment_months": conf.get("BILLING_QUOTE_PAYMENT_MONTHS"),
        })
    return _html_to_pdf(html)


def quote_render_and_store(quote_id: int) -> bool:
    quote = Quote.objects.get(pk=quote_id)
    if quote.pdf:
        return False
    data = quote_pdf_bytes(quote)
    stored = quote.pdf.storage.save(quote.pdf.field.generate_filename(quote, "devis.pdf"), ContentFile(data))
    claimed = Quote.objects.filter(pk=quote.pk, pdf="").update(pdf=stored, pdf_sha256=hashlib.sha256(data).hexdigest())
    if not claimed:
        quote.pdf.storage.delete(stored)
    return bool(claimed)


def quote_render_signed_copy(quote_id: int) -> bool:
    """The signed copy: the quote with the electronic-signature block (signer, instant, IP, UA, SHA-256)."""
    quote = Quote.objects.select_related("signer_contact").get(pk=quote_id)
    if quote.signed_copy or not quote.signed_pdf_sha256:
        return False
    data = quote_pdf_bytes(quote, signed=True)
    stored = quote.signed_copy.storage.save(
        quote.signed_copy.field.generate_filename(quote, "devis-signe.pdf"), ContentFile(data)
    )
    claimed = Quote.objects.filter(pk=quote.pk, signed_copy="").update(signed_copy=stored)
    if not claimed:
        quote.signed_copy.storage.delete(stored)
    return bool(claimed)
