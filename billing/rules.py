"""The dates and amounts the terms define, one pure function each (no database access).

- :func:`recurring_collection_date` — CGV B1 (the 15th of the month).
- :func:`extra_work_collection_date` — CGV B2 (the 30th of the next month; last day of February).
- :func:`quote_payment_due_date` — CGV B5 (2 months after signature, or after the deposit).
- :func:`calendar_period` / :func:`recurring_periods` / :func:`prorated_unit_price` — CGV B1 periods
  and the proration of a first partial period.
- :func:`compute_totals` — totals per VAT rate (G2, L1) with the rounding convention.
"""
import calendar
import datetime
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from billing import conf
from core.money import ZERO, money, to_decimal

ONE_DAY = datetime.timedelta(days=1)


# --- dates ------------------------------------------------------------------------------------


def recurring_collection_date(*, period_start: datetime.date, issue_date: datetime.date) -> datetime.date:
    """CGV B1: the fee is collected by direct debit on the 15th of the period's first month.

    When that day is closer to the issue date than the SEPA pre-notification
    (L5, 14 days by default: a first partial period starting after the 1st, or a
    late catch-up), collection moves to the 15th of the following month.
    """
    day = conf.get("BILLING_RECURRING_COLLECTION_DAY")
    notice = conf.get("BILLING_SEPA_PRENOTIFICATION_DAYS")
    candidate = period_start.replace(day=day)
    while (candidate - issue_date).days < notice:
        candidate = (candidate + relativedelta(months=1)).replace(day=day)
    return candidate


def extra_work_collection_date(issue_date: datetime.date) -> datetime.date:
    """CGV B2: the 30th of the month after the invoice, or the last day of February.

    2026-01-31 → 2026-02-28; 2026-12-05 → 2027-01-30; 2027-12-31 → 2028-01-30;
    2028-01-10 → 2028-02-29.
    """
    next_month = issue_date.replace(day=1) + relativedelta(months=1)
    last_day = calendar.monthrange(next_month.year, next_month.month)[1]
    return next_month.replace(day=min(30, last_day))


def quote_payment_due_date(*, signed_on: datetime.date, deposit_on: datetime.date | None = None) -> datetime.date:
    """CGV B5: payment within 2 months of the signature or, with a deposit, 2 months after the deposit."""
    months = conf.get("BILLING_QUOTE_PAYMENT_MONTHS")
    return (deposit_on or signed_on) + relativedelta(months=months)


# --- recurring periods --------------------------------------------------------------------------


def calendar_period(day: datetime.date, months: int) -> tuple[datetime.date, datetime.date]:
    """The calendar billing period containing ``day``: a month, a quarter (Jan/Apr/Jul/Oct) or a year.

    Periods follow the calendar like the contract years do (C2: 1 January – 31 December).
    """
    first_month = ((day.month - 1) // months) * months + 1
    start = datetime.date(day.year, first_month, 1)
    return start, start + relativedelta(months=months) - ONE_DAY


@dataclass(frozen=True)
class Period:
    """A billed period ``start``–``end`` inside its full calendar period ``full_start``–``full_end``."""

    start: datetime.date
    end: datetime.date
    full_start: datetime.date
    full_end: datetime.date

    @property
    def is_partial(self) -> bool:
        return self.start != self.full_start or self.end != self.full_end


def recurring_periods(
    *, contract_start: datetime.date, months: int, end: datetime.date | None, from_day: datetime.date,
    to_day: datetime.date,
) -> Iterator[Period]:
    """The billing periods of a contract whose start lies in ``[from_day, to_day]``.

    The first period runs from the contract's start to the end of its calendar
    period (partial, prorated); the last one stops at the contract's ``end``.
    """
    day = max(contract_start, calendar_period(from_day, months)[0])
    while day <= to_day and (end is None or day <= end):
        full_start, full_end = calendar_period(day, months)
        period = Period(start=day, end=min(full_end, end) if end else full_end, full_start=full_start,
                        full_end=full_end)
        if period.start >= from_day:
            yield period
        day = full_end + ONE_DAY


def prorated_unit_price(
    *, monthly_unit_price: Decimal, months: int, period: Period, valid_from: datetime.date | None = None,
    valid_until: datetime.date | None = None,
) -> tuple[Decimal, int, int]:
    """The unit price HT of a contract line for ``period``, prorated by days (CGV B1).

    Formula: ``unit price = monthly price × months of the period × covered days / days of the full
    calendar period``, rounded half-up to the cent once, where the covered days are the days of
    the period during which the line is in force. A full period is not prorated (exactly
    ``monthly × months``). Returns ``(unit_price, covered_days, full_days)``; 0 covered days = not billed.
    """
    start = max(period.start, valid_from) if valid_from else period.start
    stop = min(period.end, valid_until) if valid_until else period.end
    covered = max(0, (stop - start).days + 1)
    full = (period.full_end - period.full_start).days + 1
    amount = to_decimal(monthly_unit_price) * months
    if covered == full:
        return money(amount), covered, full
    return money(amount * covered / full), covered, full


# --- totals -------------------------------------------------------------------------------------


def line_total(quantity, unit_price) -> Decimal:
    """A line's amount HT: quantity × unit price, rounded to the cent (rounding step 1)."""
    return money(to_decimal(quantity) * to_decimal(unit_price))


def compute_totals(lines: Iterable[tuple]) -> dict:
    """Totals of ``(quantity, unit_price, vat_rate)`` lines.

    Rounding convention (EN 16931 BR-CO-17): each line total is rounded to the
    cent; per VAT rate, the base is the sum of its line totals and the VAT is
    ``base × rate / 100`` rounded half-up to the cent; total VAT is the sum of
    the per-rate VAT; TTC = HT + VAT. ``vat_rate`` ``None`` (outside the scope
    of VAT) has a base and no VAT.
    """
    bases: dict[Decimal | None, Decimal] = {}
    for quantity, unit_price, rate in lines:
        key = None if rate is None else money(rate)
        bases[key] = bases.get(key, ZERO) + line_total(quantity, unit_price)
    breakdown = []
    for rate in sorted(bases, key=lambda r: (r is None, -(r or 0))):
        base = bases[rate]
        vat = ZERO if rate is None else money(base * rate / 100)
        breakdown.append({"rate": None if rate is None else str(rate), "base": str(base), "vat": str(vat)})
    total_ht = money(sum((bases[r] for r in bases), ZERO))
    total_vat = money(sum((Decimal(b["vat"]) for b in breakdown), ZERO))
    return {"total_ht": total_ht, "total_vat": total_vat, "total_ttc": total_ht + total_vat,
            "vat_breakdown": breakdown}
