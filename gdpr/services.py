"""Writes of the gdpr app: keyword-only, atomic, validated, audited.

Rules: CGV D1–D10 (art. 14) and L6 (GDPR Art. 12, 28, 30, 33).
"""
import datetime

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from contracts.choices import ContractStatus
from contracts.models import Client, Contact, Contract
from core.audit import audit_record, diff, snapshot
from core.mail import email_queue, staff_recipients
from core.models import AuditLogEntry, OutboundEmail
from gdpr import deadlines, documents, personal_data, selectors
from gdpr.choices import (
    BreachStatus,
    ControllerRequestKind,
    ControllerRequestStatus,
    DispositionChoice,
    DispositionStatus,
    NotificationStage,
    RequestChannel,
    RequestStatus,
)
from gdpr.exceptions import GdprError
from gdpr.models import (
    Anonymisation,
    Breach,
    BreachNotification,
    ControllerRequest,
    DataDisposition,
    DataSubjectRequest,
    ProcessingActivity,
    ProcessingActivitySubProcessor,
    SubProcessor,
    SubProcessorAuthorisation,
)
from gdpr.register import ACTIVITIES, OPTION_FLAGS, SECURITY_MEASURES

# Retention periods applied by the nightly job (documented in docs/gdpr.md).
RETURN_GRACE_PERIOD = datetime.timedelta(days=30)  # D10: copies destroyed 30 days after the return archive
CHOICE_WAIT = datetime.timedelta(days=90)  # D10: without an answer, deletion applies (privacy by default, D4)
REQUEST_RETENTION_YEARS = 5  # D3: proof of how a request was handled, then the requester is anonymised

RUNNING_CONTRACT_STATES = [ContractStatus.DRAFT, ContractStatus.ACTIVE, ContractStatus.SUSPENDED]
ENDED_CONTRACT_STATES = [ContractStatus.TERMINATED, ContractStatus.ENDED]


def _fmt(dt: datetime.datetime) -> str:
    return timezone.localtime(dt).strftime("%d/%m/%Y %H:%M")


# --- data-subject requests (D3, D5, L6) --------------------------------------------------------

@transaction.atomic
def request_record(
    *,
    actor,
    client: Client,
    kind: str,
    requester_name: str,
    description: str,
    received_at: datetime.datetime,
    now: datetime.datetime,
    channel: str = RequestChannel.STAFF,
    requester_email: str = "",
    requester_phone: str = "",
    contact: Contact | None = None,
    filed_by: Contact | None = None,
) -> DataSubjectRequest:
    """Record a request and forward it at once by e-mail to the controller (CGV D5).

    The forwarding time is ``now`` (the e-mail is queued in this transaction and
    sent on commit); the answer deadline is one month after receipt (L6).
    """
    if received_at > now:
        raise GdprError(_("La date de réception ne peut pas être dans le futur."))
    if contact is not None and contact.client_id != client.pk:
        raise GdprError(_("La personne concernée n'est pas un contact de ce client."))
    request = DataSubjectRequest(
        client=client,
        kind=kind,
        channel=channel,
        requester_name=requester_name,
        requester_email=requester_email,
        requester_phone=requester_phone,
        description=description,
        contact=contact,
        filed_by=filed_by,
        received_at=received_at,
        due_date=deadlines.request_due_date(received_at),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    request.full_clean()
    request.save()
    recipients = selectors.controller_recipients(client)
    body = render_to_string("gdpr/email/request_forward.txt", {"request": request, "client": client})
    email = email_queue(
        to=recipients,
        subject=_("[RGPD] Demande d'exercice de droits %(ref)s (%(kind)s) à traiter avant le %(due)s")
        % {"ref": request.reference, "kind": request.get_kind_display(), "due": request.due_date.strftime("%d/%m/%Y")},
        body=body,
        key=f"gdpr.request.{request.pk}.forwarded",
    )
    request.forwarded_at = now
    request.forwarded_to = recipients
    request.forward_email = email
    request.save(update_fields=["forwarded_at", "forwarded_to", "forward_email", "updated_at"])
    audit_record(actor=actor, obj=request, action="gdpr.request.recorded", changes=snapshot(request))
    return request


@transaction.atomic
def request_extend(*, actor, request: DataSubjectRequest, reason: str, now: datetime.datetime) -> DataSubjectRequest:
    """L6 / Art. 12(3): two more months, with the reason given within the first month."""
    request = DataSubjectRequest.objects.select_for_update().get(pk=request.pk)
    if request.status == RequestStatus.ANSWERED:
        raise GdprError(_("La demande est déjà traitée."))
    if request.extended_at:
        raise GdprError(_("Le délai a déjà été prolongé (une seule prolongation de deux mois)."))
    if not reason.strip():
        raise GdprError(_("Indiquez le motif de la prolongation : il doit être communiqué à la personne."))
    if timezone.localdate(now) > request.due_date:
        raise GdprError(
            _("Le premier mois est écoulé (échéance du %(due)s) : la prolongation n'est plus possible.")
            % {"due": request.due_date.strftime("%d/%m/%Y")}
        )
    before = snapshot(request)
    request.extension_reason = reason.strip()
    request.extended_at = now
    request.extended_due_date = deadlines.request_extended_due_date(request.received_at)
    request.save()
    audit_record(actor=actor, obj=request, action="gdpr.request.extended", changes=diff(before, snapshot(request)))
    return request


@transaction.atomic
def request_mark_answered(
    *, actor, request: DataSubjectRequest, now: datetime.datetime, notes: str = ""
) -> DataSubjectRequest:
    request = DataSubjectRequest.objects.select_for_update().get(pk=request.pk)
    if request.status == RequestStatus.ANSWERED:
        return request
    before = snapshot(request)
    request.status = RequestStatus.ANSWERED
    request.answered_at = now
    request.answer_notes = notes
    request.save()
    audit_record(actor=actor, obj=request, action="gdpr.request.answered", changes=diff(before, snapshot(request)))
    return request


# --- controller instructions and assistance requests (D4, D7, D8) --------------------------------

def _controller_request_mail(request: ControllerRequest, template: str, subject: str, key: str, extra=None):
    context = {"req": request, "client": request.client, "security_measures": SECURITY_MEASURES, **(extra or {})}
    return email_queue(
        to=selectors.controller_recipients(request.client),
        subject=subject % {"ref": request.reference, "subject": request.subject},
        body=render_to_string(template, context),
        key=key,
    )


def _controller_request_save(*, actor, request: ControllerRequest, before: dict, event: str, subject: str,
                             extra=None) -> ControllerRequest:
    """Save a state change, tell the controller (template ``controller_request_<event>.txt``) and audit it."""
    request.save()
    _controller_request_mail(
        request, f"gdpr/email/controller_request_{event}.txt", subject, f"gdpr.ctrlreq.{request.pk}.{event}", extra
    )
    audit_record(
        actor=actor, obj=request, action=f"gdpr.controller_request.{event}", changes=diff(before, snapshot(request))
    )
    return request


@transaction.atomic
def controller_request_record(
    *,
    actor,
    client: Client,
    kind: str,
    subject: str,
    description: str,
    requester_name: str,
    received_at: datetime.datetime,
    now: datetime.datetime,
    channel: str = RequestChannel.STAFF,
    requester_email: str = "",
    filed_by: Contact | None = None,
) -> ControllerRequest:
    """Document a controller's instruction (D4) or assistance request (D7, D8).

    The controller gets an acknowledgement with the reference and the date MIS
    commits to answer by; MIS's DPO group is told at once.
    """
    if received_at > now:
        raise GdprError(_("La date de réception ne peut pas être dans le futur."))
    if filed_by is not None and filed_by.client_id != client.pk:
        raise GdprError(_("L'auteur n'est pas un contact de ce client."))
    request = ControllerRequest(
        client=client, kind=kind, channel=channel, subject=subject.strip(), description=description.strip(),
        requester_name=requester_name.strip(), requester_email=requester_email, filed_by=filed_by,
        received_at=received_at, due_date=deadlines.controller_request_due_date(received_at),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    request.full_clean()
    request.save()
    _controller_request_mail(
        request, "gdpr/email/controller_request_received.txt",
        _("[RGPD] %(ref)s bien reçue : %(subject)s"), f"gdpr.ctrlreq.{request.pk}.received",
    )
    email_queue(
        to=_dpo_recipients(),
        subject=_("[RGPD] Nouvelle demande du client %(client)s : %(ref)s (%(kind)s)") % {
            "client": client.name, "ref": request.reference, "kind": request.get_kind_display()
        },
        body=render_to_string("gdpr/email/controller_request_staff.txt", {"req": request, "client": client}),
        key=f"gdpr.ctrlreq.{request.pk}.staff",
    )
    audit_record(actor=actor, obj=request, action="gdpr.controller_request.recorded", changes=snapshot(request))
    return request


@transaction.atomic
def controller_request_challenge(
    *, actor, request: ControllerRequest, reason: str, now: datetime.datetime
) -> ControllerRequest:
    """D4 (Art. 28(3)): tell the controller at once that an instruction appears to infringe the law.

    Only an instruction not yet carried out can be challenged; the instruction is
    then not carried out until the controller answers (staff record the outcome
    with ``controller_request_answer``).
    """
    request = ControllerRequest.objects.select_for_update().select_related("client").get(pk=request.pk)
    if not request.is_instruction:
        raise GdprError(_("Seule une instruction peut être signalée comme illicite."))
    if request.status != ControllerRequestStatus.RECEIVED:
        raise GdprError(_("Cette instruction a déjà été %(state)s.") % {"state": request.get_status_display()})
    if not reason.strip():
        raise GdprError(_("Indiquez en quoi l'instruction paraît contraire à la réglementation."))
    before = snapshot(request)
    request.status = ControllerRequestStatus.CHALLENGED
    request.challenged_at = now
    request.challenge_reason = reason.strip()
    return _controller_request_save(
        actor=actor, request=request, before=before, event="challenged",
        subject=_("[RGPD] %(ref)s : instruction non exécutée, elle nous paraît illicite"),
    )


@transaction.atomic
def controller_request_answer(
    *, actor, request: ControllerRequest, answer: str, now: datetime.datetime
) -> ControllerRequest:
    """Close the request with MIS's answer, sent to the controller (D4 carried out, D7/D8 assistance given).

    A security-measures request (D7) gets the measures of the processing register in the e-mail.
    """
    request = ControllerRequest.objects.select_for_update().select_related("client").get(pk=request.pk)
    if request.status == ControllerRequestStatus.DONE:
        raise GdprError(_("Cette demande est déjà traitée."))
    if not answer.strip():
        raise GdprError(_("Indiquez la réponse ou la suite donnée : elle est envoyée au client."))
    before = snapshot(request)
    request.status = ControllerRequestStatus.DONE
    request.answered_at = now
    request.answer = answer.strip()
    return _controller_request_save(
        actor=actor, request=request, before=before, event="answered",
        subject=_("[RGPD] %(ref)s traitée : %(subject)s"),
        extra={"with_measures": request.kind == ControllerRequestKind.SECURITY},
    )


def controller_requests_alert_overdue(*, today: datetime.date, now: datetime.datetime) -> dict:
    """One digest to MIS's DPO group listing requests past their due date, each listed once (idempotent)."""
    with transaction.atomic():
        overdue = list(
            ControllerRequest.objects.select_for_update(skip_locked=True)
            .filter(due_date__lt=today, overdue_alerted_at__isnull=True)
            .exclude(status=ControllerRequestStatus.DONE)
            .select_related("client")
            .order_by("due_date", "pk")
        )
        if not overdue:
            return {"overdue": 0}
        email_queue(
            to=_dpo_recipients(),
            subject=_("[RGPD] %(n)s demande(s) de client en retard") % {"n": len(overdue)},
            body=render_to_string("gdpr/email/controller_requests_overdue.txt", {"requests": overdue, "today": today}),
            key=f"gdpr.ctrlreq.overdue.{today.isoformat()}.{overdue[0].pk}",
        )
        ControllerRequest.objects.filter(pk__in=[r.pk for r in overdue]).update(overdue_alerted_at=now)
    return {"overdue": len(overdue)}


# --- personal data of a contact (D1–D3) --------------------------------------------------------

def contact_export(*, actor, contact: Contact, now: datetime.datetime) -> dict:
    """Everything MIS holds about a person, as JSON-ready data (portability, D3). Logged (D2).

    Covers the contact row, its portal account, every row of every model that
    points to it (found by introspection), the e-mails sent to it, the audit
    entries about it, and the legal records that mention it (kept, L2).
    """
    from gdpr.personal_data import jsonable, related_rows, row_dict

    subject = row_dict(contact)
    subject["client_name"] = contact.client.name
    user = contact.user
    account = None
    if user is not None:
        account = {
            name: jsonable(getattr(user, name))
            for name in ["username", "email", "first_name", "last_name", "is_active", "date_joined", "last_login"]
        }
    related = {}
    kept = {}
    for relation, rows in related_rows(contact):
        target = kept if relation.legal_hold else related
        target.setdefault(relation.label, []).extend(row_dict(r) for r in rows)
    emails = [
        {
            "created_at": jsonable(e.created_at),
            "sent_at": jsonable(e.sent_at),
            "to": e.to,
            "cc": e.cc,
            "subject": e.subject,
            "body": e.body,
            "attachments": [a.get("name") for a in e.attachments],
        }
        for e in _emails_to(contact.email)
    ]
    audit = [
        {
            "created_at": jsonable(a.created_at),
            "actor": a.actor_label,
            "action": a.action,
            "changes": a.changes,
        }
        for a in _audit_about(contact)
    ]
    mentions = [
        {"model": h.model, "id": jsonable(h.pk), "fields": h.fields, "kept_by_law": h.legal_hold or ""}
        for h in personal_data.locate(personal_data.identifiers(contact))
    ]
    provider = documents.provider_or_none()
    export = {
        "format": "mis-backoffice/personal-data-export/1",
        "generated_at": jsonable(now),
        "controller": {"name": provider.legal_name, "email": provider.email} if provider else None,
        "purposes": "Exécution du contrat et obligations légales (CGV art. 14.1, D1).",
        "retention": "Pendant le contrat ; factures et pièces comptables 10 ans (L2).",
        "subject": subject,
        "portal_account": account,
        "related": related,
        "emails": emails,
        "audit": audit,
        "legal_records": kept,
        "mentions": mentions,
    }
    # D2: every access to a person's export is written to the audit log.
    audit_record(actor=actor, obj=contact, action="gdpr.contact.exported", changes={"at": jsonable(now)})
    return export


def _emails_to(email: str) -> list[OutboundEmail]:
    candidates = OutboundEmail.objects.filter(Q(to__icontains=email) | Q(cc__icontains=email)).order_by("created_at", "pk")
    wanted = email.lower()
    return [e for e in candidates if wanted in [a.lower() for a in (e.to or []) + (e.cc or [])]]


def _contact_content_types() -> list[int]:
    from gdpr.models import DataSubject

    cts = ContentType.objects.get_for_models(Contact, DataSubject, for_concrete_models=False)
    return [ct.pk for ct in cts.values()]


def _audit_about(contact: Contact):
    return AuditLogEntry.objects.filter(
        content_type_id__in=_contact_content_types(), object_id=str(contact.pk)
    ).order_by("created_at", "pk")


def _historical_identifiers(contact: Contact) -> list[str]:
    """Former e-mails, names and phones of the person, found in the audit entries about it."""
    values = []
    for entry in _audit_about(contact):
        for name in ("email", "phone", "last_name"):
            change = entry.changes.get(name)
            if isinstance(change, list):
                values += [v for v in change if isinstance(v, str)]
            elif isinstance(change, str):
                values.append(change)
    return values


@transaction.atomic
def contact_anonymise(
    *,
    actor,
    contact: Contact,
    now: datetime.datetime,
    reason: str,
    request: DataSubjectRequest | None = None,
    disposition: DataDisposition | None = None,
) -> Anonymisation:
    """Erase a person everywhere except the legal records (CGV D3, D10; L2).

    The contact row stays (invoices and other rows point to it) with its
    personal fields replaced; its portal login is closed and stripped; the
    declared personal fields of the rows pointing to it are replaced; every
    mention of its identifiers elsewhere (e-mails sent, free text, audit entries)
    is replaced. Issued invoices and accounting records are never touched.
    Idempotent: a second call returns the first proof.
    """
    contact = Contact.objects.select_for_update(of=("self",)).select_related("client", "user").get(pk=contact.pk)
    existing = Anonymisation.objects.filter(contact=contact).first()
    if existing is not None:
        return existing
    terms = personal_data.identifiers(contact, extra=_historical_identifiers(contact))
    anon_email = f"anonyme-{contact.pk}@anonymise.invalid"
    touched: dict[str, set] = {}
    kept: dict[str, set] = {}

    # 1. Rows pointing to the person: declared personal fields replaced, legal records kept.
    for relation, rows in personal_data.related_rows(contact):
        if relation.legal_hold:
            kept.setdefault(relation.label, set()).update(r.pk for r in rows)
            continue
        names = personal_data.personal_fields(relation.model)
        if names:
            values = {}
            for name in names:
                f = relation.model._meta.get_field(name)
                values[f.attname] = personal_data.anonymised_value(f, pk=contact.pk)
            relation.model._base_manager.filter(pk__in=[r.pk for r in rows]).update(**values)
        touched.setdefault(relation.label, set()).update(r.pk for r in rows)

    # 2. The portal login: closed, no name, no address.
    if contact.user_id:
        user = contact.user
        user.username = f"anonyme-{contact.pk}"
        user.email = ""
        user.first_name = ""
        user.last_name = ""
        user.is_active = False
        user.set_unusable_password()
        user.save()
        touched.setdefault(get_user_model()._meta.label, set()).add(user.pk)

    # 3. The contact itself.
    Contact.objects.filter(pk=contact.pk).update(
        last_name=personal_data.ANONYMISED,
        first_name="",
        email=anon_email,
        phone="",
        job_title="",
        is_dpo=False,
        is_billing_contact=False,
        is_technical_contact=False,
        is_active=False,
        updated_at=now,
    )
    touched.setdefault(Contact._meta.label, set()).add(contact.pk)

    # 4. Audit entries about the person: values of its personal fields blanked.
    personal = {"last_name", "first_name", "email", "phone", "job_title"}
    for entry in _audit_about(contact):
        changes = {
            k: ([personal_data.ANONYMISED] * len(v) if isinstance(v, list) else personal_data.ANONYMISED)
            if k in personal
            else v
            for k, v in entry.changes.items()
        }
        AuditLogEntry.objects.filter(pk=entry.pk).update(changes=changes, object_repr=personal_data.ANONYMISED)
        touched.setdefault(AuditLogEntry._meta.label, set()).add(entry.pk)

    # 5. Every remaining mention, anywhere but the legal records.
    for label, pks in personal_data.scrub(terms, email_replacement=anon_email).items():
        touched.setdefault(label, set()).update(pks)
    for hit in personal_data.locate(terms):
        if hit.legal_hold:
            kept.setdefault(hit.model, set()).add(hit.pk)
    summary = {label: len(pks) for label, pks in sorted(touched.items())}
    kept = {label: len(pks) for label, pks in sorted(kept.items())}

    contact.refresh_from_db()  # the in-memory names must not reach the audit entry below
    proof = Anonymisation(
        contact=contact,
        done_at=now,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        reason=reason,
        request=request,
        disposition=disposition,
        summary=summary,
        kept=kept,
    )
    proof.full_clean(exclude=["contact"])
    proof.save()
    audit_record(
        actor=actor, obj=contact, action="gdpr.contact.anonymised",
        changes={"reason": reason, "rows": summary, "kept": kept},
    )
    return proof


def contact_locate(*, contact: Contact) -> list[personal_data.Hit]:
    """Where the person is mentioned (DPO tool; also proves an anonymisation)."""
    return personal_data.locate(personal_data.identifiers(contact))


# --- sub-processors (D9) ----------------------------------------------------------------------

@transaction.atomic
def subprocessor_add(*, actor, now: datetime.datetime, **fields) -> SubProcessor:
    """Add a sub-processor not named in the terms and tell every active client (D9).

    It may only be used for a client once that client's prior authorisation is
    recorded (:func:`subprocessor_authorisation_record`).
    """
    sub = SubProcessor(listed_in_terms=False, **fields)
    sub.full_clean()
    sub.save()
    audit_record(actor=actor, obj=sub, action="gdpr.subprocessor.added", changes=snapshot(sub))
    notified = 0
    for client in Client.objects.filter(is_active=True).prefetch_related("contacts").order_by("pk"):
        recipients = _recipients_from_prefetch(client)
        body = render_to_string("gdpr/email/subprocessor_change.txt", {"sub": sub, "client": client})
        if email_queue(
            to=recipients,
            subject=_("[RGPD] Demande d'autorisation : nouveau sous-traitant %(name)s") % {"name": sub.name},
            body=body,
            key=f"gdpr.subprocessor.{sub.pk}.client.{client.pk}",
        ):
            notified += 1
    return sub


def _recipients_from_prefetch(client: Client) -> list[str]:
    return selectors.controller_recipients(client, contacts=sorted(client.contacts.all(), key=lambda c: c.pk))


@transaction.atomic
def subprocessor_authorisation_record(
    *, actor, client: Client, sub_processor: SubProcessor, authorised_on: datetime.date, given_by: str,
    evidence: str = "",
) -> SubProcessorAuthorisation:
    """Record a client's prior authorisation to use a sub-processor (D9)."""
    if sub_processor.listed_in_terms:
        raise GdprError(_("%(name)s est prévu aux CGV : aucune autorisation n'est nécessaire.") % {"name": sub_processor})
    if SubProcessorAuthorisation.objects.filter(client=client, sub_processor=sub_processor).exists():
        raise GdprError(_("L'autorisation de ce client est déjà enregistrée."))
    auth = SubProcessorAuthorisation(
        client=client, sub_processor=sub_processor, authorised_on=authorised_on, given_by=given_by,
        evidence=evidence, recorded_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    auth.full_clean()
    auth.save()
    audit_record(actor=actor, obj=auth, action="gdpr.subprocessor.authorised", changes=snapshot(auth))
    return auth


def subprocessor_check_authorised(*, client: Client, sub_processor: SubProcessor) -> None:
    """Refuse to use a sub-processor for a client that has not authorised it (D9, Art. 28(2))."""
    if not sub_processor.is_active:
        raise GdprError(_("%(name)s n'est plus un sous-traitant actif.") % {"name": sub_processor})
    if not selectors.subprocessor_is_authorised(client=client, sub_processor=sub_processor):
        raise GdprError(
            _("%(name)s ne peut pas être utilisé pour %(client)s sans son autorisation préalable (D9).")
            % {"name": sub_processor, "client": client}
        )


@transaction.atomic
def activity_add_subprocessor(*, actor, activity: ProcessingActivity, sub_processor: SubProcessor):
    subprocessor_check_authorised(client=activity.client, sub_processor=sub_processor)
    link, created = ProcessingActivitySubProcessor.objects.get_or_create(activity=activity, sub_processor=sub_processor)
    if created:
        audit_record(
            actor=actor, obj=activity, action="gdpr.activity.subprocessor_added",
            changes={"sub_processor": [None, sub_processor.pk]},
        )
    return link


# --- processing register (Art. 30(2), D8) ----------------------------------------------------

def register_sync(*, actor=None) -> dict:
    """Create the missing standard register lines of every client with a running contract.

    Bulk and idempotent: one query for the contracts, one for the existing lines,
    one insert, one for the links to the sub-processors named in the terms.
    """
    flags = list(OPTION_FLAGS.items())
    wanted: set[tuple[int, str]] = set()
    for row in Contract.objects.filter(status__in=[ContractStatus.ACTIVE, ContractStatus.SUSPENDED]).values(
        "client_id", *[flag for _code, flag in flags]
    ):
        for code, flag in flags:
            if row[flag]:
                wanted.add((row["client_id"], code.value))
    existing = set(ProcessingActivity.objects.exclude(code="").values_list("client_id", "code"))
    missing = sorted(wanted - existing)
    if not missing:
        return {"register_lines_created": 0}
    with transaction.atomic():
        ProcessingActivity.objects.bulk_create(
            [
                ProcessingActivity(
                    client_id=client_id, code=code, security_measures=SECURITY_MEASURES, **ACTIVITIES[code]
                )
                for client_id, code in missing
            ],
            ignore_conflicts=True,
        )
        created = list(
            ProcessingActivity.objects.filter(
                Q(*[Q(client_id=c, code=k) for c, k in missing], _connector=Q.OR)
            ).values_list("pk", flat=True)
        )
        listed = list(SubProcessor.objects.filter(listed_in_terms=True, is_active=True).values_list("pk", flat=True))
        ProcessingActivitySubProcessor.objects.bulk_create(
            [ProcessingActivitySubProcessor(activity_id=a, sub_processor_id=s) for a in created for s in listed],
            ignore_conflicts=True,
        )
    return {"register_lines_created": len(missing)}


def register_export(*, actor, client: Client, fmt: str, now: datetime.datetime) -> tuple[str, bytes, str]:
    """D8: the client's register as ``(filename, content, mimetype)``; the export is logged."""
    activities = list(selectors.register_for_client(client))
    stamp = timezone.localtime(now).strftime("%Y%m%d")
    if fmt == "csv":
        content = documents.register_csv(client, activities).encode("utf-8")
        result = (f"registre-{client.siren}-{stamp}.csv", content, "text/csv; charset=utf-8")
    elif fmt == "pdf":
        content = documents.register_pdf(
            client=client, activities=activities, controller_contacts=selectors.controller_recipients(client), now=now
        )
        result = (f"registre-{client.siren}-{stamp}.pdf", content, "application/pdf")
    else:
        raise GdprError(_("Format inconnu : %(fmt)s.") % {"fmt": fmt})
    audit_record(actor=actor, obj=client, action="gdpr.register.exported", changes={"format": fmt})
    return result


# --- breaches (D6, L6) ----------------------------------------------------------------------

@transaction.atomic
def breach_record(
    *, actor, client: Client, title: str, aware_at: datetime.datetime, now: datetime.datetime, **fields
) -> Breach:
    """Register a breach; the 72-hour deadline runs from ``aware_at`` (D6). Staff are told at once."""
    if aware_at > now:
        raise GdprError(_("La prise de connaissance ne peut pas être dans le futur."))
    fields.setdefault("contact_point", selectors.mis_contact_point())
    breach = Breach(
        client=client,
        title=title,
        aware_at=aware_at,
        notification_deadline=deadlines.breach_notification_deadline(aware_at),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        **fields,
    )
    breach.full_clean(exclude=["reference"])
    breach.save()
    breach.reference = f"VIO-{timezone.localtime(aware_at):%Y}-{breach.pk:04d}"
    Breach.objects.filter(pk=breach.pk).update(reference=breach.reference)
    audit_record(actor=actor, obj=breach, action="gdpr.breach.recorded", changes=snapshot(breach))
    email_queue(
        to=_dpo_recipients(),
        subject=_("[RGPD] Violation %(ref)s enregistrée — notifier %(client)s avant le %(deadline)s")
        % {"ref": breach.reference, "client": client, "deadline": _fmt(breach.notification_deadline)},
        body=render_to_string("gdpr/email/breach_alert.txt", {"breach": breach, "hours": 0}),
        key=f"gdpr.breach.{breach.pk}.recorded",
    )
    return breach


@transaction.atomic
def breach_update(*, actor, breach: Breach, **fields) -> Breach:
    """Complete or correct a breach (Art. 33 content); a new ``aware_at`` moves the deadline."""
    breach = Breach.objects.select_for_update().get(pk=breach.pk)
    before = snapshot(breach)
    for name, value in fields.items():
        setattr(breach, name, value)
    breach.notification_deadline = deadlines.breach_notification_deadline(breach.aware_at)
    breach.full_clean()
    breach.save()
    audit_record(actor=actor, obj=breach, action="gdpr.breach.updated", changes=diff(before, snapshot(breach)))
    return breach


def _dpo_recipients() -> list[str]:
    return list(dict.fromkeys(staff_recipients() + selectors.dpo_staff_emails()))


@transaction.atomic
def breach_notify_controller(
    *, actor, breach: Breach, now: datetime.datetime, message: str = ""
) -> BreachNotification:
    """Send the controller the initial notification or a complement, by e-mail with a PDF (D6).

    Refused while an Art. 33(3) item is missing. A complement must say what is
    new. Each stage is recorded with the content sent.
    """
    breach = Breach.objects.select_for_update().select_related("client").get(pk=breach.pk)
    missing = breach.missing_art33_fields()
    if missing:
        labels = ", ".join(str(Breach._meta.get_field(name).verbose_name) for name in missing)
        raise GdprError(_("Notification impossible : informations de l'article 33 manquantes (%(fields)s).") % {
            "fields": labels
        })
    sequence = breach.notifications.count() + 1
    stage = NotificationStage.INITIAL if sequence == 1 else NotificationStage.COMPLEMENT
    if stage == NotificationStage.COMPLEMENT and not message.strip():
        raise GdprError(_("Un complément doit indiquer les informations nouvelles."))
    recipients = selectors.controller_recipients(breach.client)
    content = {name: personal_data.jsonable(getattr(breach, name)) for name in Breach.ART33_FIELDS}
    content.update(
        title=breach.title,
        aware_at=personal_data.jsonable(breach.aware_at),
        occurred_at=personal_data.jsonable(breach.occurred_at),
        notification_deadline=personal_data.jsonable(breach.notification_deadline),
    )
    notification = BreachNotification(
        breach=breach, sequence=sequence, stage=stage, sent_at=now, recipients=recipients, content=content,
        message=message.strip(), sent_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    pdf = documents.breach_notification_pdf(notification=notification, now=now)
    filename = f"{breach.reference}-{sequence}.pdf"
    notification.pdf.name = documents.store("gdpr/breaches", filename, pdf)
    subject_key = _("notification initiale") if stage == NotificationStage.INITIAL else _("complément n° %(n)s") % {
        "n": sequence - 1
    }
    notification.email = email_queue(
        to=recipients,
        subject=_("[RGPD] Violation de données %(ref)s — %(stage)s") % {"ref": breach.reference, "stage": subject_key},
        body=render_to_string("gdpr/email/breach_notification.txt", {"notification": notification, "breach": breach}),
        key=f"gdpr.breach.{breach.pk}.notification.{sequence}",
        attachments=[{"name": filename, "path": notification.pdf.name, "mimetype": "application/pdf"}],
    )
    notification.full_clean(exclude=["email", "pdf"])
    notification.save()
    before = snapshot(breach)
    if breach.controller_notified_at is None:
        breach.controller_notified_at = now
    if breach.status == BreachStatus.OPEN:
        breach.status = BreachStatus.NOTIFIED
    breach.save()
    audit_record(
        actor=actor, obj=breach, action=f"gdpr.breach.notified.{stage}",
        changes={**diff(before, snapshot(breach)), "sequence": sequence, "recipients": recipients},
    )
    return notification


@transaction.atomic
def breach_record_cnil_agreement(*, actor, breach: Breach, agreed_at: datetime.datetime, note: str) -> Breach:
    """D6: the controller agrees that MIS notifies the CNIL on its behalf."""
    breach = Breach.objects.select_for_update().get(pk=breach.pk)
    if breach.controller_notified_at is None:
        raise GdprError(_("Notifiez d'abord le responsable de traitement."))
    if breach.cnil_agreement_at:
        raise GdprError(_("L'accord du responsable est déjà enregistré."))
    before = snapshot(breach)
    breach.cnil_agreement_at = agreed_at
    breach.cnil_agreement_note = note
    breach.save()
    audit_record(actor=actor, obj=breach, action="gdpr.breach.cnil_agreed", changes=diff(before, snapshot(breach)))
    return breach


@transaction.atomic
def breach_record_cnil_notification(
    *, actor, breach: Breach, notified_at: datetime.datetime, reference: str
) -> Breach:
    """D6: MIS notified the CNIL for the controller — only after the controller's agreement."""
    breach = Breach.objects.select_for_update().get(pk=breach.pk)
    if breach.cnil_agreement_at is None:
        raise GdprError(_("La CNIL ne peut être notifiée par MIS qu'après l'accord du responsable de traitement."))
    if notified_at < breach.cnil_agreement_at:
        raise GdprError(_("La notification à la CNIL ne peut pas précéder l'accord du responsable."))
    before = snapshot(breach)
    breach.cnil_notified_at = notified_at
    breach.cnil_reference = reference
    breach.save()
    audit_record(actor=actor, obj=breach, action="gdpr.breach.cnil_notified", changes=diff(before, snapshot(breach)))
    return breach


@transaction.atomic
def breach_close(*, actor, breach: Breach, now: datetime.datetime) -> Breach:
    """Close a breach once the controller was notified; it stays in the register."""
    breach = Breach.objects.select_for_update().get(pk=breach.pk)
    if breach.controller_notified_at is None:
        raise GdprError(_("Une violation non notifiée au responsable de traitement ne peut pas être close."))
    before = snapshot(breach)
    breach.status = BreachStatus.CLOSED
    breach.closed_at = now
    breach.save()
    audit_record(actor=actor, obj=breach, action="gdpr.breach.closed", changes=diff(before, snapshot(breach)))
    return breach


def breach_send_alerts(*, now: datetime.datetime) -> dict:
    """Alert staff at 24, 48 and 66 hours (and at 72) while the controller is not notified (D6).

    Once each: the e-mail key names the breach and the threshold. Safe to run
    every 15 minutes and from the nightly job.
    """
    earliest = now - datetime.timedelta(hours=deadlines.BREACH_ALERT_HOURS[0])
    breaches = list(breaches_due_for_alert(earliest))
    if not breaches:
        return {"breach_alerts": 0}
    due = {}
    for breach in breaches:
        hours = deadlines.breach_alert_due(breach.aware_at, now)
        if hours is not None:
            due[f"gdpr.breach.{breach.pk}.alert.{hours}h"] = (breach, hours)
    already = set(OutboundEmail.objects.filter(key__in=list(due)).values_list("key", flat=True))
    recipients = _dpo_recipients()
    sent = 0
    for key, (breach, hours) in due.items():
        if key in already:
            continue
        with transaction.atomic():
            if hours >= 72:
                subject = _("[RGPD] DÉLAI DÉPASSÉ : violation %(ref)s non notifiée à %(client)s (échéance %(deadline)s)")
            else:
                subject = _("[RGPD] Violation %(ref)s : %(hours)s h écoulées, notifier %(client)s avant le %(deadline)s")
            if email_queue(
                to=recipients,
                subject=subject % {
                    "ref": breach.reference, "client": breach.client, "hours": hours,
                    "deadline": _fmt(breach.notification_deadline),
                },
                body=render_to_string("gdpr/email/breach_alert.txt", {"breach": breach, "hours": hours}),
                key=key,
            ):
                sent += 1
    return {"breach_alerts": sent}


def breaches_due_for_alert(earliest: datetime.datetime):
    return selectors.breaches_awaiting_notification().filter(aware_at__lte=earliest).order_by("pk")


# --- end of contract (D10) and retention ------------------------------------------------------

def _has_disposition(contract: Contract) -> bool:
    try:
        return contract.data_disposition is not None
    except DataDisposition.DoesNotExist:
        return False


def disposition_open_for_ended_clients(*, today: datetime.date, now: datetime.datetime) -> int:
    """Open a return-or-delete record for each client whose last contract has ended (D10); ask the client.

    Bulk: one query finds the clients, one insert (unique per contract), then one
    e-mail per new record (keyed).
    """
    ended = (
        Contract.objects.filter(status__in=ENDED_CONTRACT_STATES)
        .exclude(client__contracts__status__in=RUNNING_CONTRACT_STATES)
        .select_related("data_disposition")
        .order_by("client_id", "-current_period_end", "-pk")
    )
    latest: dict[int, Contract] = {}
    for contract in ended:
        latest.setdefault(contract.client_id, contract)
    # Only the client's last contract counts; once it has its record, nothing new is opened.
    latest = {k: c for k, c in latest.items() if not _has_disposition(c)}
    if not latest:
        return 0
    rows = [
        DataDisposition(
            client_id=c.client_id,
            contract=c,
            contract_ended_on=min(c.current_period_end or today, today),
            opened_at=now,
        )
        for c in latest.values()
    ]
    DataDisposition.objects.bulk_create(rows, ignore_conflicts=True)
    opened = DataDisposition.objects.filter(contract__in=list(latest.values()), opened_at=now).select_related(
        "client", "contract"
    )
    count = 0
    for disposition in opened.prefetch_related("client__contacts"):
        email_queue(
            to=_recipients_from_prefetch(disposition.client),
            subject=_("[RGPD] Fin du contrat %(ref)s : restitution ou suppression de vos données")
            % {"ref": disposition.contract.reference},
            body=render_to_string(
                "gdpr/email/disposition_choice.txt",
                {"disposition": disposition, "wait_days": CHOICE_WAIT.days},
            ),
            key=f"gdpr.disposition.{disposition.pk}.choice_asked",
        )
        count += 1
    return count


@transaction.atomic
def disposition_record_choice(
    *, actor, disposition: DataDisposition, choice: str, chosen_on: datetime.date, requested_by: str
) -> DataDisposition:
    """D10: the client's choice, return or delete."""
    disposition = DataDisposition.objects.select_for_update().get(pk=disposition.pk)
    if disposition.status != DispositionStatus.AWAITING_CHOICE:
        raise GdprError(_("Le choix est déjà enregistré (%(status)s).") % {"status": disposition.get_status_display()})
    if choice not in DispositionChoice.values:
        raise GdprError(_("Choix inconnu."))
    before = snapshot(disposition)
    disposition.choice = choice
    disposition.chosen_on = chosen_on
    disposition.requested_by = requested_by
    disposition.status = DispositionStatus.CHOSEN
    disposition.full_clean()
    disposition.save()
    audit_record(
        actor=actor, obj=disposition, action="gdpr.disposition.chosen", changes=diff(before, snapshot(disposition))
    )
    return disposition


@transaction.atomic
def disposition_execute(*, actor, disposition: DataDisposition, now: datetime.datetime) -> DataDisposition:
    """Carry out the client's choice (D10).

    - return: build the ZIP archive of the client's data; the copies are then
      destroyed after :data:`RETURN_GRACE_PERIOD` (nightly job).
    - delete: destroy now (anonymise the client's people) and issue the certificate.
    """
    disposition = DataDisposition.objects.select_for_update().select_related("client", "contract").get(
        pk=disposition.pk
    )
    if disposition.status != DispositionStatus.CHOSEN:
        raise GdprError(_("Rien à exécuter : %(status)s.") % {"status": disposition.get_status_display()})
    if disposition.choice == DispositionChoice.RETURN:
        return _disposition_return(actor=actor, disposition=disposition, now=now)
    return _disposition_destroy(actor=actor, disposition=disposition, now=now)


def _disposition_return(*, actor, disposition: DataDisposition, now) -> DataDisposition:
    client = disposition.client
    exports = [
        contact_export(actor=actor, contact=c, now=now)
        for c in Contact.objects.filter(client=client).select_related("client", "user").order_by("pk")
    ]
    register = documents.register_csv(client, list(selectors.register_for_client(client)))
    archive = documents.return_archive(client=client, person_exports=exports, register=register, now=now)
    before = snapshot(disposition)
    disposition.archive.name = documents.store("gdpr/returns", f"restitution-{client.siren}.zip", archive)
    disposition.returned_at = now
    disposition.status = DispositionStatus.RETURNED
    disposition.save()
    audit_record(
        actor=actor, obj=disposition, action="gdpr.disposition.returned", changes=diff(before, snapshot(disposition))
    )
    email_queue(
        to=selectors.controller_recipients(client),
        subject=_("[RGPD] Restitution de vos données (contrat %(ref)s)") % {"ref": disposition.contract.reference},
        body=render_to_string(
            "gdpr/email/disposition_returned.txt",
            {"disposition": disposition, "destroy_on": timezone.localdate(now) + RETURN_GRACE_PERIOD},
        ),
        key=f"gdpr.disposition.{disposition.pk}.returned",
    )
    return disposition


def _disposition_destroy(*, actor, disposition: DataDisposition, now) -> DataDisposition:
    client = disposition.client
    summary: dict[str, int] = {}
    kept: dict[str, int] = {}
    people = 0
    for contact in Contact.objects.filter(client=client).order_by("pk"):
        proof = contact_anonymise(
            actor=actor, contact=contact, now=now, reason=_("Fin de contrat : suppression (D10)"),
            disposition=disposition,
        )
        people += 1
        for label, n in proof.summary.items():
            summary[label] = summary.get(label, 0) + n
        for label, n in proof.kept.items():
            kept[label] = kept.get(label, 0) + n
    requests = DataSubjectRequest.objects.filter(client=client, anonymised_at__isnull=True)
    summary[DataSubjectRequest._meta.label] = summary.get(DataSubjectRequest._meta.label, 0) + requests.update(
        requester_name=personal_data.ANONYMISED, requester_email="", requester_phone="", description=personal_data.ANONYMISED,
        anonymised_at=now,
    )
    before = snapshot(disposition)
    disposition.report = {
        "people_anonymised": people,
        "rows_changed": summary,
        "kept": kept,
        "kept_reasons": [
            personal_data.L2_REASON,
            "Registre des violations de données (RGPD art. 33(5)) : sans donnée identifiante.",
            "Fiche société du client (raison sociale, SIREN, adresse) : mentions obligatoires des factures (L1, L2).",
        ],
        "archive_destroyed": bool(disposition.archive),
    }
    if disposition.archive:
        disposition.archive.delete(save=False)
        disposition.archive = ""
    disposition.destroyed_at = now
    disposition.status = DispositionStatus.DONE
    pdf = documents.deletion_certificate_pdf(disposition=disposition, now=now)
    name = f"certificat-suppression-{client.siren}.pdf"
    disposition.certificate.name = documents.store("gdpr/certificates", name, pdf)
    disposition.save()
    audit_record(
        actor=actor, obj=disposition, action="gdpr.disposition.destroyed", changes=diff(before, snapshot(disposition))
    )
    # Computed after the anonymisation: the certificate goes to the company's address, not to a
    # person just erased (who would otherwise stay findable in the e-mail log).
    email_queue(
        to=selectors.controller_recipients(client),
        subject=_("[RGPD] Certificat de suppression de vos données (contrat %(ref)s)")
        % {"ref": disposition.contract.reference},
        body=render_to_string("gdpr/email/disposition_certificate.txt", {"disposition": disposition}),
        key=f"gdpr.disposition.{disposition.pk}.certificate",
        attachments=[{"name": name, "path": disposition.certificate.name, "mimetype": "application/pdf"}],
    )
    return disposition


def retention_apply(*, today: datetime.date, now: datetime.datetime, limit: int = 20) -> dict:
    """The nightly retention run (D1, D3, D10). Idempotent: a second run finds nothing to do.

    1. open a return-or-delete record for clients whose last contract ended, and ask them;
    2. apply deletion by default when no choice came within :data:`CHOICE_WAIT`;
    3. carry out the recorded choices;
    4. destroy the copies :data:`RETURN_GRACE_PERIOD` after a return;
    5. anonymise the requesters of requests answered more than
       :data:`REQUEST_RETENTION_YEARS` years ago (one UPDATE).
    Executions (2–4) are claimed row by row with ``select_for_update(skip_locked=True)``,
    at most ``limit`` a night: each builds documents and is rare.
    """
    report = {"dispositions_opened": disposition_open_for_ended_clients(today=today, now=now)}

    defaulted = 0
    wait_limit = now - CHOICE_WAIT
    for pk in list(
        DataDisposition.objects.filter(status=DispositionStatus.AWAITING_CHOICE, opened_at__lte=wait_limit)
        .order_by("pk").values_list("pk", flat=True)[:limit]
    ):
        with transaction.atomic():
            row = DataDisposition.objects.select_for_update(skip_locked=True).filter(
                pk=pk, status=DispositionStatus.AWAITING_CHOICE
            ).first()
            if row is None:
                continue
            row.choice, row.chosen_on, row.default_applied = DispositionChoice.DELETE, today, True
            row.requested_by = _("aucune réponse dans le délai")
            row.status = DispositionStatus.CHOSEN
            row.save()
            audit_record(actor=None, obj=row, action="gdpr.disposition.default_delete", changes={"choice": "delete"})
            defaulted += 1
    report["dispositions_defaulted_to_delete"] = defaulted

    executed = {"return": 0, "delete": 0}
    for pk in list(
        DataDisposition.objects.filter(status=DispositionStatus.CHOSEN).order_by("pk").values_list("pk", flat=True)[
            :limit
        ]
    ):
        with transaction.atomic():
            row = DataDisposition.objects.select_for_update(skip_locked=True).filter(
                pk=pk, status=DispositionStatus.CHOSEN
            ).first()
            if row is None:
                continue
            disposition_execute(actor=None, disposition=row, now=now)
            executed[row.choice] += 1
    report["returns_made"] = executed["return"]
    report["deletions_made"] = executed["delete"]

    destroyed = 0
    for pk in list(
        DataDisposition.objects.filter(status=DispositionStatus.RETURNED, returned_at__lte=now - RETURN_GRACE_PERIOD)
        .order_by("pk").values_list("pk", flat=True)[:limit]
    ):
        with transaction.atomic():
            row = DataDisposition.objects.select_for_update(skip_locked=True).filter(
                pk=pk, status=DispositionStatus.RETURNED
            ).select_related("client", "contract").first()
            if row is None:
                continue
            _disposition_destroy(actor=None, disposition=row, now=now)
            destroyed += 1
    report["copies_destroyed_after_return"] = destroyed

    cutoff = now - datetime.timedelta(days=365 * REQUEST_RETENTION_YEARS + REQUEST_RETENTION_YEARS // 4)
    report["requests_anonymised"] = DataSubjectRequest.objects.filter(
        status=RequestStatus.ANSWERED, answered_at__lte=cutoff, anonymised_at__isnull=True
    ).update(
        requester_name=personal_data.ANONYMISED, requester_email="", requester_phone="",
        description=personal_data.ANONYMISED, anonymised_at=now,
    )
    if any(report.values()):
        email_queue(
            to=staff_recipients(),
            subject=_("[RGPD] Conservation des données : compte rendu du %(date)s") % {"date": today.strftime("%d/%m/%Y")},
            body=render_to_string("gdpr/email/retention_report.txt", {"report": report, "today": today}),
            key=f"gdpr.retention.{today.isoformat()}",
        )
    return report

