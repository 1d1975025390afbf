"""Reads of billing, with their joins done once."""
import datetime
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum

from billing.choices import DocumentType, InvoiceStatus
from billing.models import Charge, Invoice, Quote
from contracts import terms
from core.money import ZERO, money


def invoices_for_client(client) -> QuerySet[Invoice]:
    """Issued invoices and credit notes of a client (the portal never shows drafts)."""
    return (
        Invoice.objects.filter(client=client)
        .exclude(status=InvoiceStatus.DRAFT)
        .select_related("contract", "credited_invoice")
        .order_by("-issue_date", "-sequence")
    )


def invoice_for_client(client, pk: int) -> Invoice:
    """One issued invoice of ``client`` (``DoesNotExist`` → 404 for another client's invoice)."""
    return invoices_for_client(client).get(pk=pk)


def invoice_with_lines(pk: int) -> Invoice:
    return Invoice.objects.select_related("client", "contract", "credited_invoice").prefetch_related("lines").get(pk=pk)


def quotes_for_client(client) -> QuerySet[Quote]:
    return Quote.objects.filter(client=client).exclude(status="draft").prefetch_related("lines")


def pending_charges(client=None) -> QuerySet[Charge]:
    qs = Charge.objects.filter(status=Charge.Status.PENDING).select_related("client", "contract")
    return qs.filter(client=client) if client is not None else qs


_MANDATE_REFERENCE_PROVIDERS = []


def mandate_reference_provider_register(provider) -> None:
    """Let the app holding the SEPA mandates (payments) answer :func:`mandate_reference_map`.

    Billing never imports payments: payments registers ``provider(client_ids) -> {client_id: RUM}``
    in its ``AppConfig.ready()``.
    """
    if provider not in _MANDATE_REFERENCE_PROVIDERS:
        _MANDATE_REFERENCE_PROVIDERS.append(provider)


def mandate_reference_map(client_ids) -> dict[int, str]:
    """The SEPA mandate reference (RUM) to print on each client's direct-debit invoices (L5).

    Asks the registered providers (the payments app's mandates), one query for
    all ``client_ids``; without a provider, none is printed.
    """
    client_ids = list(client_ids)
    references: dict[int, str] = {}
    if not client_ids:
        return references
    for provider in _MANDATE_REFERENCE_PROVIDERS:
        references.update(provider(client_ids))
    return references


def contract_first_year_paid(contract) -> Decimal:
    """CGV C11: the sums the client paid for the first contract year (the liability cap).

    First contract year = 12 months from the contract's start date. Counted:
    what was paid on the contract's invoices whose billing period (or, without
    a period, issue date) starts in that year, less what was refunded on their
    credit notes.
    """
    start, end = terms.first_contract_year(contract.start_date)
    in_year = Q(period_start__range=(start, end)) | Q(period_start__isnull=True, issue_date__range=(start, end))
    paid = (
        Invoice.objects.filter(contract=contract, document_type=DocumentType.INVOICE)
        .exclude(status=InvoiceStatus.DRAFT)
        .filter(in_year)
        .aggregate(total=Sum("amount_paid"))["total"]
        or ZERO
    )
    refunded = (
        Invoice.objects.filter(document_type=DocumentType.CREDIT_NOTE, credited_invoice__contract=contract)
        .filter(Q(credited_invoice__period_start__range=(start, end))
                | Q(credited_invoice__period_start__isnull=True, credited_invoice__issue_date__range=(start, end)))
        .aggregate(total=Sum("amount_paid"))["total"]
        or ZERO
    )
    return money(paid + refunded)  # refunds are stored negative on credit notes


def sales_journal(*, start: datetime.date, end: datetime.date) -> QuerySet[Invoice]:
    """Issued invoices and credit notes of ``[start, end]`` in number order, for the accountant."""
    return (
        Invoice.objects.exclude(status=InvoiceStatus.DRAFT)
        .filter(issue_date__range=(start, end))
        .order_by("issue_date", "series", "sequence")
    )
