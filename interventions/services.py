"""Writes of the interventions app: keyword-only, atomic, validated and audited.

Rules: CGV S1 (phone support), S2 (intervention delay), S3 (preventive visits),
S4 (remote prerequisites), S5 (out-of-hours work billed), S6/S7 (coverage),
C7 (availability), C8 (force majeure stops the clocks), C10/B3 (suspension),
K4 (call-back), K5 (repair of the backup hardware).
"""
import datetime
import hashlib
import uuid
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from contracts.choices import ContractStatus
from contracts.models import Contract, ForceMajeureEvent
from contracts.selectors import force_majeure_periods
from core.audit import audit_bulk, audit_record, diff, snapshot
from core.business_time import (
    business_add,
    business_intervals,
    calendar_for,
    is_business_day,
    is_business_time,
    next_business_opening,
    public_holidays,
)
from core.dates import PARIS
from core.mail import email_queue
from core.money import money
from interventions import sla
from interventions.choices import (
    OPEN_STATUSES,
    Channel,
    InterventionKind,
    InterventionStatus,
    PauseReason,
    RateKind,
    Severity,
    SlaState,
    TicketStatus,
)
from interventions.exceptions import InterventionError
from interventions.models import (
    ATTACHMENT_PREFIX,
    ForceMajeureSync,
    Intervention,
    OutOfHoursRate,
    PhoneCall,
    PreventivePlan,
    RepairRequest,
    Ticket,
    TicketAttachment,
    TicketComment,
    TicketPause,
    TimeEntry,
    VisitReport,
)

PHONE_CALL_LIMIT = datetime.timedelta(minutes=30)  # CGV S1
HOUR = Decimal("0.01")


def _staff_recipients(*users) -> list[str]:
    recipients = [settings.STAFF_NOTIFICATION_EMAIL]
    recipients += sorted({u.email for u in users if u is not None and u.email})
    return recipients


def _fmt(instant: datetime.datetime) -> str:
    return instant.astimezone(PARIS).strftime("%d/%m/%Y %H:%M")


# --- Coverage and suspension (S6, S7, C10, B3) -----------------------------------------------------


def current_contract(client) -> Contract | None:
    """The client's contract in force (active or suspended), the most recent first."""
    return (
        Contract.objects.filter(client=client, status__in=[ContractStatus.ACTIVE, ContractStatus.SUSPENDED])
        .order_by("-signature_date", "-pk")
        .first()
    )


def suspension_notice(contract) -> str:
    """The explanation shown on every ticket of a suspended contract (C10, B3), empty otherwise."""
    if contract is None or contract.status != ContractStatus.SUSPENDED:
        return ""
    suspension = contract.suspensions.filter(resumed_at__isnull=True).first()
    since = _(" depuis le %(date)s") % {"date": _fmt(suspension.suspended_at)[:10]} if suspension else ""
    reason = _(" (motif : %(reason)s)") % {"reason": suspension.get_reason_display()} if suspension else ""
    return _(
        "Contrat %(ref)s suspendu%(since)s%(reason)s : seules les demandes urgentes (sévérité 1) sont "
        "traitées jusqu'à la notification écrite de reprise du service."
    ) % {"ref": contract.reference, "since": since, "reason": reason}


def ticket_check_allowed(*, client, contract, severity: int) -> None:
    """Raise when a ticket may not be opened (C10/B3 suspension); forms call it to show the reason."""
    _refuse_if_suspended(contract or current_contract(client), urgent=int(severity) == Severity.BLOCKING)


def _refuse_if_suspended(contract, *, urgent: bool) -> None:
    """C10/B3: a suspended contract gets urgent work only; everything else is refused with the reason."""
    if contract is not None and contract.status == ContractStatus.SUSPENDED and not urgent:
        raise InterventionError(suspension_notice(contract), code="contract_suspended")


def _quote_ordered(quote) -> bool:
    return quote is not None and quote.status == "ordered"  # billing.QuoteStatus.ORDERED (B5: signed = order)


def _refuse_unquoted_work(intervention: Intervention) -> None:
    """S6: work outside the contract starts only once its quote is signed (it is then an order, B5)."""
    ticket = intervention.ticket
    needs_quote = bool(intervention.exclusion) or (ticket is not None and not ticket.is_covered) or (
        intervention.contract_id is None and intervention.kind != InterventionKind.PREVENTIVE
    )
    if not needs_quote:
        return
    if _quote_ordered(intervention.quote) or (ticket is not None and _quote_ordered(ticket.quote)):
        return
    raise InterventionError(
        _(
            "Travail hors contrat (CGV S6) : faites signer un devis au client avant de commencer "
            "le travail facturable (un devis signé vaut commande)."
        ),
        code="quote_required",
    )


# --- Tickets and their SLA clock (S2, C8) ------------------------------------------------------------


def _ticket_pauses(ticket: Ticket, *, now, client_pauses=None, fm_periods=None) -> list:
    if client_pauses is None:
        client_pauses = [(p.started_at, p.ended_at) for p in ticket.pauses.all()]
    if fm_periods is None:
        fm_periods = force_majeure_periods(client=ticket.client, start=ticket.opened_at, end=max(now, ticket.opened_at))
    return sla.clip_open(list(client_pauses) + list(fm_periods), now)


def _ticket_compute(ticket: Ticket, *, now, client_pauses=None, fm_periods=None) -> None:
    """Set the budget, ``risk_at`` and ``deadline_at`` of a ticket from its opening and pauses."""
    ticket.sla_hours = sla.sla_hours(contract=ticket.contract, severity=ticket.severity)
    pauses = _ticket_pauses(ticket, now=now, client_pauses=client_pauses, fm_periods=fm_periods)
    ticket.risk_at, ticket.deadline_at = sla.sla_times(
        opened_at=ticket.opened_at, hours=ticket.sla_hours, subdivision=ticket.client.holiday_subdivision,
        pauses=pauses,
    )
    if ticket.responded_at is None:
        ticket.sla_state = sla.restate(
            state=ticket.sla_state, risk_at=ticket.risk_at, deadline_at=ticket.deadline_at, now=now
        )


@transaction.atomic
def ticket_open(
    *,
    client,
    severity: int,
    category: str,
    title: str,
    channel: str,
    actor,
    now: datetime.datetime,
    contact=None,
    site=None,
    equipment=None,
    description: str = "",
    contract=None,
    assignee=None,
    attachments: list | None = None,
) -> Ticket:
    """Open a ticket and store its intervention deadline (CGV S2); staff are told by e-mail.

    Refused for a suspended contract unless the ticket is urgent (severity 1, C10/B3).
    The portal calls this with ``channel=Channel.PORTAL`` and the signed-in contact.
    ``attachments``: files joined at once (:func:`ticket_attachments_add`); a refused file
    refuses the whole ticket, so the client corrects it without a half-opened ticket.
    """
    contract = contract or current_contract(client)
    if contract is not None and contract.client_id != client.pk:
        raise InterventionError(_("Le contrat ne correspond pas au client."), code="wrong_client")
    for obj, label in ((contact, _("le demandeur")), (site, _("le site"))):
        if obj is not None and obj.client_id != client.pk:
            raise InterventionError(_("%(what)s n'appartient pas au client.") % {"what": label}, code="wrong_client")
    if equipment is not None and equipment.contract.client_id != client.pk:
        raise InterventionError(_("L'équipement n'appartient pas au client."), code="wrong_client")
    _refuse_if_suspended(contract, urgent=int(severity) == Severity.BLOCKING)
    ticket = Ticket(
        client=client, contract=contract, contact=contact, site=site or (equipment.site if equipment else None),
        equipment=equipment, channel=channel, category=category, severity=int(severity), title=title,
        description=description, opened_at=now, assignee=assignee,
        status=TicketStatus.ASSIGNED if assignee else TicketStatus.NEW,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    _ticket_compute(ticket, now=now, client_pauses=[])
    ticket.full_clean()
    ticket.save()
    audit_record(actor=actor, obj=ticket, action="interventions.ticket.opened", changes=snapshot(ticket))
    coverage = "" if ticket.is_covered else _("\nHors contrat (CGV S6) : un devis signé est requis avant le travail.")
    email_queue(
        to=_staff_recipients(assignee),
        subject=_("Nouveau ticket %(ref)s — %(client)s — %(title)s")
        % {"ref": ticket.reference, "client": client.name, "title": title},
        body=_("%(sev)s, canal : %(channel)s.\nIntervention due avant le %(deadline)s.%(coverage)s\n\n%(desc)s")
        % {
            "sev": ticket.get_severity_display(), "channel": ticket.get_channel_display(),
            "deadline": _fmt(ticket.deadline_at), "coverage": coverage, "desc": description,
        },
        key=f"interventions.ticket.{ticket.pk}.opened",
    )
    if attachments:
        ticket_attachments_add(ticket=ticket, files=attachments, author=actor)
    return ticket


def _locked(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_for_update(of=("self",)).select_related("client", "contract").get(pk=ticket.pk)


@transaction.atomic
def ticket_change_severity(*, ticket: Ticket, severity: int, actor, now: datetime.datetime) -> Ticket:
    """S2: a new severity means a new budget; the deadline is recomputed from the opening."""
    ticket = _locked(ticket)
    before = snapshot(ticket)
    ticket.severity = int(severity)
    if ticket.responded_at is None:
        _ticket_compute(ticket, now=now)
    ticket.full_clean()
    ticket.save()
    audit_record(actor=actor, obj=ticket, action="interventions.ticket.severity_changed",
                 changes=diff(before, snapshot(ticket)))
    return ticket


@transaction.atomic
def ticket_assign(*, ticket: Ticket, technician, actor, now: datetime.datetime) -> Ticket:
    ticket = _locked(ticket)
    if not ticket.is_open:
        raise InterventionError(_("Ce ticket n'est plus ouvert."), code="ticket_closed")
    before = snapshot(ticket)
    ticket.assignee = technician
    if ticket.status == TicketStatus.NEW:
        ticket.status = TicketStatus.ASSIGNED
    ticket.save()
    audit_record(actor=actor, obj=ticket, action="interventions.ticket.assigned", changes=diff(before, snapshot(ticket)))
    return ticket


@transaction.atomic
def ticket_wait_on_client(*, ticket: Ticket, actor, now: datetime.datetime, comment: str = "") -> Ticket:
    """S2: the clock stops while the ticket waits on the client (information, access, a decision)."""
    ticket = _locked(ticket)
    if not ticket.is_open or ticket.paused_since is not None:
        raise InterventionError(_("Ce ticket est déjà en attente ou n'est plus ouvert."), code="bad_state")
    before = snapshot(ticket)
    TicketPause.objects.create(ticket=ticket, reason=PauseReason.WAITING_CLIENT, started_at=now)
    ticket.paused_since = now
    ticket.status = TicketStatus.WAITING_CLIENT
    ticket.save()
    if comment:
        TicketComment.objects.create(ticket=ticket, author=actor if getattr(actor, "pk", None) else None, body=comment)
    audit_record(actor=actor, obj=ticket, action="interventions.ticket.paused", changes=diff(before, snapshot(ticket)))
    return ticket


@transaction.atomic
def ticket_resume(*, ticket: Ticket, actor, now: datetime.datetime) -> Ticket:
    """The client answered: the clock runs again and the deadline moves by the paused business time."""
    ticket = _locked(ticket)
    if ticket.paused_since is None:
        raise InterventionError(_("Ce ticket n'est pas en attente du client."), code="bad_state")
    before = snapshot(ticket)
    TicketPause.objects.filter(ticket=ticket, ended_at__isnull=True).update(ended_at=now)
    ticket.paused_since = None
    ticket.status = TicketStatus.ASSIGNED if ticket.assignee_id else TicketStatus.NEW
    if ticket.responded_at is not None:
        ticket.status = TicketStatus.IN_PROGRESS
    else:
        _ticket_compute(ticket, now=now)
    ticket.save()
    audit_record(actor=actor, obj=ticket, action="interventions.ticket.resumed", changes=diff(before, snapshot(ticket)))
    return ticket


def _stop_clock(ticket: Ticket, at: datetime.datetime) -> None:
    if ticket.responded_at is None:
        ticket.responded_at = at
        ticket.sla_state = sla.outcome(deadline_at=ticket.deadline_at, at=at)


@transaction.atomic
def ticket_resolve(*, ticket: Ticket, actor, now: datetime.datetime, comment: str = "") -> Ticket:
    """Resolved (possibly without a visit, e.g. on the phone): the SLA clock stops if still running."""
    ticket = _locked(ticket)
    if not ticket.is_open:
        raise InterventionError(_("Ce ticket n'est plus ouvert."), code="ticket_closed")
    before = snapshot(ticket)
    if ticket.paused_since is not None:
        TicketPause.objects.filter(ticket=ticket, ended_at__isnull=True).update(ended_at=now)
        ticket.paused_since = None
        _ticket_compute(ticket, now=now)
    _stop_clock(ticket, now)
    ticket.status = TicketStatus.RESOLVED
    ticket.resolved_at = now
    ticket.save()
    if comment:
        TicketComment.objects.create(ticket=ticket, author=actor if getattr(actor, "pk", None) else None, body=comment)
    audit_record(actor=actor, obj=ticket, action="interventions.ticket.resolved", changes=diff(before, snapshot(ticket)))
    return ticket


@transaction.atomic
def ticket_close(*, ticket: Ticket, actor, now: datetime.datetime, cancelled: bool = False) -> Ticket:
    ticket = _locked(ticket)
    before = snapshot(ticket)
    if ticket.paused_since is not None:
        TicketPause.objects.filter(ticket=ticket, ended_at__isnull=True).update(ended_at=now)
        ticket.paused_since = None
    if cancelled and ticket.responded_at is None:
        ticket.responded_at = now
        ticket.sla_state = SlaState.MET  # a cancelled request owes no intervention
    _stop_clock(ticket, now)
    ticket.status = TicketStatus.CANCELLED if cancelled else TicketStatus.CLOSED
    ticket.save()
    audit_record(actor=actor, obj=ticket, action="interventions.ticket.closed", changes=diff(before, snapshot(ticket)))
    return ticket


@transaction.atomic
def ticket_comment_add(*, ticket: Ticket, author, body: str, is_internal: bool = False) -> TicketComment:
    """A comment by staff or (from the portal) by the client's contact; portal comments are never internal."""
    comment = TicketComment(ticket=ticket, author=author if getattr(author, "pk", None) else None, body=body,
                            is_internal=is_internal)
    comment.full_clean()
    comment.save()
    audit_record(actor=author, obj=ticket, action="interventions.ticket.commented", changes={"comment": comment.pk})
    return comment


# --- Attachments (pièces jointes) --------------------------------------------------------------------

ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
ATTACHMENT_MAX_PER_TICKET = 20


def attachment_limits() -> tuple[int, int]:
    """(max bytes per file, max files per ticket): settings ``TICKET_ATTACHMENT_MAX_BYTES`` and
    ``TICKET_ATTACHMENT_MAX_PER_TICKET``, 10 MB and 20 when not set."""
    return (
        int(getattr(settings, "TICKET_ATTACHMENT_MAX_BYTES", ATTACHMENT_MAX_BYTES)),
        int(getattr(settings, "TICKET_ATTACHMENT_MAX_PER_TICKET", ATTACHMENT_MAX_PER_TICKET)),
    )


def ticket_attachment_check(*, file) -> tuple[str, str, int]:
    """Check one file before anything is stored: size, then format on the name and on the bytes.

    Returns ``(clean name, content type, size)``; raises :class:`InterventionError` with the reason.
    Forms call it too, to show the error on the field before the service runs.
    """
    from django.template.defaultfilters import filesizeformat

    from interventions import attachments

    name = attachments.clean_filename(getattr(file, "name", "") or "")
    size = attachments.file_size(file)
    max_bytes, _count = attachment_limits()
    if size > max_bytes:
        raise InterventionError(
            _("« %(name)s » pèse %(size)s : %(max)s au plus par fichier.")
            % {"name": name, "size": filesizeformat(size), "max": filesizeformat(max_bytes)},
            code="attachment_too_big",
        )
    try:
        fmt = attachments.sniff(file, name=name)
    except attachments.Refused as exc:
        raise InterventionError(exc.message, code=f"attachment_{exc.code}") from exc
    return name, fmt.content_type, size


def _sha256(file) -> str:
    digest = hashlib.sha256()
    file.seek(0)
    for chunk in file.chunks() if hasattr(file, "chunks") else iter(lambda: file.read(65536), b""):
        digest.update(chunk)
    file.seek(0)
    return digest.hexdigest()


def _attachment_recipients(ticket: Ticket) -> list[str]:
    """Staff, the ticket's technician and the technicians of its interventions still to do."""
    technicians = [i.technician for i in ticket.interventions.select_related("technician").filter(
        status__in=(InterventionStatus.PROPOSED, InterventionStatus.PLANNED, InterventionStatus.IN_PROGRESS))]
    return _staff_recipients(ticket.assignee, *technicians)


@transaction.atomic
def ticket_attachments_add(*, ticket: Ticket, files: list, author, visible_to_client: bool = True
                           ) -> list[TicketAttachment]:
    """Join files to an open ticket, all or none; staff are told by e-mail when the client adds them.

    Each file is checked (:func:`ticket_attachment_check`), then stored under an unguessable name
    in the default storage (``private/ticket-attachments/``), with its SHA-256. The ticket row is
    locked so that two uploads at once cannot pass the per-ticket limit together. If anything fails
    after a file was stored (a refused file further in the list, the database), the stored files
    are deleted before the error goes up: nothing is half saved. A client's file is always visible
    to the client; only staff may keep one internal.
    """
    from django.core.files.storage import default_storage
    from django.template.defaultfilters import filesizeformat

    if not files:
        raise InterventionError(_("Choisissez au moins un fichier."), code="attachment_missing")
    checked = [(file, *ticket_attachment_check(file=file)) for file in files]
    ticket = _locked(ticket)
    if not ticket.is_open:
        raise InterventionError(_("Ce ticket est clos : on ne peut plus y joindre de fichier."),
                                code="ticket_closed")
    _max_bytes, max_count = attachment_limits()
    existing = ticket.attachments.count()
    if existing + len(checked) > max_count:
        raise InterventionError(
            _("Ce ticket a déjà %(count)s pièce(s) jointe(s) : %(max)s au plus par ticket.")
            % {"count": existing, "max": max_count},
            code="attachment_count",
        )
    is_staff = bool(getattr(author, "is_staff", False))
    uploader = author if getattr(author, "pk", None) else None
    stored: list[str] = []
    created: list[TicketAttachment] = []
    try:
        for file, name, content_type, size in checked:
            attachment = TicketAttachment(
                ticket=ticket, client_id=ticket.client_id, original_name=name, content_type=content_type,
                size=size, sha256=_sha256(file), uploaded_by=uploader,
                visible_to_client=visible_to_client or not is_staff,
            )
            file.seek(0)
            stored.append(default_storage.save(attachment.file.field.generate_filename(attachment, name), file))
            attachment.file.name = stored[-1]
            attachment.full_clean()
            attachment.save()
            audit_record(actor=author, obj=ticket, action="interventions.ticket.attachment_added",
                         changes={"attachment": attachment.pk, "name": name, "size": size,
                                  "sha256": attachment.sha256, "visible_to_client": attachment.visible_to_client})
            created.append(attachment)
        if not is_staff:
            lines = "\n".join(f"- {a.original_name} ({filesizeformat(a.size)})" for a in created)
            email_queue(
                to=_attachment_recipients(ticket),
                subject=_("Ticket %(ref)s — %(client)s : pièce(s) jointe(s) ajoutée(s)")
                % {"ref": ticket.reference, "client": ticket.client.name},
                body=_("%(who)s a joint au ticket %(ref)s « %(title)s » :\n%(lines)s\n\n"
                       "Les fichiers sont sur la fiche du ticket dans le back-office.")
                % {"who": author.get_username() if uploader else _("Le client"), "ref": ticket.reference,
                   "title": ticket.title, "lines": lines},
                key=f"interventions.ticket.{ticket.pk}.attachments.{created[0].pk}",
            )
    except BaseException:
        for name in stored:
            default_storage.delete(name)
        raise
    return created


ORPHAN_GRACE = datetime.timedelta(days=1)


def attachment_orphans_remove(*, now: datetime.datetime) -> dict:
    """Delete stored attachment files that no row names, written more than a day ago.

    The service removes its own files when it fails, but a file stored just before the process is
    killed, or inside an outer transaction that later rolls back, has no row. The day of grace
    leaves alone a file whose row is still being committed. One query whatever the number of
    files; running twice (or two at once) deletes nothing more.
    """
    from django.core.files.storage import default_storage

    if not default_storage.exists(ATTACHMENT_PREFIX):
        return {"checked": 0, "removed": 0}
    _dirs, names = default_storage.listdir(ATTACHMENT_PREFIX)
    known = set(TicketAttachment.objects.values_list("file", flat=True))
    removed = 0
    for name in names:
        path = f"{ATTACHMENT_PREFIX}/{name}"
        if path in known:
            continue
        try:
            if default_storage.get_modified_time(path) > now - ORPHAN_GRACE:
                continue
        except FileNotFoundError:
            continue  # removed by a concurrent run
        default_storage.delete(path)
        removed += 1
    return {"checked": len(names), "removed": removed}


def ticket_attachment_add(*, ticket: Ticket, file, author, visible_to_client: bool = True) -> TicketAttachment:
    """Join one file to an open ticket (see :func:`ticket_attachments_add`)."""
    return ticket_attachments_add(ticket=ticket, files=[file], author=author, visible_to_client=visible_to_client)[0]


@transaction.atomic
def ticket_quote_start(*, ticket: Ticket, actor, lines: list[dict], title: str = ""):
    """S6/P4: start the quote of a ticket outside the contract (a draft in billing), linked to the ticket."""
    from billing.services import quote_create

    ticket = _locked(ticket)
    if ticket.quote_id:
        raise InterventionError(_("Ce ticket a déjà un devis."), code="quote_exists")
    quote = quote_create(actor=actor, client=ticket.client, contract=ticket.contract,
                         title=title or _("Ticket %(ref)s — %(title)s") % {"ref": ticket.reference, "title": ticket.title},
                         lines=lines)
    ticket.quote = quote
    ticket.save(update_fields=["quote", "updated_at"])
    audit_record(actor=actor, obj=ticket, action="interventions.ticket.quoted", changes={"quote": [None, quote.pk]})
    return quote


# --- The 15-minute scan (S2, K4, K5, C8) -------------------------------------------------------------


def _open_force_majeure(now) -> tuple[bool, set[int]]:
    """(an open event covers every client, ids of the clients covered by an open event)."""
    events = list(
        ForceMajeureEvent.objects.filter(starts_at__lte=now)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
        .prefetch_related("clients")
    )
    return any(e.covers_all_clients for e in events), {c.pk for e in events for c in e.clients.all()}


def force_majeure_apply(*, now: datetime.datetime) -> int:
    """C8: once a force-majeure event has ended (or its end changed), move the deadlines of the open
    tickets it covered by the business time it lasted. Returns the number of tickets moved."""
    synced = dict(ForceMajeureSync.objects.values_list("event_id", "applied_ends_at"))
    events = list(
        ForceMajeureEvent.objects.filter(ends_at__isnull=False, ends_at__lte=now).prefetch_related("clients")
    )
    pending = [e for e in events if e.pk not in synced or synced[e.pk] != e.ends_at]
    if not pending:
        return 0
    all_clients = any(e.covers_all_clients for e in pending)
    tickets = Ticket.objects.filter(
        status__in=OPEN_STATUSES, responded_at__isnull=True, opened_at__lt=max(e.ends_at for e in pending)
    ).select_related("client", "contract").prefetch_related("pauses")
    if not all_clients:
        tickets = tickets.filter(client__in={c.pk for e in pending for c in e.clients.all()})
    every = list(ForceMajeureEvent.objects.prefetch_related("clients"))
    moved = []
    for ticket in tickets:
        periods = [
            (e.starts_at, e.ends_at)
            for e in every
            if (e.covers_all_clients or any(c.pk == ticket.client_id for c in e.clients.all()))
            and (e.ends_at is None or e.ends_at > ticket.opened_at)
        ]
        old = (ticket.deadline_at, ticket.risk_at, ticket.sla_state)
        _ticket_compute(ticket, now=now, fm_periods=periods)
        if (ticket.deadline_at, ticket.risk_at, ticket.sla_state) != old:
            moved.append(ticket)
    Ticket.objects.bulk_update(moved, ["deadline_at", "risk_at", "sla_state"], batch_size=1000)
    audit_bulk(actor=None, objs=moved, action="interventions.ticket.force_majeure_applied",
               changes_for=lambda t: {"deadline_at": t.deadline_at.isoformat()})
    for e in pending:
        ForceMajeureSync.objects.update_or_create(event=e, defaults={"applied_ends_at": e.ends_at})
    return len(moved)


def _claim(queryset, *, field: str, state: str) -> tuple[str, int]:
    """Move the matching rows to ``state`` with one conditional UPDATE; two runs never claim the same row."""
    token = uuid.uuid4().hex
    count = queryset.update(**{field: state, "sla_claim": token})
    return token, count


def _alert(*, kind: str, state: str, rows: list, line, subject: str) -> None:
    """One digest e-mail per state and run; the key (a hash of the rows and their deadlines) makes it unique."""
    if not rows:
        return
    fingerprint = hashlib.sha256(
        "|".join(f"{r.pk}:{line(r)}" for r in sorted(rows, key=lambda r: r.pk)).encode()
    ).hexdigest()[:32]
    email_queue(
        to=_staff_recipients(*[getattr(r, "assignee", None) for r in rows]),
        subject=subject % {"count": len(rows)},
        body="\n".join(line(r) for r in rows),
        key=f"interventions.{kind}.{state}.{fingerprint}",
    )


def sla_scan(*, now: datetime.datetime) -> dict:
    """Flag tickets at risk (75 % used) and breached, overdue call-backs (K4) and repairs (K5); alert once.

    Each transition is a conditional UPDATE (state and deadline in the WHERE), so
    two concurrent runs never flag, nor alert, the same row twice. Clients under
    an open force-majeure event are skipped (C8); their deadlines move when it ends.
    """
    moved = force_majeure_apply(now=now)
    everyone_paused, paused_clients = _open_force_majeure(now)
    result = {"force_majeure_moved": moved, "breached": 0, "at_risk": 0, "callbacks_overdue": 0,
              "repairs_at_risk": 0, "repairs_overdue": 0}
    if not everyone_paused:
        live = Ticket.objects.filter(
            status__in=OPEN_STATUSES, responded_at__isnull=True, paused_since__isnull=True
        ).exclude(client_id__in=paused_clients)
        line = lambda t: _("%(ref)s %(client)s — %(title)s — dû le %(due)s") % {  # noqa: E731
            "ref": t.reference, "client": t.client.name, "title": t.title, "due": _fmt(t.deadline_at)}
        for state, condition, subject in (
            (SlaState.BREACHED, Q(sla_state__in=[SlaState.ON_TRACK, SlaState.AT_RISK], deadline_at__lte=now),
             _("[SLA] %(count)s ticket(s) hors délai d'intervention (CGV S2)")),
            (SlaState.AT_RISK, Q(sla_state=SlaState.ON_TRACK, risk_at__lte=now),
             _("[SLA] %(count)s ticket(s) à risque : 75 %% du délai consommé (CGV S2)")),
        ):
            token, count = _claim(live.filter(condition), field="sla_state", state=state)
            if count:
                rows = list(Ticket.objects.filter(sla_claim=token).select_related("client", "assignee"))
                audit_bulk(actor=None, objs=rows, action=f"interventions.ticket.sla_{state}",
                           changes_for=lambda t, s=state: {"sla_state": s})
                _alert(kind="ticket", state=state, rows=rows, line=line, subject=subject)
                result["breached" if state == SlaState.BREACHED else "at_risk"] = count
    # K4: call-backs due within 24 business hours.
    token, count = _claim(
        PhoneCall.objects.filter(callback_state__in=[SlaState.ON_TRACK, SlaState.AT_RISK], called_back_at__isnull=True,
                                 callback_due_at__lte=now),
        field="callback_state", state=SlaState.BREACHED,
    )
    if count:
        rows = list(PhoneCall.objects.filter(sla_claim=token).select_related("client", "contact"))
        _alert(kind="callback", state="breached", rows=rows,
               line=lambda c: _("%(client)s — %(subject)s — rappel dû le %(due)s")
               % {"client": c.client.name, "subject": c.subject, "due": _fmt(c.callback_due_at)},
               subject=_("[K4] %(count)s rappel(s) client en retard"))
        result["callbacks_overdue"] = count
    # K5: quote and repair within 36 hours of the written request.
    for state, condition, key, subject in (
        (SlaState.BREACHED, Q(sla_state__in=[SlaState.ON_TRACK, SlaState.AT_RISK], due_at__lte=now),
         "repairs_overdue", _("[K5] %(count)s réparation(s) hors délai de 36 heures")),
        (SlaState.AT_RISK, Q(sla_state=SlaState.ON_TRACK, risk_at__lte=now),
         "repairs_at_risk", _("[K5] %(count)s réparation(s) à risque (75 %% du délai)")),
    ):
        token, count = _claim(RepairRequest.objects.filter(condition, repaired_at__isnull=True),
                              field="sla_state", state=state)
        if count:
            rows = list(RepairRequest.objects.filter(sla_claim=token).select_related("client"))
            _alert(kind="repair", state=state, rows=rows,
                   line=lambda r: _("%(client)s — demande du %(req)s — due le %(due)s")
                   % {"client": r.client.name, "req": _fmt(r.requested_at), "due": _fmt(r.due_at)},
                   subject=subject)
            result[key] = count
    return result


# --- Phone support (S1) and call-backs (K4) ----------------------------------------------------------


def appointment_proposal(*, ticket: Ticket, after: datetime.datetime) -> datetime.datetime:
    """The on-site slot proposed after a call over 30 minutes: the next business morning, or sooner when
    the S2 deadline comes first (4-hour option)."""
    sub = ticket.client.holiday_subdivision
    proposal = next_business_opening(after, subdivision=sub)
    if proposal >= ticket.deadline_at:
        proposal = business_add(after, datetime.timedelta(hours=1), subdivision=sub)
    return proposal


@transaction.atomic
def phone_call_log(
    *,
    client,
    started_at: datetime.datetime,
    ended_at: datetime.datetime,
    subject: str,
    actor,
    now: datetime.datetime,
    contact=None,
    notes: str = "",
    answered_immediately: bool = True,
    severity: int = Severity.MINOR,
    category: str = "other",
    ticket: Ticket | None = None,
) -> PhoneCall:
    """Log a support call (CGV S1).

    Covered only within support hours (Mon–Fri 9:00–18:00 excluding holidays).
    Past 30 minutes, an on-site intervention is scheduled: a ticket is opened
    (or the given one used) with an appointment proposal. Without an immediate
    technical answer, a backup-option client is called back within 24 business
    hours (K4).
    """
    contract = current_contract(client)
    sub = client.holiday_subdivision
    call = PhoneCall(
        client=client, contract=contract, contact=contact, started_at=started_at, ended_at=ended_at,
        subject=subject, notes=notes, answered_immediately=answered_immediately,
        is_covered=is_business_time(started_at, subdivision=sub), ticket=ticket,
        taken_by=actor if getattr(actor, "pk", None) else None,
    )
    if not answered_immediately and contract is not None and contract.has_backup:
        call.callback_due_at = business_add(started_at, 24, subdivision=sub)  # K4
        call.callback_state = SlaState.ON_TRACK
    call.full_clean()
    if ended_at - started_at > PHONE_CALL_LIMIT and call.is_covered:
        if call.ticket is None:
            call.ticket = ticket_open(
                client=client, contact=contact, severity=severity, category=category,
                title=_("Appel de plus de 30 minutes : %(subject)s") % {"subject": subject},
                description=notes, channel=Channel.PHONE, actor=actor, now=ended_at, contract=contract,
            )
        proposal = appointment_proposal(ticket=call.ticket, after=ended_at)
        intervention = Intervention(
            ticket=call.ticket, client=client, contract=contract, site=call.ticket.site, kind=InterventionKind.ONSITE,
            status=InterventionStatus.PROPOSED, scheduled_start=proposal,
            scheduled_end=proposal + datetime.timedelta(hours=1),
        )
        intervention.full_clean()
        intervention.save()
        audit_record(actor=actor, obj=intervention, action="interventions.intervention.proposed",
                     changes=snapshot(intervention))
    call.save()
    audit_record(actor=actor, obj=call, action="interventions.phone_call.logged", changes=snapshot(call))
    return call


@transaction.atomic
def phone_call_called_back(*, call: PhoneCall, actor, now: datetime.datetime) -> PhoneCall:
    """K4: the client was called back; the call-back deadline is met or missed."""
    call = PhoneCall.objects.select_for_update().get(pk=call.pk)
    if call.called_back_at is not None:
        raise InterventionError(_("Ce client a déjà été rappelé."), code="already_called_back")
    before = snapshot(call)
    call.called_back_at = now
    if call.callback_due_at is not None:
        call.callback_state = sla.outcome(deadline_at=call.callback_due_at, at=now)
    call.save()
    audit_record(actor=actor, obj=call, action="interventions.phone_call.called_back", changes=diff(before, snapshot(call)))
    return call


# --- Interventions, remote prerequisites (S4), time entries and out-of-hours (S5) --------------------


@transaction.atomic
def intervention_schedule(
    *,
    client,
    kind: str,
    scheduled_start: datetime.datetime,
    actor,
    now: datetime.datetime,
    ticket: Ticket | None = None,
    technician=None,
    scheduled_end: datetime.datetime | None = None,
    site=None,
    exclusion: str = "",
) -> Intervention:
    """Plan an on-site or remote intervention (for a ticket) or a visit; refused for a suspended
    contract unless the ticket is urgent (C10/B3)."""
    contract = ticket.contract if ticket is not None else current_contract(client)
    urgent = ticket is not None and ticket.severity == Severity.BLOCKING
    _refuse_if_suspended(contract, urgent=urgent)
    if ticket is not None and ticket.client_id != client.pk:
        raise InterventionError(_("Le ticket ne correspond pas au client."), code="wrong_client")
    intervention = Intervention(
        ticket=ticket, client=client, contract=contract, site=site or (ticket.site if ticket else None), kind=kind,
        technician=technician, scheduled_start=scheduled_start, scheduled_end=scheduled_end,
        status=InterventionStatus.PLANNED, exclusion=exclusion,
    )
    intervention.full_clean()
    intervention.save()
    if ticket is not None and technician is not None and ticket.assignee_id is None:
        ticket_assign(ticket=ticket, technician=technician, actor=actor, now=now)
    audit_record(actor=actor, obj=intervention, action="interventions.intervention.scheduled",
                 changes=snapshot(intervention))
    return intervention


@transaction.atomic
def intervention_confirm(*, intervention: Intervention, actor, scheduled_start=None, technician=None) -> Intervention:
    """The client accepted the proposed appointment (S1: after a call over 30 minutes)."""
    before = snapshot(intervention)
    if scheduled_start is not None:
        intervention.scheduled_start = scheduled_start
    if technician is not None:
        intervention.technician = technician
    intervention.status = InterventionStatus.PLANNED
    intervention.save()
    audit_record(actor=actor, obj=intervention, action="interventions.intervention.confirmed",
                 changes=diff(before, snapshot(intervention)))
    return intervention


@transaction.atomic
def intervention_start(
    *, intervention: Intervention, actor, now: datetime.datetime,
    workstations_reachable: bool | None = None, internet_access: bool | None = None, firewall_open: bool | None = None,
) -> Intervention:
    """Start work: it stops the ticket's S2 clock. Refused when the contract is suspended and the work is
    not urgent (C10), when work outside the contract has no signed quote (S6), and for remote
    maintenance without its prerequisites (S4)."""
    intervention = Intervention.objects.select_for_update(of=("self",)).select_related(
        "contract", "ticket", "ticket__client", "ticket__quote", "quote").get(pk=intervention.pk)
    if intervention.status not in (InterventionStatus.PLANNED, InterventionStatus.PROPOSED):
        raise InterventionError(_("Cette intervention n'est pas planifiée."), code="bad_state")
    before = snapshot(intervention)
    urgent = intervention.ticket is not None and intervention.ticket.severity == Severity.BLOCKING
    _refuse_if_suspended(intervention.contract, urgent=urgent)
    _refuse_unquoted_work(intervention)
    if intervention.kind == InterventionKind.REMOTE:
        for field, value in (("remote_workstations_reachable", workstations_reachable),
                             ("remote_internet_access", internet_access),
                             ("remote_firewall_open", firewall_open)):
            if value is not None:
                setattr(intervention, field, value)
        if not intervention.remote_prerequisites_met:
            raise InterventionError(
                _(
                    "Télémaintenance impossible (CGV S4) : les postes doivent être connectés et joignables, "
                    "le réseau doit avoir un accès Internet et le pare-feu doit être ouvert. "
                    "Proposez une intervention sur site."
                ),
                code="remote_prerequisites",
            )
    intervention.status = InterventionStatus.IN_PROGRESS
    intervention.started_at = now
    intervention.save()
    if intervention.ticket is not None:
        ticket = _locked(intervention.ticket)
        ticket_before = snapshot(ticket)
        _stop_clock(ticket, now)
        ticket.status = TicketStatus.IN_PROGRESS
        ticket.save()
        audit_record(actor=actor, obj=ticket, action="interventions.ticket.intervention_started",
                     changes=diff(ticket_before, snapshot(ticket)))
    audit_record(actor=actor, obj=intervention, action="interventions.intervention.started",
                 changes=diff(before, snapshot(intervention)))
    return intervention


@transaction.atomic
def intervention_complete(*, intervention: Intervention, report: str, actor, now: datetime.datetime) -> Intervention:
    """Work done: the report is kept (and printed as PDF for the client)."""
    intervention = Intervention.objects.select_for_update().get(pk=intervention.pk)
    if intervention.status != InterventionStatus.IN_PROGRESS:
        raise InterventionError(_("Cette intervention n'a pas commencé."), code="bad_state")
    before = snapshot(intervention)
    intervention.status = InterventionStatus.DONE
    intervention.ended_at = now
    intervention.report = report
    intervention.save()
    audit_record(actor=actor, obj=intervention, action="interventions.intervention.completed",
                 changes=diff(before, snapshot(intervention)))
    return intervention


def rate_kind(day: datetime.date, *, subdivision: str) -> str:
    """S5 rate band of a day: Sunday or public holiday, Saturday, or a weekday outside hours."""
    if day.weekday() == 6 or day in public_holidays(day.year, subdivision):
        return RateKind.SUNDAY_HOLIDAY
    if day.weekday() == 5:
        return RateKind.SATURDAY
    return RateKind.WEEKDAY_EVENING


def out_of_hours_split(
    started_at: datetime.datetime, ended_at: datetime.datetime, *, subdivision: str
) -> tuple[int, dict[str, int]]:
    """S5: ``(covered minutes, {rate band: out-of-hours minutes})`` of a span of work (seconds rounded down)."""
    covered = sum(((b - a) for a, b in business_intervals(started_at, ended_at, subdivision=subdivision)),
                  datetime.timedelta(0))
    # Out-of-hours time, cut at local midnights to find each day's rate band.
    bands: dict[str, datetime.timedelta] = defaultdict(datetime.timedelta)
    local_start = started_at.astimezone(PARIS)
    day = local_start.date()
    while True:
        day_start = datetime.datetime.combine(day, datetime.time(0), tzinfo=PARIS)
        next_day = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time(0), tzinfo=PARIS)
        a, b = max(day_start, started_at), min(next_day, ended_at)
        if b > a:
            inside = sum(((y - x) for x, y in business_intervals(a, b, subdivision=subdivision)),
                         datetime.timedelta(0))
            outside = (b - a) - inside
            if outside:
                bands[rate_kind(day, subdivision=subdivision)] += outside
        if next_day >= ended_at:
            break
        day += datetime.timedelta(days=1)
    return int(covered.total_seconds() // 60), {k: int(v.total_seconds() // 60) for k, v in bands.items() if v}


def rate_on(kind: str, day: datetime.date) -> OutOfHoursRate:
    rate = OutOfHoursRate.objects.filter(kind=kind, valid_from__lte=day).order_by("-valid_from").first()
    if rate is None:
        raise InterventionError(
            _("Aucun tarif hors horaires « %(kind)s » en vigueur le %(day)s : complétez la grille tarifaire.")
            % {"kind": RateKind(kind).label, "day": day.strftime("%d/%m/%Y")},
            code="rate_missing",
        )
    return rate


@transaction.atomic
def time_entry_add(
    *,
    intervention: Intervention,
    started_at: datetime.datetime,
    ended_at: datetime.datetime,
    actor,
    now: datetime.datetime,
    technician=None,
    description: str = "",
    out_of_hours_requested: bool = False,
) -> TimeEntry:
    """Record time spent; work outside normal hours at the client's request is billed on top (S5).

    The out-of-hours part is recorded as one charge per rate band, at the rate in
    force on the day the work started, idempotent on the entry.
    """
    intervention = Intervention.objects.select_related("client", "contract", "ticket", "ticket__quote", "quote").get(
        pk=intervention.pk)
    urgent = intervention.ticket is not None and intervention.ticket.severity == Severity.BLOCKING
    _refuse_if_suspended(intervention.contract, urgent=urgent)
    _refuse_unquoted_work(intervention)
    sub = intervention.client.holiday_subdivision
    covered, bands = out_of_hours_split(started_at, ended_at, subdivision=sub)
    entry = TimeEntry(
        intervention=intervention, technician=technician or intervention.technician, started_at=started_at,
        ended_at=ended_at, description=description, out_of_hours_requested=out_of_hours_requested,
        covered_minutes=covered, out_of_hours_minutes=sum(bands.values()),
    )
    entry.full_clean()
    entry.save()
    audit_record(actor=actor, obj=entry, action="interventions.time_entry.recorded", changes=snapshot(entry))
    if out_of_hours_requested and bands:
        _bill_out_of_hours(entry=entry, intervention=intervention, bands=bands, actor=actor)
    return entry


def _bill_out_of_hours(*, entry: TimeEntry, intervention: Intervention, bands: dict[str, int], actor) -> None:
    from billing.services import charge_record

    day = entry.started_at.astimezone(PARIS).date()
    for kind, minutes in sorted(bands.items()):
        rate = rate_on(kind, day)
        hours = (Decimal(minutes) / Decimal(60)).quantize(HOUR, rounding=ROUND_HALF_UP)
        charge_record(
            actor=actor, client=intervention.client, contract=intervention.contract,
            source="interventions.out_of_hours", source_key=f"interventions.time_entry.{entry.pk}.{kind}",
            description=_("Intervention %(ref)s du %(day)s hors horaires (%(band)s), %(min)s min — CGV S5")
            % {"ref": intervention.reference, "day": day.strftime("%d/%m/%Y"), "band": RateKind(kind).label,
               "min": minutes},
            unit_price=money(rate.hourly_rate), quantity=hours, service_date=day,
        )


# --- Preventive visits (S3) -----------------------------------------------------------------------------


@transaction.atomic
def preventive_plan_create(
    *, contract: Contract, frequency_months: int, first_visit_on: datetime.date, actor, site=None, technician=None
) -> PreventivePlan:
    plan = PreventivePlan(contract=contract, frequency_months=frequency_months, next_visit_on=first_visit_on,
                          site=site, technician=technician)
    plan.full_clean()
    plan.save()
    audit_record(actor=actor, obj=plan, action="interventions.preventive_plan.created", changes=snapshot(plan))
    return plan


def _add_months(day: datetime.date, months: int) -> datetime.date:
    from dateutil.relativedelta import relativedelta

    return day + relativedelta(months=months)


def preventive_visits_generate(*, today: datetime.date, horizon_days: int = 30) -> dict:
    """S3: plan the preventive visits due within ``horizon_days`` (idempotent: one visit per plan and date).

    A visit is scheduled at 9:00 on the first business day on or after its due
    date. Suspended contracts get none (C10: non-urgent work); their plan waits.
    """
    limit = today + datetime.timedelta(days=horizon_days)
    with transaction.atomic():
        plans = list(
            PreventivePlan.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(is_active=True, next_visit_on__lte=limit, contract__status=ContractStatus.ACTIVE)
            .select_related("contract", "contract__client")
        )
        visits = []
        for plan in plans:
            sub = plan.contract.client.holiday_subdivision
            cal = calendar_for(sub)
            while plan.next_visit_on <= limit:
                day = plan.next_visit_on
                while not is_business_day(day, subdivision=sub):
                    day += datetime.timedelta(days=1)
                start = datetime.datetime.combine(day, cal.start, tzinfo=cal.tz)
                visits.append(Intervention(
                    client=plan.contract.client, contract=plan.contract, site=plan.site,
                    kind=InterventionKind.PREVENTIVE, status=InterventionStatus.PLANNED,
                    technician=plan.technician, scheduled_start=start,
                    scheduled_end=start + datetime.timedelta(hours=2),
                    preventive_plan=plan, due_on=plan.next_visit_on,
                ))
                plan.next_visit_on = _add_months(plan.next_visit_on, plan.frequency_months)
        Intervention.objects.bulk_create(visits, batch_size=500, ignore_conflicts=True)
        PreventivePlan.objects.bulk_update(plans, ["next_visit_on"], batch_size=500)
        audit_bulk(actor=None, objs=plans, action="interventions.preventive_plan.visits_planned",
                   changes_for=lambda p: {"next_visit_on": p.next_visit_on.isoformat()})
    return {"plans": len(plans), "visits": len(visits)}


@transaction.atomic
def visit_report_submit(
    *,
    intervention: Intervention,
    actor,
    now: datetime.datetime,
    antivirus_event_logs_checked: bool,
    os_updates_done: bool,
    workstation_health_checked: bool,
    user_advice: str = "",
    network_performance: str = "",
    findings: str = "",
    weakness_found: bool = False,
) -> VisitReport:
    """S3: the report of a preventive visit with the CGV checklist; the visit is then done."""
    if intervention.kind != InterventionKind.PREVENTIVE:
        raise InterventionError(_("Seule une visite préventive a un rapport de visite."), code="not_preventive")
    report, _created = VisitReport.objects.get_or_create(intervention=intervention)
    before = snapshot(report)
    report.antivirus_event_logs_checked = antivirus_event_logs_checked
    report.os_updates_done = os_updates_done
    report.workstation_health_checked = workstation_health_checked
    report.user_advice = user_advice
    report.network_performance = network_performance
    report.findings = findings
    report.weakness_found = weakness_found
    report.submitted_at = now
    report.full_clean()
    report.save()
    intervention.status = InterventionStatus.DONE
    intervention.ended_at = intervention.ended_at or now
    intervention.report = intervention.report or findings
    intervention.save(update_fields=["status", "ended_at", "report", "updated_at"])
    audit_record(actor=actor, obj=report, action="interventions.visit_report.submitted", changes=diff(before, snapshot(report)))
    return report


@transaction.atomic
def visit_weakness_quote(*, report: VisitReport, actor, lines: list[dict]):
    """S3: a weakness found on a visit may lead to an offer of extra coverage: a draft quote in billing."""
    from billing.services import quote_create

    if not report.weakness_found:
        raise InterventionError(_("Aucune faiblesse n'a été constatée lors de cette visite."), code="no_weakness")
    if report.extra_coverage_quote_id:
        raise InterventionError(_("Un devis a déjà été préparé pour cette visite."), code="quote_exists")
    intervention = report.intervention
    quote = quote_create(
        actor=actor, client=intervention.client, contract=intervention.contract,
        title=_("Prise en charge supplémentaire suite à la visite préventive du %(day)s")
        % {"day": intervention.scheduled_start.astimezone(PARIS).strftime("%d/%m/%Y")},
        lines=lines,
    )
    report.extra_coverage_quote = quote
    report.save(update_fields=["extra_coverage_quote"])
    audit_record(actor=actor, obj=report, action="interventions.visit_report.quoted", changes={"quote": [None, quote.pk]})
    return quote


# --- Backup-option repairs (K5) ---------------------------------------------------------------------


@transaction.atomic
def repair_request_open(
    *, contract: Contract, requested_at: datetime.datetime, actor, now: datetime.datetime,
    description: str = "", equipment=None, ticket: Ticket | None = None,
) -> RepairRequest:
    """K5: a written request to repair the backup hardware; quote and repair due within 36 hours."""
    if not contract.has_backup:
        raise InterventionError(
            _("Le délai de 36 heures (K5) ne s'applique qu'aux contrats avec l'option sauvegarde."), code="no_backup"
        )
    request = RepairRequest(
        client=contract.client, contract=contract, equipment=equipment, ticket=ticket, requested_at=requested_at,
        description=description, due_at=requested_at + sla.K5_REPAIR_DELAY,
        risk_at=requested_at + sla.K5_REPAIR_DELAY * sla.AT_RISK_SHARE[0] / sla.AT_RISK_SHARE[1],
    )
    request.full_clean()
    request.save()
    audit_record(actor=actor, obj=request, action="interventions.repair_request.opened", changes=snapshot(request))
    return request


@transaction.atomic
def repair_request_quote(*, request: RepairRequest, actor, lines: list[dict]):
    """K5: the repair quote (a draft in billing, sent and signed there), linked to the request."""
    from billing.services import quote_create

    request = RepairRequest.objects.select_for_update(of=("self",)).select_related("client", "contract").get(pk=request.pk)
    if request.quote_id:
        raise InterventionError(_("Cette demande a déjà un devis."), code="quote_exists")
    request.quote = quote_create(
        actor=actor, client=request.client, contract=request.contract, lines=lines,
        title=_("Réparation du matériel de sauvegarde — demande du %(day)s")
        % {"day": _fmt(request.requested_at)[:10]},
    )
    request.save(update_fields=["quote"])
    audit_record(actor=actor, obj=request, action="interventions.repair_request.quoted",
                 changes={"quote": [None, request.quote.pk]})
    return request.quote


@transaction.atomic
def repair_request_done(*, request: RepairRequest, actor, now: datetime.datetime) -> RepairRequest:
    request = RepairRequest.objects.select_for_update().get(pk=request.pk)
    before = snapshot(request)
    request.repaired_at = now
    request.sla_state = sla.outcome(deadline_at=request.due_at, at=now)
    request.save()
    audit_record(actor=actor, obj=request, action="interventions.repair_request.repaired",
                 changes=diff(before, snapshot(request)))
    return request


# --- Availability (C7) --------------------------------------------------------------------------------


def month_bounds(month: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """[first instant, first instant of next month) of a calendar month in Paris (DST-aware)."""
    first = month.replace(day=1)
    following = _add_months(first, 1)
    return (datetime.datetime.combine(first, datetime.time(0), tzinfo=PARIS),
            datetime.datetime.combine(following, datetime.time(0), tzinfo=PARIS))


def availability_compute(*, contract: Contract, month: datetime.date, outages=None) -> Decimal:
    """C7: availability of a month in %, to 3 decimals: 100 × (1 − unavailable time / month length).

    Counted in calendar time (the services run around the clock); overlapping
    outages count once; an announced planned maintenance does not count (H2);
    an outage still open counts until the end of the month.
    """
    start, end = month_bounds(month)
    if outages is None:
        outages = contract.outages.filter(is_planned_maintenance=False, started_at__lt=end).filter(
            Q(ended_at__isnull=True) | Q(ended_at__gt=start))
    spans = sorted((max(o.started_at, start), min(o.ended_at or end, end)) for o in outages
                   if not o.is_planned_maintenance)
    down = datetime.timedelta(0)
    cursor = start
    for a, b in spans:
        a = max(a, cursor)
        if b > a:
            down += b - a
            cursor = b
    total = end - start
    ratio = Decimal(int(down.total_seconds())) / Decimal(int(total.total_seconds()))
    return (Decimal(100) * (1 - ratio)).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)


def availability_month_close(*, month: datetime.date, actor=None) -> dict:
    """C7: compute every running contract's availability for ``month`` and record it in contracts
    (``contracts.services.availability_record``), where the 3-of-6-months check lives."""
    from contracts.choices import AvailabilitySource
    from contracts.models import AvailabilityRecord
    from contracts.selectors import availability_window_missed
    from contracts.services import availability_record

    start, end = month_bounds(month)
    contracts = list(
        Contract.objects.filter(status__in=[ContractStatus.ACTIVE, ContractStatus.SUSPENDED],
                                start_date__lt=end.date())
    )
    outages_by_contract = defaultdict(list)
    from interventions.models import Outage

    for outage in Outage.objects.filter(contract__in=contracts, is_planned_maintenance=False, started_at__lt=end).filter(
            Q(ended_at__isnull=True) | Q(ended_at__gt=start)):
        outages_by_contract[outage.contract_id].append(outage)
    already = set(AvailabilityRecord.objects.filter(contract__in=contracts, month=start.date())
                  .values_list("contract_id", flat=True))
    recorded, missed = 0, []
    for contract in contracts:
        outages = outages_by_contract.get(contract.pk, [])
        if not outages and contract.pk not in already:
            continue  # nothing happened: no record needed (a month without record counts as met)
        value = availability_compute(contract=contract, month=month, outages=outages)
        availability_record(actor=actor, contract=contract, month=start.date(), availability=value,
                            source=AvailabilitySource.INTERVENTIONS,
                            notes=_("%(n)s interruption(s) enregistrée(s)") % {"n": len(outages)})
        recorded += 1
        window = availability_window_missed(contract=contract, until=end.date())
        if window:
            missed.append(contract.reference)
            email_queue(
                to=_staff_recipients(),
                subject=_("[C7] Contrat %(ref)s : garantie de disponibilité manquée 3 mois sur 6")
                % {"ref": contract.reference},
                body=_("Mois manqués : %(months)s (garantie %(g)s %%). Le client peut résilier de plein droit "
                       "avec un préavis de 3 mois (CGV C7).")
                % {"months": ", ".join(m.strftime("%m/%Y") for m in window), "g": contract.availability_guarantee},
                key=f"interventions.availability.{contract.pk}.{window[0]:%Y-%m}",
            )
    return {"month": start.date().isoformat(), "recorded": recorded, "guarantee_missed": missed}
