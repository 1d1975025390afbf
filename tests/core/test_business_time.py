"""The business-time engine (heures ouvrables, CGV S2): exact instants and properties."""
import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.business_time import (
    business_add,
    business_elapsed,
    business_intervals,
    calendar_for,
    is_business_day,
    is_business_time,
    public_holidays,
)

PARIS = ZoneInfo("Europe/Paris")
UTC = datetime.UTC
H = datetime.timedelta(hours=1)


def paris(*args):
    return datetime.datetime(*args, tzinfo=PARIS)


# --- exact instants (CGV S2) -------------------------------------------------------------


def test_s2_friday_17h_plus_4_business_hours_is_monday_noon():
    assert business_add(paris(2026, 11, 27, 17), 4) == paris(2026, 11, 30, 12)


def test_s2_friday_17h_plus_24_business_hours_is_wednesday_14h():
    # Fri 1 h + Mon 9 h + Tue 9 h + Wed 5 h.
    assert business_add(paris(2026, 11, 27, 17), 24) == paris(2026, 12, 2, 14)


def test_s2_easter_monday_is_skipped():
    # Easter Monday 2026-04-06; Good Friday is a working day nationally.
    assert business_add(paris(2026, 4, 3, 17), 4) == paris(2026, 4, 7, 12)
    assert business_add(paris(2026, 4, 3, 17), 24) == paris(2026, 4, 9, 14)


def test_s2_ascension_is_skipped():
    # Ascension Thursday 2026-05-14.
    assert business_add(paris(2026, 5, 13, 17), 4) == paris(2026, 5, 15, 12)


def test_s2_14_july_is_skipped():
    # 14 July 2026 is a Tuesday.
    assert business_add(paris(2026, 7, 13, 17), 4) == paris(2026, 7, 15, 12)


def test_s2_good_friday_only_for_moselle_and_alsace():
    start = paris(2026, 4, 2, 17)  # Thursday before Easter
    assert business_add(start, 4) == paris(2026, 4, 3, 12)
    assert business_add(start, 4, subdivision="57") == paris(2026, 4, 7, 12)
    assert business_add(start, 4, subdivision="6AE") == paris(2026, 4, 7, 12)


def test_s2_26_december_only_for_moselle_and_alsace():
    # 2025-12-26 is a Friday.
    start = paris(2025, 12, 24, 17)
    assert business_add(start, 4) == paris(2025, 12, 26, 12)
    assert business_add(start, 4, subdivision="57") == paris(2025, 12, 29, 12)


def test_s2_across_october_dst_change():
    # 2026-10-25 03:00 CEST -> 02:00 CET: business hours are wall-clock, nothing is lost or gained.
    deadline = business_add(paris(2026, 10, 23, 17), 24)
    assert deadline == paris(2026, 10, 28, 14)
    assert deadline.astimezone(UTC) == datetime.datetime(2026, 10, 28, 13, tzinfo=UTC)
    assert paris(2026, 10, 23, 17).astimezone(UTC).hour == 15  # CEST before the change


def test_s2_across_march_dst_change():
    deadline = business_add(paris(2026, 3, 27, 17), 4)
    assert deadline.astimezone(UTC) == datetime.datetime(2026, 3, 30, 10, tzinfo=UTC)


def test_start_outside_hours_starts_at_next_opening():
    assert business_add(paris(2026, 11, 28, 10), 1) == paris(2026, 11, 30, 10)  # Saturday
    assert business_add(paris(2026, 11, 30, 7, 30), 1) == paris(2026, 11, 30, 10)
    assert business_add(paris(2026, 11, 30, 19), 1) == paris(2026, 12, 1, 10)


def test_a_duration_ending_at_closing_time_ends_at_18h():
    assert business_add(paris(2026, 11, 30, 9), 9) == paris(2026, 11, 30, 18)
    assert business_add(paris(2026, 11, 30, 9), 18) == paris(2026, 12, 1, 18)


def test_adding_zero_returns_the_start():
    assert business_add(paris(2026, 11, 28, 10), 0) == paris(2026, 11, 28, 10)


def test_input_in_utc_gives_the_same_instant():
    start = paris(2026, 11, 27, 17).astimezone(UTC)
    assert business_add(start, 4) == paris(2026, 11, 30, 12)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        business_add(datetime.datetime(2026, 11, 27, 17), 4)


def test_long_duration_across_years_skips_whole_days():
    # 2026-12-31 17:00 + 90 business hours (10 days): 1 Jan 2027 is a holiday.
    assert business_add(paris(2026, 12, 31, 17), 90) == paris(2027, 1, 15, 17)


# --- pauses (waiting on the client, force majeure C8) --------------------------------------


def test_c8_pause_moves_the_deadline_by_the_paused_business_time():
    start = paris(2026, 11, 30, 10)  # Monday
    assert business_add(start, 24) == paris(2026, 12, 2, 16)
    pauses = [(paris(2026, 12, 1, 9), paris(2026, 12, 1, 14))]  # 5 business hours on Tuesday
    assert business_add(start, 24, pauses=pauses) == paris(2026, 12, 3, 12)


def test_pause_outside_business_hours_moves_nothing():
    pauses = [(paris(2026, 12, 1, 19), paris(2026, 12, 2, 8))]
    assert business_add(paris(2026, 11, 30, 10), 24, pauses=pauses) == paris(2026, 12, 2, 16)


def test_overlapping_pauses_count_once_and_before_start_count_nothing():
    pauses = [
        (paris(2026, 11, 27, 9), paris(2026, 11, 30, 11)),  # began before the start, 1 h after it
        (paris(2026, 12, 1, 9), paris(2026, 12, 1, 12)),
        (paris(2026, 12, 1, 11), paris(2026, 12, 1, 14)),  # overlaps the previous one
    ]
    start = paris(2026, 11, 30, 10)
    assert business_add(start, 24, pauses=pauses) == paris(2026, 12, 3, 13)
    assert business_elapsed(start, paris(2026, 12, 3, 13), pauses=pauses) == 24 * H


def test_elapsed_examples():
    assert business_elapsed(paris(2026, 11, 27, 17), paris(2026, 11, 30, 12)) == 4 * H
    assert business_elapsed(paris(2026, 11, 30, 12), paris(2026, 11, 27, 17)) == datetime.timedelta(0)
    assert business_elapsed(paris(2026, 11, 28, 0), paris(2026, 11, 29, 23)) == datetime.timedelta(0)


# --- support hours, holidays --------------------------------------------------------------


def test_is_business_time_and_day():
    assert is_business_time(paris(2026, 11, 30, 9))
    assert not is_business_time(paris(2026, 11, 30, 18))
    assert not is_business_time(paris(2026, 7, 14, 10))
    assert is_business_time(paris(2026, 4, 3, 10))
    assert not is_business_time(paris(2026, 4, 3, 10), subdivision="57")
    assert not is_business_day(datetime.date(2026, 11, 28))


def test_business_intervals_split_a_span():
    parts = business_intervals(paris(2026, 11, 27, 16), paris(2026, 11, 30, 10))
    assert parts == [(paris(2026, 11, 27, 16), paris(2026, 11, 27, 18)), (paris(2026, 11, 30, 9), paris(2026, 11, 30, 10))]


def test_public_holidays_are_cached_per_year_and_subdivision():
    assert public_holidays(2026, "57") is public_holidays(2026, "57")
    assert datetime.date(2026, 4, 3) in public_holidays(2026, "57")
    assert datetime.date(2026, 4, 3) not in public_holidays(2026, "")


def test_business_hours_come_from_settings(settings):
    settings.BUSINESS_HOURS_START = "08:00"
    settings.BUSINESS_HOURS_END = "12:00"
    assert calendar_for("").day_us == 4 * 3600 * 10**6
    assert business_add(paris(2026, 11, 27, 11), 2) == paris(2026, 11, 30, 9)


# --- properties (hypothesis) ----------------------------------------------------------------

instants = st.datetimes(
    min_value=datetime.datetime(2024, 1, 1), max_value=datetime.datetime(2029, 12, 31), timezones=st.just(PARIS)
)
durations = st.integers(min_value=0, max_value=400 * 3600).map(lambda s: datetime.timedelta(seconds=s))
subdivisions = st.sampled_from(["", "57", "6AE"])


@settings(max_examples=300, deadline=None)
@given(start=instants, h1=durations, h2=durations, sub=subdivisions)
def test_property_add_is_associative(start, h1, h2, sub):
    once = business_add(start, h1 + h2, subdivision=sub)
    twice = business_add(business_add(start, h1, subdivision=sub), h2, subdivision=sub)
    assert once == twice


@settings(max_examples=300, deadline=None)
@given(start=instants, h=durations, sub=subdivisions)
def test_property_elapsed_inverts_add(start, h, sub):
    end = business_add(start, h, subdivision=sub)
    assert end >= start
    assert business_elapsed(start, end, subdivision=sub) == h


@settings(max_examples=200, deadline=None)
@given(start=instants, h=durations.filter(bool))
def test_property_deadline_is_inside_business_hours(start, h):
    end = business_add(start, h).astimezone(PARIS)
    assert is_business_day(end.date())
    assert datetime.time(9) < end.time() <= datetime.time(18)


pause_lists = st.lists(
    st.tuples(instants, st.integers(min_value=1, max_value=72 * 3600)).map(
        lambda t: (t[0], t[0] + datetime.timedelta(seconds=t[1]))
    ),
    max_size=4,
)


@settings(max_examples=300, deadline=None)
@given(start=instants, h=durations, pauses=pause_lists)
def test_property_pauses_elapsed_inverts_add(start, h, pauses):
    end = business_add(start, h, pauses=pauses)
    assert end >= business_add(start, h)
    assert business_elapsed(start, end, pauses=pauses) == h


@settings(max_examples=200, deadline=None)
@given(a=instants, b=instants, c=instants)
def test_property_elapsed_is_additive(a, b, c):
    a, b, c = sorted([a, b, c])
    assert business_elapsed(a, c) == business_elapsed(a, b) + business_elapsed(b, c)


def test_far_dates_extend_the_calendar_table():
    start = paris(2090, 12, 29, 17)
    end = business_add(start, 30)
    assert end.year == 2091
    assert business_elapsed(start, end) == 30 * H
    with pytest.raises(ValueError):
        business_add(paris(1999, 12, 31, 17), 4)
