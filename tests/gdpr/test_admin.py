"""Staff admin of gdpr: thin, calls the services; the DPO group reaches it, breaches cannot be deleted."""
import datetime

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from core.models import AuditLogEntry, OutboundEmail
from core.roles import DPO, setup_roles
from gdpr.models import Breach, DataSubjectRequest
from tests.factories.contracts import ContactFactory
from tests.factories.core import StaffUserFactory
from tests.factories.gdpr import BreachFactory, DataSubjectRequestFactory

pytestmark = pytest.mark.django_db

MODELS = ["subprocessor", "subprocessorauthorisation", "processingactivity", "controller", "datasubjectrequest",
          "breach", "datadisposition", "datasubject", "anonymisation", "controllerrequest"]


@pytest.fixture
def dpo_user(db):
    setup_roles()
    user = StaffUserFactory(username="dpo-test")
    user.groups.add(Group.objects.get(name=DPO))
    return user


@pytest.mark.parametrize("model", MODELS)
def test_dpo_reaches_every_gdpr_list(client, dpo_user, client_a, model):
    DataSubjectRequestFactory(client=client_a)
    BreachFactory(client=client_a)
    client.force_login(dpo_user)
    assert client.get(reverse(f"admin:gdpr_{model}_changelist")).status_code == 200


def test_staff_records_a_request_and_it_is_forwarded(client, staff_user, client_a):
    ContactFactory(client=client_a, email="dpo@a.fr", is_dpo=True)
    client.force_login(staff_user)
    response = client.post(reverse("admin:gdpr_datasubjectrequest_add"), {
        "client": client_a.pk, "kind": "objection", "requester_name": "Luc Dupré", "requester_email": "luc@ex.fr",
        "description": "Je m'oppose à la prospection.", "received_at_0": "02/03/2026", "received_at_1": "10:00",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    dsr = DataSubjectRequest.objects.get()
    assert dsr.forwarded_to == ["dpo@a.fr"] and dsr.created_by == staff_user
    assert OutboundEmail.objects.filter(key=f"gdpr.request.{dsr.pk}.forwarded").exists()


def test_breach_admin_action_sends_the_initial_notification(client, staff_user, client_a, provider):
    breach = BreachFactory(client=client_a)
    client.force_login(staff_user)
    response = client.post(reverse("admin:gdpr_breach_changelist"), {
        "action": "notify_initial", "_selected_action": [breach.pk],
    })
    assert response.status_code == 302
    breach.refresh_from_db()
    assert breach.notifications.count() == 1 and breach.controller_notified_at is not None


def test_breach_complement_action_asks_for_the_new_information(client, staff_user, client_a, provider):
    breach = BreachFactory(client=client_a, controller_notified_at=datetime.datetime(2026, 3, 2, tzinfo=datetime.UTC))
    client.force_login(staff_user)
    url = reverse("admin:gdpr_breach_changelist")
    page = client.post(url, {"action": "notify_complement", "_selected_action": [breach.pk]})
    assert page.status_code == 200 and "Informations nouvelles" in page.content.decode()
    client.post(url, {"action": "notify_complement", "_selected_action": [breach.pk], "apply": "1",
                      "message": "Nombre de personnes revu."})
    assert breach.notifications.get().message == "Nombre de personnes revu."


def test_breaches_cannot_be_deleted_from_the_admin(client, staff_user, client_a):
    breach = BreachFactory(client=client_a)
    client.force_login(staff_user)
    assert client.get(reverse("admin:gdpr_breach_delete", args=[breach.pk])).status_code == 403
    assert Breach.objects.count() == 1


def test_d2_person_export_from_the_admin_is_downloaded_and_logged(client, dpo_user, client_a):
    contact = ContactFactory(client=client_a, first_name="Léo", last_name="Vidal")
    client.force_login(dpo_user)
    response = client.post(reverse("admin:gdpr_datasubject_changelist"), {
        "action": "export_json", "_selected_action": [contact.pk],
    })
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response.json()["subject"]["last_name"] == "Vidal"
    assert AuditLogEntry.objects.filter(action="gdpr.contact.exported", actor=dpo_user).count() == 1
    page = client.get(reverse("admin:gdpr_datasubject_change", args=[contact.pk])).content.decode()
    assert "contracts.Contact #" in page  # where the person's data was found


def _admin_list_queries(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("model", ["datasubjectrequest", "breach", "datadisposition", "processingactivity",
                                   "controller"])
def test_admin_list_query_counts_do_not_grow_with_rows(client, staff_user, client_a, model):
    """Pinned as "same for 5 and 50 rows" (the admin's own queries vary with Django's version)."""
    from tests.factories.contracts import ClientFactory, ContractFactory
    from tests.factories.gdpr import DataSubjectRequestFactory as Dsr

    def add(n):
        for _i in range(n):
            other = ClientFactory()
            ContractFactory(client=other, status="ended")
            Dsr(client=other)
            BreachFactory(client=other)
            ContractFactory(has_backup=True)  # another client with a running contract: register lines
        from gdpr import services

        services.register_sync()
        services.disposition_open_for_ended_clients(today=datetime.date(2027, 1, 5),
                                                    now=datetime.datetime(2027, 1, 5, tzinfo=datetime.UTC))

    client.force_login(staff_user)
    url = reverse(f"admin:gdpr_{model}_changelist")
    add(5)
    with_5 = _admin_list_queries(client, url)
    add(45)
    assert _admin_list_queries(client, url) == with_5
