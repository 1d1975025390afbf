"""Term arithmetic of the contract (CGV art. 5), one pure function per date.

These functions are the only place where the dates of the terms are computed;
services store their results on the contract when it is signed or renewed.
"""
import datetime

from dateutil.relativedelta import relativedelta

NOTICE_MONTHS = 3


def initial_term_end(signature_date: datetime.date) -> datetime.date:
    """CGV C1: the initial term runs to 31 December of the first full calendar year after signature.

    Signed 2026-03-15 → 2027-12-31; signed 2026-01-01 → still 2027-12-31.
    """
    return datetime.date(signature_date.year + 1, 12, 31)


def next_period(period_end: datetime.date) -> tuple[datetime.date, datetime.date]:
    """CGV C2: tacit renewal for a non-reducible 12-month period, 1 January – 31 December."""
    start = period_end + datetime.timedelta(days=1)
    return start, datetime.date(start.year, 12, 31)


def notice_deadline(term_end: datetime.date) -> datetime.date:
    """CGV C3: the last day to send the registered letter, 3 months before the term (31 Dec → 30 Sep)."""
    return term_end - relativedelta(months=NOTICE_MONTHS)


def term_for_notice(*, sent_on: datetime.date, current_term_end: datetime.date) -> datetime.date:
    """CGV C3: a notice sent on or before the deadline ends the contract at the current term;
    a later one at the end of the following period."""
    if sent_on <= notice_deadline(current_term_end):
        return current_term_end
    return next_period(current_term_end)[1]


def period_containing(day: datetime.date, *, initial_end: datetime.date, start: datetime.date):
    """The contract period (start, end) that contains ``day``: the initial term, then calendar years."""
    if day <= initial_end:
        return start, initial_end
    return datetime.date(day.year, 1, 1), datetime.date(day.year, 12, 31)


# --- Early terminations (CGV C4–C7), end of contract (C9, C11, C12) -------------------------

FOR_CAUSE_FORMAL_NOTICE_DAYS = 30
AVAILABILITY_NOTICE_MONTHS = 3
NON_SOLICITATION_YEARS = 2

_PERIOD_MONTHS = {"monthly": 1, "quarterly": 3, "yearly": 12}


def next_invoicing_period_start(day: datetime.date, billing_frequency: str) -> datetime.date:
    """The first day of the first calendar-aligned invoicing period that starts after ``day``.

    The fee is invoiced in advance (B1) on calendar months, quarters (1 Jan,
    1 Apr, 1 Jul, 1 Oct) or years: the period containing ``day`` is already
    invoiced, the next one is the first instalment "left" (C4).
    """
    step = _PERIOD_MONTHS[str(billing_frequency)]
    first_month_of_period = ((day.month - 1) // step) * step + 1
    return datetime.date(day.year, first_month_of_period, 1) + relativedelta(months=step)


def months_left(*, effective_on: datetime.date, term_end: datetime.date, billing_frequency: str) -> int:
    """CGV C4: the number of monthly instalments still to run from the end of the contract to the term.

    Counted in whole months from the start of the first invoicing period after
    ``effective_on`` up to ``term_end``: instalments already invoiced in advance
    (the current month, quarter or year) are not owed a second time.
    Monthly, effective 2027-03-15, term 2027-12-31 → April–December = 9.
    """
    start = next_invoicing_period_start(effective_on, billing_frequency)
    if start > term_end:
        return 0
    return (term_end.year - start.year) * 12 + term_end.month - start.month + 1


def for_cause_earliest_termination(formal_notice_received_on: datetime.date) -> datetime.date:
    """CGV C6: the first day the provider may terminate, once the formal notice stayed without effect 30 days.

    The period starts the day after receipt and ends at midnight of its 30th
    day (Code de procédure civile, art. 641–642): received 2027-03-01 → 2027-03-31
    is the last day of the period → termination from 2027-04-01.
    """
    return formal_notice_received_on + datetime.timedelta(days=FOR_CAUSE_FORMAL_NOTICE_DAYS + 1)


def availability_termination_effective(letter_sent_on: datetime.date) -> datetime.date:
    """CGV C7: 3 months' notice from the registered letter (sent 2027-05-15 → ends 2027-08-15)."""
    return letter_sent_on + relativedelta(months=AVAILABILITY_NOTICE_MONTHS)


def non_solicitation_end(end_date: datetime.date) -> datetime.date:
    """CGV C12: non-solicitation runs 2 years after the contract ends (29 Feb → 28 Feb)."""
    return end_date + relativedelta(years=NON_SOLICITATION_YEARS)


def first_contract_year(start_date: datetime.date) -> tuple[datetime.date, datetime.date]:
    """CGV C11: the first contract year, the 12 months from the start date (2026-03-15 → 2027-03-14)."""
    return start_date, start_date + relativedelta(years=1) - datetime.timedelta(days=1)


def restitution_due(end_date: datetime.date, days: int) -> datetime.date:
    """CGV C9: the date leased equipment must be back, ``days`` after the last day of the contract."""
    return end_date + datetime.timedelta(days=days)


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)
