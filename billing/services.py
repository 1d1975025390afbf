"""Writes of billing: charges, invoices and credit notes, recurring billing, quotes, shop sales.

Every function is keyword-only, takes an ``actor`` (a user, or ``None`` for the
system) and the business date ``today`` (and ``now`` where an instant is
stored), runs in one transaction and writes the audit log. Other apps call
``charge_record`` to put something billable in the queue; billing never imports them.
"""
import datetime
import hashlib
from collections import defaultdict
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Case, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import conf, numbering, rules
from billing.choices import (
    DocumentType,
    InvoiceKind,
    InvoiceStatus,
    PaymentMethod,
    QuoteStatus,
    SignatureMethod,
)
from billing.exceptions import BillingError
from billing.models import VAT_STANDARD, Charge, Invoice, InvoiceLine, Quote, QuoteLine, ShopReturn
from contracts.choices import BillingFrequency, ContractStatus
from core.audit import audit_bulk, audit_record, diff, snapshot
from core.models import ProviderProfile
from core.money import ZERO, format_number, money, to_decimal

PDF_TASK_CHUNK = 50


# --- charges ----------------------------------------------------------------------------------


def charge_record(
    *,
    actor,
    client,
    source: str,
    source_key: str,
    description: str,
    unit_price: Decimal,
    service_date: datetime.date,
    quantity: Decimal = Decimal("1"),
    contract=None,
    vat_rate: Decimal | None = VAT_STANDARD,
) -> tuple[Charge, bool]:
    """Record a billable item once per ``source_key``; returns ``(charge, created)``.

    Amounts are Decimal, rounded half-up to the cent. Recording the same
    ``source_key`` again returns the existing charge unchanged (idempotent jobs).
    """
    existing = Charge.objects.filter(source_key=source_key).first()
    if existing is not None:
        return existing, False
    charge = charge_build(
        client=client, contract=contract, source=source, source_key=source_key, description=description,
        quantity=quantity, unit_price=unit_price, vat_rate=vat_rate, service_date=service_date,
    )
    charge.full_clean()
    try:
        with transaction.atomic():
            charge.save()
            audit_record(actor=actor, obj=charge, action="billing.charge.recorded", changes=snapshot(charge))
    except IntegrityError:
        # A concurrent run recorded the same event first.
        return Charge.objects.get(source_key=source_key), False
    return charge, True


def charge_build(
    *, client, source: str, source_key: str, description: str, unit_price: Decimal, service_date: datetime.date,
    quantity: Decimal = Decimal("1"), contract=None, vat_rate: Decimal | None = VAT_STANDARD,
) -> Charge:
    """The unsaved charge ``charge_record`` and ``billing.bulk.charges_record`` save (amounts normalised once)."""
    return Charge(
        client=client, contract=contract, source=source, source_key=source_key, description=description,
        quantity=to_decimal(quantity), unit_price=money(unit_price), vat_rate=vat_rate, service_date=service_date,
    )


# --- snapshots and dates ------------------------------------------------------------------------


def seller_snapshot(profile: ProviderProfile | None = None) -> dict:
    """The seller's identity as printed on the invoice (L1), copied at issue."""
    p = profile or ProviderProfile.get()
    return {
        "legal_name": p.legal_name, "trade_name": p.trade_name, "legal_form": p.legal_form,
        "share_capital": p.share_capital, "address_line1": p.address_line1, "address_line2": p.address_line2,
        "postal_code": p.postal_code, "city": p.city, "country": p.country, "siren": p.siren, "siret": p.siret,
        "rcs": p.rcs, "vat_number": p.vat_number, "iban": p.iban, "bic": p.bic,
        "sepa_creditor_id": p.sepa_creditor_id, "email": p.email, "phone": p.phone, "website": p.website,
        "vat_on_debits": p.vat_on_debits,
    }


def buyer_snapshot(client) -> dict:
    """The buyer's identity (L1: name, address, SIREN, VAT number when it has one), copied at issue."""
    return {
        "name": client.name, "legal_form": client.legal_form, "siren": client.siren, "siret": client.siret,
        "vat_number": client.vat_number, "address_line1": client.address_line1,
        "address_line2": client.address_line2, "postal_code": client.postal_code, "city": client.city,
        "country": client.country, "billing_email": client.billing_email,
    }


def _default_payment_method(kind: str) -> str:
    if kind in (InvoiceKind.RECURRING, InvoiceKind.EXTRA):
        return PaymentMethod.DIRECT_DEBIT
    return PaymentMethod.TRANSFER


def _fill_dates(invoice: Invoice, today: datetime.date) -> None:
    """Due and collection dates by kind, unless the caller set them (CGV B1, B2, B5; C6)."""
    if invoice.is_credit_note:
        invoice.due_date = invoice.due_date or today
        invoice.collection_date = None
        return
    if invoice.payment_method == PaymentMethod.DIRECT_DEBIT and invoice.collection_date is None:
        if invoice.kind == InvoiceKind.RECURRING and invoice.period_start:
            invoice.collection_date = rules.recurring_collection_date(
                period_start=invoice.period_start, issue_date=today
            )
        elif invoice.kind == InvoiceKind.EXTRA:
            invoice.collection_date = rules.extra_work_collection_date(today)
    if invoice.due_date is None:
        # Direct debit: due on the collection day. Otherwise payable on receipt (shop sale at the
        # counter, deposit at order, C6 "recouvrer immédiatement", penalties).
        invoice.due_date = invoice.collection_date or today


def _finalize(invoice: Invoice, lines: list[InvoiceLine], *, seller: dict, today, now, mandates=None) -> None:
    """Snapshot, totals and dates of an invoice about to be issued (number assigned by the caller)."""
    if not lines:
        raise BillingError(_("Une facture sans ligne ne peut pas être émise."), code="invoice_empty")
    scopes = {line.vat_rate is None for line in lines}
    if len(scopes) > 1:
        # EN 16931 BR-O-11..14: an invoice outside the scope of VAT has no VAT line, and vice versa.
        raise BillingError(
            _("Une facture ne peut pas mêler des lignes soumises à la TVA et des lignes hors champ "
              "(pénalités, indemnité) : émettez deux factures."),
            code="invoice_mixed_scope",
        )
    for line in lines:
        line.total_ht = rules.line_total(line.quantity, line.unit_price)
    totals = rules.compute_totals((ln.quantity, ln.unit_price, ln.vat_rate) for ln in lines)
    invoice.total_ht = totals["total_ht"]
    invoice.total_vat = totals["total_vat"]
    invoice.total_ttc = totals["total_ttc"]
    invoice.vat_breakdown = totals["vat_breakdown"]
    invoice.seller = seller
    invoice.buyer = buyer_snapshot(invoice.client)
    if mandates is not None and invoice.payment_method == PaymentMethod.DIRECT_DEBIT and not invoice.mandate_reference:
        invoice.mandate_reference = mandates.get(invoice.client_id, "")
    invoice.issue_date = today
    invoice.issued_at = now
    invoice.status = InvoiceStatus.ISSUED
    _fill_dates(invoice, today)


def invoice_pdfs_queue(invoice_ids: list[int]) -> None:
    """Render the PDFs once the issue is committed (a rolled-back issue renders nothing)."""
    if not invoice_ids:
        return
    from billing.tasks import render_invoice_pdfs_task

    ids = list(invoice_ids)
    for start in range(0, len(ids), PDF_TASK_CHUNK):
        chunk = ids[start:start + PDF_TASK_CHUNK]
        transaction.on_commit(lambda chunk=chunk: render_invoice_pdfs_task.delay(chunk))


def _issue_new(
    *, actor, drafts: list[tuple[Invoice, list[InvoiceLine]]], today, now, render_pdf=True, action="billing.invoice.issued"
) -> list[Invoice]:
    """Issue unsaved invoices with their unsaved lines in bulk: a fixed number of queries per batch.

    Must run inside ``transaction.atomic``. Numbers are reserved per series in
    one locked update, in the order of ``drafts``.
    """
    if not drafts:
        return []
    from billing.selectors import mandate_reference_map

    seller = seller_snapshot()
    mandates = mandate_reference_map({inv.client_id for inv, _ in drafts})
    by_series = defaultdict(list)
    for invoice, lines in drafts:
        _finalize(invoice, lines, seller=seller, today=today, now=now, mandates=mandates)
        invoice.series = numbering.series_for(invoice.document_type)
        invoice.fiscal_year = today.year
        by_series[invoice.series].append(invoice)
    for series, invoices in by_series.items():
        for invoice, (seq, number) in zip(
            invoices, numbering.number_reserve(series=series, issue_date=today, count=len(invoices)), strict=True
        ):
            invoice.sequence, invoice.number = seq, number
    invoices = Invoice.objects.bulk_create([inv for inv, _ in drafts], batch_size=500)
    all_lines = []
    for invoice, lines in drafts:
        for position, line in enumerate(lines):
            line.invoice = invoice
            line.position = position
            all_lines.append(line)
    InvoiceLine.objects.bulk_create(all_lines, batch_size=1000)
    audit_bulk(
        actor=actor, objs=invoices, action=action,
        changes_for=lambda inv: {"number": [None, inv.number], "total_ttc": [None, str(inv.total_ttc)]},
    )
    if render_pdf:
        invoice_pdfs_queue([inv.pk for inv in invoices])
    return invoices


# --- drafts and issue ---------------------------------------------------------------------------


def _build_line(spec: dict) -> InvoiceLine:
    line = InvoiceLine(
        description=spec["description"],
        quantity=to_decimal(spec.get("quantity", Decimal("1"))),
        unit_price=money(spec["unit_price"]),
        vat_rate=spec.get("vat_rate", VAT_STANDARD),
        service_start=spec.get("service_start"),
        service_end=spec.get("service_end"),
    )
    line.total_ht = rules.line_total(line.quantity, line.unit_price)
    return line


@transaction.atomic
def invoice_create_draft(
    *, actor, client, kind: str, lines: list[dict], contract=None, period_start=None, period_end=None,
    payment_method: str | None = None, purchase_order_ref: str = "", notes: str = "", due_date=None,
    collection_date=None, source_key: str | None = None, quote=None,
) -> Invoice:
    """A draft invoice (editable) with ``lines`` = ``[{description, quantity, unit_price, vat_rate}]``."""
    invoice = Invoice(
        document_type=DocumentType.INVOICE, kind=kind, client=client, contract=contract,
        period_start=period_start, period_end=period_end,
        payment_method=payment_method or _default_payment_method(kind), purchase_order_ref=purchase_order_ref,
        notes=notes, due_date=due_date, collection_date=collection_date, source_key=source_key, quote=quote,
    )
    invoice.full_clean(exclude=["number"])
    invoice.save()
    built = [_build_line(spec) for spec in lines]
    for position, line in enumerate(built):
        line.invoice = invoice
        line.position = position
        line.full_clean()
    InvoiceLine.objects.bulk_create(built)
    invoice.total_ht = money(sum((ln.total_ht for ln in built), ZERO))
    invoice.save(update_fields=["total_ht", "updated_at"])
    audit_record(actor=actor, obj=invoice, action="billing.invoice.draft_created", changes=snapshot(invoice))
    return invoice


@transaction.atomic
def invoice_issue(*, actor, invoice: Invoice, today: datetime.date, now: datetime.datetime | None = None) -> Invoice:
    """Issue a draft: snapshot of seller and buyer, totals, dates, next number of its series (L1).

    The number is taken inside this transaction from a locked counter, so it is
    gapless even when several issues run at once. The PDF is rendered after commit.
    """
    now = now or timezone.now()
    invoice = Invoice.objects.select_for_update().select_related("client").get(pk=invoice.pk)
    if invoice.status != InvoiceStatus.DRAFT:
        raise BillingError(
            _("La facture %(number)s est déjà émise.") % {"number": invoice.number}, code="invoice_already_issued"
        )
    before = snapshot(invoice)
    lines = list(invoice.lines.all())
    _finalize(invoice, lines, seller=seller_snapshot(), today=today, now=now)
    from billing.selectors import mandate_reference_map

    if invoice.payment_method == PaymentMethod.DIRECT_DEBIT and not invoice.mandate_reference:
        invoice.mandate_reference = mandate_reference_map({invoice.client_id}).get(invoice.client_id, "")
    invoice.series = numbering.series_for(invoice.document_type)
    invoice.fiscal_year = today.year
    [(invoice.sequence, invoice.number)] = numbering.number_reserve(series=invoice.series, issue_date=today)
    invoice.full_clean()
    InvoiceLine.objects.bulk_update(lines, ["total_ht"])  # the invoice is still a draft in the database
    invoice.save()
    audit_record(actor=actor, obj=invoice, action="billing.invoice.issued", changes=diff(before, snapshot(invoice)))
    invoice_pdfs_queue([invoice.pk])
    return invoice


@transaction.atomic
def invoice_delete_draft(*, actor, invoice: Invoice) -> None:
    """Delete a draft (an issued invoice is never deleted: L2)."""
    if invoice.status != InvoiceStatus.DRAFT:
        raise BillingError(_("Une facture émise ne peut pas être supprimée (L2) : émettez un avoir."))
    audit_record(actor=actor, obj=invoice, action="billing.invoice.draft_deleted", changes=snapshot(invoice))
    invoice.delete()


def _credited_so_far(invoice: Invoice) -> dict[int, Decimal]:
    """Quantity already credited per original line, read from earlier credit notes' line links."""
    credited: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for note in invoice.credit_notes.prefetch_related("lines"):
        for line in note.lines.all():
            if line.credited_line_id:
                credited[line.credited_line_id] += -line.quantity
    return credited


@transaction.atomic
def invoice_credit(
    *, actor, invoice: Invoice, today: datetime.date, reason: str,
    lines: list[tuple[InvoiceLine, Decimal]] | None = None, now: datetime.datetime | None = None,
) -> Invoice:
    """Issue a credit note (avoir) correcting ``invoice`` (L2), in full or for some quantities.

    The credit note copies the original lines with negated quantities, points
    at the original, and gets the next number of the credit-note series. When
    everything is credited the original becomes *cancelled*.
    """
    now = now or timezone.now()
    original = Invoice.objects.select_for_update().select_related("client").get(pk=invoice.pk)
    if original.is_credit_note:
        raise BillingError(_("Un avoir ne se corrige pas par un avoir."), code="credit_of_credit")
    if original.status in (InvoiceStatus.DRAFT, InvoiceStatus.CANCELLED):
        raise BillingError(
            _("Seule une facture émise et non annulée peut faire l'objet d'un avoir."), code="credit_not_issued"
        )
    if not reason:
        raise BillingError(_("Indiquez le motif de l'avoir."), code="credit_reason")
    original_lines = {ln.pk: ln for ln in original.lines.all()}
    credited = _credited_so_far(original)
    wanted = lines if lines is not None else [(ln, ln.quantity - credited[ln.pk]) for ln in original_lines.values()]
    note_lines = []
    for line, quantity in wanted:
        quantity = to_decimal(quantity)
        if line.pk not in original_lines:
            raise BillingError(_("Cette ligne n'appartient pas à la facture %(n)s.") % {"n": original.number})
        if quantity <= 0:
            continue
        if quantity > line.quantity - credited[line.pk]:
            raise BillingError(
                _("Quantité à créditer trop élevée pour « %(line)s » : %(left)s restant.")
                % {"line": line.description, "left": format_number(line.quantity - credited[line.pk])},
                code="credit_too_much",
            )
        note_lines.append(
            InvoiceLine(
                description=line.description, quantity=-quantity, unit_price=line.unit_price,
                vat_rate=line.vat_rate, service_start=line.service_start, service_end=line.service_end,
                credited_line=line,
            )
        )
    if not note_lines:
        raise BillingError(_("Rien à créditer : la facture est déjà entièrement créditée."), code="credit_nothing")
    note = Invoice(
        document_type=DocumentType.CREDIT_NOTE, kind=original.kind, client=original.client,
        contract=original.contract, period_start=None, period_end=None, payment_method=original.payment_method,
        credited_invoice=original, notes=_("Avoir sur la facture %(number)s du %(date)s. Motif : %(reason)s")
        % {"number": original.number, "date": original.issue_date.strftime("%d/%m/%Y"), "reason": reason},
        mandate_reference=original.mandate_reference, purchase_order_ref=original.purchase_order_ref,
    )
    [note] = _issue_new(actor=actor, drafts=[(note, note_lines)], today=today, now=now,
                        action="billing.credit_note.issued")
    invoice_payment_status_refresh(actor=actor, invoice=original, today=today)
    audit_record(actor=actor, obj=original, action="billing.invoice.credited",
                 changes={"credit_note": [None, note.number], "reason": [None, reason]})
    return note


@transaction.atomic
def invoice_payment_status_refresh(
    *, actor, invoice: Invoice, today: datetime.date, amount_paid: Decimal | None = None
) -> Invoice:
    """Recompute the payment status of an issued invoice (called by the payments side).

    ``amount_paid`` (optional) replaces the amount received so far. The amount
    due is the TTC total minus what credit notes took off; the status becomes
    *paid* when it is covered, *partly paid* when something was received,
    *cancelled* when credit notes took everything off, else *issued*.
    """
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status == InvoiceStatus.DRAFT:
        raise BillingError(_("Une facture brouillon n'a pas de statut de paiement."))
    before = {"status": invoice.status, "amount_paid": str(invoice.amount_paid)}
    if amount_paid is not None:
        invoice.amount_paid = money(amount_paid)
    credited = money(sum((n.total_ttc for n in invoice.credit_notes.all()), ZERO))  # negative
    due = invoice.total_ttc + credited
    if invoice.is_credit_note:
        status = InvoiceStatus.PAID if invoice.amount_paid <= invoice.total_ttc else InvoiceStatus.ISSUED
    elif credited and due <= 0:
        status = InvoiceStatus.CANCELLED
    elif invoice.amount_paid >= due:
        status = InvoiceStatus.PAID
    elif invoice.amount_paid > 0:
        status = InvoiceStatus.PARTLY_PAID
    else:
        status = InvoiceStatus.ISSUED
    invoice.status = status
    invoice.paid_at = (invoice.paid_at or today) if status == InvoiceStatus.PAID else None
    invoice.save(update_fields=["status", "amount_paid", "paid_at", "updated_at"])
    after = {"status": invoice.status, "amount_paid": str(invoice.amount_paid)}
    if after != before:
        audit_record(actor=actor, obj=invoice, action="billing.invoice.payment_status", changes=diff(before, after))
    return invoice


def invoice_send_email(*, actor, invoice: Invoice, now: datetime.datetime | None = None, resend: bool = False):
    """E-mail the stored PDF to the client's billing address (once; ``resend`` for staff's re-send)."""
    from core.mail import email_queue

    if not invoice.is_issued or not invoice.pdf:
        raise BillingError(_("La facture n'a pas encore de PDF : réessayez dans un instant."), code="no_pdf")
    now = now or timezone.now()
    to = invoice.buyer.get("billing_email") or invoice.client.billing_email
    label = _("Avoir") if invoice.is_credit_note else _("Facture")
    body = _(
        "Bonjour,\n\nVeuillez trouver ci-joint notre %(label)s %(number)s du %(date)s, d'un montant de "
        "%(amount)s TTC, échéance le %(due)s.\n\nCordialement,\n%(seller)s"
    ) % {
        "label": label.lower(), "number": invoice.number, "date": invoice.issue_date.strftime("%d/%m/%Y"),
        "amount": f"{invoice.total_ttc:.2f} €".replace(".", ","),
        "due": invoice.due_date.strftime("%d/%m/%Y"), "seller": invoice.seller.get("legal_name", ""),
    }
    email = email_queue(
        to=to,
        subject=f"{label} {invoice.number}",
        body=body,
        key=None if resend else f"billing.invoice.sent:{invoice.pk}",
        attachments=[{"name": f"{invoice.number}.pdf", "path": invoice.pdf.name, "mimetype": "application/pdf"}],
    )
    if email is not None:
        Invoice.objects.filter(pk=invoice.pk).update(sent_at=now)
        audit_record(actor=actor, obj=invoice, action="billing.invoice.sent" if not resend else "billing.invoice.resent",
                     changes={"to": [None, to]})
    return email


# --- recurring billing (B1) -------------------------------------------------------------------------


def _period_label(period: rules.Period) -> str:
    return _("du %(start)s au %(end)s") % {"start": period.start.strftime("%d/%m/%Y"),
                                          "end": period.end.strftime("%d/%m/%Y")}


def recurring_invoice_drafts(*, contract, lines, period: rules.Period) -> tuple[Invoice, list[InvoiceLine]] | None:
    """The unsaved recurring invoice of ``contract`` for ``period`` (CGV B1, P2, P3), or ``None``.

    Each contract line in force during the period is billed at its monthly price
    × the months of the period, prorated by days when the line covers only part
    of the full calendar period (see :func:`billing.rules.prorated_unit_price`).
    """
    months = BillingFrequency(contract.billing_frequency).months
    invoice_lines = []
    for cl in lines:
        if cl.valid_from and cl.valid_from > period.end or cl.valid_until and cl.valid_until < period.start:
            continue
        unit, covered, full = rules.prorated_unit_price(
            monthly_unit_price=cl.unit_price, months=months, period=period,
            valid_from=cl.valid_from, valid_until=cl.valid_until,
        )
        if covered == 0:
            continue
        start = max(period.start, cl.valid_from) if cl.valid_from else period.start
        end = min(period.end, cl.valid_until) if cl.valid_until else period.end
        label = f"{cl.description} — " + _("redevance %(label)s") % {
            "label": _period_label(rules.Period(start, end, period.full_start, period.full_end))
        }
        if covered != full:
            label += " " + _("(prorata %(covered)s/%(full)s jours)") % {"covered": covered, "full": full}
        invoice_lines.append(
            InvoiceLine(description=label[:500], quantity=cl.quantity, unit_price=unit, vat_rate=VAT_STANDARD,
                        service_start=start, service_end=end)
        )
    if not invoice_lines:
        return None
    invoice = Invoice(
        document_type=DocumentType.INVOICE, kind=InvoiceKind.RECURRING, client=contract.client, contract=contract,
        period_start=period.start, period_end=period.end, payment_method=PaymentMethod.DIRECT_DEBIT,
    )
    return invoice, invoice_lines


def recurring_window(*, today: datetime.date, catch_up_days: int | None = None) -> tuple[datetime.date, datetime.date]:
    """CGV B1: ``(from_day, to_day)``, the first days of the periods a run on ``today`` issues (lead, catch-up)."""
    to_day = today + datetime.timedelta(days=conf.get("BILLING_RECURRING_LEAD_DAYS"))
    if catch_up_days is None:
        catch_up_days = conf.get("BILLING_RECURRING_CATCH_UP_DAYS")
    return to_day - datetime.timedelta(days=catch_up_days), to_day


def recurring_contracts(*, from_day: datetime.date, to_day: datetime.date):
    """The contracts that may have a period starting between ``from_day`` and ``to_day`` (active, started)."""
    from contracts.models import Contract

    return (
        Contract.objects.filter(status=ContractStatus.ACTIVE, start_date__lte=to_day)
        .exclude(end_date__lt=from_day)
        .order_by("reference")
    )


def recurring_invoices_issue(
    *, actor, today: datetime.date, now: datetime.datetime | None = None, render_pdf: bool = True,
    contract_ids: list[int] | None = None, catch_up_days: int | None = None,
) -> dict:
    """CGV B1: issue, for every active contract, the invoice of each billing period now due.

    A period is due when its planned issue date (its first day minus the
    configured lead) is today or up to ``BILLING_RECURRING_CATCH_UP_DAYS`` ago
    (missed nights are caught up, with today's date). Suspended, terminated and
    ended contracts get none; a contract's ``end_date`` stops its periods.
    Exactly one invoice per contract and period: existing ones are skipped and
    a database constraint backs it. The query count does not grow per contract:
    contracts, lines and existing invoices are read per batch, numbers reserved
    in one locked update, rows bulk-inserted.
    """
    from contracts.models import ContractLine

    now = now or timezone.now()
    from_day, to_day = recurring_window(today=today, catch_up_days=catch_up_days)
    batch = conf.get("BILLING_RECURRING_BATCH")
    issued = 0
    skipped = 0
    with transaction.atomic():
        # Lock the series first: a concurrent run waits here, then sees the invoices this one created.
        numbering.lock_series(series=numbering.series_for(DocumentType.INVOICE), year=today.year)
        contracts_qs = recurring_contracts(from_day=from_day, to_day=to_day).select_related("client")
        if contract_ids is not None:
            contracts_qs = contracts_qs.filter(pk__in=contract_ids)
        contracts = list(contracts_qs)
        for offset in range(0, len(contracts), batch):
            chunk = contracts[offset:offset + batch]
            ids = [c.pk for c in chunk]
            lines_by_contract = defaultdict(list)
            for line in ContractLine.objects.filter(contract_id__in=ids).order_by("contract_id", "position", "pk"):
                lines_by_contract[line.contract_id].append(line)
            existing = set(
                Invoice.objects.filter(
                    kind=InvoiceKind.RECURRING, document_type=DocumentType.INVOICE, contract_id__in=ids,
                    period_start__range=(from_day, to_day),
                ).values_list("contract_id", "period_start")
            )
            drafts = []
            for contract in chunk:
                months = BillingFrequency(contract.billing_frequency).months
                for period in rules.recurring_periods(
                    contract_start=contract.start_date, months=months, end=contract.end_date,
                    from_day=from_day, to_day=to_day,
                ):
                    if (contract.pk, period.start) in existing:
                        skipped += 1
                        continue
                    draft = recurring_invoice_drafts(
                        contract=contract, lines=lines_by_contract[contract.pk], period=period
                    )
                    if draft:
                        drafts.append(draft)
            issued += len(_issue_new(actor=actor, drafts=drafts, today=today, now=now, render_pdf=render_pdf))
    return {"issued": issued, "already_invoiced": skipped}


# --- extra work and other charges (B2, C4–C6, B3/B4) ---------------------------------------------


def _kind_for_charge(charge: Charge) -> str:
    if charge.vat_rate is None:
        return InvoiceKind.PENALTY  # late interest, the €40 indemnity (L3): outside the scope of VAT
    if charge.source.startswith("contracts.termination"):
        return InvoiceKind.TERMINATION
    return InvoiceKind.EXTRA


def charges_invoice(
    *, actor, today: datetime.date, client=None, charge_ids: list[int] | None = None,
    up_to: datetime.date | None = None, now: datetime.datetime | None = None, render_pdf: bool = True,
) -> list[Invoice]:
    """Group pending charges into issued invoices, one per client and nature (CGV B2, P4, C4–C6).

    Extra work is collected by direct debit on the 30th of the month after the
    invoice (B2); termination amounts and penalties are payable on receipt.
    Charges are claimed with ``select_for_update(skip_locked=True)`` so two runs
    never invoice the same charge. ``up_to``: only charges whose service date
    is on or before it.
    """
    now = now or timezone.now()
    with transaction.atomic():
        qs = Charge.objects.select_for_update(skip_locked=True, of=("self",)).filter(status=Charge.Status.PENDING)
        if client is not None:
            qs = qs.filter(client=client)
        if charge_ids is not None:
            qs = qs.filter(pk__in=charge_ids)
        if up_to is not None:
            qs = qs.filter(service_date__lte=up_to)
        charges = list(qs.select_related("client").order_by("client__name", "client_id", "service_date", "pk"))
        groups: dict[tuple, list[Charge]] = defaultdict(list)
        for charge in charges:
            groups[(charge.client_id, _kind_for_charge(charge))].append(charge)
        drafts = []
        for (_client_id, kind), items in groups.items():
            contracts = {c.contract_id for c in items}
            invoice = Invoice(
                document_type=DocumentType.INVOICE, kind=kind, client=items[0].client,
                contract_id=contracts.pop() if len(contracts) == 1 else None,
                payment_method=_default_payment_method(kind),
            )
            lines = [
                InvoiceLine(
                    description=(f"{c.description} — {c.service_date:%d/%m/%Y}")[:500], quantity=c.quantity,
                    unit_price=c.unit_price, vat_rate=c.vat_rate, service_start=c.service_date,
                    service_end=c.service_date,
                )
                for c in items
            ]
            drafts.append((invoice, lines))
        invoices = _issue_new(actor=actor, drafts=drafts, today=today, now=now, render_pdf=render_pdf)
        # One UPDATE for all the charges, one CASE branch per invoice (not one query per invoice, and not
        # bulk_update's branch per charge, slow to build for the B3 dunning's thousands of charges).
        if invoices:
            Charge.objects.filter(pk__in=[c.pk for c in charges]).update(
                status=Charge.Status.INVOICED,
                invoice_id=Case(*[When(pk__in=[c.pk for c in items], then=Value(invoice.pk))
                                  for items, invoice in zip(groups.values(), invoices, strict=True)]),
            )
    return invoices


def invoice_for_termination(*, actor, termination, today: datetime.date, now: datetime.datetime | None = None):
    """Invoice the amount a termination leaves due (CGV C4 instalments left, C5 with 20 % off, C6), once.

    Idempotent: the amount is recorded as a charge under the termination's
    ``billing_source_key``; a second call returns the invoice already issued.
    Returns ``None`` when nothing is owed (C3, C7, withdrawn).
    """
    from contracts.choices import TerminationStatus

    if termination.status == TerminationStatus.WITHDRAWN or termination.amount_due <= 0:
        return None
    contract = termination.contract
    description = _("Résiliation anticipée du contrat %(ref)s (%(kind)s) au %(date)s") % {
        "ref": contract.reference, "kind": termination.get_kind_display(),
        "date": termination.effective_on.strftime("%d/%m/%Y"),
    }
    with transaction.atomic():
        charge, _created = charge_record(
            actor=actor, client=contract.client, contract=contract, source="contracts.termination",
            source_key=termination.billing_source_key, description=description,
            unit_price=termination.amount_due, service_date=termination.effective_on,
        )
        charge = Charge.objects.select_for_update().get(pk=charge.pk)
        if charge.invoice_id:
            return charge.invoice
        [invoice] = charges_invoice(actor=actor, today=today, charge_ids=[charge.pk], now=now)
        return invoice


# --- shop (GECO informatique, P1) ------------------------------------------------------------------


def shop_sale_record(
    *, actor, client, lines: list[dict], payment_method: str, today: datetime.date, paid: bool = True,
    now: datetime.datetime | None = None,
) -> Invoice:
    """A counter sale: the invoice is issued at once and, paid at the counter, marked paid (CGV P1)."""
    with transaction.atomic():
        invoice = Invoice(
            document_type=DocumentType.INVOICE, kind=InvoiceKind.SHOP, client=client, payment_method=payment_method,
            notes=_("Vente en boutique : achat définitif, ni reprise ni échange sauf défaut du matériel (CGV art. 3.1)."),
        )
        [invoice] = _issue_new(actor=actor, drafts=[(invoice, [_build_line(s) for s in lines])], today=today,
                               now=now or timezone.now())
        if paid:
            invoice = invoice_payment_status_refresh(actor=actor, invoice=invoice, today=today,
                                                     amount_paid=invoice.total_ttc)
    return invoice


def shop_return(
    *, actor, invoice_line: InvoiceLine, quantity: Decimal, defective: bool, defect_description: str,
    today: datetime.date, now: datetime.datetime | None = None,
) -> ShopReturn:
    """CGV P1: a shop sale is final; a return is refused unless the item is recorded as defective.

    A defective item is recorded with its defect and produces the credit note
    for the returned quantity.
    """
    now = now or timezone.now()
    invoice = invoice_line.invoice
    if invoice.kind != InvoiceKind.SHOP or invoice.is_credit_note:
        raise BillingError(_("Seule une vente boutique peut faire l'objet d'un retour."), code="not_shop")
    if not defective or not (defect_description or "").strip():
        raise BillingError(
            _("Les achats en boutique sont définitifs : ni remboursement ni échange, sauf défaut du matériel "
              "ou du service acheté (CGV art. 3.1). Décrivez le défaut constaté pour accepter le retour."),
            code="shop_sale_final",
        )
    with transaction.atomic():
        note = invoice_credit(
            actor=actor, invoice=invoice, today=today, now=now, lines=[(invoice_line, to_decimal(quantity))],
            reason=_("retour d'un article défectueux : %(defect)s") % {"defect": defect_description.strip()},
        )
        record = ShopReturn(
            invoice_line=invoice_line, quantity=to_decimal(quantity), defect_description=defect_description.strip(),
            recorded_at=now, recorded_by=actor if getattr(actor, "is_authenticated", False) else None,
            credit_note=note,
        )
        record.full_clean()
        record.save()
        audit_record(actor=actor, obj=record, action="billing.shop_return.recorded", changes=snapshot(record))
    return record


# --- quotes → orders (P4, B5) ---------------------------------------------------------------------------


def _quote_totals(quote: Quote, lines: list[QuoteLine]) -> None:
    for line in lines:
        line.total_ht = rules.line_total(line.quantity, line.unit_price)
    totals = rules.compute_totals((ln.quantity, ln.unit_price, ln.vat_rate) for ln in lines)
    quote.total_ht, quote.total_vat, quote.total_ttc = totals["total_ht"], totals["total_vat"], totals["total_ttc"]
    quote.vat_breakdown = totals["vat_breakdown"]


@transaction.atomic
def quote_create(
    *, actor, client, title: str, lines: list[dict], contract=None, deposit_rate: Decimal = Decimal("0"),
    valid_until: datetime.date | None = None,
) -> Quote:
    """A draft quote for work outside the contract (CGV P4) with ``[{description, quantity, unit_price, vat_rate}]``."""
    quote = Quote(client=client, contract=contract, title=title, deposit_rate=to_decimal(deposit_rate),
                  valid_until=valid_until)
    built = [
        QuoteLine(position=i, description=s["description"], quantity=to_decimal(s.get("quantity", 1)),
                  unit_price=money(s["unit_price"]), vat_rate=s.get("vat_rate", VAT_STANDARD))
        for i, s in enumerate(lines)
    ]
    if not built:
        raise BillingError(_("Un devis sans ligne n'a pas de sens."), code="quote_empty")
    _quote_totals(quote, built)
    quote.full_clean()
    quote.save()
    for line in built:
        line.quote = quote
    QuoteLine.objects.bulk_create(built)
    audit_record(actor=actor, obj=quote, action="billing.quote.created", changes=snapshot(quote))
    return quote


@transaction.atomic
def quote_send(*, actor, quote: Quote, today: datetime.date) -> Quote:
    """Number the quote, freeze its parties and totals, and render its PDF (after commit)."""
    quote = Quote.objects.select_for_update().select_related("client").get(pk=quote.pk)
    if quote.status != QuoteStatus.DRAFT:
        raise BillingError(_("Ce devis a déjà été envoyé."), code="quote_not_draft")
    before = snapshot(quote)
    lines = list(quote.lines.all())
    _quote_totals(quote, lines)
    for line in lines:
        line.save(update_fields=["total_ht"])
    [(_seq, quote.number)] = numbering.number_reserve(series=conf.get("BILLING_QUOTE_PREFIX"), issue_date=today)
    quote.issue_date = today
    quote.valid_until = quote.valid_until or today + datetime.timedelta(days=conf.get("BILLING_QUOTE_VALIDITY_DAYS"))
    quote.seller = seller_snapshot()
    quote.buyer = buyer_snapshot(quote.client)
    quote.status = QuoteStatus.SENT
    quote.full_clean()
    quote.save()
    audit_record(actor=actor, obj=quote, action="billing.quote.sent", changes=diff(before, snapshot(quote)))
    from billing.tasks import render_quote_pdf_task

    transaction.on_commit(lambda: render_quote_pdf_task.delay(quote.pk))
    return quote


def _check_signable(quote: Quote, today: datetime.date) -> None:
    if quote.status != QuoteStatus.SENT:
        raise BillingError(
            _("Le devis %(number)s ne peut pas être signé (état : %(status)s).")
            % {"number": quote.number or quote.pk, "status": quote.get_status_display()},
            code="quote_not_signable",
        )
    if quote.valid_until and today > quote.valid_until:
        raise BillingError(
            _("Le devis %(number)s n'est plus valable depuis le %(date)s : demandez un nouveau devis.")
            % {"number": quote.number, "date": quote.valid_until.strftime("%d/%m/%Y")},
            code="quote_expired",
        )


def quote_sign_electronically(
    *, quote: Quote, signer_contact, ip: str, user_agent: str, now: datetime.datetime,
    expected_sha256: str | None = None,
) -> Quote:
    """CGV B5: electronic signature from the portal; the quote becomes an order at once.

    Records the signer, the instant, the IP address, the user agent and the
    SHA-256 of the exact stored PDF the client signed (``expected_sha256``,
    the hash of the PDF shown to the client, must match it when given). The
    signed copy (the quote with a signature block showing these facts) is
    rendered after commit.
    """
    from core.dates import business_today

    today = business_today(now)
    with transaction.atomic():
        quote = Quote.objects.select_for_update().get(pk=quote.pk)
        _check_signable(quote, today)
        if signer_contact.client_id != quote.client_id or not signer_contact.is_active:
            raise BillingError(_("Seul un contact actif du client peut signer ce devis."), code="quote_signer")
        if not quote.pdf:
            raise BillingError(_("Le PDF du devis n'est pas encore prêt : réessayez dans un instant."),
                               code="quote_no_pdf")
        with quote.pdf.open("rb") as fh:
            digest = hashlib.sha256(fh.read()).hexdigest()
        if expected_sha256 and expected_sha256 != digest:
            raise BillingError(_("Le devis a changé depuis son affichage : rechargez la page."), code="quote_changed")
        before = snapshot(quote)
        quote.signature_method = SignatureMethod.ELECTRONIC
        quote.signed_at = now
        quote.signer_contact = signer_contact
        quote.signer_name = signer_contact.full_name
        quote.signer_ip = ip
        quote.signer_user_agent = (user_agent or "")[:500]
        quote.signed_pdf_sha256 = digest
        quote.save()
        audit_record(actor=signer_contact.user, obj=quote, action="billing.quote.signed_electronically",
                     changes=diff(before, snapshot(quote)))
        quote = _quote_to_order(actor=signer_contact.user, quote=quote, today=today, now=now)
        from billing.tasks import render_quote_signed_copy_task

        transaction.on_commit(lambda: render_quote_signed_copy_task.delay(quote.pk))
    return quote


def quote_sign_by_hand(
    *, actor, quote: Quote, scan, signer_name: str, signed_on: datetime.date, now: datetime.datetime | None = None
) -> Quote:
    """CGV B5: staff upload the scan of the quote signed by hand; the quote becomes an order at once."""
    now = now or timezone.now()
    with transaction.atomic():
        quote = Quote.objects.select_for_update().get(pk=quote.pk)
        _check_signable(quote, signed_on)
        if not signer_name:
            raise BillingError(_("Indiquez le nom du signataire."), code="quote_signer")
        before = snapshot(quote)
        quote.signature_method = SignatureMethod.HAND
        quote.signed_at = now
        quote.signer_name = signer_name
        quote.signed_scan.save(getattr(scan, "name", "devis-signe.pdf") or "devis-signe.pdf", scan, save=False)
        quote.save()
        audit_record(actor=actor, obj=quote, action="billing.quote.signed_by_hand",
                     changes=diff(before, snapshot(quote)))
        return _quote_to_order(actor=actor, quote=quote, today=signed_on, now=now)


def _quote_to_order(*, actor, quote: Quote, today: datetime.date, now) -> Quote:
    """A signed quote is an order (CGV B5); with a deposit rate, the deposit invoice is issued now."""
    before = snapshot(quote)
    quote.status = QuoteStatus.ORDERED
    quote.ordered_on = today
    deposit = None
    if quote.deposit_rate > 0:
        deposit = _issue_quote_deposit(actor=actor, quote=quote, today=today, now=now)
    quote.payment_due_date = rules.quote_payment_due_date(
        signed_on=today, deposit_on=deposit.issue_date if deposit else None
    )
    quote.save()
    audit_record(actor=actor, obj=quote, action="billing.quote.ordered", changes=diff(before, snapshot(quote)))
    return quote


def _deposit_lines(quote: Quote) -> list[InvoiceLine]:
    rate = quote.deposit_rate
    lines = []
    for row in quote.vat_breakdown:
        vat_rate = Decimal(row["rate"]) if row["rate"] is not None else None
        lines.append(InvoiceLine(
            description=_("Acompte de %(rate)s %% sur le devis %(number)s — %(title)s")
            % {"rate": f"{rate.normalize():f}".replace(".", ","), "number": quote.number, "title": quote.title},
            quantity=Decimal("1"), unit_price=money(Decimal(row["base"]) * rate / 100), vat_rate=vat_rate,
        ))
    return lines


def _issue_quote_deposit(*, actor, quote: Quote, today, now) -> Invoice:
    invoice = Invoice(
        document_type=DocumentType.INVOICE, kind=InvoiceKind.DEPOSIT, client=quote.client, contract=quote.contract,
        quote=quote, payment_method=PaymentMethod.TRANSFER, source_key=f"billing.quote:{quote.pk}:deposit",
        purchase_order_ref=quote.number or "",
        notes=_("Facture d'acompte, payable à la commande (devis %(number)s signé le %(date)s).")
        % {"number": quote.number, "date": today.strftime("%d/%m/%Y")},
    )
    [invoice] = _issue_new(actor=actor, drafts=[(invoice, _deposit_lines(quote))], today=today, now=now)
    return invoice


def quote_invoice_order(*, actor, quote: Quote, today: datetime.date, now: datetime.datetime | None = None) -> Invoice:
    """The invoice of an order (signed quote): its lines, less the deposit, due on the B5 date. Once."""
    now = now or timezone.now()
    with transaction.atomic():
        quote = Quote.objects.select_for_update().select_related("client").get(pk=quote.pk)
        if quote.status != QuoteStatus.ORDERED:
            raise BillingError(_("Seul un devis signé (commande) se facture."), code="quote_not_ordered")
        key = f"billing.quote:{quote.pk}:order"
        existing = Invoice.objects.filter(source_key=key).first()
        if existing:
            return existing
        lines = [
            InvoiceLine(description=ql.description, quantity=ql.quantity, unit_price=ql.unit_price,
                        vat_rate=ql.vat_rate)
            for ql in quote.lines.all()
        ]
        deposit = Invoice.objects.filter(source_key=f"billing.quote:{quote.pk}:deposit").first()
        if deposit:
            for dl in deposit.lines.all():
                lines.append(InvoiceLine(
                    description=_("Acompte déjà facturé (facture %(number)s)") % {"number": deposit.number},
                    quantity=Decimal("-1"), unit_price=dl.unit_price, vat_rate=dl.vat_rate,
                ))
        invoice = Invoice(
            document_type=DocumentType.INVOICE, kind=InvoiceKind.ORDER, client=quote.client, contract=quote.contract,
            quote=quote, payment_method=PaymentMethod.TRANSFER, source_key=key, purchase_order_ref=quote.number or "",
            due_date=max(quote.payment_due_date or today, today),
        )
        [invoice] = _issue_new(actor=actor, drafts=[(invoice, lines)], today=today, now=now)
    return invoice


@transaction.atomic
def quote_refuse(*, actor, quote: Quote) -> Quote:
    if quote.status not in (QuoteStatus.DRAFT, QuoteStatus.SENT):
        raise BillingError(_("Ce devis ne peut plus être refusé."), code="quote_not_refusable")
    before = snapshot(quote)
    quote.status = QuoteStatus.REFUSED
    quote.save(update_fields=["status", "updated_at"])
    audit_record(actor=actor, obj=quote, action="billing.quote.refused", changes=diff(before, snapshot(quote)))
    return quote
