"""The amounts and dates the terms define for payments and dunning, one pure function each.

- :func:`late_interest` — CGV B3 (b), L3: 1.5 % per month, pro rata per day.
- :func:`sanctions_date` — CGV B3, C6: the day after 30 days without effect of the formal notice.
- :func:`postponed_collection_date` — L5: the first collection day leaving the pre-notification period.
- :func:`mandate_expiry_limit` — L5: a mandate unused for 36 months lapses.
- :func:`aged_bucket` — the columns of the aged-balance report.
"""
import datetime
from collections.abc import Iterable
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from contracts import terms
from core.money import ZERO, money, to_decimal
from payments import conf

DAYS_IN_YEAR = Decimal("365")


def monthly_to_annual_rate(monthly_rate) -> Decimal:
    """1.5 % per month → 18 % a year (12 months, no compounding)."""
    return to_decimal(monthly_rate) * 12


def late_interest(
    *, amount_due, due_date: datetime.date, until: datetime.date,
    payments: Iterable[tuple[datetime.date, Decimal]] = (), annual_rate: Decimal | None = None,
) -> Decimal:
    """CGV B3 (b), L3: late interest on what is left unpaid, from the day after the due date until payment.

    Convention: ``balance × annual rate × days / 365`` (1.5 % a month = 18 % a
    year, pro rata per calendar day, 365 days even in a leap year), summed over
    the periods between payments: a payment received on day *d* still counts
    day *d* as late. ``days`` = ``until − due_date`` (due 15/03, paid 14/05 → 60
    days). Rounded half-up to the cent once, at the end. Payments after
    ``until`` are ignored; nothing is owed when paid on time.

    1 000,00 € due 2026-03-15, unpaid on 2026-05-14: 1 000 × 18 % × 60 / 365 = 29,59 €.
    """
    rate = to_decimal(annual_rate if annual_rate is not None else conf.get("PAYMENTS_LATE_INTEREST_ANNUAL_RATE"))
    balance = to_decimal(amount_due)
    day = due_date
    total = Decimal("0")
    for paid_on, paid in sorted(payments):
        if paid_on > until:
            break
        if paid_on > day:
            total += balance * (paid_on - day).days
            day = paid_on
        balance -= to_decimal(paid)
    if until > day and balance > 0:
        total += balance * (until - day).days
    return max(ZERO, money(total * rate / 100 / DAYS_IN_YEAR))


def rate_below_legal_floor(annual_rate: Decimal | None = None, legal_rate: Decimal | None = None) -> bool:
    """L3: the contractual late-interest rate may not be below three times the legal interest rate."""
    rate = to_decimal(annual_rate if annual_rate is not None else conf.get("PAYMENTS_LATE_INTEREST_ANNUAL_RATE"))
    legal = to_decimal(legal_rate if legal_rate is not None else conf.get("PAYMENTS_LEGAL_INTEREST_RATE"))
    return rate < legal * 3


def sanctions_date(*, sent_on: datetime.date, received_on: datetime.date | None) -> datetime.date:
    """CGV B3 / C6: the first day after the formal notice stayed without effect for 30 days.

    Counted from receipt (first presentation of the registered letter) like
    the C6 termination (``contracts.terms.for_cause_earliest_termination``):
    received 2026-05-04 → sanctions from 2026-06-04. Until the receipt is
    known, the sending date is used; recording the receipt moves it later.
    """
    return terms.for_cause_earliest_termination(received_on or sent_on)


def postponed_collection_date(today: datetime.date) -> datetime.date:
    """L5: the first collection day (the 15th) at least the pre-notification period after ``today``."""
    earliest = today + datetime.timedelta(days=conf.get("PAYMENTS_PRENOTIFICATION_DAYS"))
    day = conf.get("PAYMENTS_COLLECTION_DAY")
    candidate = earliest.replace(day=day)
    if candidate < earliest:
        candidate = (candidate + relativedelta(months=1)).replace(day=day)
    return candidate


def invoice_counts_as_prenotification(*, issue_date: datetime.date, collection_date: datetime.date) -> bool:
    """L5: an invoice printing the collection date and amount pre-notifies when issued early enough."""
    return (collection_date - issue_date).days >= conf.get("PAYMENTS_PRENOTIFICATION_DAYS")


def mandate_expiry_limit(today: datetime.date) -> datetime.date:
    """L5: a mandate whose last use (or signature) is before this date has lapsed."""
    return today - relativedelta(months=conf.get("PAYMENTS_MANDATE_EXPIRY_MONTHS"))


AGED_BUCKETS = ("not_due", "d0_30", "d31_60", "d61_90", "d90_plus")


def aged_bucket(*, due_date: datetime.date, today: datetime.date) -> str:
    """The aged-balance column of an amount: not due yet, then 0–30, 31–60, 61–90, over 90 days past due."""
    late = (today - due_date).days
    if late < 0:
        return "not_due"
    if late <= 30:
        return "d0_30"
    if late <= 60:
        return "d31_60"
    if late <= 90:
        return "d61_90"
    return "d90_plus"
