"""Bulk writes of billing: issue many invoices and record many charges with a fixed number of queries.

For callers that produce billable things by the hundred in one business
operation (payments' B3 dunning: an invoice per instalment left until the term,
late interest and the €40 indemnity for every late invoice). Same rules as the
one-by-one services of :mod:`billing.services`, through the same code:

- :func:`invoices_issue` issues unsaved invoices with their lines through
  ``billing.services._issue_new`` — the path the recurring run, the charge
  invoicing, credit notes, quotes and shop sales already use: snapshot and
  totals by ``_finalize``, numbers reserved per series for the whole batch in
  one locked update (``billing.numbering.number_reserve``: gapless,
  chronological), invoices and lines bulk-inserted, one audit INSERT
  (``core.audit.audit_bulk``), PDFs queued after commit (``invoice_pdfs_queue``).
- :func:`charges_record` records charges idempotently on ``source_key`` like
  ``billing.services.charge_record``, built by the same ``charge_build``.

Query count: constant for a batch (it grows only by one INSERT per 500
invoices / 1,000 lines / 1,000 charges, the insert batch sizes). Validation
runs the fields' validators in Python; foreign keys are checked by the database
(``full_clean`` would read every related row, one query each). Billing never
imports the callers.
"""
import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import services
from billing.choices import InvoiceStatus
from billing.exceptions import BillingError
from billing.models import VAT_STANDARD, Charge, Invoice, InvoiceLine
from core.audit import audit_bulk, snapshot

_INVOICE_FKS = ["client", "contract", "credited_invoice", "quote"]
_LINE_FKS = ["invoice", "credited_line"]
_CHARGE_FKS = ["client", "contract", "invoice"]
# Fields ``_issue_new`` fills at issue (number, snapshots, totals, dates): not the caller's to validate.
_SET_AT_ISSUE = ["series", "fiscal_year", "sequence", "number", "seller", "buyer", "total_ht", "total_vat",
                 "total_ttc", "vat_breakdown", "issue_date", "due_date", "issued_at", "status"]


def _check_fields(obj, exclude: list[str]) -> None:
    """``clean_fields`` + ``clean`` without the queries of foreign-key validation (the database checks them)."""
    obj.clean_fields(exclude=exclude)
    obj.clean()


def _load_clients(invoices: list[Invoice]) -> None:
    """Attach each invoice's client in one query when the caller did not (the buyer snapshot reads it)."""
    missing = [inv for inv in invoices if not Invoice.client.is_cached(inv)]
    if not missing:
        return
    from contracts.models import Client

    clients = Client.objects.in_bulk({inv.client_id for inv in missing})
    for inv in missing:
        inv.client = clients[inv.client_id]


@transaction.atomic
def invoices_issue(
    *, actor, drafts: list[tuple[Invoice, list[InvoiceLine]]], today: datetime.date,
    now: datetime.datetime | None = None, render_pdf: bool = True, action: str = "billing.invoice.issued",
) -> list[Invoice]:
    """Issue many new invoices at once (L1, L2): ``drafts`` = ``[(unsaved Invoice, [unsaved InvoiceLine])]``.

    Returns the issued invoices in the order of ``drafts``, numbered
    consecutively in that order (one locked reservation per series). Either
    all are issued or none (one transaction): a bad draft raises
    ``ValidationError``/``BillingError`` before anything is written, and a
    database constraint (one recurring invoice per contract and period, a
    ``source_key`` used twice) rolls the whole batch back.
    """
    if not drafts:
        return []
    now = now or timezone.now()
    for invoice, lines in drafts:
        if invoice.pk is not None or invoice.status != InvoiceStatus.DRAFT:
            raise BillingError(_("Seule une nouvelle facture peut être émise en lot."), code="bulk_not_new")
        if not lines:
            raise BillingError(_("Une facture sans ligne ne peut pas être émise."), code="invoice_empty")
        _check_fields(invoice, _INVOICE_FKS + _SET_AT_ISSUE)
        for line in lines:
            _check_fields(line, _LINE_FKS + ["total_ht", "position"])
    _load_clients([inv for inv, _lines in drafts])
    return services._issue_new(actor=actor, drafts=drafts, today=today, now=now, render_pdf=render_pdf,
                               action=action)


def charges_record(*, actor, charges: list[dict]) -> list[Charge]:
    """Record many billable items, each once per ``source_key``; returns the charges created now.

    Each item takes the keyword arguments of ``billing.services.charge_record``
    (``client``, ``source``, ``source_key``, ``description``, ``unit_price``,
    ``service_date``, optional ``quantity``, ``contract``, ``vat_rate``).
    A ``source_key`` already recorded (or repeated in ``charges``) is skipped,
    so a job may run twice. One query reads the existing keys, one inserts the
    rest, one writes the audit; a concurrent run inserting the same key first
    makes this one re-read and insert only what is still missing.
    """
    built: dict[str, Charge] = {}
    for spec in charges:
        charge = services.charge_build(**{"vat_rate": VAT_STANDARD, "quantity": Decimal("1"), **spec})
        if charge.source_key not in built:
            _check_fields(charge, _CHARGE_FKS)
            built[charge.source_key] = charge
    if not built:
        return []
    with transaction.atomic():
        for attempt in range(3):
            existing = set(Charge.objects.filter(source_key__in=list(built)).values_list("source_key", flat=True))
            new = [c for key, c in built.items() if key not in existing]
            if not new:
                return []
            try:
                with transaction.atomic():  # savepoint: a concurrent insert of the same key fails only this try
                    created = Charge.objects.bulk_create(new, batch_size=1000)
            except IntegrityError:
                if attempt == 2:
                    raise
                for charge in new:
                    charge.pk = None
                    charge._state.adding = True
                continue
            audit_bulk(actor=actor, objs=created, action="billing.charge.recorded", changes_for=snapshot)
            return created
    return []  # pragma: no cover - the loop returns or raises
