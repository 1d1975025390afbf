"""Query counts of the portal's list pages, pinned: the same for 5 and 50 rows (no N+1).

Each case builds n rows for client A, visits the page as client A's administrator
and counts the queries; the two counts must be equal and equal to the pinned
figure (session + user + contact/client are 3 of them on every page).
"""
import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing import services as billing_services
from contracts.choices import ContactRole, ContractDocumentKind
from contracts.models import ContractDocument, ContractRevision
from tests.factories.contracts import (
    ContactFactory,
    ContractFactory,
    ContractLineFactory,
    EquipmentFactory,
    SiteFactory,
    SyntecIndexFactory,
)
from tests.portal.builders import issue_invoice

pytestmark = pytest.mark.django_db


def _contracts(client, n):
    for _ in range(n):
        contract = ContractFactory(client=client)
        ContractLineFactory(contract=contract)
        ContractLineFactory(contract=contract, valid_until=datetime.date(2026, 1, 31))


def _equipment(client, n):
    contract = ContractFactory(client=client)
    site = SiteFactory(client=client)
    for _ in range(n):
        EquipmentFactory(contract=contract, site=site)


def _contacts(client, n):
    for _ in range(n):
        ContactFactory(client=client, portal_role=ContactRole.TECHNICAL, with_login=True)


def _invoices(client, n):
    for i in range(n):
        invoice = issue_invoice(client, unit_price=f"{10 + i}.00")
        if i % 3 == 0:  # some paid, some not: the status badges take no query
            billing_services.invoice_payment_status_refresh(
                actor=None, invoice=invoice, today=invoice.issue_date, amount_paid=invoice.total_ttc
            )


def _quotes(client, n):
    from tests.portal.builders import send_quote

    for _ in range(n):
        send_quote(client)


def _dashboard(client, n):
    _contracts(client, n)
    for _ in range(n):
        issue_invoice(client)


def _contract_detail_rows(client, n):
    """One contract with n lines, documents, equipment items and revisions."""
    contract = ContractFactory(client=client, reference="CT-DETAIL")
    site = SiteFactory(client=client)
    base = SyntecIndexFactory(month=datetime.date(2024, 8, 1), value=Decimal("300.00"))
    for i in range(n):
        ContractLineFactory(contract=contract, description=f"Ligne {i}")
        EquipmentFactory(contract=contract, site=site)
        ContractDocument.objects.create(contract=contract, kind=ContractDocumentKind.OTHER, title=f"Doc {i}")
        new = SyntecIndexFactory(month=datetime.date(2010 + i // 12, i % 12 + 1, 1), value=Decimal("310.00"))
        ContractRevision.objects.create(
            contract=contract, year=2000 + i, revision_date=datetime.date(2000 + i, 1, 1), base_index=base,
            new_index=new, coefficient=Decimal("1.033333333333333"), old_monthly_total=Decimal("100.00"),
            new_monthly_total=Decimal("103.33"),
        )
    return {"contract_id": contract.pk}


# (url name, builder, pinned count). Comments list the queries beyond the 3 of every page.
CASES = [
    # contracts + their lines (prefetch)
    ("contracts", _contracts, 5),
    # equipment with contract and site (one join)
    ("equipment", _equipment, 4),
    # contacts with their user (one join)
    ("users", _contacts, 4),
    # years of the filter, COUNT of the pagination (50 a page, issue #11), invoices with contract and corrected
    # invoice (join)
    ("invoices", _invoices, 6),
    # payments' statement of account: documents, payments (with debit item and rejection), overdue sum
    ("statement", _invoices, 6),
    # quotes + their lines (prefetch)
    ("quotes", _quotes, 5),
]


@pytest.mark.parametrize(("name", "build", "expected"), CASES, ids=[c[0] for c in CASES])
def test_list_page_query_count_does_not_grow(client, client_a, provider, name, build, expected):
    admin = ContactFactory(client=client_a, portal_role=ContactRole.ADMIN, with_login=True)
    client.force_login(admin.user)
    counts = []
    for n in (5, 45):  # 5 rows, then 50 in all
        build(client_a, n)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(reverse(f"portal:{name}"))
        assert response.status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts == [expected, expected], "\n".join(q["sql"] for q in ctx.captured_queries)


def test_contract_detail_query_count_does_not_grow(client, client_a):
    admin = ContactFactory(client=client_a, portal_role=ContactRole.ADMIN, with_login=True)
    client.force_login(admin.user)
    kwargs = _contract_detail_rows(client_a, 5)
    with CaptureQueriesContext(connection) as five:
        assert client.get(reverse("portal:contract_detail", kwargs=kwargs)).status_code == 200
    ContractRevision.objects.all().delete()
    from contracts.models import Contract

    Contract.objects.filter(pk=kwargs["contract_id"]).update(reference="CT-OLD")
    kwargs = _contract_detail_rows(client_a, 50)
    with CaptureQueriesContext(connection) as fifty:
        assert client.get(reverse("portal:contract_detail", kwargs=kwargs)).status_code == 200
    # 3 + contract (with base index) + lines, documents, equipment, sites, revisions, their 2 indexes,
    # suspensions, terminations.
    assert len(five.captured_queries) == len(fifty.captured_queries) == 13


def test_dashboard_query_count_does_not_grow(client, client_a, provider):
    admin = ContactFactory(client=client_a, portal_role=ContactRole.ADMIN, with_login=True)
    client.force_login(admin.user)
    counts = []
    for n in (5, 45):
        _dashboard(client_a, n)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("portal:dashboard")).status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], "\n".join(q["sql"] for q in ctx.captured_queries)
