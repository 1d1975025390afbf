"""Writes of payments: mandates, pre-notifications and batches, payments and allocations, rejections, dunning.

Every function is keyword-only, takes an ``actor`` (a user, or ``None`` for the
system) and the business date ``today`` (``now`` where an instant is stored),
runs in one transaction and writes the audit log. Invoice amounts and statuses
change only through ``billing.services.invoice_payment_status_refresh``;
billable fees go through ``billing.services.charge_record``; suspensions and
terminations through contracts' services.
"""
import datetime
from collections import Counter, defaultdict
from decimal import Decimal

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import bulk as billing_bulk
from billing import rules as billing_rules
from billing import services as billing_services
from billing.choices import DocumentType, InvoiceKind, InvoiceStatus
from billing.choices import PaymentMethod as InvoicePaymentMethod
from billing.models import Charge, Invoice
from contracts import services as contract_services
from contracts.choices import BillingFrequency, ContractStatus, SuspensionReason, TerminationKind
from contracts.models import Contract, ContractLine
from core.audit import audit_bulk, audit_record, diff, snapshot
from core.mail import email_queue, emails_queue
from core.money import ZERO, format_eur, money
from payments import conf, rules, selectors
from payments.choices import (
    BatchStatus,
    DebitItemStatus,
    FormalNoticeStatus,
    MandateStatus,
    PaymentMethod,
    PaymentStatus,
    SequenceType,
)
from payments.exceptions import PaymentsError
from payments.models import (
    Allocation,
    DebitBatch,
    DebitItem,
    FormalNotice,
    FormalNoticeInvoice,
    Mandate,
    OverdueReminder,
    Payment,
    PreNotification,
    Rejection,
)

OPEN_STATUSES = (InvoiceStatus.ISSUED, InvoiceStatus.PARTLY_PAID)
# L5: a rejection meaning the mandate can no longer be used revokes it.
MANDATE_ENDING_REASONS = {"AC01", "AC04", "MD01", "MD07"}


def _d(day: datetime.date) -> str:
    return day.strftime("%d/%m/%Y")


def _user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


# --- mandates (L5) ----------------------------------------------------------------------------------


@transaction.atomic
def mandate_create(
    *, actor, client, reference: str, debtor_name: str, iban: str, signed_on: datetime.date, bic: str = "",
    scheme: str = "CORE",
) -> Mandate:
    """Record a signed SEPA mandate; the IBAN and BIC are checked with schwifty (clear French error)."""
    if Mandate.objects.filter(client=client, status=MandateStatus.ACTIVE).exists():
        raise PaymentsError(
            _("%(client)s a déjà un mandat actif : révoquez-le avant d'enregistrer le nouveau.") % {"client": client},
            code="mandate_active_exists",
        )
    mandate = Mandate(client=client, reference=reference.strip(), debtor_name=debtor_name.strip(), iban=iban,
                      bic=bic, signed_on=signed_on, scheme=scheme)
    mandate.full_clean()
    mandate.save()
    audit_record(actor=actor, obj=mandate, action="payments.mandate.created", changes=snapshot(mandate))
    return mandate


@transaction.atomic
def mandate_revoke(*, actor, mandate: Mandate, today: datetime.date, reason: str = "") -> Mandate:
    updated = Mandate.objects.filter(pk=mandate.pk, status=MandateStatus.ACTIVE).update(
        status=MandateStatus.REVOKED, ended_on=today
    )
    if not updated:
        raise PaymentsError(_("Seul un mandat actif peut être révoqué."), code="mandate_not_active")
    mandate.refresh_from_db()
    audit_record(actor=actor, obj=mandate, action="payments.mandate.revoked",
                 changes={"status": [MandateStatus.ACTIVE, MandateStatus.REVOKED], "reason": [None, reason]})
    return mandate


def mandates_expire(*, today: datetime.date, actor=None) -> dict:
    """L5: a mandate unused for 36 months (last collection, or signature when never used) lapses."""
    limit = rules.mandate_expiry_limit(today)
    with transaction.atomic():
        stale = Q(last_collected_on__lt=limit) | Q(last_collected_on__isnull=True, signed_on__lt=limit)
        mandates = list(Mandate.objects.select_for_update(skip_locked=True).filter(stale, status=MandateStatus.ACTIVE))
        Mandate.objects.filter(pk__in=[m.pk for m in mandates], status=MandateStatus.ACTIVE).update(
            status=MandateStatus.EXPIRED, ended_on=today
        )
        audit_bulk(actor=actor, objs=mandates, action="payments.mandate.expired",
                   changes_for=lambda m: {"status": [MandateStatus.ACTIVE, MandateStatus.EXPIRED]})
    return {"expired": len(mandates)}


# --- pre-notification and batches (L5, CGV B1, B2) ----------------------------------------------------


def prenotifications_send(*, today: datetime.date) -> dict:
    """L5: pre-notify, at least 14 days ahead, the collections the invoice itself could not announce in time.

    An invoice issued at least ``PAYMENTS_PRENOTIFICATION_DAYS`` before its
    collection date prints that date and the amount: it is the pre-notification.
    Any other direct-debit invoice (issued late, or caught up) is announced by
    e-mail now for the first collection day (the 15th) leaving the full period;
    its collection moves there. Once per invoice (one row per invoice, keyed e-mail).
    """
    notice_days = conf.get("PAYMENTS_PRENOTIFICATION_DAYS")
    with transaction.atomic():
        candidates = [
            inv for inv in selectors.direct_debit_candidates(today=today).filter(
                prenotification__isnull=True, collection_date__gt=today,
                collection_date__lte=today + datetime.timedelta(days=notice_days + 62),
            )
            if not rules.invoice_counts_as_prenotification(issue_date=inv.issue_date,
                                                           collection_date=inv.collection_date)
        ]
        if not candidates:
            return {"prenotified": 0}
        collection = rules.postponed_collection_date(today)
        rows = PreNotification.objects.bulk_create([
            PreNotification(invoice=inv, sent_on=today, collection_date=collection, amount=inv.open_balance)
            for inv in candidates
        ])
        by_client = defaultdict(list)
        for inv in candidates:
            by_client[inv.client].append(inv)
        for client, invoices in by_client.items():
            listing = "\n".join(
                f"- {inv.number} : {format_eur(inv.open_balance)}" for inv in invoices
            )
            email_queue(
                to=client.billing_email,
                subject=_("Pré-notification de prélèvement SEPA du %(date)s") % {"date": _d(collection)},
                body=_(
                    "Bonjour,\n\nNous prélèverons le %(date)s, au titre de votre mandat SEPA, les montants suivants :\n"
                    "%(listing)s\n\nIdentifiant créancier SEPA : %(ics)s.\n\nCordialement,\nMICRO INFO SERVICE"
                ) % {"date": _d(collection), "listing": listing, "ics": selectors.creditor_identifier()},
                key=f"payments.prenotification:{client.pk}:{min(inv.pk for inv in invoices)}",
            )
    return {"prenotified": len(rows)}


def _end_to_end_id(invoice: Invoice, collection_date: datetime.date) -> str:
    return f"{invoice.number}-{collection_date:%y%m%d}"[:35]


def batches_build(*, today: datetime.date, actor=None) -> dict:
    """CGV B1, B2: put the invoices due for collection soon into one open batch per collection date and scheme.

    Takes the direct-debit invoices whose (pre-notified) collection date falls
    within ``PAYMENTS_BATCH_LEAD_DAYS`` after today, whose client has an active
    mandate and that no live collection holds yet. Idempotent: an invoice is in
    one live item at most (database constraint); a second run finds nothing.
    """
    horizon = today + datetime.timedelta(days=conf.get("PAYMENTS_BATCH_LEAD_DAYS"))
    with transaction.atomic():
        invoices = list(
            selectors.direct_debit_candidates(today=today)
            .filter(Q(prenotification__isnull=True, collection_date__gt=today, collection_date__lte=horizon)
                    | Q(prenotification__collection_date__gt=today, prenotification__collection_date__lte=horizon))
            .select_related("prenotification")
        )
        mandates = {m.client_id: m for m in Mandate.objects.filter(
            status=MandateStatus.ACTIVE, client_id__in={inv.client_id for inv in invoices})}
        groups = defaultdict(list)
        skipped = {"no_mandate": 0, "not_prenotified": 0}
        for inv in invoices:
            prenotification = getattr(inv, "prenotification", None)
            if prenotification is not None:
                collection = prenotification.collection_date
            elif rules.invoice_counts_as_prenotification(issue_date=inv.issue_date,
                                                         collection_date=inv.collection_date):
                collection = inv.collection_date
            else:
                skipped["not_prenotified"] += 1
                continue
            mandate = mandates.get(inv.client_id)
            if mandate is None:
                skipped["no_mandate"] += 1
                continue
            if inv.open_balance > 0:
                groups[(collection, mandate.scheme)].append((inv, mandate))
        existing = {(b.collection_date, b.scheme): b for b in DebitBatch.objects.filter(status=BatchStatus.OPEN)}
        items = []
        for (collection, scheme), rows in sorted(groups.items()):
            batch = existing.get((collection, scheme))
            if batch is None:
                batch = DebitBatch.objects.create(collection_date=collection, scheme=scheme)
                audit_record(actor=actor, obj=batch, action="payments.batch.created", changes=snapshot(batch))
            for inv, mandate in rows:
                items.append(DebitItem(batch=batch, invoice=inv, mandate=mandate, amount=inv.open_balance,
                                       sequence_type=mandate.sequence,
                                       end_to_end_id=_end_to_end_id(inv, collection)))
        DebitItem.objects.bulk_create(items)
    return {"batched": len(items), "batches": len(groups), **skipped}


@transaction.atomic
def debit_item_remove(*, actor, item: DebitItem) -> None:
    """Staff review: take an invoice out of a batch not yet exported (it will not be collected)."""
    item = DebitItem.objects.select_related("batch").select_for_update(of=("self",)).get(pk=item.pk)
    if item.batch.status != BatchStatus.OPEN:
        raise PaymentsError(_("La remise est déjà exportée : le prélèvement ne peut plus en être retiré."),
                            code="batch_not_open")
    audit_record(actor=actor, obj=item.batch, action="payments.batch.item_removed",
                 changes={"invoice": [item.invoice_id, None], "amount": [str(item.amount), None]})
    item.delete()


def batch_export(*, actor, batch: DebitBatch, now: datetime.datetime | None = None) -> DebitBatch:
    """Export an open batch as a pain.008.001.02 file validated against its XSD, once.

    The mandates' next sequence becomes ``RCUR`` and their last use the
    collection date (L5: 36 months from it).
    """
    from payments import sepa

    now = now or timezone.now()
    with transaction.atomic():
        batch = DebitBatch.objects.select_for_update().get(pk=batch.pk)
        if batch.status != BatchStatus.OPEN:
            raise PaymentsError(_("Cette remise est déjà exportée."), code="batch_not_open")
        items = list(batch.items.select_related("invoice", "mandate").order_by("pk"))
        if not items:
            raise PaymentsError(_("La remise est vide."), code="batch_empty")
        inactive = [i.mandate.reference for i in items if i.mandate.status != MandateStatus.ACTIVE]
        if inactive:
            raise PaymentsError(_("Mandat(s) plus actif(s) : %(refs)s. Retirez ces prélèvements de la remise.")
                                % {"refs": ", ".join(sorted(set(inactive)))}, code="mandate_not_active")
        message_id, xml = sepa.pain008(batch=batch, items=items)
        batch.file.save(f"{batch.collection_date:%Y%m%d}-{batch.scheme}.xml", ContentFile(xml), save=False)
        before = {"status": batch.status}
        batch.status = BatchStatus.EXPORTED
        batch.message_id = message_id
        batch.exported_at = now
        batch.save(update_fields=["status", "message_id", "exported_at", "file"])
        Mandate.objects.filter(pk__in={i.mandate_id for i in items}).update(
            sequence=SequenceType.RECURRING, last_collected_on=batch.collection_date
        )
        audit_record(actor=actor, obj=batch, action="payments.batch.exported",
                     changes={**diff(before, {"status": batch.status}), "message_id": [None, message_id],
                              "items": [None, len(items)]})
    return batch


def batch_settle(*, actor, batch: DebitBatch, today: datetime.date) -> DebitBatch:
    """Record the collection of an exported batch on its date: a payment per item, allocated to its invoice.

    A later bank rejection (R-transaction) reverses one item (:func:`debit_reject`).
    """
    with transaction.atomic():
        batch = DebitBatch.objects.select_for_update().get(pk=batch.pk)
        if batch.status != BatchStatus.EXPORTED:
            raise PaymentsError(_("Seule une remise exportée peut être encaissée."), code="batch_not_exported")
        items = list(batch.items.filter(status=DebitItemStatus.PENDING).select_related("invoice"))
        for item in items:
            payment = Payment(client_id=item.invoice.client_id, method=PaymentMethod.DIRECT_DEBIT, amount=item.amount,
                              received_on=batch.collection_date, reference=item.end_to_end_id, debit_item=item,
                              recorded_by=_user(actor))
            payment.save()
            Allocation.objects.create(payment=payment, invoice=item.invoice, amount=item.amount)
        DebitItem.objects.filter(pk__in=[i.pk for i in items]).update(status=DebitItemStatus.SETTLED)
        DebitBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.SETTLED, settled_on=batch.collection_date)
        _refresh_invoices(actor=actor, invoices=[i.invoice for i in items], today=today)
        audit_record(actor=actor, obj=batch, action="payments.batch.settled",
                     changes={"status": [BatchStatus.EXPORTED, BatchStatus.SETTLED], "items": [None, len(items)]})
        batch.refresh_from_db()
    return batch


def batches_settle_due(*, today: datetime.date) -> dict:
    """Nightly: exported batches whose collection date has come are settled (rejections come later)."""
    settled = 0
    for batch in DebitBatch.objects.filter(status=BatchStatus.EXPORTED, collection_date__lte=today):
        batch_settle(actor=None, batch=batch, today=today)
        settled += 1
    return {"settled_batches": settled}


def debit_reject(
    *, actor, item: DebitItem, reason_code: str, rejected_on: datetime.date, today: datetime.date,
    fee: Decimal | None = None,
) -> Rejection:
    """A bank rejection or return (R-transaction): the invoice goes back to unpaid, the fee is charged (B4).

    The rejection fee is recorded once through ``billing.services.charge_record``
    (key ``payments.rejection:<item>``) and invoiced with the client's next
    charges. A rejected first collection leaves the mandate at ``FRST``; an
    account closed or a missing mandate (AC01, AC04, MD01, MD07) revokes it.
    """
    fee = money(conf.get("PAYMENTS_REJECTION_FEE") if fee is None else fee)
    with transaction.atomic():
        item = DebitItem.objects.select_for_update().select_related("invoice__client", "mandate", "batch").get(
            pk=item.pk)
        if item.status == DebitItemStatus.REJECTED:
            raise PaymentsError(_("Ce prélèvement est déjà rejeté."), code="already_rejected")
        if item.batch.status == BatchStatus.OPEN:
            raise PaymentsError(_("La remise n'est pas encore exportée : retirez simplement le prélèvement."),
                                code="batch_not_exported")
        rejection = Rejection(debit_item=item, reason_code=reason_code, rejected_on=rejected_on, fee=fee,
                              recorded_by=_user(actor))
        rejection.full_clean()
        rejection.save()
        DebitItem.objects.filter(pk=item.pk).update(status=DebitItemStatus.REJECTED)
        Payment.objects.filter(debit_item=item).update(status=PaymentStatus.REJECTED)
        if fee > 0:
            charge, _created = billing_services.charge_record(
                actor=actor, client=item.invoice.client, contract=item.invoice.contract, source="payments.rejection",
                source_key=f"payments.rejection:{item.pk}",
                description=_("Frais de rejet du prélèvement de la facture %(number)s (%(code)s, CGV art. 4)")
                % {"number": item.invoice.number, "code": reason_code},
                unit_price=fee, service_date=rejected_on, vat_rate=conf.get("PAYMENTS_REJECTION_FEE_VAT_RATE"),
            )
            Rejection.objects.filter(pk=rejection.pk).update(charge=charge)
            rejection.charge = charge
        mandate = item.mandate
        if item.sequence_type == SequenceType.FIRST and not mandate.debit_items.filter(
                status=DebitItemStatus.SETTLED).exists():
            Mandate.objects.filter(pk=mandate.pk).update(sequence=SequenceType.FIRST)
        if reason_code in MANDATE_ENDING_REASONS and mandate.status == MandateStatus.ACTIVE:
            mandate_revoke(actor=actor, mandate=mandate, today=today, reason=reason_code)
        _refresh_invoices(actor=actor, invoices=[item.invoice], today=today)
        audit_record(actor=actor, obj=rejection, action="payments.debit.rejected", changes=snapshot(rejection))
    return rejection


# --- payments and allocations -----------------------------------------------------------------------


def _refresh_invoices(*, actor, invoices, today: datetime.date) -> None:
    """Recompute each invoice's amount paid from the settled allocations, and its status (through billing)."""
    ids = {inv.pk for inv in invoices}
    if not ids:
        return
    paid = dict(
        Allocation.objects.filter(invoice_id__in=ids, payment__status=PaymentStatus.SETTLED)
        .values("invoice_id").annotate(total=Sum("amount")).values_list("invoice_id", "total")
    )
    for invoice in {inv.pk: inv for inv in invoices}.values():
        billing_services.invoice_payment_status_refresh(
            actor=actor, invoice=invoice, today=today, amount_paid=paid.get(invoice.pk) or ZERO
        )


@transaction.atomic
def payment_record(
    *, actor, client, method: str, amount: Decimal, received_on: datetime.date, today: datetime.date,
    reference: str = "", allocations: list[tuple[Invoice, Decimal]] | None = None, notes: str = "",
    now: datetime.datetime | None = None,
) -> Payment:
    """Record a transfer or a cheque (or a direct debit outside a batch) and allocate it.

    Without ``allocations`` the amount pays the client's open invoices, the
    earliest due first (partial payment on the last one reached); what is left
    stays unallocated. Invoice statuses follow (partly paid, paid); a client
    whose whole due debt is now settled gets its services back (B3 d).
    """
    amount = money(amount)
    if amount <= 0:
        raise PaymentsError(_("Le montant doit être positif."), code="payment_amount")
    open_invoices = list(selectors.open_invoices(client=client).select_for_update(of=("self",)))
    balances = {inv.pk: inv.open_balance for inv in open_invoices}
    if allocations is None:
        left = amount
        allocations = []
        for inv in open_invoices:
            if left <= 0:
                break
            part = min(left, balances[inv.pk])
            if part > 0:
                allocations.append((inv, part))
                left -= part
    total = ZERO
    for inv, part in allocations:
        part = money(part)
        if inv.pk not in balances:
            raise PaymentsError(_("La facture %(number)s n'est pas une facture ouverte de ce client.")
                                % {"number": inv.number}, code="allocation_invoice")
        if part <= 0 or part > balances[inv.pk]:
            raise PaymentsError(_("Imputation de %(amount)s impossible sur %(number)s (reste dû : %(left)s).")
                                % {"amount": format_eur(part), "number": inv.number,
                                   "left": format_eur(balances[inv.pk])}, code="allocation_amount")
        total += part
    if total > amount:
        raise PaymentsError(_("Les imputations (%(total)s) dépassent le montant reçu (%(amount)s).")
                            % {"total": format_eur(total), "amount": format_eur(amount)}, code="allocation_total")
    payment = Payment(client=client, method=method, amount=amount, received_on=received_on, reference=reference,
                      notes=notes, recorded_by=_user(actor))
    payment.full_clean()
    payment.save()
    Allocation.objects.bulk_create([Allocation(payment=payment, invoice=inv, amount=money(part))
                                    for inv, part in allocations])
    audit_record(actor=actor, obj=payment, action="payments.payment.recorded",
                 changes={**snapshot(payment), "allocations": [None, {inv.number: str(money(p))
                                                                     for inv, p in allocations}]})
    _refresh_invoices(actor=actor, invoices=[inv for inv, _part in allocations], today=today)
    client_services_resume_if_settled(actor=actor, client=client, today=today, now=now)
    return payment


# --- dunning (CGV B3, C6, C10; L3) ---------------------------------------------------------------------


def overdue_reminders_send(*, today: datetime.date) -> dict:
    """CGV B3: e-mail a reminder once for each invoice that became overdue (one e-mail per client and night).

    Bulk: the overdue invoices without a reminder are read in one query, the
    reminder rows inserted in one statement (their unique invoice makes a
    concurrent run fail and roll back rather than send twice), then the keyed
    e-mails of every client at once (``core.mail.emails_queue``). Invoices awaiting a direct debit already exported are skipped.
    """
    with transaction.atomic():
        invoices = list(
            selectors.open_invoices(today=today)
            .filter(due_date__lt=today, overdue_reminder__isnull=True)
            .exclude(debit_items__status=DebitItemStatus.PENDING)
            .select_related("client")
            .order_by("client_id", "due_date", "pk")
        )
        if not invoices:
            return {"reminded": 0, "emails": 0}
        OverdueReminder.objects.bulk_create([OverdueReminder(invoice=inv, sent_on=today) for inv in invoices],
                                            batch_size=2000)
        by_client = defaultdict(list)
        for inv in invoices:
            by_client[inv.client].append(inv)
        rate = conf.get("PAYMENTS_LATE_INTEREST_ANNUAL_RATE")
        messages = []
        for client, rows in by_client.items():
            listing = "\n".join(
                _("- facture %(number)s du %(date)s, échue le %(due)s : %(left)s restant dû") % {
                    "number": inv.number, "date": _d(inv.issue_date), "due": _d(inv.due_date),
                    "left": format_eur(inv.open_balance)}
                for inv in rows
            )
            messages.append({
                "to": client.billing_email,
                "subject": _("Relance : facture(s) impayée(s) à l'échéance"),
                "body": _(
                    "Bonjour,\n\nSauf erreur de notre part, les factures suivantes n'ont pas été réglées à leur "
                    "échéance :\n%(listing)s\n\nMerci de procéder à leur règlement dès réception. Conformément à nos "
                    "conditions générales (art. 4), des pénalités de retard au taux de %(rate)s %% l'an courent depuis "
                    "le lendemain de l'échéance, et une indemnité forfaitaire de %(indemnity)s est due par facture "
                    "payée en retard.\n\nCordialement,\nMICRO INFO SERVICE"
                ) % {"listing": listing, "rate": f"{rate:.2f}".replace(".", ","),
                     "indemnity": format_eur(conf.get("PAYMENTS_RECOVERY_INDEMNITY"))},
                "key": f"payments.overdue_reminder:{client.pk}:{rows[0].pk}",
            })
        emails = len(emails_queue(messages))  # one statement set for all the clients of the night
    return {"reminded": len(invoices), "emails": emails}


@transaction.atomic
def formal_notice_issue(
    *, actor, client, sent_on: datetime.date, today: datetime.date, tracking_number: str = "",
) -> FormalNotice:
    """CGV B3: the formal notice (mise en demeure) listing every overdue invoice of the client.

    Its PDF letter is rendered after commit; staff post it by registered letter
    and record the tracking number here (or later) and the receipt date.
    """
    if FormalNotice.objects.filter(client=client, status=FormalNoticeStatus.SENT).exists():
        raise PaymentsError(_("Une mise en demeure est déjà en cours pour %(client)s.") % {"client": client},
                            code="notice_pending")
    overdue = list(selectors.open_invoices(client=client, today=today).filter(due_date__lt=today))
    if not overdue:
        raise PaymentsError(_("%(client)s n'a aucune facture échue impayée.") % {"client": client},
                            code="notice_nothing_due")
    notice = FormalNotice(
        client=client, sent_on=sent_on, tracking_number=tracking_number,
        applies_on=rules.sanctions_date(sent_on=sent_on, received_on=None),
        amount_due=money(sum((inv.open_balance for inv in overdue), ZERO)), created_by=_user(actor),
    )
    notice.full_clean()
    notice.save()
    FormalNoticeInvoice.objects.bulk_create([
        FormalNoticeInvoice(notice=notice, invoice=inv, balance=inv.open_balance) for inv in overdue
    ])
    audit_record(actor=actor, obj=notice, action="payments.formal_notice.issued", changes=snapshot(notice))
    from payments.tasks import render_formal_notice_pdf_task

    transaction.on_commit(lambda: render_formal_notice_pdf_task.delay(notice.pk))
    return notice


@transaction.atomic
def formal_notice_update_letter(
    *, actor, notice: FormalNotice, tracking_number: str | None = None, received_on: datetime.date | None = None,
) -> FormalNotice:
    """Record the registered letter's tracking number and its receipt; the 30 days then run from receipt."""
    notice = FormalNotice.objects.select_for_update().get(pk=notice.pk)
    before = snapshot(notice)
    if tracking_number is not None:
        notice.tracking_number = tracking_number.strip()
    if received_on is not None:
        if received_on < notice.sent_on:
            raise PaymentsError(_("L'accusé de réception ne peut pas précéder l'envoi."), code="notice_receipt")
        notice.received_on = received_on
        if notice.status == FormalNoticeStatus.SENT:
            notice.applies_on = rules.sanctions_date(sent_on=notice.sent_on, received_on=received_on)
    notice.full_clean()
    notice.save()
    audit_record(actor=actor, obj=notice, action="payments.formal_notice.updated", changes=diff(before, snapshot(notice)))
    return notice


def formal_notices_process(*, today: datetime.date, now: datetime.datetime | None = None) -> dict:
    """Nightly (CGV B3): notices whose debt is paid are closed; those left without effect 30 days are applied once.

    All the notices of the night are handled together (:func:`formal_notices_apply`),
    so the query count grows with neither the invoices nor the instalments.
    Claiming the notices (row lock, then ``sent`` → ``applied``) makes each
    application happen once even when two runs overlap.
    """
    now = now or timezone.now()
    pending = list(FormalNotice.objects.filter(status=FormalNoticeStatus.SENT).order_by("pk"))
    if not pending:
        return {"settled": 0, "applied": 0}
    unpaid = selectors.notices_with_unpaid_invoices([n.pk for n in pending])
    settled = _formal_notices_settle(notice_ids=[n.pk for n in pending if n.pk not in unpaid], today=today)
    due = [n for n in pending if n.pk in unpaid and n.applies_on <= today]
    applied = formal_notices_apply(actor=None, notices=due, today=today, now=now)
    return {"settled": settled, "applied": len(applied)}


def _claim_notices(notice_ids, *, status: str, **changes) -> list[FormalNotice]:
    """Lock the notices still ``sent`` among ``notice_ids`` and move them to ``status`` (one run wins)."""
    if not notice_ids:
        return []
    claimed = list(FormalNotice.objects.select_for_update(of=("self",))
                   .filter(pk__in=list(notice_ids), status=FormalNoticeStatus.SENT)
                   .select_related("client").order_by("pk"))
    if claimed:
        FormalNotice.objects.filter(pk__in=[n.pk for n in claimed]).update(status=status, **changes)
        for notice in claimed:
            notice.status = status
            for field, value in changes.items():
                setattr(notice, field, value)
    return claimed


def _formal_notices_settle(*, notice_ids, today: datetime.date) -> int:
    if not notice_ids:
        return 0
    with transaction.atomic():
        settled = _claim_notices(notice_ids, status=FormalNoticeStatus.SETTLED, settled_on=today)
        audit_bulk(actor=None, objs=settled, action="payments.formal_notice.settled",
                   changes_for=lambda n: {"status": [FormalNoticeStatus.SENT, FormalNoticeStatus.SETTLED]})
    return len(settled)


def formal_notice_apply(*, actor, notice: FormalNotice, today: datetime.date, now: datetime.datetime) -> dict | None:
    """CGV B3 (a)–(d) for one notice, once (see :func:`formal_notices_apply`); ``None`` if already done."""
    return formal_notices_apply(actor=actor, notices=[notice], today=today, now=now).get(notice.pk)


def formal_notices_apply(
    *, actor, notices, today: datetime.date, now: datetime.datetime | None = None
) -> dict[int, dict]:
    """CGV B3 (a)–(d), once per notice: acceleration, late interest, €40 per late invoice, suspension.

    (a) an invoice for each instalment left until each running contract's term,
    due at once; (b) late interest on each invoice of the notice from the day
    after its due date to today (:func:`payments.rules.late_interest`; the rest,
    until payment, is charged when it is paid); (c) the €40 indemnity per late
    invoice, outside the scope of VAT, once per invoice ever; (b) and (c) are
    invoiced together at once (payable on receipt); (d) the client's running
    contracts are suspended (C10), the formal notice being the registered letter.

    Bulk, in one transaction: the notices still ``sent`` are locked and marked
    applied first (a concurrent run waits, then finds them applied), the
    acceleration invoices of every notice are issued in one batch
    (``billing.bulk.invoices_issue``: numbers reserved once, rows bulk-inserted),
    the charges recorded in one batch (``billing.bulk.charges_record``,
    idempotent on ``source_key``) and invoiced by one ``charges_invoice``. The
    query count depends on neither the invoices nor the instalments; only the
    suspension (contracts' ``contract_suspend``, with its e-mail) runs per
    contract. Returns ``{notice_id: what was done}`` for the notices applied now.
    """
    now = now or timezone.now()
    if not notices:
        return {}
    with transaction.atomic():
        claimed = _claim_notices([n.pk for n in notices], status=FormalNoticeStatus.APPLIED, applied_on=today)
        if not claimed:
            return {}
        # One pending notice per client (constraint formal_notice_one_pending_per_client).
        by_client = {n.client_id: n for n in claimed}
        # Locked now, so none changes status before its suspension (which would roll the whole night back).
        contracts = list(Contract.objects.select_for_update(of=("self",))
                         .filter(client_id__in=list(by_client), status=ContractStatus.ACTIVE)
                         .select_related("client").order_by("client_id", "pk"))
        accelerated = _accelerate(actor=actor, notices=claimed, contracts=contracts, today=today, now=now)
        penalties = _penalties_record(actor=actor, notices=claimed, today=today)
        penalty_invoices = billing_services.charges_invoice(
            actor=actor, today=today, now=now, charge_ids=[c.pk for c in penalties]) if penalties else []
        suspended = defaultdict(int)
        for contract in contracts:
            notice = by_client[contract.client_id]
            contract_services.contract_suspend(
                actor=actor, contract=contract, reason=SuspensionReason.UNPAID, letter_sent_on=notice.sent_on,
                letter_tracking_number=notice.tracking_number, now=now,
                details=_("Mise en demeure du %(date)s restée sans effet 30 jours (CGV art. 4, B3 d).")
                % {"date": _d(notice.sent_on)},
            )
            suspended[contract.client_id] += 1

        counts = {name: Counter(row.client_id for row in rows) for name, rows in [
            ("acceleration_invoices", accelerated), ("penalty_charges", penalties),
            ("penalty_invoices", penalty_invoices)]}
        results = {
            n.pk: {**{name: by[n.client_id] for name, by in counts.items()},
                   "suspended_contracts": suspended[n.client_id]}
            for n in claimed
        }
        audit_bulk(actor=actor, objs=claimed, action="payments.formal_notice.applied",
                   changes_for=lambda n: {"status": [FormalNoticeStatus.SENT, FormalNoticeStatus.APPLIED],
                                          **{k: [None, v] for k, v in results[n.pk].items()}})
    return results


def acceleration_source_key(notice_id: int, contract_id: int, period_start: datetime.date) -> str:
    return f"payments.acceleration:{notice_id}:{contract_id}:{period_start.isoformat()}"


def _accelerate(*, actor, notices: list[FormalNotice], contracts: list[Contract], today: datetime.date,
                now) -> list[Invoice]:
    """CGV B3 (a): issue the recurring invoice of every period left until the term, due today.

    The periods are the contract's billing periods (month, quarter, year) from
    the one containing today to the current term (``current_period_end``, or
    the contract's end date if earlier), at the prices in force today; the
    periods already invoiced are skipped, and the invoices keep the recurring
    kind and period so the monthly billing never invoices them again. Three
    reads, then one bulk issue for all the ``contracts`` of all the ``notices``.
    """
    if not contracts:
        return []
    by_client = {n.client_id: n for n in notices}
    ids = [c.pk for c in contracts]
    lines = defaultdict(list)
    for line in ContractLine.objects.filter(contract_id__in=ids).order_by("contract_id", "position", "pk"):
        lines[line.contract_id].append(line)
    # Every period considered starts in the calendar period of today, so on or after 1 January.
    existing = set(Invoice.objects.filter(contract_id__in=ids, kind=InvoiceKind.RECURRING,
                                          document_type=DocumentType.INVOICE,
                                          period_start__gte=billing_rules.calendar_period(today, 12)[0])
                   .values_list("contract_id", "period_start"))
    drafts = []
    for contract in contracts:
        notice = by_client[contract.client_id]
        term = contract.current_period_end
        if term is None:
            continue
        if contract.end_date and contract.end_date < term:
            term = contract.end_date
        months = BillingFrequency(contract.billing_frequency).months
        for period in billing_rules.recurring_periods(
            contract_start=contract.start_date, months=months, end=term,
            from_day=billing_rules.calendar_period(today, months)[0], to_day=term,
        ):
            if (contract.pk, period.start) in existing:
                continue
            draft = billing_services.recurring_invoice_drafts(contract=contract, lines=lines[contract.pk],
                                                              period=period)
            if draft is None:
                continue
            invoice, _lines = draft
            invoice.payment_method = InvoicePaymentMethod.TRANSFER
            invoice.due_date = today
            invoice.source_key = acceleration_source_key(notice.pk, contract.pk, period.start)
            invoice.notes = (_("Déchéance du terme (CGV art. 4, B3 a) : mise en demeure du %(date)s restée sans "
                               "effet 30 jours ; échéance exigible immédiatement.") % {"date": _d(notice.sent_on)})
            drafts.append(draft)
    return billing_bulk.invoices_issue(actor=actor, drafts=drafts, today=today, now=now)


def interest_source_key(invoice_id: int, final: bool = False) -> str:
    return f"payments.late_interest{'_final' if final else ''}:{invoice_id}"


def indemnity_source_key(invoice_id: int) -> str:
    return f"payments.recovery_indemnity:{invoice_id}"


def _penalties_record(*, actor, notices: list[FormalNotice], today: datetime.date) -> list[Charge]:
    """CGV B3 (b), (c); L3: late interest to today and the €40 indemnity for each invoice of the notices.

    Two reads (the notices' invoices, their settled payments), then one bulk
    record; returns the charges created now (a key recorded before, e.g. the
    indemnity of an invoice already in an earlier notice, is not charged again).
    """
    invoices = [line.invoice for line in FormalNoticeInvoice.objects.filter(notice__in=notices)
                .select_related("invoice__client", "invoice__contract").order_by("notice_id", "invoice__due_date", "pk")]
    payments = selectors.settled_payments_by_invoice([inv.pk for inv in invoices])
    indemnity = conf.get("PAYMENTS_RECOVERY_INDEMNITY")
    rate = f"{conf.get('PAYMENTS_LATE_INTEREST_ANNUAL_RATE'):.2f}".replace(".", ",")
    specs = []
    for inv in invoices:
        if inv.kind == InvoiceKind.PENALTY:
            continue  # no interest on interest, no indemnity on an indemnity
        interest = rules.late_interest(amount_due=inv.total_ttc, due_date=inv.due_date, until=today,
                                       payments=payments.get(inv.pk, []))
        if interest > 0:
            specs.append(dict(
                client=inv.client, contract=inv.contract, source="payments.late_interest",
                source_key=interest_source_key(inv.pk), service_date=today, vat_rate=None, unit_price=interest,
                description=_("Intérêts de retard sur la facture %(number)s échue le %(due)s, du %(start)s au "
                              "%(end)s au taux de %(rate)s %% l'an (CGV art. 4, B3 b)")
                % {"number": inv.number, "due": _d(inv.due_date),
                   "start": _d(inv.due_date + datetime.timedelta(days=1)), "end": _d(today), "rate": rate},
            ))
        specs.append(dict(
            client=inv.client, contract=inv.contract, source="payments.recovery_indemnity",
            source_key=indemnity_source_key(inv.pk), service_date=today, vat_rate=None, unit_price=indemnity,
            description=_("Indemnité forfaitaire pour frais de recouvrement, facture %(number)s "
                          "(art. L441-10 du Code de commerce, CGV art. 4, B3 c)") % {"number": inv.number},
        ))
    return billing_bulk.charges_record(actor=actor, charges=specs)


def late_interest_final_record(*, today: datetime.date) -> dict:
    """CGV B3 (b): interest keeps running until payment; once an invoice of an applied notice is paid,
    the interest from the application day to the payment is recorded (invoiced with the next charges).

    Four reads and one bulk record, whatever the number of invoices paid.
    """
    lines = list(
        FormalNoticeInvoice.objects.filter(notice__status=FormalNoticeStatus.APPLIED,
                                           invoice__status=InvoiceStatus.PAID)
        .exclude(invoice__kind=InvoiceKind.PENALTY)
        .select_related("invoice__client", "invoice__contract", "notice")
    )
    done = set(Charge.objects.filter(source_key__in=[interest_source_key(ln.invoice_id, final=True) for ln in lines])
               .values_list("source_key", flat=True))
    lines = [ln for ln in lines if interest_source_key(ln.invoice_id, final=True) not in done]
    if not lines:
        return {"final_interest": 0}
    charged = dict(Charge.objects.filter(source_key__in=[interest_source_key(ln.invoice_id) for ln in lines])
                   .values_list("source_key", "unit_price"))
    payments = selectors.settled_payments_by_invoice([ln.invoice_id for ln in lines])
    specs = []
    for ln in lines:
        inv = ln.invoice
        history = payments.get(inv.pk, [])
        paid_on = max((d for d, _a in history), default=inv.paid_at or today)
        total = rules.late_interest(amount_due=inv.total_ttc, due_date=inv.due_date, until=paid_on, payments=history)
        rest = money(total - charged.get(interest_source_key(inv.pk), ZERO))
        if rest <= 0:
            continue
        specs.append(dict(
            client=inv.client, contract=inv.contract, source="payments.late_interest",
            source_key=interest_source_key(inv.pk, final=True), service_date=paid_on, vat_rate=None, unit_price=rest,
            description=_("Intérêts de retard complémentaires sur la facture %(number)s, du %(start)s au "
                          "%(end)s (paiement) (CGV art. 4, B3 b)")
            % {"number": inv.number, "start": _d(ln.notice.applied_on + datetime.timedelta(days=1)),
               "end": _d(paid_on)},
        ))
    with transaction.atomic():
        recorded = billing_bulk.charges_record(actor=None, charges=specs)
    return {"final_interest": len(recorded)}


def client_services_resume_if_settled(
    *, actor, client, today: datetime.date, now: datetime.datetime | None = None
) -> int:
    """CGV B3 (d), C10: once the client's whole due debt is paid, its services resume with a written notice.

    Resumes every contract suspended for non-payment (``contracts.services.contract_resume``
    e-mails the written resumption notice) and closes the applied notices. Returns
    the number of contracts resumed.
    """
    now = now or timezone.now()
    notices = list(FormalNotice.objects.filter(client=client, status=FormalNoticeStatus.APPLIED,
                                               resumed_on__isnull=True))
    if not notices or selectors.client_due_debt(client=client, today=today) > 0:
        return 0
    resumed = 0
    with transaction.atomic():
        for contract in Contract.objects.filter(
            client=client, status=ContractStatus.SUSPENDED,
            suspensions__resumed_at__isnull=True, suspensions__reason=SuspensionReason.UNPAID,
        ).order_by("pk"):
            contract_services.contract_resume(
                actor=actor, contract=contract, now=now, resumption_letter_sent_on=today,
                resumption_note=_("Dette intégralement réglée au %(date)s : reprise des services (CGV art. 4 et 8).")
                % {"date": _d(today)},
            )
            resumed += 1
        FormalNotice.objects.filter(pk__in=[n.pk for n in notices]).update(resumed_on=today)
        for notice in notices:
            audit_record(actor=actor, obj=notice, action="payments.formal_notice.services_resumed",
                         changes={"resumed_on": [None, today], "contracts": [None, resumed]})
    return resumed


def services_resume_settled(*, today: datetime.date, now: datetime.datetime | None = None) -> dict:
    """Nightly: resume the services of every client in dunning whose due debt is now fully paid."""
    client_ids = set(FormalNotice.objects.filter(status=FormalNoticeStatus.APPLIED, resumed_on__isnull=True)
                     .values_list("client_id", flat=True))
    indebted = selectors.clients_with_due_debt(client_ids=client_ids, today=today)
    from contracts.models import Client

    resumed = 0
    for client in Client.objects.filter(pk__in=client_ids - indebted):
        resumed += client_services_resume_if_settled(actor=None, client=client, today=today, now=now)
    return {"resumed_contracts": resumed}


def formal_notice_terminate_for_cause(
    *, actor, notice: FormalNotice, contract: Contract, letter_sent_on: datetime.date, today: datetime.date,
    letter_tracking_number: str = "",
):
    """CGV C6: staff terminate a contract for cause once the formal notice stayed without effect for 30 days.

    Calls ``contracts.services.termination_record`` (which checks the 30 days
    from receipt); the termination amount (instalments left until term) is then
    invoiced by billing. Acceleration invoices of this contract for periods after
    the termination that are still wholly unpaid are cancelled by credit notes,
    so the instalments are not claimed twice.
    """
    if notice.status not in (FormalNoticeStatus.SENT, FormalNoticeStatus.APPLIED) or notice.client_id != contract.client_id:
        raise PaymentsError(_("Cette mise en demeure ne permet pas de résilier ce contrat."), code="notice_c6")
    if notice.received_on is None:
        raise PaymentsError(_("Indiquez d'abord la date de réception de la mise en demeure (accusé de réception)."),
                            code="notice_c6_receipt")
    if selectors.notices_with_unpaid_invoices([notice.pk]) == set():
        raise PaymentsError(_("La mise en demeure a été suivie d'effet : la dette est réglée."), code="notice_c6_paid")
    with transaction.atomic():
        termination = contract_services.termination_record(
            actor=actor, contract=contract, kind=TerminationKind.FOR_CAUSE, letter_sent_on=letter_sent_on,
            letter_tracking_number=letter_tracking_number, formal_notice_sent_on=notice.sent_on,
            formal_notice_received_on=notice.received_on, formal_notice_tracking_number=notice.tracking_number,
            reason=_("Impayés : mise en demeure du %(date)s restée sans effet (CGV art. 4 et 5, B3, C6).")
            % {"date": _d(notice.sent_on)},
        )
        for invoice in Invoice.objects.filter(
            source_key__startswith=f"payments.acceleration:{notice.pk}:{contract.pk}:",
            period_start__gt=termination.effective_on, status=InvoiceStatus.ISSUED, amount_paid=0,
        ):
            billing_services.invoice_credit(
                actor=actor, invoice=invoice, today=today,
                reason=_("remplacée par l'indemnité de résiliation pour faute (C6)"),
            )
        audit_record(actor=actor, obj=notice, action="payments.formal_notice.terminated_for_cause",
                     changes={"contract": [None, contract.reference], "termination": [None, termination.pk]})
    return termination


def formal_notice_store_pdf(notice_id: int) -> bool:
    """Render and store the formal notice letter once (called after commit by a task)."""
    import hashlib

    from payments import pdf

    notice = FormalNotice.objects.select_related("client").get(pk=notice_id)
    if notice.pdf:
        return False
    data = pdf.formal_notice_pdf_bytes(notice)
    stored = notice.pdf.storage.save(notice.pdf.field.generate_filename(notice, "mise-en-demeure.pdf"),
                                     ContentFile(data))
    if not FormalNotice.objects.filter(pk=notice.pk, pdf="").update(pdf=stored):
        notice.pdf.storage.delete(stored)
        return False
    audit_record(actor=None, obj=notice, action="payments.formal_notice.pdf_rendered",
                 changes={"sha256": [None, hashlib.sha256(data).hexdigest()]})
    return True
