"""The controller's documented instructions (CGV D4) and assistance requests (D7, D8).

D4: MIS processes hosted data only on documented instructions and tells the controller at once when
one appears unlawful (Art. 28(3)); D7: it helps with impact assessments and prior consultations and
describes its security measures. MIS answers within 30 days (its own commitment, docs/gdpr.md).
"""
import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contracts.choices import ContactRole
from core.models import AuditLogEntry, OutboundEmail
from core.roles import DPO, setup_roles
from gdpr import services
from gdpr.choices import ControllerRequestKind, ControllerRequestStatus
from gdpr.exceptions import GdprError
from gdpr.models import ControllerRequest
from gdpr.register import SECURITY_MEASURES
from tests.factories.contracts import ContactFactory
from tests.factories.core import StaffUserFactory
from tests.factories.gdpr import ControllerRequestFactory

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def dpo_contact(client_a):
    return ContactFactory(client=client_a, email="dpo@a.fr", is_dpo=True, portal_role=ContactRole.TECHNICAL)


def _record(client, *, kind=ControllerRequestKind.INSTRUCTION, received_at=None, now=None, **kw):
    received_at = received_at or datetime.datetime(2026, 1, 30, 17, 45, tzinfo=PARIS)
    return services.controller_request_record(
        actor=None, client=client, kind=kind, subject=kw.pop("subject", "Purge des boîtes des anciens salariés"),
        description=kw.pop("description", "Supprimer les boîtes des salariés partis avant 2026."),
        requester_name="Paul Lemoine", requester_email="paul@a.fr", received_at=received_at,
        now=now or received_at, **kw,
    )


def test_d4_instruction_is_documented_acknowledged_to_the_controller_and_sent_to_the_dpo_group(
    client_a, dpo_contact, settings, run_on_commit, mailoutbox
):
    settings.STAFF_NOTIFICATION_EMAIL = "equipe@mis.fr"
    setup_roles()
    StaffUserFactory(email="dpo@mis.fr").groups.add(Group.objects.get(name=DPO))
    with run_on_commit():
        req = _record(client_a)
    req.refresh_from_db()
    assert req.status == ControllerRequestStatus.RECEIVED
    assert req.due_date == datetime.date(2026, 3, 1)  # 30 days after 30 January (Paris date of receipt)
    ack = OutboundEmail.objects.get(key=f"gdpr.ctrlreq.{req.pk}.received")
    assert ack.to == ["dpo@a.fr"]
    assert ack.subject == f"[RGPD] {req.reference} bien reçue : Purge des boîtes des anciens salariés"
    for text in [req.reference, "30/01/2026 17:45", "au plus tard le 01/03/2026", "informerons immédiatement"]:
        assert text in ack.body, text
    staff = OutboundEmail.objects.get(key=f"gdpr.ctrlreq.{req.pk}.staff")
    assert staff.to == ["equipe@mis.fr", "dpo@mis.fr"]
    assert "Signaler une instruction illicite" in staff.body
    assert len(mailoutbox) == 2
    assert AuditLogEntry.objects.filter(action="gdpr.controller_request.recorded", object_id=str(req.pk)).count() == 1


def test_d4_unlawful_instruction_is_challenged_at_once_with_the_reason_and_only_once(client_a, dpo_contact):
    req = _record(client_a, subject="Export des fiches salariés", description="Envoyer la base RH à un prospect.")
    now = datetime.datetime(2026, 1, 31, 9, 0, tzinfo=PARIS)
    done = services.controller_request_challenge(
        actor=None, request=req, reason="Transmission à un tiers sans base légale (art. 6 RGPD).", now=now
    )
    assert done.status == ControllerRequestStatus.CHALLENGED and done.challenged_at == now
    mail = OutboundEmail.objects.get(key=f"gdpr.ctrlreq.{req.pk}.challenged")
    assert mail.to == ["dpo@a.fr"]
    assert "nous paraît constituer une violation" in mail.body
    assert "Transmission à un tiers sans base légale (art. 6 RGPD)." in mail.body
    assert "Envoyer la base RH à un prospect." in mail.body
    with pytest.raises(GdprError, match="déjà été"):
        services.controller_request_challenge(actor=None, request=req, reason="encore", now=now)
    assert OutboundEmail.objects.filter(key__startswith=f"gdpr.ctrlreq.{req.pk}.challenged").count() == 1


@pytest.mark.parametrize("reason", ["", "   "])
def test_d4_a_challenge_needs_a_reason(client_a, reason):
    req = _record(client_a)
    with pytest.raises(GdprError, match="contraire à la réglementation"):
        services.controller_request_challenge(actor=None, request=req, reason=reason, now=req.received_at)
    req.refresh_from_db()
    assert req.status == ControllerRequestStatus.RECEIVED and req.challenged_at is None


def test_d7_an_assistance_request_cannot_be_challenged(client_a):
    req = _record(client_a, kind=ControllerRequestKind.DPIA, subject="AIPD vidéosurveillance")
    with pytest.raises(GdprError, match="Seule une instruction"):
        services.controller_request_challenge(actor=None, request=req, reason="x", now=req.received_at)


def test_d7_security_answer_carries_the_security_measures_of_the_register(client_a, dpo_contact):
    req = _record(client_a, kind=ControllerRequestKind.SECURITY, subject="Mesures de sécurité pour notre AIPD")
    now = datetime.datetime(2026, 2, 10, 11, 0, tzinfo=PARIS)
    done = services.controller_request_answer(actor=None, request=req, answer="Voici nos mesures.", now=now)
    assert done.status == ControllerRequestStatus.DONE and done.answered_at == now
    mail = OutboundEmail.objects.get(key=f"gdpr.ctrlreq.{req.pk}.answered")
    assert mail.subject == f"[RGPD] {req.reference} traitée : Mesures de sécurité pour notre AIPD"
    assert "Voici nos mesures." in mail.body and SECURITY_MEASURES in mail.body
    with pytest.raises(GdprError, match="déjà traitée"):
        services.controller_request_answer(actor=None, request=req, answer="bis", now=now)


def test_d4_answer_of_an_instruction_does_not_include_the_measures_and_needs_text(client_a):
    req = _record(client_a)
    with pytest.raises(GdprError, match="Indiquez la réponse"):
        services.controller_request_answer(actor=None, request=req, answer=" ", now=req.received_at)
    services.controller_request_answer(actor=None, request=req, answer="Boîtes supprimées le 2/02.", now=req.received_at)
    body = OutboundEmail.objects.get(key=f"gdpr.ctrlreq.{req.pk}.answered").body
    assert "Boîtes supprimées le 2/02." in body and SECURITY_MEASURES not in body


def test_a_request_received_in_the_future_is_refused_and_nothing_is_saved(client_a):
    now = datetime.datetime(2026, 1, 30, 12, 0, tzinfo=PARIS)
    with pytest.raises(GdprError, match="futur"):
        _record(client_a, received_at=now + datetime.timedelta(hours=1), now=now)
    assert ControllerRequest.objects.count() == 0 and OutboundEmail.objects.count() == 0


def test_overdue_requests_are_reported_once_by_the_nightly_job(client_a, client_b, settings):
    settings.STAFF_NOTIFICATION_EMAIL = "equipe@mis.fr"
    late = ControllerRequestFactory(client=client_a)  # due 1 April 2026
    ControllerRequestFactory(client=client_b, kind=ControllerRequestKind.DPIA, subject="AIPD en retard")
    ControllerRequestFactory(client=client_a, status=ControllerRequestStatus.DONE)
    ControllerRequestFactory(client=client_a, received_at=datetime.datetime(2026, 3, 20, 9, 0, tzinfo=PARIS))
    with time_machine.travel(datetime.datetime(2026, 4, 2, 3, 0, tzinfo=PARIS), tick=False):
        call_command("run_nightly", date="2026-04-02", verbosity=0)
        call_command("run_nightly", date="2026-04-02", verbosity=0)
    digests = OutboundEmail.objects.filter(subject__contains="demande(s) de client en retard")
    assert digests.count() == 1
    assert digests.get().subject == "[RGPD] 2 demande(s) de client en retard"
    assert late.reference in digests.get().body and "AIPD en retard" in digests.get().body
    assert ControllerRequest.objects.filter(overdue_alerted_at__isnull=False).count() == 2


def test_portal_administrator_files_follows_and_reads_an_instruction(client, portal_user, client_a, dpo_contact):
    client.force_login(portal_user)
    response = client.post("/portal/donnees-personnelles/instructions/nouvelle/", {
        "kind": "instruction", "subject": "Conservation des sauvegardes",
        "description": "Ne plus conserver les sauvegardes du poste RH au-delà de 5 semaines.",
    })
    req = ControllerRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/portal/donnees-personnelles/instructions/{req.pk}/"
    assert req.channel == "portal" and req.filed_by.user == portal_user and req.client == client_a
    body = client.get(response["Location"]).content.decode()
    assert "Conservation des sauvegardes" in body and req.due_date.strftime("%d/%m/%Y") in body
    listing = client.get("/portal/donnees-personnelles/instructions/").content.decode()
    assert req.reference in listing


def test_portal_form_errors_are_shown_and_nothing_is_saved(client, portal_user):
    client.force_login(portal_user)
    response = client.post("/portal/donnees-personnelles/instructions/nouvelle/", {"kind": "nope", "subject": ""})
    assert response.status_code == 400
    assert ControllerRequest.objects.count() == 0 and OutboundEmail.objects.count() == 0


def test_only_company_administrators_speak_for_the_controller(client, client_a):
    tech = ContactFactory(client=client_a, portal_role=ContactRole.TECHNICAL, with_login=True).user
    client.force_login(tech)
    assert client.get("/portal/donnees-personnelles/instructions/").status_code == 403
    assert client.get("/portal/donnees-personnelles/instructions/nouvelle/").status_code == 403


def test_portal_list_query_count_does_not_grow(client, portal_user, client_a):
    client.force_login(portal_user)
    ControllerRequestFactory.create_batch(2, client=client_a)
    with CaptureQueriesContext(connection) as few:
        client.get("/portal/donnees-personnelles/instructions/")
    ControllerRequestFactory.create_batch(10, client=client_a)
    with CaptureQueriesContext(connection) as many:
        body = client.get("/portal/donnees-personnelles/instructions/").content.decode()
    assert body.count("DRT-") == 12
    assert len(many) == len(few)


def test_staff_admin_records_challenges_and_answers(client, staff_user, client_a, dpo_contact):
    client.force_login(staff_user)
    assert client.get("/admin/gdpr/controllerrequest/").status_code == 200
    response = client.post("/admin/gdpr/controllerrequest/add/", {
        "client": client_a.pk, "kind": "instruction", "subject": "Suppression de comptes",
        "description": "Supprimer les comptes de test.", "requester_name": "Paul Lemoine",
        "requester_email": "paul@a.fr", "received_at_0": "30/01/2026", "received_at_1": "10:00:00",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    req = ControllerRequest.objects.get()
    assert client.get(f"/admin/gdpr/controllerrequest/{req.pk}/change/").status_code == 200
    client.post("/admin/gdpr/controllerrequest/", {
        "action": "challenge", "_selected_action": [req.pk], "apply": "1", "reason": "Comptes utilisés en production.",
    })
    req.refresh_from_db()
    assert req.status == ControllerRequestStatus.CHALLENGED and req.challenge_reason == "Comptes utilisés en production."
    client.post("/admin/gdpr/controllerrequest/", {
        "action": "answer", "_selected_action": [req.pk], "apply": "1", "answer": "Instruction retirée par le client.",
    })
    req.refresh_from_db()
    assert req.status == ControllerRequestStatus.DONE and req.answer == "Instruction retirée par le client."
