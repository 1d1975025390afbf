"""Writes on parties and contracts. Keyword-only, audited, atomic."""
import csv
import datetime
import io
import secrets
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Prefetch
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contracts import conf, selectors, terms
from contracts.choices import (
    AvailabilitySource,
    BillingFrequency,
    ContractStatus,
    EquipmentOwnership,
    Party,
    SuspensionReason,
    TerminationKind,
    TerminationStatus,
)
from contracts.exceptions import ContractError
from contracts.models import (
    AvailabilityRecord,
    Client,
    Contact,
    Contract,
    ContractLine,
    ContractRevision,
    ContractSuspension,
    Equipment,
    SyntecIndex,
    Termination,
)
from core.audit import audit_bulk, audit_record, diff, snapshot
from core.dates import business_today
from core.mail import email_queue, emails_queue, staff_recipients
from core.models import OutboundEmail
from core.money import format_eur, money, to_decimal

User = get_user_model()


@transaction.atomic
def client_create(*, actor, **fields) -> Client:
    client = Client(**fields)
    client.full_clean()
    client.save()
    audit_record(actor=actor, obj=client, action="contracts.client.created", changes=snapshot(client))
    return client


@transaction.atomic
def client_update(*, actor, client: Client, **fields) -> Client:
    before = snapshot(client)
    for name, value in fields.items():
        setattr(client, name, value)
    client.full_clean()
    client.save()
    audit_record(actor=actor, obj=client, action="contracts.client.updated", changes=diff(before, snapshot(client)))
    return client


@transaction.atomic
def contact_create(*, actor, client: Client, **fields) -> Contact:
    contact = Contact(client=client, **fields)
    contact.full_clean()
    contact.save()
    audit_record(actor=actor, obj=contact, action="contracts.contact.created", changes=snapshot(contact))
    return contact


@transaction.atomic
def contact_enable_portal(*, actor, contact: Contact, password: str | None = None) -> User:
    """Give a contact a portal login (its e-mail). A portal user is never staff.

    Without ``password`` the account has an unusable password until the
    contact sets one through the invitation / password-reset link.
    """
    if contact.user_id:
        raise ContractError(f"{contact} a déjà un accès au portail.")
    if User.objects.filter(username__iexact=contact.email).exists():
        raise ContractError(
            f"L'adresse {contact.email} sert déjà d'identifiant au portail : un accès = un seul client."
        )
    user = User(username=contact.email.lower(), email=contact.email.lower(), is_staff=False, is_superuser=False)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    contact.user = user
    contact.save(update_fields=["user", "updated_at"])
    audit_record(actor=actor, obj=contact, action="contracts.contact.portal_enabled", changes={"user": [None, user.pk]})
    return user


def new_contract_reference(today: datetime.date) -> str:
    return f"CT-{today:%Y}-{secrets.token_hex(3).upper()}"


@transaction.atomic
def contract_create(*, actor, client: Client, lines: list[dict] | None = None, **fields) -> Contract:
    """Create a draft contract with its priced lines (``[{description, quantity, unit_price}]``)."""
    contract = Contract(client=client, **fields)
    if not contract.reference:
        contract.reference = new_contract_reference(contract.signature_date)
    contract.full_clean()
    contract.save()
    for position, line in enumerate(lines or []):
        item = ContractLine(contract=contract, position=position, **line)
        item.full_clean()
        item.save()
    audit_record(actor=actor, obj=contract, action="contracts.contract.created", changes=snapshot(contract))
    return contract


@transaction.atomic
def contract_activate(*, actor, contract: Contract) -> Contract:
    """Sign-off: compute and store the term dates (C1, C3) and make the contract active."""
    if contract.status != ContractStatus.DRAFT:
        raise ContractError(f"Le contrat {contract} n'est pas un brouillon (état : {contract.get_status_display()}).")
    if not contract.lines.exists():
        raise ContractError("Un contrat sans ligne tarifée ne peut pas être activé.")
    before = snapshot(contract)
    end = terms.initial_term_end(contract.signature_date)
    contract.initial_term_end = end
    contract.current_period_start = contract.start_date
    contract.current_period_end = end
    contract.notice_deadline = terms.notice_deadline(end)
    if contract.syntec_base_index_id is None:
        # CGV P3: the first revision compares with the index in force at signature.
        contract.syntec_base_index = selectors.syntec_index_on(contract.signature_date)
    contract.status = ContractStatus.ACTIVE
    contract.save()
    audit_record(
        actor=actor, obj=contract, action="contracts.contract.activated", changes=diff(before, snapshot(contract))
    )
    return contract


# --- Terminations (CGV C3–C7) ------------------------------------------------------------------

RUNNING = (ContractStatus.ACTIVE, ContractStatus.SUSPENDED)
AMICABLE_DISCOUNT = Decimal("20.00")  # CGV C5
_FREQUENCY_PERIOD = {
    BillingFrequency.MONTHLY: gettext_lazy("le mois en cours"),
    BillingFrequency.QUARTERLY: gettext_lazy("le trimestre en cours"),
    BillingFrequency.YEARLY: gettext_lazy("l'année en cours"),
}


@dataclass(frozen=True)
class TerminationQuote:
    """What a termination would do: when the contract ends and what the client owes, with the reasoning."""

    kind: str
    requested_by: str
    effective_on: datetime.date
    term_end: datetime.date
    monthly_amount: Decimal
    months_left: int
    discount_rate: Decimal
    amount_due: Decimal
    explanation: str


def _d(day: datetime.date) -> str:
    return day.strftime("%d/%m/%Y")


def termination_compute(
    *,
    contract: Contract,
    kind: str,
    letter_sent_on: datetime.date,
    requested_by: str | None = None,
    effective_on: datetime.date | None = None,
    formal_notice_received_on: datetime.date | None = None,
) -> TerminationQuote:
    """Compute the effect of a termination without saving anything (shown on screen, then recorded).

    Raises :class:`ContractError` when the terms do not allow it (C6 before the
    30 days, C7 without 3 missed months out of 6…).
    """
    if contract.status not in RUNNING:
        raise ContractError(
            _("Le contrat %(ref)s n'est pas en cours (état : %(status)s).")
            % {"ref": contract.reference, "status": contract.get_status_display()}
        )
    period_end = contract.current_period_end
    kind = TerminationKind(kind)
    zero = Decimal("0.00")

    if kind == TerminationKind.AT_TERM:
        # CGV C3: either party, registered letter at least 3 months before the term.
        party = Party(requested_by or Party.CLIENT)
        end = terms.term_for_notice(sent_on=letter_sent_on, current_term_end=period_end)
        deadline = terms.notice_deadline(period_end)
        if end == period_end:
            why = _("envoyée le %(sent)s, au plus tard le %(deadline)s (3 mois avant l'échéance)") % {
                "sent": _d(letter_sent_on), "deadline": _d(deadline)}
        else:
            why = _("envoyée le %(sent)s, après la date limite du %(deadline)s : elle vaut pour l'échéance "
                    "suivante") % {"sent": _d(letter_sent_on), "deadline": _d(deadline)}
        explanation = _(
            "Dénonciation à l'échéance par %(party)s (CGV art. 5, C3) : lettre recommandée %(why)s. "
            "Le contrat prend fin le %(end)s sans indemnité ; il n'est pas reconduit."
        ) % {"party": party.label, "why": why, "end": _d(end)}
        return TerminationQuote(kind, party, end, end, zero, 0, zero, zero, explanation)

    if kind == TerminationKind.AVAILABILITY:
        # CGV C7: by right for the client, 3 months' notice, when 3 months out of 6 missed the guarantee.
        missed = selectors.availability_window_missed(contract=contract, until=letter_sent_on)
        if missed is None:
            raise ContractError(
                _("Résiliation C7 impossible : la garantie de disponibilité de %(g)s %% n'a pas été manquée "
                  "3 mois sur 6 mois consécutifs avant le %(sent)s.")
                % {"g": contract.availability_guarantee, "sent": _d(letter_sent_on)}
            )
        end = terms.availability_termination_effective(letter_sent_on)
        explanation = _(
            "Résiliation de plein droit par le client pour garantie de disponibilité non tenue (CGV art. 5, C7) : "
            "garantie de %(g)s %% manquée en %(months)s. Préavis de 3 mois à compter de la lettre du %(sent)s : "
            "le contrat prend fin le %(end)s, sans indemnité."
        ) % {
            "g": contract.availability_guarantee,
            "months": ", ".join(m.strftime("%m/%Y") for m in missed),
            "sent": _d(letter_sent_on),
            "end": _d(end),
        }
        return TerminationQuote(kind, Party.CLIENT, end, end, zero, 0, zero, zero, explanation)

    # Early terminations: C4, C5, C6 — the instalments left until the term are owed.
    if kind == TerminationKind.FOR_CAUSE:
        party = Party.PROVIDER
        if formal_notice_received_on is None:
            raise ContractError(
                _("Résiliation pour faute (C6) : indiquez la date de réception de la mise en demeure "
                  "(ou de première présentation de la lettre recommandée).")
            )
        earliest = terms.for_cause_earliest_termination(formal_notice_received_on)
        if letter_sent_on < earliest:
            raise ContractError(
                _("Résiliation pour faute (C6) impossible avant le %(earliest)s : la mise en demeure reçue le "
                  "%(received)s doit être restée sans effet pendant 30 jours.")
                % {"earliest": _d(earliest), "received": _d(formal_notice_received_on)}
            )
    elif kind == TerminationKind.EARLY_CLIENT:
        party = Party.CLIENT
    else:
        party = Party(requested_by or Party.CLIENT)
    effective_on = effective_on or letter_sent_on
    if effective_on < letter_sent_on:
        raise ContractError(_("La date d'effet ne peut pas précéder la lettre (ou l'accord écrit)."))
    if effective_on > period_end:
        raise ContractError(
            _("La date d'effet %(eff)s dépasse l'échéance en cours du %(end)s : une dénonciation à l'échéance "
              "(C3) suffit.") % {"eff": _d(effective_on), "end": _d(period_end)}
        )
    monthly = selectors.contract_monthly_amount(contract, effective_on)
    months = terms.months_left(
        effective_on=effective_on, term_end=period_end, billing_frequency=contract.billing_frequency
    )
    discount = AMICABLE_DISCOUNT if kind == TerminationKind.AMICABLE else zero
    gross = monthly * months
    amount = money(gross * (Decimal("100") - discount) / Decimal("100"))
    basis = _(
        "le contrat prend fin le %(eff)s ; %(period)s est déjà facturé d'avance ; restent dues %(n)s mensualités "
        "jusqu'à l'échéance du %(end)s, soit %(n)s × %(monthly)s HT = %(gross)s HT"
    ) % {
        "eff": _d(effective_on),
        "period": _FREQUENCY_PERIOD[BillingFrequency(contract.billing_frequency)],
        "n": months,
        "end": _d(period_end),
        "monthly": format_eur(monthly),
        "gross": format_eur(gross),
    }
    if kind == TerminationKind.EARLY_CLIENT:
        explanation = _("Résiliation anticipée par le client (CGV art. 5, C4) : %(basis)s, exigibles.") % {
            "basis": basis}
    elif kind == TerminationKind.AMICABLE:
        explanation = _(
            "Résiliation anticipée amiable et écrite (CGV art. 5, C5) : %(basis)s ; remise de 20 %% : "
            "%(amount)s HT dus."
        ) % {"basis": basis, "amount": format_eur(amount)}
    else:
        explanation = _(
            "Résiliation de plein droit par le prestataire pour faute du client (CGV art. 5, C6), mise en demeure "
            "reçue le %(received)s restée sans effet 30 jours : %(basis)s, exigibles immédiatement en plus des "
            "sommes déjà dues."
        ) % {"received": _d(formal_notice_received_on), "basis": basis}
    return TerminationQuote(kind, party, effective_on, period_end, monthly, months, discount, amount, explanation)


@transaction.atomic
def termination_record(
    *,
    actor,
    contract: Contract,
    kind: str,
    letter_sent_on: datetime.date,
    requested_by: str | None = None,
    effective_on: datetime.date | None = None,
    letter_tracking_number: str = "",
    letter_received_on: datetime.date | None = None,
    letter_scan=None,
    formal_notice_sent_on: datetime.date | None = None,
    formal_notice_received_on: datetime.date | None = None,
    formal_notice_tracking_number: str = "",
    reason: str = "",
) -> Termination:
    """Record a termination notice (registered letter) and its computed effect (C3–C7).

    The contract keeps running until ``effective_on``; the nightly job closes it
    the day after. ``amount_due`` waits there for billing to invoice it.
    """
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    if contract.terminations.filter(status=TerminationStatus.RECORDED).exists():
        raise ContractError(
            _("Une résiliation est déjà enregistrée pour %(ref)s : retirez-la d'abord.") % {"ref": contract.reference}
        )
    quote = termination_compute(
        contract=contract,
        kind=kind,
        letter_sent_on=letter_sent_on,
        requested_by=requested_by,
        effective_on=effective_on,
        formal_notice_received_on=formal_notice_received_on,
    )
    termination = Termination(
        contract=contract,
        kind=quote.kind,
        requested_by=quote.requested_by,
        letter_sent_on=letter_sent_on,
        letter_tracking_number=letter_tracking_number,
        letter_received_on=letter_received_on,
        formal_notice_sent_on=formal_notice_sent_on,
        formal_notice_received_on=formal_notice_received_on,
        formal_notice_tracking_number=formal_notice_tracking_number,
        effective_on=quote.effective_on,
        term_end=quote.term_end,
        monthly_amount=quote.monthly_amount,
        months_left=quote.months_left,
        discount_rate=quote.discount_rate,
        amount_due=quote.amount_due,
        explanation=quote.explanation,
        reason=reason,
    )
    if letter_scan:
        termination.letter_scan = letter_scan
    termination.full_clean()
    termination.save()
    audit_record(actor=actor, obj=termination, action="contracts.termination.recorded", changes=snapshot(termination))
    audit_record(
        actor=actor, obj=contract, action="contracts.contract.termination_recorded",
        changes={"termination": [None, termination.pk], "effective_on": [None, quote.effective_on]},
    )
    return termination


@transaction.atomic
def termination_withdraw(*, actor, termination: Termination) -> Termination:
    """Withdraw a termination recorded by mistake or cancelled by agreement (before it takes effect)."""
    updated = Termination.objects.filter(pk=termination.pk, status=TerminationStatus.RECORDED).update(
        status=TerminationStatus.WITHDRAWN
    )
    if not updated:
        raise ContractError(_("Seule une résiliation enregistrée et pas encore effective peut être retirée."))
    termination.refresh_from_db()
    audit_record(
        actor=actor, obj=termination, action="contracts.termination.withdrawn",
        changes={"status": [TerminationStatus.RECORDED, TerminationStatus.WITHDRAWN]},
    )
    return termination


def contracts_close_terminated(*, today: datetime.date, actor=None, contract_ids: list[int] | None = None) -> dict:
    """Close the contracts whose termination took effect (last day < ``today``); start restitution (C9).

    Idempotent: terminations are claimed with ``select_for_update(skip_locked)``
    and a conditional update on their status. ``contract_ids`` limits it (demo data).
    """
    closed = 0
    with transaction.atomic():
        due = Termination.objects.select_for_update(skip_locked=True, of=("self", "contract")).filter(
            status=TerminationStatus.RECORDED, effective_on__lt=today
        )
        if contract_ids is not None:
            due = due.filter(contract_id__in=contract_ids)
        due = list(due.select_related("contract"))
        if not due:
            return {"closed": 0, "equipment_to_return": 0}
        contracts = []
        for t in due:
            c = t.contract
            c.status = ContractStatus.ENDED if t.kind == TerminationKind.AT_TERM else ContractStatus.TERMINATED
            c.end_date = t.effective_on
            contracts.append(c)
        Contract.objects.bulk_update(contracts, ["status", "end_date"], batch_size=1000)
        closed = Termination.objects.filter(pk__in=[t.pk for t in due], status=TerminationStatus.RECORDED).update(
            status=TerminationStatus.EFFECTIVE
        )
        days = conf.equipment_restitution_days()
        end_by_contract = {c.pk: c.end_date for c in contracts}
        items = list(
            Equipment.objects.filter(
                contract_id__in=end_by_contract, ownership=EquipmentOwnership.LEASED,
                returned_on__isnull=True, restitution_due_on__isnull=True,
            )
        )
        for item in items:
            item.restitution_due_on = terms.restitution_due(end_by_contract[item.contract_id], days)
        Equipment.objects.bulk_update(items, ["restitution_due_on"], batch_size=1000)
        audit_bulk(
            actor=actor, objs=contracts, action="contracts.contract.closed",
            changes_for=lambda c: {"status": [None, c.status], "end_date": [None, c.end_date.isoformat()]},
        )
    return {"closed": closed, "equipment_to_return": len(items)}


@transaction.atomic
def equipment_mark_returned(*, actor, equipment: Equipment, returned_on: datetime.date) -> Equipment:
    """CGV C9: a leased item is back; it leaves the restitution list."""
    before = snapshot(equipment)
    equipment.returned_on = returned_on
    equipment.full_clean()
    equipment.save(update_fields=["returned_on"])
    audit_record(actor=actor, obj=equipment, action="contracts.equipment.returned",
                 changes=diff(before, snapshot(equipment)))
    return equipment


# --- Tacit renewal (CGV C2) -----------------------------------------------------------------------


def contracts_renew_due(*, today: datetime.date, actor=None, contract_ids: list[int] | None = None) -> dict:
    """CGV C2: on the term date, renew for 1 January – 31 December every running contract not terminated.

    Exactly once per period: the UPDATE is conditional on the period end it
    read, so a second (or concurrent) run finds nothing left to renew. Queries
    do not grow with the number of contracts (one UPDATE per distinct term date
    and chunk of ids).
    """
    renewed = 0
    with transaction.atomic():
        ending_here = Termination.objects.filter(
            contract=OuterRef("pk"), status=TerminationStatus.RECORDED,
            effective_on__lte=OuterRef("current_period_end"),
        )
        due = (
            selectors.contracts_running()
            .filter(current_period_end__lte=today)
            .exclude(Exists(ending_here))
            .select_for_update(skip_locked=True)
        )
        if contract_ids is not None:
            due = due.filter(pk__in=contract_ids)
        rows = list(due.values_list("pk", "reference", "current_period_end"))
        by_end: dict[datetime.date, list] = {}
        for pk, reference, end in rows:
            by_end.setdefault(end, []).append((pk, reference))
        audited = []
        for end, items in sorted(by_end.items()):
            new_start, new_end = terms.next_period(end)
            # A contract left unrenewed for several years (outage) catches up to the period containing today.
            while new_end < today:
                new_start, new_end = terms.next_period(new_end)
            ids = [pk for pk, _ref in items]
            for i in range(0, len(ids), 5000):
                renewed += Contract.objects.filter(
                    pk__in=ids[i : i + 5000], current_period_end=end, status__in=RUNNING
                ).update(
                    current_period_start=new_start,
                    current_period_end=new_end,
                    notice_deadline=terms.notice_deadline(new_end),
                )
            audited += [
                (Contract(pk=pk, reference=ref), {"current_period_end": [end.isoformat(), new_end.isoformat()]})
                for pk, ref in items
            ]
        changes = {c.pk: ch for c, ch in audited}
        audit_bulk(actor=actor, objs=[c for c, _ch in audited], action="contracts.contract.renewed",
                   changes_for=lambda c: changes[c.pk])
    return {"renewed": renewed}


# --- Suspension (CGV C10; B3 d) -------------------------------------------------------------------


@transaction.atomic
def contract_suspend(
    *,
    actor,
    contract: Contract,
    reason: str,
    letter_sent_on: datetime.date,
    now: datetime.datetime,
    letter_tracking_number: str = "",
    letter_scan=None,
    details: str = "",
    scope: str = "",
) -> ContractSuspension:
    """CGV C10: suspend all (or part of) the services after a registered-letter notification.

    The contract's status becomes ``suspended`` until :func:`contract_resume`.
    The payments engineer calls it with ``reason=SuspensionReason.UNPAID`` (B3 d).
    """
    locked = Contract.objects.select_for_update().get(pk=contract.pk)
    if locked.status != ContractStatus.ACTIVE:
        raise ContractError(
            _("Seul un contrat actif peut être suspendu (%(ref)s : %(status)s).")
            % {"ref": locked.reference, "status": locked.get_status_display()}
        )
    suspension = ContractSuspension(
        contract=locked, reason=reason, details=details, scope=scope, letter_sent_on=letter_sent_on,
        letter_tracking_number=letter_tracking_number, suspended_at=now,
    )
    if letter_scan:
        suspension.letter_scan = letter_scan
    suspension.full_clean()
    suspension.save()
    Contract.objects.filter(pk=locked.pk).update(status=ContractStatus.SUSPENDED)
    contract.status = ContractStatus.SUSPENDED
    audit_record(actor=actor, obj=suspension, action="contracts.suspension.created", changes=snapshot(suspension))
    audit_record(actor=actor, obj=contract, action="contracts.contract.suspended",
                 changes={"status": [ContractStatus.ACTIVE, ContractStatus.SUSPENDED], "reason": [None, reason]})
    email_queue(
        to=_client_recipients(locked.client),
        cc=staff_recipients(),
        subject=_("Suspension des services — contrat %(ref)s") % {"ref": locked.reference},
        body=_(
            "Bonjour,\n\nComme notifié par lettre recommandée du %(sent)s, MICRO INFO SERVICE suspend %(scope)s "
            "du contrat %(ref)s (CGV art. 8) pour le motif suivant : %(reason)s.\n"
            "Les services reprendront sur notification écrite de reprise.\n\nMICRO INFO SERVICE"
        ) % {
            "sent": _d(letter_sent_on), "scope": scope or _("l'ensemble des services"), "ref": locked.reference,
            "reason": SuspensionReason(reason).label,
        },
        key=f"contracts.suspension:{suspension.pk}",
    )
    return suspension


@transaction.atomic
def contract_resume(
    *,
    actor,
    contract: Contract,
    now: datetime.datetime,
    resumption_letter_sent_on: datetime.date | None = None,
    resumption_note: str = "",
) -> ContractSuspension:
    """CGV C10: the written resumption notice ends the open suspension; the contract is active again."""
    locked = Contract.objects.select_for_update().get(pk=contract.pk)
    suspension = locked.suspensions.filter(resumed_at__isnull=True).first()
    if locked.status != ContractStatus.SUSPENDED or suspension is None:
        raise ContractError(_("Le contrat %(ref)s n'est pas suspendu.") % {"ref": locked.reference})
    suspension.resumed_at = now
    suspension.resumption_letter_sent_on = resumption_letter_sent_on or business_today(now)
    suspension.resumption_note = resumption_note
    suspension.full_clean()
    suspension.save()
    Contract.objects.filter(pk=locked.pk).update(status=ContractStatus.ACTIVE)
    contract.status = ContractStatus.ACTIVE
    audit_record(actor=actor, obj=suspension, action="contracts.suspension.resumed",
                 changes={"resumed_at": [None, now]})
    audit_record(actor=actor, obj=contract, action="contracts.contract.resumed",
                 changes={"status": [ContractStatus.SUSPENDED, ContractStatus.ACTIVE]})
    email_queue(
        to=_client_recipients(locked.client),
        cc=staff_recipients(),
        subject=_("Reprise des services — contrat %(ref)s") % {"ref": locked.reference},
        body=_("Bonjour,\n\nLes services du contrat %(ref)s reprennent à compter du %(day)s.\n\nMICRO INFO SERVICE")
        % {"ref": locked.reference, "day": _d(business_today(now))},
        key=f"contracts.resumption:{suspension.pk}",
    )
    return suspension


def _client_recipients(client: Client, contacts=None) -> list[str]:
    """The client's active contacts, or its billing address when it has none."""
    if contacts is None:
        contacts = client.contacts.filter(is_active=True)
    emails = sorted({c.email for c in contacts if c.is_active})
    return emails or [client.billing_email]


# --- Availability (CGV C7) --------------------------------------------------------------------------


@transaction.atomic
def availability_record(
    *, actor, contract: Contract, month: datetime.date, availability: Decimal,
    source: str = AvailabilitySource.STAFF, notes: str = "",
) -> AvailabilityRecord:
    """Record (or correct) the measured availability of one month; interventions will call it too."""
    month = terms.month_start(month)
    record = AvailabilityRecord.objects.filter(contract=contract, month=month).first()
    before = snapshot(record) if record else {}
    if record is None:
        record = AvailabilityRecord(contract=contract, month=month)
    record.availability = to_decimal(availability)
    record.source = source
    record.notes = notes
    record.full_clean()
    record.save()
    audit_record(actor=actor, obj=record, action="contracts.availability.recorded",
                 changes=diff(before, snapshot(record)))
    return record


# --- Syntec index and yearly revision (CGV P3) ------------------------------------------------------


@transaction.atomic
def syntec_index_import(*, actor, text: str) -> dict:
    """Import Syntec values from CSV ``month,value,published_on[,published_on_confirmed]``.

    ``month`` is ``YYYY-MM``, ``value`` a decimal with a dot, ``published_on``
    ``YYYY-MM-DD``, ``published_on_confirmed`` ``yes``/``no``. Existing months are
    updated. Any bad line rejects the whole file (the message gives its number).
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = {"month", "value", "published_on"} - set(reader.fieldnames or [])
    if missing:
        raise ContractError(_("Colonnes manquantes dans le fichier : %(cols)s.") % {"cols": ", ".join(sorted(missing))})
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for lineno, row in enumerate(reader, start=2):
        try:
            month = datetime.date.fromisoformat(row["month"].strip() + "-01")
            value = Decimal(row["value"].strip()).quantize(Decimal("0.01"))
            published_on = datetime.date.fromisoformat(row["published_on"].strip())
        except (ValueError, ArithmeticError, AttributeError) as exc:
            raise ContractError(_("Ligne %(n)s illisible : %(row)s.") % {"n": lineno, "row": row}) from exc
        confirmed = (row.get("published_on_confirmed") or "").strip().lower() in ("yes", "oui", "true", "1")
        index = SyntecIndex.objects.filter(month=month).first()
        before = snapshot(index) if index else {}
        if index is None:
            index = SyntecIndex(month=month)
        index.value, index.published_on, index.published_on_confirmed = value, published_on, confirmed
        try:
            index.full_clean()
        except ValidationError as exc:
            raise ContractError(_("Ligne %(n)s refusée : %(err)s") % {"n": lineno, "err": "; ".join(exc.messages)}) from exc
        changes = diff(before, snapshot(index))
        if before and not changes:
            counts["unchanged"] += 1
            continue
        index.save()
        counts["updated" if before else "created"] += 1
        audit_record(actor=actor, obj=index, action="contracts.syntec_index.imported", changes=changes)
    return counts


@dataclass(frozen=True)
class RevisionQuote:
    """The Syntec revision of one contract at one date (P3), computed and not saved."""

    revision_date: datetime.date
    base_index: SyntecIndex
    new_index: SyntecIndex
    coefficient: Decimal
    lines: list[dict]
    old_monthly_total: Decimal
    new_monthly_total: Decimal


def revision_coefficient(base_value: Decimal, new_value: Decimal) -> Decimal:
    """P3: I_N / I_{N-1}, at full Decimal precision unless a rounding is configured."""
    coefficient = to_decimal(new_value) / to_decimal(base_value)
    places = conf.syntec_coefficient_decimals()
    if places is not None:
        coefficient = coefficient.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return coefficient


def _index_published_on(indexes: list[SyntecIndex], day: datetime.date) -> SyntecIndex | None:
    """The latest index published on or before ``day`` from ``indexes`` sorted by (published_on, month)."""
    found = None
    for index in indexes:
        if index.published_on <= day:
            found = index
        else:
            break
    return found


@dataclass(frozen=True)
class _Line:
    pk: int
    description: str
    quantity: Decimal
    unit_price: Decimal
    valid_from: datetime.date | None
    valid_until: datetime.date | None


def _revise(
    *, reference: str, signature_date: datetime.date, base: SyntecIndex | None, lines: list[_Line],
    revision_date: datetime.date, indexes: list[SyntecIndex],
) -> RevisionQuote:
    """The arithmetic of P3 on plain values (shared by the preview and the bulk job)."""
    base = base or _index_published_on(indexes, signature_date)
    new = _index_published_on(indexes, revision_date)
    if base is None or new is None or new.month <= base.month:
        raise ContractError(
            _("Pas de révision Syntec au %(day)s pour %(ref)s : aucun indice publié plus récent que l'indice de "
              "référence (%(base)s). Importez les indices publiés.")
            % {"day": _d(revision_date), "ref": reference, "base": base or _("aucun")}
        )
    coefficient = revision_coefficient(base.value, new.value)
    items, old_total, new_total = [], Decimal("0"), Decimal("0")
    for line in lines:
        if line.valid_until is not None and line.valid_until < revision_date:
            continue  # an amendment line no longer in force keeps its historical price
        new_price = money(line.unit_price * coefficient)
        items.append({
            "line": line.pk, "description": line.description, "quantity": str(line.quantity),
            "old_unit_price": str(line.unit_price), "new_unit_price": str(new_price),
        })
        if line.valid_from is None or line.valid_from <= revision_date:  # in force on the revision date
            old_total += line.quantity * line.unit_price
            new_total += line.quantity * new_price
    return RevisionQuote(revision_date, base, new, coefficient, items, money(old_total), money(new_total))


def revision_compute(
    *, contract: Contract, revision_date: datetime.date, indexes: list[SyntecIndex] | None = None
) -> RevisionQuote:
    """P3: P_N = P_{N-1} × I_N / I_{N-1}, each unit price rounded half-up to the cent.

    I_N is the latest index published on or before ``revision_date``; I_{N-1} the
    contract's base index (the one in force at signature for the first revision).
    Raises :class:`ContractError` when no index newer than the base is published.
    Nothing is saved: the admin's preview shows it.
    """
    if indexes is None:
        indexes = list(SyntecIndex.objects.order_by("published_on", "month"))
    lines = [
        _Line(line.pk, line.description, line.quantity, line.unit_price, line.valid_from, line.valid_until)
        for line in contract.lines.all()
    ]
    return _revise(reference=contract.reference, signature_date=contract.signature_date,
                   base=contract.syntec_base_index, lines=lines, revision_date=revision_date, indexes=indexes)


REVISION_CHUNK = 2000


def _update_unit_prices(prices: list[tuple[int, Decimal]]) -> None:
    """Write many new unit prices in one statement (UPDATE … FROM VALUES; PostgreSQL and SQLite ≥ 3.33).

    ``bulk_update`` builds one CASE branch per row in Python, which took most of
    the revision's time over 10,000 contracts.
    """
    if not prices:
        return
    table = connection.ops.quote_name(ContractLine._meta.db_table)
    values = ", ".join(["(%s, %s)"] * len(prices))
    params = [x for pk, price in prices for x in (pk, str(price))]
    cast = "CAST(v.column2 AS NUMERIC)" if connection.vendor == "postgresql" else "v.column2"
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET unit_price = {cast} FROM (VALUES {values}) AS v "  # noqa: S608 - no user input
            f"WHERE {table}.id = v.column1",
            params,
        )


def contracts_revise(*, year: int, actor=None, contract_ids: list[int] | None = None) -> dict:
    """P3: the 1 January revision of every running contract signed before that date, once per year.

    Contracts are claimed by chunks with ``select_for_update(skip_locked)``;
    the unique (contract, year) constraint makes a second run a no-op. A fixed
    number of queries per chunk of 2000 contracts. Contracts without a newer
    published index are left unrevised and reported to staff once per year.
    """
    revision_date = datetime.date(year, 1, 1)
    indexes = list(SyntecIndex.objects.order_by("published_on", "month"))
    by_pk = {index.pk: index for index in indexes}
    revised, skipped, last_pk = 0, [], 0
    running = selectors.contracts_running()
    if contract_ids is not None:
        running = running.filter(pk__in=contract_ids)
    while True:
        with transaction.atomic():
            chunk = list(
                running
                .filter(signature_date__lt=revision_date, pk__gt=last_pk)
                .exclude(revisions__year=year)
                .select_for_update(skip_locked=True)
                .order_by("pk")
                .values_list("pk", "reference", "signature_date", "syntec_base_index_id")[:REVISION_CHUNK]
            )
            if not chunk:
                break
            last_pk = chunk[-1][0]
            lines_by_contract: dict[int, list[_Line]] = {}
            for pk, contract_id, *values in (
                ContractLine.objects.filter(contract_id__in=[row[0] for row in chunk])
                .order_by("contract_id", "position", "pk")
                .values_list("pk", "contract_id", "description", "quantity", "unit_price", "valid_from", "valid_until")
            ):
                lines_by_contract.setdefault(contract_id, []).append(_Line(pk, *values))
            revisions, prices, revised_contracts = [], [], []
            for pk, reference, signature_date, base_id in chunk:
                try:
                    quote = _revise(
                        reference=reference, signature_date=signature_date, base=by_pk.get(base_id),
                        lines=lines_by_contract.get(pk, []), revision_date=revision_date, indexes=indexes,
                    )
                except ContractError:
                    skipped.append(reference)
                    continue
                prices += [(item["line"], item["new_unit_price"]) for item in quote.lines]
                revisions.append(ContractRevision(
                    contract_id=pk, year=year, revision_date=revision_date, base_index_id=quote.base_index.pk,
                    new_index_id=quote.new_index.pk, coefficient=quote.coefficient.quantize(Decimal("1e-12")),
                    old_monthly_total=quote.old_monthly_total, new_monthly_total=quote.new_monthly_total,
                    lines=quote.lines,
                ))
                revised_contracts.append(Contract(pk=pk, reference=reference))
            if not revisions:
                continue
            ContractRevision.objects.bulk_create(revisions, batch_size=REVISION_CHUNK)
            _update_unit_prices(prices)
            by_new_index: dict[int, list[int]] = {}
            for r in revisions:
                by_new_index.setdefault(r.new_index_id, []).append(r.contract_id)
            for index_id, ids in by_new_index.items():
                Contract.objects.filter(pk__in=ids).update(syntec_base_index_id=index_id)
            quotes = {r.contract_id: r for r in revisions}
            audit_bulk(
                actor=actor, objs=revised_contracts, action="contracts.contract.revised",
                changes_for=lambda c, quotes=quotes: {
                    "year": year, "coefficient": str(quotes[c.pk].coefficient),
                    "monthly_total": [str(quotes[c.pk].old_monthly_total), str(quotes[c.pk].new_monthly_total)],
                },
            )
            revised += len(revisions)
    if skipped:
        email_queue(
            to=staff_recipients(),
            subject=_("Révision Syntec %(year)s : %(n)s contrat(s) non révisé(s)") % {"year": year, "n": len(skipped)},
            body=_(
                "Aucun indice Syntec publié au %(day)s n'est plus récent que l'indice de référence de ces contrats ; "
                "leurs prix n'ont pas été révisés (CGV P3) :\n%(refs)s\n\nImportez les indices publiés dans "
                "l'administration (Indices Syntec → Importer) : la révision sera faite par le traitement de nuit "
                "suivant (en janvier) ou par « manage.py run_nightly --date %(iso)s --only contracts.syntec_revision »."
            ) % {"day": _d(revision_date), "refs": "\n".join(skipped[:200]), "iso": revision_date.isoformat()},
            key=f"contracts.revision.no_index:{year}",
        )
    return {"revised": revised, "not_revised_no_index": len(skipped)}


def revision_letters_send(*, limit: int | None = None) -> dict:
    """E-mail the revision letter of each revision not yet notified to the client (one e-mail per revision).

    All the letters of a run are queued at once (``core.mail.emails_queue``): the
    statement count does not grow with the number of revised contracts.
    """
    pending = (
        ContractRevision.objects.filter(letter_sent=False)
        .select_related("contract__client", "base_index", "new_index")
        .prefetch_related(Prefetch("contract__client__contacts", queryset=Contact.objects.filter(is_active=True)))
        .order_by("pk")
    )
    if limit:
        pending = pending[:limit]
    revisions = list(pending)
    if not revisions:
        return {"letters": 0}
    with transaction.atomic():
        emails_queue([_revision_letter(revision) for revision in revisions])
        ContractRevision.objects.filter(pk__in=[r.pk for r in revisions]).update(letter_sent=True)
    return {"letters": len(revisions)}


def _revision_letter(revision: ContractRevision) -> dict:
    """The P3 letter of one revision, as ``emails_queue`` arguments."""
    contract = revision.contract
    lines = "\n".join(
        _("  - %(desc)s : %(old)s → %(new)s HT par mois (quantité %(qty)s)")
        % {"desc": item["description"], "old": format_eur(Decimal(item["old_unit_price"])),
           "new": format_eur(Decimal(item["new_unit_price"])), "qty": item["quantity"]}
        for item in revision.lines
    )
    return {
        "to": _client_recipients(contract.client, contract.client.contacts.all()),
        "subject": _("Révision annuelle des prix au %(day)s — contrat %(ref)s")
        % {"day": _d(revision.revision_date), "ref": contract.reference},
        "body": _(
            "Bonjour,\n\nConformément à l'article 3.2 de nos conditions générales, les prix de votre contrat "
            "%(ref)s sont révisés au %(day)s selon l'indice Syntec :\n"
            "P(N) = P(N-1) × I(N) / I(N-1), avec I(N-1) = %(base)s (%(base_month)s) et I(N) = %(new)s "
            "(%(new_month)s, publié le %(published)s), soit un coefficient de %(coef)s.\n\n%(lines)s\n\n"
            "Redevance mensuelle HT : %(old_total)s → %(new_total)s.\n\nMICRO INFO SERVICE"
        ) % {
            "ref": contract.reference, "day": _d(revision.revision_date),
            "base": revision.base_index.value, "base_month": revision.base_index.month.strftime("%m/%Y"),
            "new": revision.new_index.value, "new_month": revision.new_index.month.strftime("%m/%Y"),
            "published": _d(revision.new_index.published_on),
            "coef": f"{revision.coefficient.normalize():f}", "lines": lines,
            "old_total": format_eur(revision.old_monthly_total),
            "new_total": format_eur(revision.new_monthly_total),
        },
        "key": f"contracts.revision_letter:{revision.pk}",
    }


# --- Notice reminders (CGV C3) ---------------------------------------------------------------------


def notice_reminders_send(*, today: datetime.date) -> dict:
    """E-mail the client's contacts before each notice deadline (default 60 and 15 days), once per deadline.

    For each running contract without a pending termination whose deadline is
    at most the longest lead away, the reminder sent is the one of the
    shortest lead the deadline falls within (the key makes it once only). Staff
    get one digest per run.
    """
    leads = conf.notice_reminder_days()
    if not leads:
        return {"reminders": 0}
    horizon = today + datetime.timedelta(days=max(leads))
    contracts = list(
        selectors.contracts_running()
        .filter(notice_deadline__range=(today, horizon))
        .exclude(terminations__status=TerminationStatus.RECORDED)
        .select_related("client")
        .prefetch_related(Prefetch("client__contacts", queryset=Contact.objects.filter(is_active=True)))
        .order_by("notice_deadline", "pk")
    )
    wanted = {}
    for contract in contracts:
        days_left = (contract.notice_deadline - today).days
        lead = min(x for x in leads if days_left <= x)
        wanted[f"contracts.notice_reminder:{contract.pk}:{contract.notice_deadline.isoformat()}:{lead}"] = contract
    already = set(OutboundEmail.objects.filter(key__in=list(wanted)).values_list("key", flat=True))
    reminded = []
    for key, contract in wanted.items():
        if key in already:
            continue
        with transaction.atomic():
            email = email_queue(
                to=_client_recipients(contract.client, contract.client.contacts.all()),
                subject=_("Contrat %(ref)s : date limite de dénonciation le %(deadline)s")
                % {"ref": contract.reference, "deadline": _d(contract.notice_deadline)},
                body=_(
                    "Bonjour,\n\nVotre contrat %(ref)s arrive à échéance le %(end)s. Conformément à l'article 5 de "
                    "nos conditions générales, chaque partie peut y mettre fin à cette échéance par lettre "
                    "recommandée avec accusé de réception envoyée au plus tard le %(deadline)s. À défaut, il sera "
                    "reconduit tacitement pour une période de 12 mois (du %(next_start)s au %(next_end)s).\n\n"
                    "MICRO INFO SERVICE"
                ) % {
                    "ref": contract.reference, "end": _d(contract.current_period_end),
                    "deadline": _d(contract.notice_deadline),
                    "next_start": _d(terms.next_period(contract.current_period_end)[0]),
                    "next_end": _d(terms.next_period(contract.current_period_end)[1]),
                },
                key=key,
            )
        if email is not None:
            reminded.append(contract)
    if reminded:
        email_queue(
            to=staff_recipients(),
            subject=_("Dates limites de dénonciation à venir : %(n)s contrat(s)") % {"n": len(reminded)},
            body=_("Rappels envoyés aux clients ce jour :\n%(rows)s") % {
                "rows": "\n".join(
                    f"  - {c.reference} ({c.client.name}) : {_d(c.notice_deadline)} / {_d(c.current_period_end)}"
                    for c in reminded
                )
            },
            key=f"contracts.notice_reminders.staff:{today.isoformat()}",
        )
    return {"reminders": len(reminded)}
