"""Issue #11: the portal's invoice and ticket lists are paginated (50 a page), filters kept in the links.

Before, a client with 4,200 invoices waited 16 s for /portal/factures/ (docs/benchmarks.md, "Scale benchmark").
"""
import pytest

from bench.builders import Sizes, build_msp
from portal.pagination import PAGE_SIZE

ONE_CLIENT = Sizes(clients=1, contracts=3, invoices=60, tickets=60, devices=1, report_days=1, domains=1,
                   gdpr_requests=1, formal_notices=1)


@pytest.fixture
def big_client(provider, client):
    world = build_msp(ONE_CLIENT)  # one client: 3 contracts × 20 months = 60 invoices, 60 tickets
    client.force_login(world.portal_user)
    return world


@pytest.mark.django_db
def test_invoice_list_pages_by_fifty_and_keeps_the_filter(client, big_client):
    first = client.get("/portal/factures/")
    assert first.status_code == 200
    assert len(first.context["invoices"]) == PAGE_SIZE == 50
    assert first.context["page"].paginator.count == 60
    assert 'href="?page=2"' in first.content.decode()
    second = client.get("/portal/factures/?status=paid&page=2")
    assert [i.status for i in second.context["invoices"]] == ["paid"] * 10  # client 0 pays all 60
    assert 'href="?status=paid&amp;page=1"' in second.content.decode()


@pytest.mark.django_db
def test_ticket_list_pages_by_fifty(client, big_client):
    first = client.get("/portal/tickets/")
    assert len(first.context["tickets"]) == 50
    last = client.get("/portal/tickets/?page=99")  # out of range: the last page
    assert len(last.context["tickets"]) == 10
    assert last.context["page"].number == 2
