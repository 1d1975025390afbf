"""Data-subject requests: forwarded at once to the controller (CGV D5), deadline 1 month + 2 (L6)."""
import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from contracts.choices import ContactRole
from core.models import AuditLogEntry, OutboundEmail
from gdpr import services
from gdpr.choices import RequestKind, RequestStatus
from gdpr.exceptions import GdprError
from tests.factories.contracts import ContactFactory

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")


def _record(client, received_at, now, **kw):
    return services.request_record(
        actor=None, client=client, kind=kw.pop("kind", RequestKind.ERASURE), requester_name="Jeanne Martin",
        requester_email="jeanne.martin@example.fr", description="Merci d'effacer mes données de votre fichier.",
        received_at=received_at, now=now, **kw,
    )


def test_d5_request_is_forwarded_at_once_to_the_designated_contact_with_its_content(client_a, run_on_commit, mailoutbox):
    ContactFactory(client=client_a, email="admin@a.fr", portal_role=ContactRole.ADMIN)
    ContactFactory(client=client_a, email="dpo@a.fr", is_dpo=True, portal_role=ContactRole.TECHNICAL)
    received = datetime.datetime(2026, 3, 2, 9, 15, tzinfo=PARIS)
    now = datetime.datetime(2026, 3, 2, 9, 20, 30, tzinfo=PARIS)
    with run_on_commit():
        request = _record(client_a, received, now)
    request.refresh_from_db()
    # D5: forwarding time recorded, to the controller's designated data-protection contact only.
    assert request.forwarded_at == now
    assert request.forwarded_to == ["dpo@a.fr"]
    assert request.due_date == datetime.date(2026, 4, 2)
    email = OutboundEmail.objects.get(key=f"gdpr.request.{request.pk}.forwarded")
    assert request.forward_email == email
    assert email.to == ["dpo@a.fr"]
    assert email.subject == (
        f"[RGPD] Demande d'exercice de droits {request.reference} (effacement) à traiter avant le 02/04/2026"
    )
    for expected in [
        request.reference, "effacement", "02/03/2026 09:15", "Jeanne Martin <jeanne.martin@example.fr>",
        "Merci d'effacer mes données de votre fichier.", "au plus tard le 02/04/2026", "prolongé de deux mois",
    ]:
        assert expected in email.body, expected
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["dpo@a.fr"]
    assert AuditLogEntry.objects.filter(action="gdpr.request.recorded", object_id=str(request.pk)).count() == 1


def test_d5_without_a_dpo_the_company_administrators_then_billing_address_receive_it(client_a, client_b):
    ContactFactory(client=client_a, email="boss@a.fr", portal_role=ContactRole.ADMIN, is_billing_contact=False)
    ContactFactory(client=client_a, email="tech@a.fr", portal_role=ContactRole.TECHNICAL, is_billing_contact=False)
    now = datetime.datetime(2026, 3, 2, 10, 0, tzinfo=PARIS)
    assert _record(client_a, now, now).forwarded_to == ["boss@a.fr"]
    assert _record(client_b, now, now).forwarded_to == [client_b.billing_email]


@pytest.mark.parametrize(
    "received, due, extended",
    [
        (datetime.datetime(2026, 1, 31, 12, 0, tzinfo=PARIS), datetime.date(2026, 2, 28), datetime.date(2026, 4, 30)),
        # 00:30 in Paris on 1 March is still 28 February in UTC: the Paris date counts.
        (datetime.datetime(2026, 3, 1, 0, 30, tzinfo=PARIS), datetime.date(2026, 4, 1), datetime.date(2026, 6, 1)),
        (datetime.datetime(2026, 11, 30, 18, 0, tzinfo=PARIS), datetime.date(2026, 12, 30), datetime.date(2027, 2, 28)),
    ],
)
def test_l6_answer_deadline_is_one_month_extendable_by_two(client_a, received, due, extended):
    request = _record(client_a, received, received)
    assert request.due_date == due
    request = services.request_extend(
        actor=None, request=request, reason="Demande complexe : plusieurs systèmes à interroger.", now=received
    )
    assert request.extended_due_date == extended
    assert request.current_due_date == extended


def test_l6_extension_needs_a_reason_and_must_be_decided_within_the_first_month(client_a):
    received = datetime.datetime(2026, 3, 2, 10, 0, tzinfo=PARIS)
    request = _record(client_a, received, received)
    with pytest.raises(GdprError, match="motif"):
        services.request_extend(actor=None, request=request, reason="  ", now=received)
    late = datetime.datetime(2026, 4, 3, 9, 0, tzinfo=PARIS)
    with pytest.raises(GdprError, match="premier mois est écoulé"):
        services.request_extend(actor=None, request=request, reason="Complexe", now=late)
    on_last_day = datetime.datetime(2026, 4, 2, 17, 0, tzinfo=PARIS)
    services.request_extend(actor=None, request=request, reason="Complexe", now=on_last_day)
    with pytest.raises(GdprError, match="déjà été prolongé"):
        services.request_extend(actor=None, request=request, reason="Encore", now=on_last_day)


def test_answered_request_is_closed_once(client_a):
    received = datetime.datetime(2026, 3, 2, 10, 0, tzinfo=PARIS)
    request = _record(client_a, received, received)
    done = services.request_mark_answered(actor=None, request=request, now=received, notes="Réponse envoyée.")
    assert done.status == RequestStatus.ANSWERED and done.answered_at == received
    with pytest.raises(GdprError, match="déjà traitée"):
        services.request_extend(actor=None, request=done, reason="x", now=received)


def test_a_request_received_in_the_future_is_refused(client_a):
    now = datetime.datetime(2026, 3, 2, 10, 0, tzinfo=PARIS)
    with pytest.raises(GdprError, match="futur"), time_machine.travel(now):
        _record(client_a, now + datetime.timedelta(hours=1), now)
