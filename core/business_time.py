"""Business time (heures ouvrables): the one clock behind every SLA of the product (CGV S2, K4).

Business hours are Monday to Friday, 9:00–18:00, Europe/Paris wall-clock time,
minus the French public holidays of the ``holidays`` package for the client's
subdivision (``""`` national, ``"57"`` Moselle, ``"6AE"`` Alsace: those two add
Good Friday and 26 December). The hours, days and time zone can be changed in
settings (``BUSINESS_HOURS_START``, ``BUSINESS_HOURS_END``,
``BUSINESS_WEEKDAYS``, ``BUSINESS_TIME_ZONE``).

How it works: every instant is mapped to a *position*, the number of business
microseconds since a reference business day. Adding business time is
``position -> position + duration -> instant``; business time elapsed is a
difference of positions. Positions are computed in local wall-clock time and
converted back to aware datetimes, so a daylight-saving change (which happens
at night) never adds or removes business time. Whole days are skipped by index
arithmetic over a cached, sorted list of business days per year and
subdivision, so a deadline costs a few bisections whatever its length.

Pauses (waiting on the client, force majeure C8) are intervals during which the
clock stops: :func:`business_add` pushes the result later by the business time
they cover, :func:`business_elapsed` leaves it out.

Conventions: a duration that ends exactly at closing time ends at 18:00 that
day (not 9:00 on the next business day, which is the same business moment);
adding zero returns the start unchanged.
"""
from __future__ import annotations

import bisect
import datetime
from collections.abc import Iterable
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as holidays_lib
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

REFERENCE_YEAR = 2000
_US = 1_000_000
_FIRST_ORDINAL = datetime.date(REFERENCE_YEAR, 1, 1).toordinal()
Interval = tuple[datetime.datetime, datetime.datetime]


class Calendar:
    """Business hours of one holiday subdivision, with a flat table of its business days.

    ``_days`` lists the ordinals of every business day from REFERENCE_YEAR on,
    ``_index`` maps each to its position in that list; both only ever grow at
    the end (a year at a time, on demand), so an index never changes meaning.
    """

    def __init__(self, subdivision="", start=datetime.time(9, 0), end=datetime.time(18, 0),
                 weekdays=(0, 1, 2, 3, 4), time_zone="Europe/Paris"):
        if end <= start:
            raise ValueError("Business hours must end after they start.")
        self.subdivision = subdivision or ""
        self.start, self.end = start, end
        self.weekdays = frozenset(weekdays)
        self.tz = ZoneInfo(time_zone)
        self.open_us = _time_us(start)
        self.day_us = _time_us(end) - self.open_us  # business microseconds in one business day
        self._days: list[int] = []
        self._index: dict[int, int] = {}
        self._last_year = REFERENCE_YEAR - 1
        self._last_ordinal = datetime.date(REFERENCE_YEAR, 1, 1).toordinal() - 1

    def __repr__(self):
        return f"Calendar({self.subdivision!r}, {self.start}-{self.end})"

    def extend_to(self, year: int) -> None:
        """Make sure the table covers ``year`` (and the next one, for look-ahead)."""
        if year < REFERENCE_YEAR:
            raise ValueError(f"Business time is computed from {REFERENCE_YEAR} on.")
        while self._last_year < year + 1:
            y = self._last_year + 1
            off = public_holidays(y, self.subdivision)
            first = datetime.date(y, 1, 1).toordinal()
            last = datetime.date(y, 12, 31).toordinal()
            for o in range(first, last + 1):
                if (o - 1) % 7 in self.weekdays and datetime.date.fromordinal(o) not in off:
                    self._index[o] = len(self._days)
                    self._days.append(o)
            self._last_year, self._last_ordinal = y, last

    def day_index(self, ordinal: int) -> tuple[int, bool]:
        """(index of the first business day on or after ``ordinal``, whether that day is one itself)."""
        if ordinal > self._last_ordinal - 366:
            self.extend_to(datetime.date.fromordinal(ordinal).year)
        elif ordinal < _FIRST_ORDINAL:
            raise ValueError(f"Business time is computed from {REFERENCE_YEAR} on.")
        index = self._index.get(ordinal)
        if index is not None:
            return index, True
        return bisect.bisect_left(self._days, ordinal), False

    def day_at(self, index: int) -> int:
        """The ordinal of the business day at ``index``."""
        while index >= len(self._days) - 300:
            self.extend_to(self._last_year + 1)
        return self._days[index]


def _time_us(t: datetime.time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * _US + t.microsecond


def _parse_time(value) -> datetime.time:
    return value if isinstance(value, datetime.time) else datetime.time.fromisoformat(str(value))


_CALENDARS: dict[str, Calendar] = {}


def calendar_for(subdivision: str | None = "") -> Calendar:
    """The calendar of a subdivision (a client's ``holiday_subdivision``), hours from settings."""
    key = subdivision or ""
    cal = _CALENDARS.get(key)
    if cal is None:
        cal = _CALENDARS[key] = Calendar(
            key,
            _parse_time(getattr(settings, "BUSINESS_HOURS_START", "09:00")),
            _parse_time(getattr(settings, "BUSINESS_HOURS_END", "18:00")),
            tuple(getattr(settings, "BUSINESS_WEEKDAYS", (0, 1, 2, 3, 4))),
            getattr(settings, "BUSINESS_TIME_ZONE", "Europe/Paris"),
        )
    return cal


@receiver(setting_changed)
def _reset_calendars(*, setting, **kwargs):
    if setting.startswith("BUSINESS_"):
        _CALENDARS.clear()


@lru_cache(maxsize=512)
def public_holidays(year: int, subdivision: str = "") -> frozenset[datetime.date]:
    """French public holidays of ``year`` for a subdivision (cached per year and subdivision)."""
    return frozenset(holidays_lib.country_holidays("FR", subdiv=subdivision or None, years=year).keys())


def _next_day_index(cal: Calendar, day: datetime.date) -> tuple[int, bool]:
    """(index of the first business day on or after ``day``, whether ``day`` itself is one)."""
    return cal.day_index(day.toordinal())


def _day_at(cal: Calendar, index: int) -> datetime.date:
    return datetime.date.fromordinal(cal.day_at(index))


def _aware(value: datetime.datetime) -> datetime.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("Business time needs aware datetimes.")
    return value


def position(instant: datetime.datetime, cal: Calendar) -> int:
    """Business microseconds from the reference day to ``instant`` (constant outside business hours)."""
    local = _aware(instant).astimezone(cal.tz)
    index, is_business = cal.day_index(local.toordinal())
    if not is_business:
        return index * cal.day_us
    t = ((local.hour * 60 + local.minute) * 60 + local.second) * _US + local.microsecond
    clipped = min(max(t - cal.open_us, 0), cal.day_us)
    return index * cal.day_us + clipped


def instant_at(pos: int, cal: Calendar) -> datetime.datetime:
    """The aware instant of a business position; a day boundary is read as closing time."""
    index, rest = divmod(pos, cal.day_us)
    if rest == 0:
        index, rest = index - 1, cal.day_us
    day = datetime.date.fromordinal(cal.day_at(index))
    seconds, micro = divmod(cal.open_us + rest, _US)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    # Business hours never fall in a DST gap or fold (changes happen at 2-3 am), so this is exact.
    return datetime.datetime(day.year, day.month, day.day, hour, minute, second, micro, tzinfo=cal.tz)


def _merged_positions(pauses: Iterable[Interval] | None, cal: Calendar, floor: int) -> list[tuple[int, int]]:
    """Pauses as sorted, disjoint business-position intervals, clipped to start at ``floor``."""
    spans = []
    for start, end in pauses or ():
        a, b = max(position(start, cal), floor), position(end, cal)
        if b > a:
            spans.append((a, b))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def _to_us(duration: datetime.timedelta | int | float) -> int:
    if isinstance(duration, datetime.timedelta):
        return (duration.days * 86_400 + duration.seconds) * _US + duration.microseconds
    return round(duration * 3600 * _US)  # a number of hours


def business_add(
    start: datetime.datetime,
    duration: datetime.timedelta | int,
    *,
    subdivision: str | None = "",
    pauses: Iterable[Interval] | None = None,
    calendar: Calendar | None = None,
) -> datetime.datetime:
    """``start`` plus ``duration`` of business time (a timedelta, or a number of hours).

    ``pauses``: closed intervals ``(start, end)`` during which the clock stops;
    the result moves later by the business time they cover after ``start``.
    """
    cal = calendar or calendar_for(subdivision)
    amount = _to_us(duration)
    if amount < 0:
        raise ValueError("Business time can only be added forward.")
    if amount == 0:
        return start
    origin = position(start, cal)
    target = origin + amount
    for a, b in _merged_positions(pauses, cal, origin):
        if a >= target:
            break
        target += b - a
    return instant_at(target, cal)


def business_elapsed(
    start: datetime.datetime,
    end: datetime.datetime,
    *,
    subdivision: str | None = "",
    pauses: Iterable[Interval] | None = None,
    calendar: Calendar | None = None,
) -> datetime.timedelta:
    """Business time between two instants, minus the pauses (zero if ``end`` is not after ``start``)."""
    cal = calendar or calendar_for(subdivision)
    origin, finish = position(start, cal), position(end, cal)
    if finish <= origin:
        return datetime.timedelta(0)
    total = finish - origin
    for a, b in _merged_positions(pauses, cal, origin):
        if a >= finish:
            break
        total -= min(b, finish) - a
    return datetime.timedelta(microseconds=total)


def is_business_time(instant: datetime.datetime, *, subdivision: str | None = "") -> bool:
    """Whether ``instant`` falls inside business hours (S1 support hours, S5 out-of-hours split)."""
    cal = calendar_for(subdivision)
    local = _aware(instant).astimezone(cal.tz)
    _, is_business = _next_day_index(cal, local.date())
    return is_business and cal.start <= local.time() < cal.end


def is_business_day(day: datetime.date, *, subdivision: str | None = "") -> bool:
    return _next_day_index(calendar_for(subdivision), day)[1]


def business_intervals(
    start: datetime.datetime, end: datetime.datetime, *, subdivision: str | None = ""
) -> list[Interval]:
    """The business-hours parts of [start, end) as aware intervals (for splitting work, S5)."""
    cal = calendar_for(subdivision)
    tz = cal.tz
    if end <= start:
        return []
    result: list[Interval] = []
    day = _aware(start).astimezone(tz).date()
    last = _aware(end).astimezone(tz).date()
    while day <= last:
        if _next_day_index(cal, day)[1]:
            open_at = datetime.datetime.combine(day, cal.start, tzinfo=tz)
            close_at = datetime.datetime.combine(day, cal.end, tzinfo=tz)
            a, b = max(open_at, start), min(close_at, end)
            if b > a:
                result.append((a, b))
        day += datetime.timedelta(days=1)
    return result


def hours(value: datetime.timedelta) -> float:
    """A duration as hours, for display only (never for money)."""
    return value.total_seconds() / 3600


def next_business_opening(instant: datetime.datetime, *, subdivision: str | None = "") -> datetime.datetime:
    """Opening time of the first business day after the local day of ``instant`` (a next-morning slot)."""
    cal = calendar_for(subdivision)
    local = _aware(instant).astimezone(cal.tz)
    index, _ = _next_day_index(cal, local.date() + datetime.timedelta(days=1))
    day = _day_at(cal, index)
    return datetime.datetime.combine(day, cal.start, tzinfo=cal.tz)
