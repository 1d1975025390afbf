"""Staff pages: ticket list (« mes tickets »), SLA board, technician schedule, intervention report PDF.

Who sees what: ``staff_user`` (superuser) sees every page; a portal user gets 403 on /admin/.
"""
import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from contracts.choices import ContractStatus
from interventions.choices import SlaState
from interventions.models import Ticket
from tests.factories.contracts import ContractFactory
from tests.factories.interventions import InterventionFactory, TicketFactory

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def contract(db):
    return ContractFactory()


@pytest.mark.parametrize("rows", [5, 50])
def test_ticket_changelist_my_tickets_query_count(rows, client, staff_user, contract, django_assert_max_num_queries):
    TicketFactory.create_batch(rows, client=contract.client, contract=contract, assignee=staff_user)
    client.force_login(staff_user)
    # session, user, count, list with joins (client, contract, assignee), date hierarchy, filters …: bounded.
    with django_assert_max_num_queries(12):
        response = client.get(reverse("admin:interventions_ticket_changelist") + "?mine=1")
    assert response.status_code == 200
    assert response.content.decode().count("Panne ") >= min(rows, 50)


@pytest.mark.parametrize("rows", [5, 50])
def test_sla_board_query_count_is_constant(rows, client, staff_user, contract, django_assert_num_queries):
    TicketFactory.create_batch(rows, client=contract.client, contract=contract, sla_state=SlaState.BREACHED)
    TicketFactory(client=contract.client, contract=contract, assignee=staff_user)
    client.force_login(staff_user)
    # session, user, 3 lists by state (joins done once), my tickets, the admin's app list
    # (provider profile exists?), SLA counts
    with django_assert_num_queries(8):
        response = client.get(reverse("admin:interventions_ticket_sla"))
    assert response.status_code == 200
    assert f"({rows})" in response.content.decode()


def test_suspended_contract_is_shown_on_the_ticket(client, staff_user, contract):
    contract.status = ContractStatus.SUSPENDED
    contract.save()
    ticket = TicketFactory(client=contract.client, contract=contract)
    client.force_login(staff_user)
    page = client.get(reverse("admin:interventions_ticket_change", args=[ticket.pk])).content.decode()
    assert "suspendu" in page and "sévérité 1" in page


def test_admin_add_ticket_refused_on_a_suspended_contract_shows_the_reason(client, staff_user, contract):
    contract.status = ContractStatus.SUSPENDED
    contract.save()
    client.force_login(staff_user)
    response = client.post(reverse("admin:interventions_ticket_add"), {
        "client": contract.client.pk, "contract": contract.pk, "channel": "phone", "category": "hardware",
        "severity": 2, "title": "Souris", "status": "new",
        "comments-TOTAL_FORMS": 0, "comments-INITIAL_FORMS": 0, "pauses-TOTAL_FORMS": 0, "pauses-INITIAL_FORMS": 0,
        "interventions-TOTAL_FORMS": 0, "interventions-INITIAL_FORMS": 0,
        "attachments-TOTAL_FORMS": 0, "attachments-INITIAL_FORMS": 0,
    })
    assert response.status_code == 200
    assert "suspendu" in response.content.decode()
    assert not Ticket.objects.exists()


def test_admin_add_ticket_goes_through_the_service(client, staff_user, contract):
    client.force_login(staff_user)
    response = client.post(reverse("admin:interventions_ticket_add"), {
        "client": contract.client.pk, "contract": contract.pk, "channel": "phone", "category": "hardware",
        "severity": 2, "title": "Écran noir", "status": "new",
        "comments-TOTAL_FORMS": 0, "comments-INITIAL_FORMS": 0, "pauses-TOTAL_FORMS": 0, "pauses-INITIAL_FORMS": 0,
        "interventions-TOTAL_FORMS": 0, "interventions-INITIAL_FORMS": 0,
        "attachments-TOTAL_FORMS": 0, "attachments-INITIAL_FORMS": 0,
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    ticket = Ticket.objects.get()
    assert ticket.sla_hours == 24 and ticket.created_by == staff_user


def test_technician_schedule_lists_the_week(client, staff_user, contract):
    InterventionFactory(client=contract.client, contract=contract, technician=staff_user,
                        scheduled_start=datetime.datetime(2026, 12, 1, 9, tzinfo=PARIS))
    InterventionFactory(client=contract.client, contract=contract, technician=staff_user,
                        scheduled_start=datetime.datetime(2026, 12, 9, 9, tzinfo=PARIS))  # next week
    client.force_login(staff_user)
    page = client.get(reverse("admin:interventions_intervention_schedule") + "?week=2026-12-02").content.decode()
    assert "Semaine du 30/11/2026" in page
    assert page.count("ouvrir") == 1


def test_intervention_report_pdf(client, staff_user, contract):
    intervention = InterventionFactory(client=contract.client, contract=contract, report="Remplacement du disque")
    client.force_login(staff_user)
    response = client.get(reverse("admin:interventions_intervention_pdf", args=[intervention.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_portal_user_cannot_open_the_staff_pages(client, portal_user):
    client.force_login(portal_user)
    assert client.get(reverse("admin:interventions_ticket_sla")).status_code in (302, 403)
