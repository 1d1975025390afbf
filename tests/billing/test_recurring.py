"""Recurring billing (CGV B1): one invoice per contract and period, in advance, collected on the 15th."""
import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from billing import selectors as billing_selectors
from billing import services
from billing.choices import InvoiceKind, InvoiceStatus, PaymentMethod
from billing.models import Invoice
from contracts.choices import BillingFrequency, ContractStatus
from core.nightly import run_nightly
from tests.factories.contracts import ContractFactory, ContractLineFactory

pytestmark = pytest.mark.django_db
D = datetime.date


MARCH_15 = D(2026, 3, 15)


def _contract(signature=MARCH_15, frequency=BillingFrequency.MONTHLY, lines=(("4", "35.00"), ("1", "90.00")),
              **kwargs):
    contract = ContractFactory(signature_date=signature, billing_frequency=frequency, **kwargs)
    for position, (quantity, price) in enumerate(lines):
        ContractLineFactory(contract=contract, position=position, description=f"Ligne {position + 1}",
                            quantity=Decimal(quantity), unit_price=Decimal(price))
    return contract


def _run(today):
    return services.recurring_invoices_issue(actor=None, today=today)


def test_first_partial_month_is_prorated_then_full_months_cgv_b1(provider):
    contract = _contract()  # signed and started 15 March 2026, 4 × 35 + 1 × 90 = 230 HT a month
    assert _run(D(2026, 3, 14)) == {"issued": 0, "already_invoiced": 0}
    assert _run(D(2026, 3, 15)) == {"issued": 1, "already_invoiced": 0}
    march = Invoice.objects.get()
    assert (march.kind, march.contract, march.period_start, march.period_end) == (
        InvoiceKind.RECURRING, contract, D(2026, 3, 15), D(2026, 3, 31))
    # 17 days of 31: 35 × 17/31 = 19.19 (× 4 = 76.76); 90 × 17/31 = 49.35 → 126.11 HT, VAT 25.22
    assert [(ln.quantity, ln.unit_price, ln.total_ht) for ln in march.lines.order_by("position")] == [
        (Decimal("4.00"), Decimal("19.19"), Decimal("76.76")), (Decimal("1.00"), Decimal("49.35"), Decimal("49.35")),
    ]
    assert "prorata 17/31 jours" in march.lines.first().description
    assert (march.total_ht, march.total_vat, march.total_ttc) == (Decimal("126.11"), Decimal("25.22"),
                                                                  Decimal("151.33"))
    assert march.issue_date == D(2026, 3, 15)
    # Issued on the 15th: collecting the same day leaves no pre-notification, so the next 15th.
    assert march.collection_date == D(2026, 4, 15) == march.due_date
    assert march.payment_method == PaymentMethod.DIRECT_DEBIT

    assert _run(D(2026, 4, 1)) == {"issued": 1, "already_invoiced": 1}
    april = Invoice.objects.get(period_start=D(2026, 4, 1))
    assert (april.period_end, april.issue_date, april.collection_date) == (D(2026, 4, 30), D(2026, 4, 1),
                                                                          D(2026, 4, 15))
    assert (april.total_ht, april.total_vat, april.total_ttc) == (Decimal("230.00"), Decimal("46.00"),
                                                                  Decimal("276.00"))
    assert [inv.number for inv in Invoice.objects.order_by("sequence")] == ["F-2026-000001", "F-2026-000002"]


def test_second_nightly_run_for_the_same_date_issues_nothing_new_cgv_b1(provider):
    _contract(signature=D(2026, 1, 1))
    first = run_nightly(today=D(2026, 5, 1), only=["billing.recurring"])
    second = run_nightly(today=D(2026, 5, 1), only=["billing.recurring"])
    # March and April are caught up (planned issue dates within the 62-day window), then May.
    assert first[0]["status"] == "ok" and first[0]["result"]["issued"] == 3
    assert second[0]["result"] == {"issued": 0, "already_invoiced": 3}
    assert Invoice.objects.count() == 3


def test_one_invoice_per_contract_and_period_is_a_database_constraint(provider):
    contract = _contract(signature=D(2026, 1, 1))
    _run(D(2026, 2, 1))
    existing = Invoice.objects.get(period_start=D(2026, 2, 1))
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.create(kind=InvoiceKind.RECURRING, client=contract.client, contract=contract,
                               period_start=existing.period_start)


@pytest.mark.parametrize(
    ("frequency", "signature", "today", "period", "unit", "total_ht", "collection"),
    [
        # Quarterly, from 1 January: Q2 invoiced on 1 April, 3 × 32.50 = 97.50 per unit.
        (BillingFrequency.QUARTERLY, D(2026, 1, 1), D(2026, 4, 1), (D(2026, 4, 1), D(2026, 6, 30)),
         "97.50", "975.00", D(2026, 4, 15)),
        # Quarterly from 10 February: 50 days of Q1's 90 → 97.50 × 50/90 = 54.17 per unit.
        (BillingFrequency.QUARTERLY, D(2026, 2, 10), D(2026, 2, 10), (D(2026, 2, 10), D(2026, 3, 31)),
         "54.17", "541.70", D(2026, 3, 15)),
        # Yearly: the whole 2027 invoiced on 1 January, collected on 15 January.
        (BillingFrequency.YEARLY, D(2026, 1, 1), D(2027, 1, 1), (D(2027, 1, 1), D(2027, 12, 31)),
         "390.00", "3900.00", D(2027, 1, 15)),
    ],
)
def test_quarterly_and_yearly_periods_cgv_b1(provider, frequency, signature, today, period, unit, total_ht,
                                             collection):
    _contract(signature=signature, frequency=frequency, lines=(("10", "32.50"),))
    _run(today)
    invoice = Invoice.objects.get(period_start=period[0])
    assert (invoice.period_start, invoice.period_end) == period
    assert invoice.lines.get().unit_price == Decimal(unit)
    assert invoice.total_ht == Decimal(total_ht)
    assert invoice.collection_date == collection


def test_december_period_collected_on_december_15th(provider):
    _contract(signature=D(2026, 1, 1))
    _run(D(2026, 12, 1))
    december = Invoice.objects.get(period_start=D(2026, 12, 1))
    assert (december.issue_date, december.collection_date, december.period_end) == (
        D(2026, 12, 1), D(2026, 12, 15), D(2026, 12, 31))


@pytest.mark.parametrize("status", [ContractStatus.SUSPENDED, ContractStatus.TERMINATED, ContractStatus.ENDED,
                                    ContractStatus.DRAFT])
def test_suspended_or_ended_contracts_get_no_invoice_cgv_b1_c10(provider, status):
    _contract(signature=D(2026, 1, 1), status=status)
    assert _run(D(2026, 4, 1))["issued"] == 0


def test_contract_end_date_stops_billing(provider):
    contract = _contract(signature=D(2026, 1, 1), lines=(("1", "100.00"),))
    contract.end_date = D(2026, 4, 20)
    contract.save()
    _run(D(2026, 4, 1))
    april = Invoice.objects.get(period_start=D(2026, 4, 1))
    # Ends on the 20th: 20 days of 30 → 66.67
    assert (april.period_end, april.total_ht) == (D(2026, 4, 20), Decimal("66.67"))
    assert _run(D(2026, 5, 1))["issued"] == 0


def test_missed_nights_are_caught_up(provider):
    _contract(signature=D(2026, 1, 1), lines=(("1", "100.00"),))
    _run(D(2026, 1, 1))
    # The server was down from 1 February to 3 March: one run issues February and March.
    assert _run(D(2026, 3, 3)) == {"issued": 2, "already_invoiced": 1}
    february, march = Invoice.objects.filter(period_start__gte=D(2026, 2, 1)).order_by("period_start")
    assert february.issue_date == march.issue_date == D(2026, 3, 3)
    # Collected on the first 15th leaving the 14-day SEPA pre-notification (L5): 15 March is 12 days away.
    assert february.collection_date == march.collection_date == D(2026, 4, 15)


def test_replaying_a_missed_date_keeps_that_date(provider):
    _contract(signature=D(2026, 1, 1), lines=(("1", "100.00"),))
    run_nightly(today=D(2026, 2, 1), only=["billing.recurring"])  # `run_nightly --date 2026-02-01`
    invoice = Invoice.objects.get(period_start=D(2026, 2, 1))
    assert (invoice.issue_date, invoice.collection_date) == (D(2026, 2, 1), D(2026, 2, 15))


@override_settings(BILLING_RECURRING_LEAD_DAYS=5)
def test_configurable_lead_issues_before_the_period(provider):
    _contract(signature=D(2026, 1, 1), lines=(("1", "100.00"),))
    _run(D(2026, 4, 26))
    may = Invoice.objects.get(period_start=D(2026, 5, 1))
    assert (may.issue_date, may.collection_date) == (D(2026, 4, 26), D(2026, 5, 15))


def test_prices_are_the_lines_in_force_during_the_period_cgv_p3(provider):
    contract = ContractFactory(signature_date=D(2026, 1, 1))
    ContractLineFactory(contract=contract, description="Maintenance", unit_price=Decimal("100.00"),
                        valid_until=D(2026, 12, 31))
    ContractLineFactory(contract=contract, description="Maintenance (révisée Syntec)", unit_price=Decimal("102.35"),
                        valid_from=D(2027, 1, 1))
    # Amendment from 16 April (e.g. a backup tier upgrade, K7): half of April.
    ContractLineFactory(contract=contract, description="Option sauvegarde", unit_price=Decimal("30.00"),
                        valid_from=D(2026, 4, 16))
    _run(D(2026, 4, 1))
    april = Invoice.objects.get(period_start=D(2026, 4, 1))
    assert [(ln.unit_price, ln.service_start) for ln in april.lines.order_by("position")] == [
        (Decimal("100.00"), D(2026, 4, 1)), (Decimal("15.00"), D(2026, 4, 16)),  # 30 × 15/30
    ]
    _run(D(2027, 1, 1))
    january = Invoice.objects.get(period_start=D(2027, 1, 1))
    assert [ln.unit_price for ln in january.lines.order_by("position")] == [Decimal("102.35"), Decimal("30.00")]


def _count_queries(n, today):
    for _ in range(n):
        _contract(signature=today)
    with CaptureQueriesContext(connection) as ctx:
        result = _run(today)
    return result["issued"], len(ctx.captured_queries)


def test_query_count_does_not_grow_per_contract(provider):
    """Same number of queries for 5 and 50 contracts: savepoint + release, series lock (select for
    update), contracts, lines, existing invoices, provider profile, mandates, number reservation
    (select for update + update), invoices insert, lines insert, audit insert."""
    _count_queries(1, D(2026, 2, 1))  # warm-up: creates the 2026 counter, caches the content type
    issued_5, queries_5 = _count_queries(4, D(2026, 3, 1))  # + the warm-up contract's March
    issued_50, queries_50 = _count_queries(45, D(2026, 4, 1))  # + the first 5 contracts' April
    assert (issued_5, issued_50) == (5, 50)
    # SQLite caps a statement at 999 parameters, so Django splits the 50-row INSERTs of invoices
    # (36 columns → 27 rows a statement) and lines in two; PostgreSQL takes them in one.
    split_inserts = 0 if connection.vendor == "postgresql" else 2
    # + one query per registered mandate-reference provider (the payments app's mandates: the RUM, L5).
    assert queries_5 == 12 + len(billing_selectors._MANDATE_REFERENCE_PROVIDERS)
    assert queries_50 == queries_5 + split_inserts


def test_issued_recurring_invoices_are_issued_status(provider):
    _contract(signature=D(2026, 1, 1))
    _run(D(2026, 1, 1))
    assert set(Invoice.objects.values_list("status", flat=True)) == {InvoiceStatus.ISSUED}
