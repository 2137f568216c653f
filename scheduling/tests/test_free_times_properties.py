"""Offered free times are really free, across random days: any weekday, the days the clocks change, 29
February; mixed appointment lengths; the doctor's and the patient's own appointments both in the way.

The oracle is independent of the slot finder: every offered time is booked through the booking service
(which checks working hours and both kinds of overlap against the database), each in a savepoint.
"""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import transaction
from django.http import QueryDict
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from patients.tests.factories import PatientFactory
from scheduling.forms import BookingForm, with_offered_slot
from scheduling.services import book_appointment
from scheduling.slots import free_slots, nearest_free_slots
from scheduling.tests.factories import AppointmentFactory
from staff.tests.factories import DoctorFactory, UserFactory

pytestmark = pytest.mark.django_db

LENGTHS = [5, 10, 15, 20, 30, 45]
EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def special_days():
    """The next days the clocks go forward and back, and the next 29 February, all in the future."""
    days, today = {}, timezone.localdate()
    for n in range(1, 800):
        day = today + timedelta(days=n)
        start, end = (
            timezone.make_aware(datetime.combine(d, time.min)).astimezone(UTC) for d in (day, day + timedelta(days=1))
        )
        length = end - start  # in UTC: between two times of one zone Python subtracts wall clocks
        if length != timedelta(days=1):
            days.setdefault("forward" if length < timedelta(days=1) else "back", day)
        if (day.month, day.day) == (2, 29):
            days.setdefault("leap", day)
    return days


SPECIAL = special_days()
day_choices = st.one_of(
    st.integers(1, 7).map(lambda n: timezone.localdate() + timedelta(days=n)),
    st.sampled_from(sorted(SPECIAL.values())),
)
minutes = st.integers(0, 24 * 60 - 5).map(lambda m: m - m % 5)
intervals = st.tuples(minutes, st.integers(30, 8 * 60)).map(lambda pair: (pair[0], min(pair[0] + pair[1], 24 * 60 - 1)))


def clock(minute):
    return time(minute // 60, minute % 60)


def at(day, minute):
    # In UTC, so that adding a length is real time (a wall time the clocks skip reads as the hour before).
    return timezone.make_aware(datetime.combine(day, clock(minute))).astimezone(UTC)


def in_a_savepoint(check):
    with transaction.atomic():
        check()
        transaction.set_rollback(True)


def bookable(slot, patient, clerk):
    """The booking service accepts the slot (then it is undone): free, inside hours, for both people."""
    try:
        with transaction.atomic():
            book_appointment(patient=patient, doctor=slot.doctor, start=slot.start, end=slot.end, booked_by=clerk)
            transaction.set_rollback(True)
    except Exception as error:  # noqa: BLE001 - the assertion below names it
        return error
    return None


@EXAMPLES
@given(
    day=day_choices,
    hours=st.lists(intervals, min_size=1, max_size=2),
    busy=st.lists(st.tuples(minutes, st.sampled_from(LENGTHS)), max_size=8),
    patient_busy=st.lists(st.tuples(minutes, st.sampled_from(LENGTHS)), max_size=2),
    asked=minutes,
    length=st.sampled_from(LENGTHS),
)
def test_every_offered_time_can_be_booked(day, hours, busy, patient_busy, asked, length):
    def check():
        kept = []  # a doctor's hours on a day do not overlap (the doctor profile form refuses that)
        for a, b in sorted(hours):
            if b > a and not any(a < end and b > start for start, end in kept):
                kept.append((a, b))
        doctor = DoctorFactory(hours=[(day.weekday(), clock(a), clock(b)) for a, b in kept])
        elsewhere = DoctorFactory(hours=[])
        patient, clerk = PatientFactory(), UserFactory()
        for who, plans in ((doctor, busy), (elsewhere, patient_busy)):
            for start, minutes_long in plans:
                begin = at(day, start)
                if who.appointments.overlapping(begin, begin + timedelta(minutes=minutes_long)).exists():
                    continue  # the database refuses overlaps: keep the first
                AppointmentFactory(
                    doctor=who,
                    patient=patient if who is elsewhere else PatientFactory(),
                    start=begin,
                    end=begin + timedelta(minutes=minutes_long),
                )
        around = at(day, asked)
        nearest = nearest_free_slots(doctor=doctor, around=around, length=timedelta(minutes=length), patient=patient)
        following = free_slots(
            doctor=doctor, start_from=around, days=2, length=timedelta(minutes=length), patient=patient, limit=8
        )
        for found in (nearest, following):
            starts = [slot.start for slot in found]
            assert starts == sorted(starts) and len(set(starts)) == len(starts)
            for slot in found:
                assert slot.end - slot.start == timedelta(minutes=length)
                refused = bookable(slot, patient, clerk)
                assert refused is None, f"offered {slot.local_start:%Y-%m-%d %H:%M %Z} but: {refused}"
                # The button's value books that very instant through the form, also in a repeated hour.
                typed = QueryDict(mutable=True)
                typed.update({"slot": slot.choice, "minutes": length, "doctor": "", "date": "", "time": ""})
                form = BookingForm(with_offered_slot(typed))
                assert form.is_valid(), form.errors
                assert form.cleaned_data["start"] == slot.start
        assert len(nearest) <= 6

    in_a_savepoint(check)


def test_the_special_days_are_covered():
    assert {"forward", "back", "leap"} <= set(SPECIAL), SPECIAL
    assert SPECIAL["leap"].month == 2 and SPECIAL["leap"].day == 29
