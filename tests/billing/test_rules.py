"""Dates and amounts the terms define (pure functions): CGV B1, B2, B5, G2, with exact values."""
import datetime
from decimal import Decimal

import pytest

from billing import rules

D = datetime.date


@pytest.mark.parametrize(
    ("period_start", "issue_date", "expected"),
    [
        (D(2026, 3, 1), D(2026, 3, 1), D(2026, 3, 15)),  # monthly, issued on the period's first day
        (D(2026, 12, 1), D(2026, 12, 1), D(2026, 12, 15)),  # December
        (D(2027, 2, 1), D(2027, 2, 1), D(2027, 2, 15)),  # February
        (D(2026, 4, 1), D(2026, 4, 1), D(2026, 4, 15)),  # quarterly Q2
        (D(2026, 3, 1), D(2026, 2, 24), D(2026, 3, 15)),  # issued 5 days ahead (lead)
        # First partial period starting on the 15th: collecting the same day would give no SEPA
        # pre-notification (L5, 14 days), so collection moves to the next month's 15th.
        (D(2026, 3, 15), D(2026, 3, 15), D(2026, 4, 15)),
        (D(2026, 12, 20), D(2026, 12, 20), D(2027, 1, 15)),
        (D(2026, 3, 1), D(2026, 3, 3), D(2026, 4, 15)),  # late catch-up on the 3rd
    ],
)
def test_recurring_collection_on_the_15th_cgv_b1(period_start, issue_date, expected):
    assert rules.recurring_collection_date(period_start=period_start, issue_date=issue_date) == expected


@pytest.mark.parametrize(
    ("issue_date", "expected"),
    [
        (D(2026, 3, 31), D(2026, 4, 30)),
        (D(2026, 1, 31), D(2026, 2, 28)),  # last day of February
        (D(2026, 1, 1), D(2026, 2, 28)),
        (D(2028, 1, 10), D(2028, 2, 29)),  # leap year
        (D(2026, 12, 5), D(2027, 1, 30)),  # December → January of the next year
        (D(2026, 11, 30), D(2026, 12, 30)),
        (D(2026, 7, 1), D(2026, 8, 30)),  # a 31-day month still collects on the 30th
    ],
)
def test_extra_work_collected_on_the_30th_of_next_month_cgv_b2(issue_date, expected):
    assert rules.extra_work_collection_date(issue_date) == expected


def test_quote_payment_due_two_months_after_signature_or_deposit_cgv_b5():
    assert rules.quote_payment_due_date(signed_on=D(2026, 3, 10)) == D(2026, 5, 10)
    assert rules.quote_payment_due_date(signed_on=D(2026, 12, 31)) == D(2027, 2, 28)
    assert rules.quote_payment_due_date(signed_on=D(2026, 3, 10), deposit_on=D(2026, 3, 20)) == D(2026, 5, 20)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (D(2026, 3, 15), 1, (D(2026, 3, 1), D(2026, 3, 31))),
        (D(2026, 2, 10), 3, (D(2026, 1, 1), D(2026, 3, 31))),
        (D(2026, 11, 2), 3, (D(2026, 10, 1), D(2026, 12, 31))),
        (D(2026, 2, 2), 12, (D(2026, 1, 1), D(2026, 12, 31))),
    ],
)
def test_calendar_periods(day, months, expected):
    assert rules.calendar_period(day, months) == expected


def _first_period(start, months):
    return next(rules.recurring_periods(contract_start=start, months=months, end=None, from_day=start,
                                        to_day=start))


@pytest.mark.parametrize(
    ("start", "months", "monthly", "expected_unit", "covered", "full"),
    [
        # monthly, signed on 15 March: 17 days of 31 → 100 × 17 / 31 = 54.8387… → 54.84
        (D(2026, 3, 15), 1, "100.00", "54.84", 17, 31),
        # quarterly from 10 February: 50 days of Q1's 90 → 300 × 50 / 90 = 166.666… → 166.67
        (D(2026, 2, 10), 3, "100.00", "166.67", 50, 90),
        # yearly from 2 February: 333 days of 365 → 468 × 333 / 365 = 426.969… → 426.97
        (D(2026, 2, 2), 12, "39.00", "426.97", 333, 365),
        # starting on a boundary: no proration
        (D(2026, 4, 1), 3, "32.50", "97.50", 91, 91),
    ],
)
def test_first_partial_period_prorated_by_days_cgv_b1(start, months, monthly, expected_unit, covered, full):
    period = _first_period(start, months)
    assert period.start == start
    unit, got_covered, got_full = rules.prorated_unit_price(
        monthly_unit_price=Decimal(monthly), months=months, period=period
    )
    assert (unit, got_covered, got_full) == (Decimal(expected_unit), covered, full)


def test_periods_stop_at_the_contract_end():
    periods = list(rules.recurring_periods(contract_start=D(2026, 1, 1), months=3, end=D(2026, 5, 20),
                                           from_day=D(2026, 1, 1), to_day=D(2026, 12, 31)))
    assert [(p.start, p.end) for p in periods] == [
        (D(2026, 1, 1), D(2026, 3, 31)), (D(2026, 4, 1), D(2026, 5, 20)),
    ]


def test_vat_totals_on_mixed_rates_cgv_g2():
    totals = rules.compute_totals([
        (Decimal("1"), Decimal("100.00"), Decimal("20.00")),
        (Decimal("2"), Decimal("10.50"), Decimal("5.50")),
        (Decimal("3"), Decimal("33.33"), Decimal("10.00")),
        (Decimal("1"), Decimal("40.00"), None),  # €40 indemnity, outside the scope of VAT (L3)
    ])
    assert totals["vat_breakdown"] == [
        {"rate": "20.00", "base": "100.00", "vat": "20.00"},
        {"rate": "10.00", "base": "99.99", "vat": "10.00"},  # 9.999 → 10.00
        {"rate": "5.50", "base": "21.00", "vat": "1.16"},  # 1.155 → 1.16 (half-up)
        {"rate": None, "base": "40.00", "vat": "0.00"},
    ]
    assert totals["total_ht"] == Decimal("260.99")
    assert totals["total_vat"] == Decimal("31.16")
    assert totals["total_ttc"] == Decimal("292.15")


def test_vat_is_rounded_per_rate_not_per_line():
    # Per line: 3 × round(0.33 × 20 %) = 3 × 0.07 = 0.21; per rate: round(0.99 × 20 %) = 0.20.
    totals = rules.compute_totals([(Decimal("1"), Decimal("0.33"), Decimal("20"))] * 3)
    assert totals["total_vat"] == Decimal("0.20")
    assert totals["total_ttc"] == Decimal("1.19")
