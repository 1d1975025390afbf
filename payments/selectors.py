"""Reads of payments, with their joins and aggregates done once."""
import datetime
from collections import defaultdict
from decimal import Decimal

from django.db.models import Case, DecimalField, F, OuterRef, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce

from billing.choices import DocumentType, InvoiceStatus
from billing.choices import PaymentMethod as InvoicePaymentMethod
from billing.models import Invoice
from core.models import ProviderProfile
from core.money import ZERO, money
from payments.choices import DebitItemStatus, FormalNoticeStatus, MandateStatus, PaymentStatus
from payments.models import Allocation, DebitBatch, FormalNotice, FormalNoticeInvoice, Mandate, Payment

OPEN_STATUSES = (InvoiceStatus.ISSUED, InvoiceStatus.PARTLY_PAID)
_MONEY = DecimalField(max_digits=13, decimal_places=2)


def _credited_subquery():
    """Σ of the credit notes' TTC (negative) of each invoice, as a correlated subquery."""
    return Coalesce(
        Subquery(
            Invoice.objects.filter(credited_invoice=OuterRef("pk")).exclude(status=InvoiceStatus.DRAFT)
            .order_by().values("credited_invoice").annotate(total=Sum("total_ttc")).values("total")[:1],
            output_field=_MONEY,
        ),
        Value(ZERO, output_field=_MONEY),
    )


def open_invoices(*, client=None, today: datetime.date | None = None) -> QuerySet[Invoice]:
    """Issued invoices with something left to pay, earliest due first, annotated with ``open_balance``.

    ``open_balance`` = TTC + credit notes (negative) − amount paid.
    """
    qs = Invoice.objects.filter(document_type=DocumentType.INVOICE, status__in=OPEN_STATUSES)
    if client is not None:
        qs = qs.filter(client=client)
    return qs.annotate(
        open_balance=F("total_ttc") + _credited_subquery() - F("amount_paid")
    ).order_by("due_date", "sequence", "pk")


def direct_debit_candidates(*, today: datetime.date) -> QuerySet[Invoice]:
    """Open direct-debit invoices that no live collection holds yet."""
    return (
        open_invoices(today=today)
        .filter(payment_method=InvoicePaymentMethod.DIRECT_DEBIT, collection_date__isnull=False)
        .exclude(debit_items__status__in=[DebitItemStatus.PENDING, DebitItemStatus.SETTLED])
        .select_related("client")
    )


def mandate_reference_map(client_ids) -> dict[int, str]:
    """The RUM of each client's active mandate (printed on its direct-debit invoices, L5). One query."""
    return dict(
        Mandate.objects.filter(client_id__in=list(client_ids), status=MandateStatus.ACTIVE)
        .values_list("client_id", "reference")
    )


def creditor_identifier() -> str:
    """MIS's SEPA creditor identifier (ICS), from the provider profile."""
    profile = ProviderProfile.objects.order_by("pk").first()
    return profile.sepa_creditor_id if profile else ""


def settled_payments_by_invoice(invoice_ids) -> dict[int, list[tuple[datetime.date, Decimal]]]:
    """``{invoice_id: [(received_on, amount), …]}`` of the settled allocations, for late interest. One query."""
    history = defaultdict(list)
    for invoice_id, received_on, amount in (
        Allocation.objects.filter(invoice_id__in=list(invoice_ids), payment__status=PaymentStatus.SETTLED)
        .values_list("invoice_id", "payment__received_on", "amount").order_by("payment__received_on", "pk")
    ):
        history[invoice_id].append((received_on, amount))
    return history


def notices_with_unpaid_invoices(notice_ids) -> set[int]:
    """The notices among ``notice_ids`` with at least one listed invoice not fully paid. One query."""
    return set(
        FormalNoticeInvoice.objects.filter(notice_id__in=list(notice_ids), invoice__status__in=OPEN_STATUSES)
        .order_by().values_list("notice_id", flat=True).distinct()
    )


def client_due_debt(*, client, today: datetime.date) -> Decimal:
    """What the client owes now: the open invoices due on or before ``today``."""
    total = open_invoices(client=client).filter(due_date__lte=today).aggregate(total=Sum("open_balance"))["total"]
    return money(total or ZERO)


def clients_with_due_debt(*, client_ids, today: datetime.date) -> set[int]:
    return set(
        Invoice.objects.filter(client_id__in=list(client_ids), document_type=DocumentType.INVOICE,
                               status__in=OPEN_STATUSES, due_date__lte=today)
        .order_by().values_list("client_id", flat=True).distinct()
    )


def client_in_dunning(client) -> FormalNotice | None:
    """The client's latest formal notice still running or applied without resumption (portal banner)."""
    return (
        FormalNotice.objects.filter(client=client)
        .filter(status__in=[FormalNoticeStatus.SENT, FormalNoticeStatus.APPLIED], resumed_on__isnull=True)
        .order_by("-sent_on").first()
    )


def statement_of_account(*, client, today: datetime.date) -> dict:
    """The client's statement of account: every issued invoice and credit note and every settled payment, by date.

    Rows are ``{"date", "label", "debit", "credit", "balance", "due_date"}``;
    debits are invoices (TTC), credits are payments received and credit notes.
    A rejected direct debit shows as received then reversed. Two queries.
    """
    documents = list(
        Invoice.objects.filter(client=client).exclude(status=InvoiceStatus.DRAFT)
        .order_by("issue_date", "series", "sequence")
    )
    payments = list(
        Payment.objects.filter(client=client).select_related("debit_item__rejection").order_by("received_on", "pk")
    )
    rows = []
    for doc in documents:
        amount = doc.total_ttc
        rows.append({"date": doc.issue_date, "label": f"{doc.get_document_type_display().capitalize()} {doc.number}",
                     "debit": amount if amount > 0 else ZERO, "credit": -amount if amount < 0 else ZERO,
                     "due_date": doc.due_date, "sort": 0})
    for pay in payments:
        label = f"{pay.get_method_display().capitalize()} {pay.reference}".strip()
        rows.append({"date": pay.received_on, "label": label, "debit": ZERO, "credit": pay.amount,
                     "due_date": None, "sort": 1})
        rejection = getattr(pay.debit_item, "rejection", None) if pay.debit_item_id else None
        if pay.status == PaymentStatus.REJECTED and rejection is not None:
            rows.append({"date": rejection.rejected_on,
                         "label": f"Rejet {rejection.reason_code} {pay.reference}", "debit": pay.amount,
                         "credit": ZERO, "due_date": None, "sort": 2})
    rows.sort(key=lambda r: (r["date"], r["sort"]))
    balance = ZERO
    for row in rows:
        balance += row["debit"] - row["credit"]
        row["balance"] = money(balance)
    overdue = open_invoices(client=client).filter(due_date__lt=today).aggregate(total=Sum("open_balance"))["total"]
    return {
        "rows": rows,
        "total_debit": money(sum((r["debit"] for r in rows), ZERO)),
        "total_credit": money(sum((r["credit"] for r in rows), ZERO)),
        "balance": money(balance),
        "overdue": money(overdue or ZERO),
    }


def aged_balance(*, today: datetime.date) -> list[dict]:
    """The aged balance (balance âgée) per client: not due, 0–30, 31–60, 61–90, over 90 days past due.

    One grouped query whatever the number of clients.
    """
    def bucket(low, high):
        condition = {}
        if low is not None:
            condition["due_date__lte"] = today - datetime.timedelta(days=low)
        if high is not None:
            condition["due_date__gt"] = today - datetime.timedelta(days=high + 1)
        return Coalesce(Sum(Case(When(**condition, then=F("open_balance")), default=Value(ZERO),
                                 output_field=_MONEY)), Value(ZERO, output_field=_MONEY))

    rows = (
        open_invoices().order_by()
        .values("client_id", "client__name")
        .annotate(
            not_due=Coalesce(Sum(Case(When(due_date__gt=today, then=F("open_balance")), default=Value(ZERO),
                                      output_field=_MONEY)), Value(ZERO, output_field=_MONEY)),
            d0_30=bucket(0, 30), d31_60=bucket(31, 60), d61_90=bucket(61, 90), d90_plus=bucket(91, None),
            total=Sum("open_balance"),
        )
        .order_by("client__name")
    )
    return [{k: (money(v) if isinstance(v, Decimal) else v) for k, v in row.items()} for row in rows]


def batches_with_totals() -> QuerySet[DebitBatch]:
    return DebitBatch.objects.annotate(total=Sum("items__amount"))
