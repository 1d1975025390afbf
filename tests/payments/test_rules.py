"""Pure rules of payments: late interest (CGV B3 b, L3), dates (B3, C6, L5), aged-balance buckets."""
import datetime
from decimal import Decimal

from django.core.checks import Warning as CheckWarning

from payments import checks, rules

D = datetime.date


def test_late_interest_b3b_1000_eur_60_days():
    """CGV B3 (b): 1 000,00 € due 15/03/2026, unpaid on 14/05/2026 = 60 days × 18 %/365 = 29,59 €."""
    assert rules.late_interest(amount_due=Decimal("1000.00"), due_date=D(2026, 3, 15), until=D(2026, 5, 14)) == \
        Decimal("29.59")


def test_late_interest_b3b_one_month_of_30_days_is_close_to_1_5_percent():
    # 1 200,00 € × 18 % × 30 / 365 = 17,75 € (1,5 % of 1 200 would be 18,00 € for a "banker's" month).
    assert rules.late_interest(amount_due=Decimal("1200.00"), due_date=D(2026, 4, 15), until=D(2026, 5, 15)) == \
        Decimal("17.75")


def test_late_interest_b3b_partial_payment_reduces_the_base_from_the_next_day():
    """600 € late 10 days, then 400 € left 20 more days: 600×10 + 400×20 = 14 000 €·days × 18 %/365 = 6,90 €."""
    amount = rules.late_interest(
        amount_due=Decimal("600.00"), due_date=D(2026, 3, 15), until=D(2026, 4, 14),
        payments=[(D(2026, 3, 25), Decimal("200.00"))],
    )
    assert amount == Decimal("6.90")


def test_late_interest_b3b_nothing_when_paid_on_time_or_before():
    assert rules.late_interest(amount_due=Decimal("500"), due_date=D(2026, 3, 15), until=D(2026, 3, 15)) == 0
    assert rules.late_interest(amount_due=Decimal("500"), due_date=D(2026, 3, 15), until=D(2026, 6, 1),
                               payments=[(D(2026, 3, 10), Decimal("500"))]) == 0


def test_late_interest_rate_is_configurable(settings):
    settings.PAYMENTS_LATE_INTEREST_ANNUAL_RATE = Decimal("12.00")
    # 1 000 × 12 % × 73 / 365 = 24,00 €.
    assert rules.late_interest(amount_due=Decimal("1000"), due_date=D(2026, 1, 1), until=D(2026, 3, 15)) == \
        Decimal("24.00")


def test_l3_rate_floor_warning(settings):
    """L3: 18 % ≥ 3 × 2,62 % = 7,86 %: no warning; 7,5 % is below the floor: warning payments.W001."""
    assert checks.late_interest_rate_check(None) == []
    settings.PAYMENTS_LATE_INTEREST_ANNUAL_RATE = Decimal("7.50")
    [warning] = checks.late_interest_rate_check(None)
    assert isinstance(warning, CheckWarning) and warning.id == "payments.W001"
    assert "7.86" in warning.msg


def test_sanctions_date_b3_c6_counts_30_days_from_receipt():
    assert rules.sanctions_date(sent_on=D(2026, 5, 1), received_on=D(2026, 5, 4)) == D(2026, 6, 4)
    assert rules.sanctions_date(sent_on=D(2026, 5, 1), received_on=None) == D(2026, 6, 1)


def test_postponed_collection_date_l5_leaves_14_days():
    assert rules.postponed_collection_date(D(2026, 3, 1)) == D(2026, 3, 15)
    assert rules.postponed_collection_date(D(2026, 3, 2)) == D(2026, 4, 15)
    assert rules.invoice_counts_as_prenotification(issue_date=D(2026, 3, 1), collection_date=D(2026, 3, 15))
    assert not rules.invoice_counts_as_prenotification(issue_date=D(2026, 3, 2), collection_date=D(2026, 3, 15))


def test_mandate_expiry_limit_l5_36_months():
    assert rules.mandate_expiry_limit(D(2026, 6, 30)) == D(2023, 6, 30)


def test_aged_buckets():
    today = D(2026, 6, 30)
    assert rules.aged_bucket(due_date=D(2026, 7, 1), today=today) == "not_due"
    assert rules.aged_bucket(due_date=D(2026, 6, 30), today=today) == "d0_30"
    assert rules.aged_bucket(due_date=D(2026, 5, 31), today=today) == "d0_30"
    assert rules.aged_bucket(due_date=D(2026, 5, 30), today=today) == "d31_60"
    assert rules.aged_bucket(due_date=D(2026, 4, 1), today=today) == "d61_90"
    assert rules.aged_bucket(due_date=D(2026, 3, 31), today=today) == "d90_plus"
