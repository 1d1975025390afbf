"""The "next billing period" a hosting amendment starts from (CGV H5, B1).

Convention (the terms are silent): billing periods are calendar-aligned —
months for a monthly contract, quarters starting 1 January / 1 April / 1 July
/ 1 October for a quarterly one, calendar years for a yearly one (the
contract's periods are calendar years, C2). A change made on any day of a
period takes effect on the first day of the following one, because the
current period was invoiced in advance (B1).
"""
import datetime

from contracts.choices import BillingFrequency


def next_billing_period_start(frequency: str, day: datetime.date) -> datetime.date:
    """First day of the billing period after the one containing ``day``.

    monthly 2026-04-10 → 2026-05-01; quarterly 2026-04-10 → 2026-07-01;
    yearly 2026-04-10 → 2027-01-01; monthly 2026-12-31 → 2027-01-01.
    """
    months = BillingFrequency(frequency).months
    next_offset = ((day.month - 1) // months + 1) * months  # months after January of day.year
    return datetime.date(day.year + next_offset // 12, next_offset % 12 + 1, 1)
