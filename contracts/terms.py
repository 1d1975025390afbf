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
