"""Staff admin of contracts: lists with pinned query counts, termination/suspension forms, Syntec import, previews.

Who is who: ``staff_user`` is a MIS superuser (sees and changes everything).
"""
import datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from contracts.choices import ContractStatus, TerminationKind, TerminationStatus
from contracts.models import ContractSuspension, SyntecIndex, Termination
from tests.contracts.conftest import syntec_rows
from tests.factories.contracts import ContractFactory, ContractLineFactory, EquipmentFactory

D = datetime.date


@pytest.fixture(autouse=True)
def _frozen_today():
    with time_machine.travel("2027-08-10 10:00:00+02:00", tick=False):
        yield


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


def contracts(n):
    items = ContractFactory.create_batch(n)
    for c in items:
        ContractLineFactory(contract=c, quantity=Decimal("2"), unit_price=Decimal("45.00"))
    return items


@pytest.mark.parametrize("n", [5, 50])
def test_contract_changelist_query_count_is_constant(staff_client, django_assert_num_queries, n):
    contracts(n)
    staff_client.get(reverse("admin:contracts_contract_changelist"))  # warm caches (content types, session)
    # session, user, count, filtered count, facets-free date hierarchy, contracts+client, lines (prefetch),
    # and the two status/frequency filter lookups: 9 whatever the number of contracts.
    with django_assert_num_queries(9):
        response = staff_client.get(reverse("admin:contracts_contract_changelist"))
    assert response.status_code == 200
    assert "90,00" in response.content.decode()  # monthly amount from prefetched lines


@pytest.mark.parametrize("n", [5, 50])
def test_deadlines_page_query_count_is_constant(staff_client, django_assert_num_queries, n):
    for c in contracts(n):  # deadline 2027-09-30, within 120 days of 2027-08-10
        EquipmentFactory(contract=c, restitution_due_on=D(2027, 8, 1))
    staff_client.get(reverse("admin:contracts_contract_deadlines"))
    # session, user, upcoming contracts (+ pending termination subquery), pending terminations,
    # equipment with contract, client and site, and the admin's app list: 6 whatever the number of rows.
    with django_assert_num_queries(6):
        response = staff_client.get(reverse("admin:contracts_contract_deadlines"))
    body = response.content.decode()
    assert response.status_code == 200
    assert body.count("30/09/2027") == n and body.count("en retard") == n


def test_contract_change_page_explains_the_terms(staff_client, monkeypatch):
    from contracts import selectors

    [contract] = contracts(1)
    url = reverse("admin:contracts_contract_change", args=[contract.pk])
    monkeypatch.setattr(selectors, "_first_year_payments", lambda c: Decimal("1234.5"))
    body = staff_client.get(url).content.decode()
    assert "30/09/2027" in body and "31/12/2028" in body  # C3 deadline, later letter → following term
    assert "1\u202f234,50\xa0€" in body  # C11 from billing's figure
    assert "2 ans après sa fin" in body  # C12
    monkeypatch.setattr(selectors, "_first_year_payments", None)
    assert "non disponibles" in staff_client.get(url).content.decode()  # C11 without billing


def test_billing_registers_the_c11_figure(db):
    from contracts import selectors

    contract = ContractFactory()
    assert selectors.contract_liability_cap(contract) == Decimal("0.00")  # nothing paid yet


def test_ended_contract_shows_c12_end(staff_client):
    contract = ContractFactory(status=ContractStatus.ENDED, end_date=D(2028, 2, 29))
    body = staff_client.get(reverse("admin:contracts_contract_change", args=[contract.pk])).content.decode()
    assert "jusqu&#x27;au 28/02/2030" in body or "jusqu'au 28/02/2030" in body


def test_termination_form_previews_then_records(staff_client):
    [contract] = contracts(1)
    url = reverse("admin:contracts_contract_terminate", args=[contract.pk])
    data = {"kind": TerminationKind.AMICABLE, "requested_by": "client", "letter_sent_on": "2027-08-10",
            "effective_on": "2027-08-31", "letter_tracking_number": "1A2B"}
    preview = staff_client.post(url, {**data, "preview": "1"})
    assert preview.status_code == 200
    assert "288,00" in preview.content.decode()  # Sep–Dec: 4 × 90.00 = 360.00, −20 %
    assert not Termination.objects.exists()
    response = staff_client.post(url, {**data, "save": "1"})
    assert response.status_code == 302
    t = Termination.objects.get()
    assert (t.status, t.effective_on, t.months_left, t.amount_due) == (
        TerminationStatus.RECORDED, D(2027, 8, 31), 4, Decimal("288.00"))


def test_termination_form_shows_rule_errors(staff_client):
    [contract] = contracts(1)
    response = staff_client.post(reverse("admin:contracts_contract_terminate", args=[contract.pk]), {
        "kind": TerminationKind.FOR_CAUSE, "requested_by": "provider", "letter_sent_on": "2027-08-10",
        "formal_notice_received_on": "2027-07-20", "save": "1"})
    assert response.status_code == 200
    assert "20/08/2027" in response.content.decode()
    assert not Termination.objects.exists()


def test_suspend_and_resume_views(staff_client):
    [contract] = contracts(1)
    response = staff_client.post(reverse("admin:contracts_contract_suspend", args=[contract.pk]), {
        "reason": "breach", "letter_sent_on": "2027-08-09", "letter_tracking_number": "1A"})
    assert response.status_code == 302
    contract.refresh_from_db()
    assert contract.status == ContractStatus.SUSPENDED
    changelist = staff_client.get(reverse("admin:contracts_contract_changelist")).content.decode()
    assert "suspendu" in changelist
    staff_client.post(reverse("admin:contracts_contract_resume", args=[contract.pk]),
                      {"resumption_letter_sent_on": "2027-08-10"})
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE
    assert ContractSuspension.objects.get().resumption_letter_sent_on == D(2027, 8, 10)


def test_syntec_csv_import_view(staff_client):
    upload = SimpleUploadedFile("syntec.csv", syntec_rows().encode(), content_type="text/csv")
    response = staff_client.post(reverse("admin:contracts_syntecindex_import"), {"file": upload})
    assert response.status_code == 302
    assert SyntecIndex.objects.count() == 23


def test_revision_preview_changes_nothing(staff_client, syntec):
    contract = ContractFactory(signature_date=D(2024, 3, 15))
    line = ContractLineFactory(contract=contract, unit_price=Decimal("100.00"))
    response = staff_client.get(reverse("admin:contracts_contract_revision_preview"),
                                {"ids": str(contract.pk), "revision_date": "2025-01-01"})
    assert response.status_code == 200
    assert "101.45" in response.content.decode()
    line.refresh_from_db()
    assert line.unit_price == Decimal("100.00")


def test_admin_actions_redirect_to_forms(staff_client):
    [contract] = contracts(1)
    response = staff_client.post(reverse("admin:contracts_contract_changelist"), {
        "action": "record_termination", "_selected_action": [contract.pk]})
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:contracts_contract_terminate", args=[contract.pk])


def test_contract_page_after_the_notice_deadline(staff_client, staff_user):
    """CGV C3: once 30 September has passed, a letter only ends the contract at the following term."""
    [contract] = contracts(1)
    with time_machine.travel("2027-10-05 10:00:00+02:00", tick=False):
        staff_client.force_login(staff_user)  # the August session has expired by October
        body = staff_client.get(reverse("admin:contracts_contract_change", args=[contract.pk])).content.decode()
    assert "date limite du 30/09/2027 passée" in body and "le 31/12/2028" in body
