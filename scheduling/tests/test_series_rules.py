"""The occurrences of a series, over random rules, first days and times, in two zones with clock changes.

Each example's occurrences are compared with a brute-force walk over the calendar (every day from the first,
kept when its weekday is chosen and its week, or day, is a multiple of the interval), then checked for what a
front desk relies on: the same local wall time every time (its UTC time moving with the clocks), on a chosen
weekday, inside the end date, the count and the caps, in order, with no duplicates."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.utils import timezone
from hypothesis import example, given, settings
from hypothesis import strategies as st

from scheduling.models import SERIES_MAX_COUNT, SERIES_MAX_SPAN, Series
from scheduling.series import Rule, at_wall_time, wall_times

ZONES = ["Europe/London", "America/New_York"]
# Leap days and the days the clocks change in both zones, besides any day.
SPECIAL_DAYS = [
    date(2024, 2, 29),
    date(2028, 2, 29),
    date(2024, 3, 31),
    date(2024, 10, 27),
    date(2027, 3, 28),
    date(2027, 10, 31),
    date(2024, 3, 10),
    date(2024, 11, 3),
    date(2027, 3, 14),
    date(2027, 11, 7),
]
days = st.one_of(st.sampled_from(SPECIAL_DAYS), st.dates(date(2024, 1, 1), date(2030, 12, 31)))
times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 5, 30, 45]))
weekday_sets = st.sets(st.integers(0, 6), max_size=7)


@st.composite
def rules(draw):
    unit = draw(st.sampled_from([Series.Unit.WEEKS, Series.Unit.DAYS]))
    first = datetime.combine(draw(days), draw(times))
    weekdays = tuple(sorted(draw(weekday_sets) | {first.weekday()})) if unit == Series.Unit.WEEKS else ()
    if draw(st.booleans()):
        rule = Rule(unit, draw(st.integers(1, 5)), weekdays, count=draw(st.integers(1, 60)))
    else:
        until = first.date() + timedelta(days=draw(st.integers(0, 500)))
        rule = Rule(unit, draw(st.integers(1, 5)), weekdays, until=until)
    return first, rule


def brute_force(first, rule):
    """Every day from the first, one by one: the occurrences as a person with a calendar would count them."""
    found, day = [], first.date()
    last = first.date() + SERIES_MAX_SPAN - timedelta(days=1)
    if rule.until:
        last = min(last, rule.until)
    first_monday = first.date() - timedelta(days=first.weekday())
    while day <= last and len(found) < min(rule.count or SERIES_MAX_COUNT, SERIES_MAX_COUNT):
        if rule.unit == Series.Unit.DAYS:
            wanted = (day - first.date()).days % rule.interval == 0
        else:
            week = ((day - timedelta(days=day.weekday())) - first_monday).days // 7
            wanted = day.weekday() in rule.weekdays and week % rule.interval == 0
        if wanted:
            found.append(datetime.combine(day, first.time()))
        day += timedelta(days=1)
    return found


@pytest.mark.parametrize("zone", ZONES)
@settings(max_examples=150, deadline=None)
@given(case=rules())
@example(case=(datetime(2024, 2, 29, 9), Rule(Series.Unit.WEEKS, 1, (3,), count=60)))
@example(case=(datetime(2024, 3, 24, 1, 30), Rule(Series.Unit.DAYS, 1, (), count=14)))
@example(case=(datetime(2024, 10, 20, 1, 30), Rule(Series.Unit.WEEKS, 1, (6,), count=3)))
def test_occurrences_keep_the_wall_time_on_chosen_days_within_the_limits(zone, case):
    first, rule = case
    with timezone.override(zone):
        found = wall_times(first, rule)
        instants = [at_wall_time(naive) for naive in found]

    assert found == brute_force(first, rule)
    assert found[0] == first
    assert found == sorted(set(found))  # in order, no duplicates
    assert len(found) <= min(rule.count or SERIES_MAX_COUNT, SERIES_MAX_COUNT)
    assert found[-1].date() < first.date() + SERIES_MAX_SPAN
    assert all(naive.time() == first.time() for naive in found)
    if rule.until:
        assert found[-1].date() <= rule.until
    if rule.unit == Series.Unit.WEEKS:
        assert {naive.weekday() for naive in found} <= set(rule.weekdays)
    with timezone.override(zone):
        for naive, (aware, exists) in zip(found, instants, strict=True):
            shown = timezone.localtime(aware).replace(tzinfo=None)
            # Either the same wall time, or a wall time the clocks skip (which the list then names as a clash).
            assert (shown == naive) is exists
            if not exists:
                assert naive.hour in (1, 2) and abs(shown - naive) == timedelta(hours=1)
    stamps = [aware for aware, _ in instants]
    assert stamps == sorted(set(stamps))


def test_a_weekly_0900_stays_at_0900_in_london_as_its_utc_hour_moves():
    with timezone.override("Europe/London"):
        found = wall_times(datetime(2027, 3, 15, 9), Rule(Series.Unit.WEEKS, 1, (0,), count=4))
        utc = [at_wall_time(naive)[0].astimezone(UTC) for naive in found]
    assert [naive.time() for naive in found] == [time(9)] * 4
    assert [moment.hour for moment in utc] == [9, 9, 8, 8]  # British Summer Time from 28 March


def test_new_york_changes_on_its_own_day():
    with timezone.override("America/New_York"):
        found = wall_times(datetime(2027, 3, 8, 9), Rule(Series.Unit.DAYS, 7, (), count=2))
        offsets = [at_wall_time(naive)[0].utcoffset() for naive in found]
    assert offsets == [timedelta(hours=-5), timedelta(hours=-4)]


def test_the_first_day_must_be_a_chosen_weekday():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        wall_times(datetime(2027, 3, 15, 9), Rule(Series.Unit.WEEKS, 1, (1, 3), count=4))  # a Monday


def test_count_and_span_are_capped():
    assert len(wall_times(datetime(2027, 1, 4, 9), Rule(Series.Unit.DAYS, 1, (), count=500))) == SERIES_MAX_COUNT
    yearly = wall_times(datetime(2027, 1, 4, 9), Rule(Series.Unit.WEEKS, 4, (0,), until=date(2030, 1, 1)))
    assert yearly[-1].date() < date(2027, 1, 4) + SERIES_MAX_SPAN and len(yearly) == 14
