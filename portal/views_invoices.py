"""Portal pages of billing: invoices (list with filters, detail, stored Factur-X PDF), statement of
account, quotes (PDF, electronic signature with a confirmation step, CGV B5)."""
from django.contrib import messages
from django.db.models import Prefetch
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import pdf as billing_pdf
from billing import selectors, services
from billing.choices import InvoiceStatus, QuoteStatus
from billing.exceptions import BillingError
from billing.models import Invoice, Quote
from core.dates import business_today
from payments import selectors as payment_selectors
from portal.access import BILLING, portal_view
from portal.forms import InvoiceFilterForm, QuoteSignForm
from portal.pagination import paginate


def _invoice(request, invoice_id: int) -> Invoice:
    try:
        return selectors.invoice_for_client(request.client, invoice_id)
    except Invoice.DoesNotExist as exc:
        raise Http404 from exc


def _quote(request, quote_id: int) -> Quote:
    try:
        return selectors.quotes_for_client(request.client).get(pk=quote_id)
    except Quote.DoesNotExist as exc:
        raise Http404 from exc


def _pdf_response(field, filename: str, *, inline: bool):
    """The stored file, byte for byte (never re-rendered once stored)."""
    return FileResponse(field.open("rb"), filename=filename, as_attachment=not inline, content_type="application/pdf")


@portal_view(BILLING)
def invoice_list(request):
    invoices = selectors.invoices_for_client(request.client)
    years = [d.year for d in invoices.dates("issue_date", "year", order="DESC")]
    form = InvoiceFilterForm(request.GET or None, years=years)
    if form.is_valid():
        if form.cleaned_data["year"]:
            invoices = invoices.filter(issue_date__year=int(form.cleaned_data["year"]))
        if form.cleaned_data["status"]:
            invoices = invoices.filter(status=form.cleaned_data["status"])
    # Paginated (issue #11: a client with thousands of invoices made this page take seconds to render).
    page = paginate(request, invoices)
    context = {"invoices": page.object_list, "page": page, "form": form, "today": business_today()}
    return render(request, "portal/invoices/list.html", context)


@portal_view(BILLING)
def invoice_detail(request, invoice_id: int):
    try:
        invoice = (
            selectors.invoices_for_client(request.client)
            .prefetch_related(
                "lines",
                Prefetch("credit_notes", queryset=Invoice.objects.exclude(status=InvoiceStatus.DRAFT)),
            )
            .get(pk=invoice_id)
        )
    except Invoice.DoesNotExist as exc:
        raise Http404 from exc
    return render(request, "portal/invoices/detail.html", {"invoice": invoice, "today": business_today()})


@portal_view(BILLING)
def invoice_pdf(request, invoice_id: int):
    invoice = _invoice(request, invoice_id)
    if not invoice.pdf:
        # Normally rendered right after issue; if the worker has not run yet, render it now (once: the
        # store is a conditional update, a concurrent render keeps the first file).
        billing_pdf.invoice_render_and_store(invoice.pk)
        invoice = _invoice(request, invoice_id)
    return _pdf_response(invoice.pdf, f"{invoice.number}.pdf", inline=False)


@portal_view(BILLING)
def statement(request):
    """The statement of account exactly as staff print it (payments.selectors.statement_of_account)."""
    today = business_today()
    context = {
        "statement": payment_selectors.statement_of_account(client=request.client, today=today),
        "today": today,
        "statement_pdf_url": _url_or_none("portal:payments_statement_pdf"),  # the payments portal page's PDF
    }
    return render(request, "portal/invoices/statement.html", context)


def _url_or_none(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:
        return None



# --- Quotes (CGV B5) --------------------------------------------------------------------------------


@portal_view(BILLING)
def quote_list(request):
    quotes = selectors.quotes_for_client(request.client).order_by("-issue_date", "-pk")
    return render(request, "portal/quotes/list.html", {"quotes": quotes, "today": business_today()})


@portal_view(BILLING)
def quote_detail(request, quote_id: int):
    quote = _quote(request, quote_id)
    invoices = quote.invoices.exclude(status=InvoiceStatus.DRAFT).order_by("issue_date", "pk")
    context = {"quote": quote, "invoices": invoices, "today": business_today(), "signable": _signable(quote)}
    return render(request, "portal/quotes/detail.html", context)


def _signable(quote: Quote) -> bool:
    return quote.status == QuoteStatus.SENT and not (quote.valid_until and business_today() > quote.valid_until)


def _ensure_quote_pdf(request, quote: Quote) -> Quote:
    if not quote.pdf and quote.number:
        billing_pdf.quote_render_and_store(quote.pk)
        quote = _quote(request, quote.pk)
    if not quote.pdf:
        raise Http404
    return quote


@portal_view(BILLING)
def quote_pdf(request, quote_id: int):
    quote = _ensure_quote_pdf(request, _quote(request, quote_id))
    return _pdf_response(quote.pdf, f"Devis {quote.number}.pdf", inline=True)


@portal_view(BILLING)
def quote_signed_copy(request, quote_id: int):
    quote = _quote(request, quote_id)
    if not quote.signed_copy and quote.signed_pdf_sha256:
        billing_pdf.quote_render_signed_copy(quote.pk)  # normally done after commit; once only
        quote = _quote(request, quote_id)
    if quote.signed_copy:
        return _pdf_response(quote.signed_copy, f"Devis {quote.number} signé.pdf", inline=True)
    if quote.signed_scan:
        return _pdf_response(quote.signed_scan, f"Devis {quote.number} signé.pdf", inline=True)
    raise Http404


@portal_view(BILLING)
def quote_sign(request, quote_id: int):
    """CGV B5, in two steps: this page shows what is being signed; the POST signs."""
    quote = _quote(request, quote_id)
    if not _signable(quote):
        messages.error(request, _("Ce devis ne peut plus être signé."))
        return redirect("portal:quote_detail", quote_id=quote.pk)
    quote = _ensure_quote_pdf(request, quote)
    form = QuoteSignForm(request.POST or None, initial={"pdf_sha256": quote.pdf_sha256})
    if request.method == "POST" and form.is_valid():
        try:
            quote = services.quote_sign_electronically(
                quote=quote,
                signer_contact=request.contact,
                ip=request.META.get("REMOTE_ADDR") or "0.0.0.0",
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
                now=timezone.now(),
                expected_sha256=form.cleaned_data["pdf_sha256"] or None,
            )
        except BillingError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                _("Devis %(number)s signé : il vaut bon de commande (CGV B5). Merci !") % {"number": quote.number},
            )
            return redirect("portal:quote_detail", quote_id=quote.pk)
    context = {"quote": quote, "form": form}
    return render(request, "portal/quotes/sign.html", context, status=400 if form.errors else 200)
