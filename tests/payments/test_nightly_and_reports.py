"""Nightly idempotence (a second run for the same date changes nothing), pinned query counts, reports, admin."""
import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from billing.choices import InvoiceKind
from billing.models import Charge, Invoice
from contracts.models import ContractSuspension
from core.models import OutboundEmail
from core.nightly import run_nightly
from payments import pdf, selectors, services
from payments.choices import PaymentMethod
from payments.models import (
    DebitBatch,
    DebitItem,
    FormalNotice,
    Mandate,
    OverdueReminder,
    Payment,
    PreNotification,
    Rejection,
)
from tests.factories.contracts import ClientFactory, ContractFactory, ContractLineFactory
from tests.factories.payments import MandateFactory, issued_invoice

D = datetime.date
COUNTED = [Invoice, Charge, OutboundEmail, ContractSuspension, Mandate, DebitBatch, DebitItem, PreNotification,
           Payment, Rejection, OverdueReminder, FormalNotice]


def _counts():
    return {model.__name__: model.objects.count() for model in COUNTED} | {
        "paid": Invoice.objects.filter(status="paid").count(),
        "applied": FormalNotice.objects.filter(status="applied").count(),
        "suspended": ContractSuspension.objects.filter(resumed_at__isnull=True).count(),
    }


def test_second_run_nightly_for_the_same_date_changes_nothing(provider, client_a, client_b):
    """A whole night (batches, settlement, reminders, notice applied, B3 sanctions) replayed: nothing more."""
    MandateFactory(client=client_b, reference="RUM-B", signed_on=D(2023, 1, 1), last_collected_on=D(2023, 2, 15))
    contract = ContractFactory(client=client_a, signature_date=D(2026, 3, 15))
    ContractLineFactory(contract=contract, unit_price=Decimal("100.00"))
    issued_invoice(client=client_a, contract=contract, today=D(2026, 3, 2), amount_ht="1000.00")
    MandateFactory(client=ClientFactory(), reference="RUM-C", signed_on=D(2026, 1, 1))
    notice = services.formal_notice_issue(actor=None, client=client_a, sent_on=D(2026, 5, 10), today=D(2026, 5, 10))
    services.formal_notice_update_letter(actor=None, notice=notice, received_on=D(2026, 5, 12))
    today = D(2026, 6, 12)
    first = {r["job"]: r for r in run_nightly(today=today) if r["job"].startswith("payments.")}
    assert all(r["status"] == "ok" for r in first.values()), first
    assert first["payments.dunning"]["result"]["applied"] == 1
    assert first["payments.mandates_expire"]["result"] == {"expired": 1}
    assert first["payments.overdue_reminders"]["result"]["reminded"] >= 1
    before = _counts()
    second = {r["job"]: r for r in run_nightly(today=today) if r["job"].startswith("payments.")}
    assert all(r["status"] == "ok" for r in second.values()), second
    assert _counts() == before
    assert second["payments.dunning"]["result"] == {"final_interest": 0, "resumed_contracts": 0, "settled": 0,
                                                    "applied": 0}


@pytest.mark.parametrize("count", [5, 50])
def test_overdue_reminders_query_count_does_not_grow_per_invoice(provider, client_a, django_assert_num_queries,
                                                                 count):
    for _i in range(count):
        issued_invoice(client=client_a, today=D(2026, 3, 2), kind=InvoiceKind.ORDER, due_date=D(2026, 3, 31))
    # savepoint, select the overdue invoices, insert the reminders, one e-mail per client (exists, savepoint,
    # insert, release), release.
    with django_assert_num_queries(8):
        assert services.overdue_reminders_send(today=D(2026, 4, 1))["reminded"] == count


@pytest.mark.parametrize("clients", [2, 8])
def test_aged_balance_is_one_query_whatever_the_number_of_clients(provider, django_assert_num_queries, clients):
    today = D(2026, 7, 1)
    everyone = [ClientFactory() for _n in range(clients)]
    for client in everyone:
        issued_invoice(client=client, today=D(2026, 3, 2), kind=InvoiceKind.ORDER, amount_ht="100.00",
                       due_date=D(2026, 3, 15))  # 108 days late → over 90
    for n, client in enumerate(everyone):
        issued_invoice(client=client, today=D(2026, 6, 1), kind=InvoiceKind.ORDER, amount_ht="50.00",
                       due_date=D(2026, 6, 15 + n))  # 9 to 16 days late → 0–30
    with django_assert_num_queries(1):
        rows = selectors.aged_balance(today=today)
    assert len(rows) == clients
    assert {(r["d90_plus"], r["d0_30"], r["d31_60"], r["not_due"], r["total"]) for r in rows} == {
        (Decimal("120.00"), Decimal("60.00"), Decimal("0.00"), Decimal("0.00"), Decimal("180.00"))}


def test_statement_of_account_rows_and_pdf(provider, client_a):
    invoice = issued_invoice(client=client_a, today=D(2026, 3, 2), kind=InvoiceKind.ORDER, amount_ht="100.00",
                             due_date=D(2026, 3, 15))
    issued_invoice(client=client_a, today=D(2026, 3, 20), kind=InvoiceKind.ORDER, amount_ht="50.00",
                   due_date=D(2026, 4, 20))
    services.payment_record(actor=None, client=client_a, method=PaymentMethod.TRANSFER, amount=Decimal("100.00"),
                            received_on=D(2026, 3, 25), today=D(2026, 3, 25), allocations=[(invoice, Decimal("100"))])
    statement = selectors.statement_of_account(client=client_a, today=D(2026, 4, 1))
    assert [(r["debit"], r["credit"], r["balance"]) for r in statement["rows"]] == [
        (Decimal("120.00"), Decimal("0.00"), Decimal("120.00")),
        (Decimal("60.00"), Decimal("0.00"), Decimal("180.00")),
        (Decimal("0.00"), Decimal("100.00"), Decimal("80.00")),
    ]
    assert (statement["balance"], statement["overdue"]) == (Decimal("80.00"), Decimal("20.00"))
    assert pdf.statement_pdf_bytes(client=client_a, today=D(2026, 4, 1))[:4] == b"%PDF"


def test_staff_admin_pages(client, staff_user, provider, client_a):
    """Staff see every payments page, the aged balance and the statement PDF."""
    MandateFactory(client=client_a)
    issued_invoice(client=client_a, today=D(2026, 3, 2), kind=InvoiceKind.ORDER, due_date=D(2026, 3, 15))
    client.force_login(staff_user)
    for name in ["mandate", "debitbatch", "debititem", "payment", "rejection", "formalnotice"]:
        assert client.get(reverse(f"admin:payments_{name}_changelist")).status_code == 200
        if name not in ("debitbatch", "debititem"):
            assert client.get(reverse(f"admin:payments_{name}_add")).status_code == 200
    page = client.get(reverse("admin:payments_aged_balance"))
    assert page.status_code == 200 and "Client A" in page.content.decode()
    response = client.get(reverse("admin:payments_statement", args=[client_a.pk]))
    assert response.status_code == 200 and response.content[:4] == b"%PDF"


def test_staff_records_a_transfer_through_the_admin(client, staff_user, provider, client_a):
    invoice = issued_invoice(client=client_a, today=D(2026, 3, 2), kind=InvoiceKind.ORDER, amount_ht="100.00")
    client.force_login(staff_user)
    response = client.post(reverse("admin:payments_payment_add"), {
        "client": client_a.pk, "method": "transfer", "amount": "50.00", "received_on": "2026-03-10",
        "reference": "VIR 42", "notes": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    invoice.refresh_from_db()
    assert (invoice.amount_paid, invoice.status) == (Decimal("50.00"), "partly_paid")


def test_demo_data_is_idempotent(provider):
    """payments.demo on the contracts and billing demos: mandates, paid batches, a rejection, a formal notice."""
    import io

    from billing import demo as billing_demo
    from contracts import demo as contracts_demo
    from payments import demo

    today = D(2026, 11, 29)
    out = io.StringIO()
    contracts_demo.load(today=today, stdout=out)
    billing_demo.load(today=today, stdout=out)
    demo.load(today=today, stdout=out)
    assert Mandate.objects.count() == 2
    assert DebitBatch.objects.filter(status="settled").exists()
    assert Rejection.objects.count() == 1
    assert FormalNotice.objects.filter(status="sent").count() == 1
    before = _counts()
    demo.load(today=today, stdout=out)
    assert _counts() == before
