"""Tickets from the portal: open with the CGV S2 severity explained, follow the deadline, exchange
messages, read the intervention reports.

Who is who: ``emma`` is the technical contact of client A (contract without the 4-hour option
unless a test says otherwise); client B's sites and equipment are never offered to her.
"""
import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contracts.choices import ContactRole, ContractStatus
from interventions.choices import Category, Channel, InterventionStatus, Severity, TicketStatus
from interventions.models import Ticket, TicketComment
from tests.factories.contracts import ContactFactory, ContractFactory, EquipmentFactory, SiteFactory
from tests.factories.core import StaffUserFactory
from tests.factories.interventions import InterventionFactory, TicketFactory

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
MONDAY_10H = datetime.datetime(2026, 11, 30, 10, 0, tzinfo=PARIS)


@pytest.fixture
def emma(client_a):
    return ContactFactory(client=client_a, first_name="Emma", last_name="Petit", portal_role=ContactRole.TECHNICAL,
                          with_login=True)


def _open(client, **data):
    payload = {"title": "Le poste de l'accueil ne démarre plus", "severity": Severity.MINOR,
               "category": Category.HARDWARE, "description": "Écran noir depuis ce matin."}
    payload.update(data)
    with time_machine.travel(MONDAY_10H, tick=False):
        return client.post(reverse("portal:ticket_create"), payload)


def test_open_a_severity_2_ticket_and_see_its_deadline(client, emma, client_a, run_on_commit):
    """CGV S2: severity 2 = 24 business hours: Mon 10:00 → Wed 2 Dec 16:00 (8 h + 9 h + 7 h)."""
    contract = ContractFactory(client=client_a)
    site = SiteFactory(client=client_a, name="Boutique")
    pc = EquipmentFactory(contract=contract, site=site, serial_number="SN-ACCUEIL")
    client.force_login(emma.user)
    response = _open(client, site=site.pk, equipment=pc.pk)
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert response["Location"] == reverse("portal:ticket_detail", kwargs={"ticket_id": ticket.pk})
    assert ticket.channel == Channel.PORTAL and ticket.contact == emma and ticket.client == client_a
    assert ticket.contract == contract and ticket.site == site and ticket.equipment == pc
    assert ticket.sla_hours == 24
    assert ticket.deadline_at == datetime.datetime(2026, 12, 2, 16, 0, tzinfo=PARIS)
    body = client.get(response["Location"]).content.decode()
    assert "Au plus tard le mercredi 2 décembre 2026 à 16:00" in body
    assert "SN-ACCUEIL" in body


def test_severity_1_with_the_option_is_4_business_hours(client, emma, client_a):
    ContractFactory(client=client_a, has_severity1_4h=True)
    client.force_login(emma.user)
    page = client.get(reverse("portal:ticket_create")).content.decode()
    assert "intervention sous 4 heures ouvrables" in page and "CGV S2" in page
    _open(client, severity=Severity.BLOCKING)
    assert Ticket.objects.get().deadline_at == datetime.datetime(2026, 11, 30, 14, 0, tzinfo=PARIS)


def test_another_clients_site_or_equipment_is_not_offered(client, emma, client_a, client_b):
    ContractFactory(client=client_a)
    foreign_site = SiteFactory(client=client_b)
    foreign_pc = EquipmentFactory(contract=ContractFactory(client=client_b))
    client.force_login(emma.user)
    assert _open(client, site=foreign_site.pk).status_code == 400
    assert _open(client, equipment=foreign_pc.pk).status_code == 400
    assert not Ticket.objects.exists()


def test_suspended_contract_refuses_a_minor_ticket_with_the_reason(client, emma, client_a):
    """CGV C10 / B3 d: while the services are suspended only urgent work is taken."""
    ContractFactory(client=client_a, status=ContractStatus.SUSPENDED)
    client.force_login(emma.user)
    response = _open(client)
    assert response.status_code == 400
    assert not Ticket.objects.exists()
    assert _open(client, severity=Severity.BLOCKING).status_code == 302


def test_messages_and_intervention_reports(client, emma, client_a, provider):
    ticket = TicketFactory(client=client_a, title="Imprimante hors ligne")
    staff = StaffUserFactory(first_name="Julien")
    TicketComment.objects.create(ticket=ticket, author=staff, body="Nous passons demain matin.")
    TicketComment.objects.create(ticket=ticket, author=staff, body="NOTE INTERNE", is_internal=True)
    done = InterventionFactory(client=client_a, contract=ticket.contract, ticket=ticket,
                               status=InterventionStatus.DONE, report="Pilote réinstallé, impression testée.")
    client.force_login(emma.user)
    url = reverse("portal:ticket_detail", kwargs={"ticket_id": ticket.pk})
    body = client.get(url).content.decode()
    assert "Nous passons demain matin." in body and "NOTE INTERNE" not in body
    assert "Pilote réinstallé, impression testée." in body
    response = client.post(reverse("portal:ticket_comment", kwargs={"ticket_id": ticket.pk}),
                           {"body": "Merci, quelqu'un sera là dès 8 h 30."})
    assert response.status_code == 302
    comment = TicketComment.objects.get(author=emma.user)
    assert comment.is_internal is False and comment.body == "Merci, quelqu'un sera là dès 8 h 30."
    assert client.post(reverse("portal:ticket_comment", kwargs={"ticket_id": ticket.pk}), {"body": ""}
                       ).status_code == 400
    pdf = client.get(reverse("portal:intervention_report", kwargs={"intervention_id": done.pk}))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_a_planned_intervention_has_no_report_yet(client, emma, client_a):
    planned = InterventionFactory(client=client_a, status=InterventionStatus.PLANNED)
    client.force_login(emma.user)
    assert client.get(reverse("portal:intervention_report", kwargs={"intervention_id": planned.pk})
                      ).status_code == 404


def test_billing_contact_has_no_ticket_pages(client, client_a):
    marc = ContactFactory(client=client_a, portal_role=ContactRole.BILLING, with_login=True)
    client.force_login(marc.user)
    assert client.get(reverse("portal:tickets")).status_code == 403
    assert client.get(reverse("portal:ticket_create")).status_code == 403


def test_dashboard_shows_open_tickets_with_their_deadline(client, emma, client_a):
    TicketFactory(client=client_a, title="Serveur lent")
    TicketFactory(client=client_a, title="Ancien ticket", status=TicketStatus.CLOSED)
    client.force_login(emma.user)
    body = client.get(reverse("portal:dashboard")).content.decode()
    assert "Serveur lent" in body and "02/12/2026 16:00" in body and "Ancien ticket" not in body


@pytest.mark.parametrize("name", ["tickets", "dashboard"])
def test_ticket_pages_query_count_does_not_grow(client, emma, client_a, name):
    contract = ContractFactory(client=client_a)
    site = SiteFactory(client=client_a)
    client.force_login(emma.user)
    counts = []
    for n in (5, 45):
        for _ in range(n):
            TicketFactory(client=client_a, contract=contract, site=site, contact=emma,
                          equipment=EquipmentFactory(contract=contract, site=site))
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse(f"portal:{name}")).status_code == 200
        counts.append(len(ctx.captured_queries))
    # 3 per page; tickets: 2 (COUNT of the pagination, issue #11; tickets with contract, site, contact, equipment
    # joined); dashboard (technical): contracts + lines, suspensions, formal notice, maintenance windows, open tickets.
    assert counts == [{"tickets": 5, "dashboard": 9}[name]] * 2, "\n".join(q["sql"] for q in ctx.captured_queries)
