"""Writes of the hosting option (CGV annex 2, H1–H5). Keyword-only, atomic, audited.

The contract is amended through dated ``ContractLine`` rows (source
``hosting.service.<id>``): the billing run bills the lines valid in each
period, so hosting never issues invoices itself.
"""
import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from contracts.choices import ContractStatus
from contracts.models import Client, Contact, Contract, ContractLine
from core.audit import audit_bulk, audit_record, diff, snapshot
from core.dates import PARIS, business_today, paris_datetime
from core.mail import email_queue, emails_queue, staff_recipients
from core.models import OutboundEmail
from hosting import selectors
from hosting.certificates import ParsedCertificate, covers_domain, parse_pem
from hosting.choices import (
    ChangeRequestOrigin,
    ChangeRequestStatus,
    PricingMode,
    ServiceStatus,
)
from hosting.exceptions import HostingError
from hosting.models import Certificate, ChangeRequest, Domain, HostingService, Mailbox, MaintenanceWindow
from hosting.periods import next_billing_period_start
from hosting.pricing import billing_quantity, line_description

CHANGE_REQUEST_DELAY_DAYS = 8  # CGV H5
EXPIRY_THRESHOLDS = (7, 14, 30)  # days before expiry, smallest first
HOSTING_LINE_POSITION = 100  # after the maintenance lines on the invoice


def _user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


def _fmt(dt: datetime.datetime) -> str:
    return dt.astimezone(PARIS).strftime("%d/%m/%Y %H:%M")


def amendment_start(*, contract: Contract, day: datetime.date) -> datetime.date:
    """H5, B1: the first day from which a change made on ``day`` is billed.

    The start of the next billing period (``hosting.periods``) — unless the
    billing run already issued that period's recurring invoice in advance
    (``BILLING_RECURRING_LEAD_DAYS``): an issued invoice never changes (L2), so
    the change then starts with the first period not invoiced yet.
    """
    starts = [next_billing_period_start(contract.billing_frequency, day)]
    for _i in range(3):
        starts.append(next_billing_period_start(contract.billing_frequency, starts[-1]))
    invoiced = selectors.invoiced_period_starts(contract=contract, starts=starts)
    return next((start for start in starts if start not in invoiced), starts[-1])


def change_request_due_on(received_at: datetime.datetime) -> datetime.date:
    """CGV H5: a change in the number of mailboxes is done within 8 days of the request.

    Calendar days from the date of receipt in Paris: received Friday 2026-04-10
    (any hour) → due Saturday 2026-04-18; overdue from 2026-04-19.
    """
    return business_today(received_at) + datetime.timedelta(days=CHANGE_REQUEST_DELAY_DAYS)


# --- domains and certificates (H3) ------------------------------------------------------------------


@transaction.atomic
def domain_create(
    *, actor, client: Client, name: str, registrar: str = "", expires_on=None, dns_notes: str = ""
) -> Domain:
    domain = Domain(client=client, name=name, registrar=registrar, expires_on=expires_on, dns_notes=dns_notes)
    domain.full_clean()
    domain.save()
    audit_record(actor=actor, obj=domain, action="hosting.domain.created", changes=snapshot(domain))
    return domain


@transaction.atomic
def domain_confirm_administrator(*, actor, domain: Domain, today: datetime.date) -> Domain:
    """H3: staff checked (registry WHOIS, registrar account) that the client administers the domain."""
    before = snapshot(domain)
    domain.client_is_administrator = True
    domain.administrator_confirmed_on = today
    domain.administrator_confirmed_by = _user(actor)
    domain.save()
    audit_record(
        actor=actor, obj=domain, action="hosting.domain.administrator_confirmed", changes=diff(before, snapshot(domain))
    )
    return domain


def certificate_check(*, domain: Domain, pem: bytes | str, now: datetime.datetime) -> ParsedCertificate:
    """Read an uploaded PEM file for ``domain`` and say why it cannot be recorded (H3).

    Refused with :class:`HostingError`: unreadable file, a file holding a
    private key, a certificate that does not cover the domain, one already
    expired, or one already recorded. Writes nothing (forms call it to show
    the error next to the field).
    """
    parsed = parse_pem(pem)
    if not covers_domain(parsed.names, domain.name):
        raise HostingError(
            _(
                "Ce certificat couvre %(names)s mais pas le domaine %(domain)s "
                "(il faut %(domain)s ou *.%(domain)s parmi ses noms)."
            )
            % {"names": ", ".join(parsed.names) or _("aucun nom"), "domain": domain.name},
            code="not_covering",
        )
    if parsed.not_valid_after < now:
        raise HostingError(
            _("Ce certificat a expiré le %(date)s : demandez au client son certificat renouvelé.")
            % {"date": _fmt(parsed.not_valid_after)},
            code="expired",
        )
    if domain.pk and domain.certificates.filter(fingerprint_sha256=parsed.fingerprint_sha256).exists():
        raise HostingError(_("Ce certificat est déjà enregistré pour %(domain)s.") % {"domain": domain.name})
    return parsed


@transaction.atomic
def certificate_record(*, actor, domain: Domain, pem: bytes | str, now: datetime.datetime) -> Certificate:
    """Record the certificate of ``domain`` read from its PEM file (H3); see :func:`certificate_check`."""
    parsed = certificate_check(domain=domain, pem=pem, now=now)
    cert = Certificate(
        domain=domain,
        pem=parsed.pem,
        subject=parsed.subject[:500],
        issuer=parsed.issuer[:500],
        names=parsed.names,
        serial_number=parsed.serial_number[:64],
        fingerprint_sha256=parsed.fingerprint_sha256,
        not_valid_before=parsed.not_valid_before,
        not_valid_after=parsed.not_valid_after,
        uploaded_by=_user(actor),
    )
    cert.full_clean()
    cert.save()
    audit_record(
        actor=actor, obj=cert, action="hosting.certificate.recorded", changes=snapshot(cert, ["domain_id", "names",
        "issuer", "serial_number", "fingerprint_sha256", "not_valid_before", "not_valid_after"]),
    )
    return cert


# --- services (H1, H3) ------------------------------------------------------------------------------


@transaction.atomic
def service_create(
    *,
    actor,
    contract: Contract,
    domain: Domain,
    kind: str,
    pricing_mode: str = PricingMode.UNIT,
    mailbox_count: int = 0,
    site_url: str = "",
    storage_gb: int | None = None,
    notes: str = "",
) -> HostingService:
    """A service waiting for activation; nothing is billed until it is activated."""
    service = HostingService(
        contract=contract,
        domain=domain,
        kind=kind,
        pricing_mode=pricing_mode,
        mailbox_count=mailbox_count,
        site_url=site_url,
        storage_gb=storage_gb,
        notes=notes,
    )
    service.full_clean()
    service.save()
    audit_record(actor=actor, obj=service, action="hosting.service.created", changes=snapshot(service))
    return service


def service_activation_blockers(*, service: HostingService, now: datetime.datetime) -> list[str]:
    """What is missing before ``service`` may be activated (empty list: nothing)."""
    problems = []
    contract, domain = service.contract, service.domain
    if not contract.has_hosting:
        problems.append(_("le contrat %(ref)s n'a pas l'option messagerie et hébergement") % {"ref": contract})
    if contract.status != ContractStatus.ACTIVE:
        problems.append(_("le contrat %(ref)s n'est pas actif") % {"ref": contract})
    if not domain.client_is_administrator:
        problems.append(
            _("le client n'est pas confirmé comme administrateur du domaine %(domain)s (CGV H3)")
            % {"domain": domain.name}
        )
    if selectors.certificate_valid_for(domain=domain, now=now) is None:
        problems.append(
            _("aucun certificat SSL valide couvrant %(domain)s n'est enregistré (CGV H3)") % {"domain": domain.name}
        )
    if service.is_mail and service.mailbox_count == 0:
        problems.append(_("le nombre de boîtes aux lettres souscrites est nul"))
    return problems


@transaction.atomic
def service_activate(*, actor, service: HostingService, now: datetime.datetime) -> HostingService:
    """H3: activate a service once the client administers its domain and holds a valid certificate.

    The contract is amended from the next billing period (see ``hosting.periods``).
    """
    service = HostingService.objects.select_for_update().select_related("contract", "domain").get(pk=service.pk)
    if service.status != ServiceStatus.PENDING:
        raise HostingError(
            _("Le service %(service)s est déjà %(status)s.")
            % {"service": service, "status": service.get_status_display()}
        )
    problems = service_activation_blockers(service=service, now=now)
    if problems:
        raise HostingError(
            _("Activation impossible : %(problems)s.") % {"problems": " ; ".join(problems)}, code="activation_refused"
        )
    today = business_today(now)
    before = snapshot(service)
    service.status = ServiceStatus.ACTIVE
    service.activated_on = today
    service.save()
    audit_record(actor=actor, obj=service, action="hosting.service.activated", changes=diff(before, snapshot(service)))
    _amend_contract(
        actor=actor,
        service=service,
        effective_from=amendment_start(contract=service.contract, day=today),
        mailboxes=service.mailbox_count,
    )
    return service


@transaction.atomic
def service_close(*, actor, service: HostingService, today: datetime.date) -> HostingService:
    """End a service: its contract line stops at the end of the current billing period."""
    service = HostingService.objects.select_for_update().select_related("contract", "domain").get(pk=service.pk)
    if service.status == ServiceStatus.CLOSED:
        raise HostingError(_("Le service %(service)s est déjà résilié.") % {"service": service})
    if service.change_requests.filter(status=ChangeRequestStatus.OPEN).exists():
        raise HostingError(_("Une demande de modification est en cours : traitez-la ou annulez-la d'abord."))
    was_active = service.status == ServiceStatus.ACTIVE
    before = snapshot(service)
    service.status = ServiceStatus.CLOSED
    service.closed_on = today
    service.save()
    audit_record(actor=actor, obj=service, action="hosting.service.closed", changes=diff(before, snapshot(service)))
    if was_active:
        _amend_contract(
            actor=actor,
            service=service,
            effective_from=amendment_start(contract=service.contract, day=today),
            mailboxes=None,
        )
    return service


@dataclass(frozen=True)
class _LineSpec:
    description: str
    quantity: Decimal
    unit_price: Decimal


def _line_spec(service: HostingService, mailboxes: int, effective_from: datetime.date) -> _LineSpec | None:
    qty = billing_quantity(kind=service.kind, pricing_mode=service.pricing_mode, mailboxes=mailboxes)
    if qty.quantity == 0:
        return None
    price = selectors.price_on(item=qty.item, day=effective_from)
    return _LineSpec(
        description=line_description(
            kind=service.kind,
            pricing_mode=service.pricing_mode,
            domain=service.domain.name,
            mailboxes=mailboxes,
            site=service.site_url,
        ),
        quantity=Decimal(qty.quantity),
        unit_price=price.unit_price,
    )


def _same(line: ContractLine, spec: _LineSpec) -> bool:
    return (line.description, line.quantity, line.unit_price) == (spec.description, spec.quantity, spec.unit_price)


def _amend_contract(
    *, actor, service: HostingService, effective_from: datetime.date, mailboxes: int | None
) -> ContractLine | None:
    """H5: make the service's contract line say ``mailboxes`` from ``effective_from`` (``None``: no line).

    The line in force ends the day before; a line planned from the same date by
    an earlier change (never billed yet) is withdrawn; an unchanged line is kept.
    """
    contract = service.contract
    spec = _line_spec(service, mailboxes, effective_from) if mailboxes is not None else None
    lines = list(
        ContractLine.objects.select_for_update()
        .filter(contract=contract, source=service.contract_line_source)
        .order_by("pk")
    )
    future = [ln for ln in lines if ln.valid_from and ln.valid_from >= effective_from]
    ongoing = [
        ln for ln in lines if ln not in future and (ln.valid_until is None or ln.valid_until >= effective_from)
    ]
    if spec is not None and not future and len(ongoing) == 1 and _same(ongoing[0], spec):
        return ongoing[0]
    changes: dict = {"hosting_service": service.pk, "effective_from": effective_from}
    if future:
        changes["withdrawn_lines"] = [snapshot(ln, ["id", "description", "quantity", "unit_price", "valid_from"])
                                      for ln in future]
        ContractLine.objects.filter(pk__in=[ln.pk for ln in future]).delete()
    end = effective_from - datetime.timedelta(days=1)
    previous = next((ln for ln in lines if ln.valid_until == end), None)
    if spec is not None and not ongoing and previous is not None and _same(previous, spec):
        # An earlier change of this period is undone: the line that was to end simply goes on.
        previous.valid_until = None
        previous.save(update_fields=["valid_until"])
        changes["reopened_line"] = previous.pk
        audit_record(actor=actor, obj=contract, action="hosting.contract.amended", changes=changes)
        return previous
    for line in ongoing:
        line.valid_until = end
        line.full_clean()
        line.save(update_fields=["valid_until"])
    if ongoing:
        changes["ended_lines"] = {str(ln.pk): end.isoformat() for ln in ongoing}
    new_line = None
    if spec is not None:
        anchor = ongoing[0] if ongoing else previous
        position = contract.lines.aggregate(m=Max("position"))["m"] or 0
        new_line = ContractLine(
            contract=contract,
            position=anchor.position if anchor else max(position, HOSTING_LINE_POSITION - 1) + 1,
            description=spec.description,
            quantity=spec.quantity,
            unit_price=spec.unit_price,
            valid_from=effective_from,
            source=service.contract_line_source,
        )
        new_line.full_clean()
        new_line.save()
        changes["new_line"] = snapshot(new_line, ["id", "description", "quantity", "unit_price", "valid_from"])
    audit_record(actor=actor, obj=contract, action="hosting.contract.amended", changes=changes)
    return new_line


# --- mailboxes (H4: the client manages its accounts; MIS records them) ----------------------------------


def mailbox_check(*, mailbox: Mailbox) -> None:
    """Why ``mailbox`` (new or edited, not saved yet) cannot be saved (:class:`HostingError`), if it cannot.

    An active mailbox must fit in the number the contract pays for (more needs
    a change request, H5); its address and aliases must be free on the domain.
    """
    service = mailbox.service
    if not service.is_mail:
        raise HostingError(_("Un hébergement de site web n'a pas de boîtes aux lettres."))
    others = list(service.mailboxes.exclude(pk=mailbox.pk))
    if mailbox.is_active and sum(1 for m in others if m.is_active) >= service.mailbox_count:
        raise HostingError(
            _(
                "Le contrat prévoit %(n)s boîte(s) pour %(domain)s, toutes créées : "
                "une demande de modification est nécessaire (CGV H5)."
            )
            % {"n": service.mailbox_count, "domain": service.domain.name}
        )
    taken = {m.local_part for m in others} | {a for m in others for a in m.alias_list}
    clash = ({mailbox.local_part.strip().lower()} | set(mailbox.alias_list)) & taken
    if clash:
        raise HostingError(
            _("Adresse déjà utilisée sur %(domain)s : %(names)s.")
            % {"domain": service.domain.name, "names": ", ".join(sorted(clash))}
        )


@transaction.atomic
def mailbox_create(
    *, actor, service: HostingService, local_part: str, display_name: str = "", aliases: str = ""
) -> Mailbox:
    """Record a mailbox of a mail service (H4: the client manages the account itself)."""
    service = HostingService.objects.select_for_update().select_related("domain").get(pk=service.pk)
    mailbox = Mailbox(service=service, local_part=local_part, display_name=display_name, aliases=aliases)
    mailbox.full_clean()
    mailbox_check(mailbox=mailbox)
    mailbox.save()
    audit_record(actor=actor, obj=mailbox, action="hosting.mailbox.created", changes=snapshot(mailbox))
    return mailbox


@transaction.atomic
def mailbox_update(*, actor, mailbox: Mailbox, **fields) -> Mailbox:
    """Rename, change aliases, deactivate or reactivate a mailbox (same checks as at creation)."""
    HostingService.objects.select_for_update().filter(pk=mailbox.service_id).first()
    before = snapshot(Mailbox.objects.get(pk=mailbox.pk))
    for name, value in fields.items():
        setattr(mailbox, name, value)
    mailbox.full_clean()
    mailbox_check(mailbox=mailbox)
    mailbox.save()
    audit_record(actor=actor, obj=mailbox, action="hosting.mailbox.updated", changes=diff(before, snapshot(mailbox)))
    return mailbox


# --- change requests (H5) -----------------------------------------------------------------------------


def change_request_check(*, service: HostingService, requested_mailboxes: int) -> None:
    """Why a change to ``requested_mailboxes`` cannot be asked for now (:class:`HostingError`), if it cannot."""
    if not service.is_mail or service.status == ServiceStatus.CLOSED:
        raise HostingError(_("Seul un service de messagerie en cours peut changer de nombre de boîtes."))
    if requested_mailboxes < 0:
        raise HostingError(_("Le nombre de boîtes ne peut pas être négatif."))
    if requested_mailboxes == service.mailbox_count:
        raise HostingError(_("Le service compte déjà %(n)s boîte(s) aux lettres.") % {"n": service.mailbox_count})
    pending = service.change_requests.filter(status=ChangeRequestStatus.OPEN).first()
    if pending is not None:
        raise HostingError(
            _("Une demande est déjà en cours pour ce service (reçue le %(received)s, traitée au plus tard le %(due)s).")
            % {"received": _fmt(pending.received_at), "due": f"{pending.due_on:%d/%m/%Y}"}
        )


@transaction.atomic
def change_request_create(
    *,
    actor,
    service: HostingService,
    requested_mailboxes: int,
    origin: str,
    now: datetime.datetime,
    contact: Contact | None = None,
    comment: str = "",
) -> ChangeRequest:
    """H5: a client (portal) or staff asks for a new number of mailboxes; due in 8 days."""
    service = HostingService.objects.select_for_update().select_related("domain", "contract").get(pk=service.pk)
    change_request_check(service=service, requested_mailboxes=requested_mailboxes)
    request = ChangeRequest(
        service=service,
        mailboxes_before=service.mailbox_count,
        requested_mailboxes=requested_mailboxes,
        origin=origin,
        requested_by_contact=contact,
        requested_by_user=_user(actor),
        comment=comment,
        received_at=now,
        due_on=change_request_due_on(now),
    )
    request.full_clean()
    try:
        with transaction.atomic():
            request.save()
    except IntegrityError as exc:  # a concurrent request for the same service won the race
        raise HostingError(_("Une demande est déjà en cours pour ce service.")) from exc
    audit_record(actor=actor, obj=request, action="hosting.change_request.received", changes=snapshot(request))
    client = service.contract.client
    email_queue(
        to=staff_recipients(),
        subject=_("[Hébergement] Demande de modification des boîtes — %(client)s — à traiter avant le %(due)s")
        % {"client": client, "due": f"{request.due_on:%d/%m/%Y}"},
        body=_(
            "%(client)s demande %(n)s boîte(s) aux lettres pour %(service)s (actuellement %(before)s).\n"
            "Origine : %(origin)s.\nCommentaire : %(comment)s\n\n"
            "Délai contractuel (CGV H5) : au plus tard le %(due)s."
        )
        % {
            "client": client,
            "n": requested_mailboxes,
            "service": service,
            "before": service.mailbox_count,
            "origin": request.get_origin_display(),
            "comment": comment or "—",
            "due": f"{request.due_on:%d/%m/%Y}",
        },
        key=f"hosting.change_request.{request.pk}.received",
    )
    if origin == ChangeRequestOrigin.PORTAL and contact is not None:
        email_queue(
            to=[contact.email],
            subject=_("Votre demande de modification des boîtes aux lettres (%(domain)s)")
            % {"domain": service.domain.name},
            body=_(
                "Bonjour,\n\nNous avons bien reçu votre demande de passer à %(n)s boîte(s) aux lettres pour "
                "%(service)s. Elle sera traitée au plus tard le %(due)s. La facturation sera ajustée à partir "
                "de la période de facturation suivant son traitement.\n\nMICRO INFO SERVICE"
            )
            % {"n": requested_mailboxes, "service": service, "due": f"{request.due_on:%d/%m/%Y}"},
            key=f"hosting.change_request.{request.pk}.acknowledged",
        )
    return request


@transaction.atomic
def change_request_complete(*, actor, change_request: ChangeRequest, now: datetime.datetime) -> ChangeRequest:
    """H5: staff made the change; the contract is amended from the next billing period."""
    request = ChangeRequest.objects.select_for_update().get(pk=change_request.pk)
    if request.status != ChangeRequestStatus.OPEN:
        raise HostingError(_("Cette demande est déjà %(status)s.") % {"status": request.get_status_display()})
    service = HostingService.objects.select_for_update().select_related("contract__client", "domain").get(
        pk=request.service_id
    )
    active = service.mailboxes.filter(is_active=True).count()
    if active > request.requested_mailboxes:
        raise HostingError(
            _("%(active)s boîtes sont encore actives pour %(n)s demandées : désactivez-en %(extra)s d'abord.")
            % {"active": active, "n": request.requested_mailboxes, "extra": active - request.requested_mailboxes}
        )
    today = business_today(now)
    effective_from = amendment_start(contract=service.contract, day=today)
    before_service = snapshot(service)
    service.mailbox_count = request.requested_mailboxes
    service.save()
    audit_record(
        actor=actor, obj=service, action="hosting.service.mailboxes_changed",
        changes=diff(before_service, snapshot(service)),
    )
    if service.status == ServiceStatus.ACTIVE:
        _amend_contract(actor=actor, service=service, effective_from=effective_from, mailboxes=service.mailbox_count)
    before = snapshot(request)
    request.status = ChangeRequestStatus.DONE
    request.completed_at = now
    request.completed_by = _user(actor)
    request.effective_from = effective_from if service.status == ServiceStatus.ACTIVE else None
    request.save()
    audit_record(actor=actor, obj=request, action="hosting.change_request.completed", changes=diff(before, snapshot(request)))
    recipients = selectors.client_notification_emails([service.contract.client_id])[service.contract.client_id]
    if request.requested_by_contact_id and request.requested_by_contact.email not in recipients:
        recipients.append(request.requested_by_contact.email)
    email_queue(
        to=recipients,
        subject=_("Boîtes aux lettres modifiées (%(domain)s)") % {"domain": service.domain.name},
        body=_(
            "Bonjour,\n\n%(service)s compte désormais %(n)s boîte(s) aux lettres. "
            "Votre contrat est modifié en conséquence à partir du %(effective)s.\n\nMICRO INFO SERVICE"
        )
        % {
            "service": service,
            "n": service.mailbox_count,
            "effective": f"{effective_from:%d/%m/%Y}",
        },
        key=f"hosting.change_request.{request.pk}.completed",
    )
    return request


@transaction.atomic
def change_request_cancel(*, actor, change_request: ChangeRequest, now: datetime.datetime) -> ChangeRequest:
    request = ChangeRequest.objects.select_for_update().get(pk=change_request.pk)
    if request.status != ChangeRequestStatus.OPEN:
        raise HostingError(_("Cette demande est déjà %(status)s.") % {"status": request.get_status_display()})
    before = snapshot(request)
    request.status = ChangeRequestStatus.CANCELLED
    request.completed_at = now
    request.completed_by = _user(actor)
    request.save()
    audit_record(actor=actor, obj=request, action="hosting.change_request.cancelled", changes=diff(before, snapshot(request)))
    return request


def change_requests_flag_overdue(*, today: datetime.date, now: datetime.datetime) -> int:
    """H5: tell staff once about each request not done by its due date (one digest e-mail per run).

    The rows are claimed with a conditional update, so a second or concurrent
    run flags and mails nothing more.
    """
    candidates = list(selectors.change_requests_newly_overdue(today=today).values_list("pk", flat=True))
    if not candidates:
        return 0
    with transaction.atomic():
        ids = list(
            ChangeRequest.objects.select_for_update(skip_locked=True)
            .filter(pk__in=candidates, overdue_flagged_at__isnull=True)
            .values_list("pk", flat=True)
        )
        if not ids:
            return 0
        ChangeRequest.objects.filter(pk__in=ids, overdue_flagged_at__isnull=True).update(overdue_flagged_at=now)
        flagged = list(selectors.change_requests_with_service().filter(pk__in=ids).order_by("due_on", "pk"))
        audit_bulk(
            actor=None, objs=flagged, action="hosting.change_request.overdue_flagged",
            changes_for=lambda r: {"overdue_flagged_at": [None, now.isoformat()]},
        )
        lines = [
            _("- %(client)s, %(service)s : %(before)s → %(n)s boîtes, reçue le %(received)s, due le %(due)s")
            % {
                "client": r.service.domain.client,
                "service": r.service,
                "before": r.mailboxes_before,
                "n": r.requested_mailboxes,
                "received": _fmt(r.received_at),
                "due": f"{r.due_on:%d/%m/%Y}",
            }
            for r in flagged
        ]
        email_queue(
            to=staff_recipients(),
            subject=_("[Hébergement] %(n)s demande(s) de modification des boîtes en retard (délai de 8 jours, CGV H5)")
            % {"n": len(flagged)},
            body="\n".join(lines),
            key=f"hosting.change_requests.overdue.{today:%Y%m%d}.{min(ids)}",
        )
    return len(flagged)


# --- expiry alerts (H3) -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Alert:
    key: str
    client_id: int
    subject: str
    body: str


def expiry_threshold(days_left: int) -> int | None:
    """The alert threshold reached with ``days_left`` days to go (30, 14 or 7), or ``None``.

    The smallest threshold reached wins, so a run missed on the 30th day sends
    the 14-day alert on the 13th, not a stale 30-day one.
    """
    if days_left < 0:
        return None
    return next((t for t in EXPIRY_THRESHOLDS if days_left <= t), None)


def expiry_alerts_send(*, today: datetime.date) -> dict:
    """Alert staff and the client's contacts 30, 14 and 7 days before a certificate or a domain expires.

    Once per threshold: the e-mail key names the object, its expiry date and the
    threshold. Queries: one per kind of object, one for the keys already sent,
    one for the recipients, then the new e-mails in one insert (``core.mail.emails_queue``).
    """
    horizon = today + datetime.timedelta(days=max(EXPIRY_THRESHOLDS))
    alerts: list[_Alert] = []
    for cert in selectors.certificates_expiring(
        start=paris_datetime(today), end=paris_datetime(horizon + datetime.timedelta(days=1))
    ):
        expires = business_today(cert.not_valid_after)
        threshold = expiry_threshold((expires - today).days)
        if threshold is None:
            continue
        alerts.append(
            _Alert(
                key=f"hosting.certificate.{cert.pk}.expiry.{expires:%Y%m%d}.{threshold}",
                client_id=cert.domain.client_id,
                subject=_("Certificat SSL de %(domain)s : expiration le %(date)s")
                % {"domain": cert.domain.name, "date": f"{expires:%d/%m/%Y}"},
                body=_(
                    "Bonjour,\n\nLe certificat SSL de %(domain)s (%(names)s, émis par %(issuer)s) expire le "
                    "%(date)s, dans %(days)s jour(s). Un certificat valide est une condition du service "
                    "d'hébergement (CGV, annexe hébergement) : merci de nous transmettre le certificat renouvelé."
                    "\n\nMICRO INFO SERVICE"
                )
                % {
                    "domain": cert.domain.name,
                    "names": ", ".join(cert.names),
                    "issuer": cert.issuer,
                    "date": f"{expires:%d/%m/%Y}",
                    "days": (expires - today).days,
                },
            )
        )
    for domain in selectors.domains_expiring(start=today, end=horizon):
        threshold = expiry_threshold((domain.expires_on - today).days)
        if threshold is None:
            continue
        alerts.append(
            _Alert(
                key=f"hosting.domain.{domain.pk}.expiry.{domain.expires_on:%Y%m%d}.{threshold}",
                client_id=domain.client_id,
                subject=_("Nom de domaine %(domain)s : expiration le %(date)s")
                % {"domain": domain.name, "date": f"{domain.expires_on:%d/%m/%Y}"},
                body=_(
                    "Bonjour,\n\nLe nom de domaine %(domain)s expire le %(date)s, dans %(days)s jour(s) "
                    "(bureau d'enregistrement : %(registrar)s). Sans renouvellement, la messagerie et le site "
                    "hébergés sur ce domaine cesseront de fonctionner.\n\nMICRO INFO SERVICE"
                )
                % {
                    "domain": domain.name,
                    "date": f"{domain.expires_on:%d/%m/%Y}",
                    "days": (domain.expires_on - today).days,
                    "registrar": domain.registrar or "—",
                },
            )
        )
    sent = set(OutboundEmail.objects.filter(key__in=[a.key for a in alerts]).values_list("key", flat=True))
    pending = [a for a in alerts if a.key not in sent]
    counts = {"certificate_alerts": 0, "domain_alerts": 0}
    if not pending:
        return counts
    recipients = selectors.client_notification_emails({a.client_id for a in pending})
    staff = staff_recipients()
    queued = emails_queue([
        {"to": recipients.get(a.client_id, []) + staff, "subject": a.subject, "body": a.body, "key": a.key}
        for a in pending
    ])
    for email in queued:
        counts["certificate_alerts" if email.key.startswith("hosting.certificate") else "domain_alerts"] += 1
    return counts


# --- planned maintenance (H2) -------------------------------------------------------------------------


@transaction.atomic
def maintenance_announce(*, actor, window: MaintenanceWindow, now: datetime.datetime) -> int:
    """H2: e-mail the contacts of every client whose service the window interrupts; the portal shows it.

    Idempotent per client: announcing again (after adding services) only tells
    the clients not told yet. Returns the number of e-mails queued.
    """
    window = MaintenanceWindow.objects.select_for_update().get(pk=window.pk)
    if window.ends_at <= now:
        raise HostingError(_("Cette maintenance est terminée : il n'y a plus rien à annoncer."))
    services = list(selectors.windows_to_announce(window))
    if not services:
        raise HostingError(_("Choisissez les services concernés avant d'annoncer la maintenance."))
    by_client: dict[int, list[HostingService]] = {}
    for service in services:
        by_client.setdefault(service.contract.client_id, []).append(service)
    recipients = selectors.client_notification_emails(by_client)
    queued = 0
    for client_id, client_services in by_client.items():
        email = email_queue(
            to=recipients.get(client_id, []),
            subject=_("Maintenance planifiée du %(start)s au %(end)s") % {"start": _fmt(window.starts_at),
                                                                          "end": _fmt(window.ends_at)},
            body=_(
                "Bonjour,\n\nUne maintenance planifiée interrompra les services suivants du %(start)s au "
                "%(end)s (heure de Paris) :\n%(services)s\n\n%(title)s\n%(description)s\n\n"
                "Elle est aussi affichée dans votre espace client.\n\nMICRO INFO SERVICE"
            )
            % {
                "start": _fmt(window.starts_at),
                "end": _fmt(window.ends_at),
                "services": "\n".join(f"- {s}" for s in client_services),
                "title": window.title,
                "description": window.description,
            },
            key=f"hosting.maintenance.{window.pk}.client.{client_id}",
        )
        queued += email is not None
    if window.announced_at is None:
        window.announced_at = now
        window.announced_by = _user(actor)
        window.save(update_fields=["announced_at", "announced_by"])
        audit_record(actor=actor, obj=window, action="hosting.maintenance.announced",
                     changes={"announced_at": [None, now], "clients": sorted(by_client)})
    return queued
