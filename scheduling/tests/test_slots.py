"""free_slots: the next bookable times from working hours and existing appointments."""

from datetime import time, timedelta

import pytest
from django.utils import timezone

from patients.tests.factories import PatientFactory
from scheduling.models import Appointment
from scheduling.slots import free_slots
from scheduling.tests.factories import AppointmentFactory, local
from staff.tests.factories import DoctorFactory, SpecialtyFactory

pytestmark = pytest.mark.django_db

MONDAY, TUESDAY = 0, 1


def next_monday():
    today = timezone.localdate()
    return today + timedelta(days=7 - today.weekday())


def at(hour, minute=0, day=None):
    return local(day or next_monday(), hour, minute)


def starts(slots):
    return [s.local_start.strftime("%a %H:%M") for s in slots]


def from_monday(**kwargs):
    """Slots from the start of next Monday; one day unless told otherwise, so next week stays out."""
    kwargs.setdefault("start_from", at(0))
    kwargs.setdefault("days", 1)
    return free_slots(**kwargs)


def test_slots_start_when_the_doctor_starts_and_step_by_consultation_length():
    doctor = DoctorFactory(hours=[(MONDAY, time(9), time(12))], consultation_minutes=30)

    slots = from_monday(doctor=doctor, limit=3)

    assert starts(slots) == ["Mon 09:00", "Mon 09:30", "Mon 10:00"]
    assert all(s.end - s.start == timedelta(minutes=30) and s.doctor == doctor for s in slots)


def test_slots_stay_inside_working_intervals():
    doctor = DoctorFactory(
        hours=[(MONDAY, time(9), time(10)), (MONDAY, time(14), time(15)), (TUESDAY, time(8), time(9))]
    )

    slots = from_monday(doctor=doctor, days=2, limit=20)

    assert starts(slots) == [
        "Mon 09:00", "Mon 09:20", "Mon 09:40",
        "Mon 14:00", "Mon 14:20", "Mon 14:40",
        "Tue 08:00", "Tue 08:20", "Tue 08:40",
    ]  # fmt: skip


def test_a_slot_that_would_run_past_the_end_of_hours_is_not_offered():
    doctor = DoctorFactory(hours=[(MONDAY, time(9), time(9, 50))], consultation_minutes=20)
    assert starts(from_monday(doctor=doctor)) == ["Mon 09:00", "Mon 09:20"]


def test_an_explicit_length_overrides_the_consultation_length():
    doctor = DoctorFactory(hours=[(MONDAY, time(9), time(11))])
    assert starts(from_monday(doctor=doctor, length=timedelta(minutes=60))) == ["Mon 09:00", "Mon 10:00"]


def test_slots_jump_past_existing_appointments():
    doctor = DoctorFactory(hours=[(MONDAY, time(9), time(11))])
    AppointmentFactory(doctor=doctor, start=at(9, 20), end=at(9, 55))

    slots = from_monday(doctor=doctor)

    # 09:55 is the end of the booking; slots after it are kept on the 5-minute grid.
    assert starts(slots) == ["Mon 09:00", "Mon 09:55", "Mon 10:15", "Mon 10:35"]


def test_a_slot_ending_exactly_when_an_appointment_starts_is_offered():
    doctor = DoctorFactory(hours=[(MONDAY, time(9), time(10))])
    AppointmentFactory(doctor=doctor, start=at(9, 20), end=at(9, 40))
    assert starts(from_monday(doctor=doctor)) == ["Mon 09:00", "Mon 09:40"]


@pytest.mark.parametrize("status", [Appointment.Status.CANCELLED, Appointment.Status.NO_SHOW])
def test_cancelled_and_no_show_appointments_leave_the_slot_free(status):
    doctor = DoctorFactory(hours=[(MONDAY, time(9), time(10))])
    AppointmentFactory(doctor=doctor, start=at(9), status=status)
    assert starts(from_monday(doctor=doctor))[0] == "Mon 09:00"


def test_another_doctors_appointments_do_not_block():
    doctor = DoctorFactory(hours=[(MONDAY, time(9), time(10))])
    AppointmentFactory(start=at(9))
    assert starts(from_monday(doctor=doctor))[0] == "Mon 09:00"


def test_the_patients_own_bookings_with_other_doctors_are_skipped():
    doctor = DoctorFactory(hours=[(MONDAY, time(9), time(10))])
    patient = PatientFactory()
    AppointmentFactory(patient=patient, start=at(9), end=at(9, 30))

    assert starts(from_monday(doctor=doctor, patient=patient)) == ["Mon 09:30"]
    assert starts(from_monday(doctor=doctor)) == ["Mon 09:00", "Mon 09:20", "Mon 09:40"]


def test_specialty_search_merges_doctors_in_time_order():
    cardiology = SpecialtyFactory(name="Cardiology")
    adams = DoctorFactory(specialty=cardiology, user__last_name="Adams", hours=[(MONDAY, time(9), time(12))])
    baker = DoctorFactory(specialty=cardiology, user__last_name="Baker", hours=[(MONDAY, time(8), time(12))])
    AppointmentFactory(doctor=baker, start=at(8), end=at(8, 40))
    DoctorFactory(specialty=SpecialtyFactory(name="Dermatology"), hours=[(MONDAY, time(7), time(12))])
    DoctorFactory(specialty=cardiology, is_active=False, hours=[(MONDAY, time(7), time(12))])

    slots = from_monday(specialty=cardiology, limit=4)

    assert [(s.local_start.strftime("%H:%M"), s.doctor) for s in slots] == [
        ("08:40", baker),
        ("09:00", adams),
        ("09:00", baker),
        ("09:20", adams),
    ]


def test_limit_caps_the_number_of_slots():
    doctor = DoctorFactory()
    assert len(from_monday(doctor=doctor, limit=5)) == 5
    assert len(from_monday(doctor=doctor, limit=1)) == 1


def test_days_bounds_the_search():
    doctor = DoctorFactory(hours=[(TUESDAY, time(9), time(10))])
    assert from_monday(doctor=doctor, days=1) == []
    assert starts(from_monday(doctor=doctor, days=2))[0] == "Tue 09:00"


def test_an_inactive_doctor_has_no_slots():
    assert from_monday(doctor=DoctorFactory(is_active=False)) == []


def test_slots_are_never_in_the_past():
    now = timezone.now()
    doctor = DoctorFactory(hours=[(d, time(0), time(23, 59)) for d in range(7)])

    slots = free_slots(doctor=doctor, start_from=now - timedelta(days=3), limit=5)

    assert all(s.start >= now for s in slots)
    # The first slot is the next free one on the 5-minute grid, not days ahead.
    assert slots[0].start - now < timedelta(minutes=30)


def test_slots_start_from_the_requested_time_rounded_to_the_grid():
    doctor = DoctorFactory(hours=[(MONDAY, time(9), time(12))])
    assert starts(from_monday(doctor=doctor, start_from=at(10, 2), limit=2)) == ["Mon 10:05", "Mon 10:25"]


def test_free_slots_queries_do_not_grow_with_the_number_of_doctors(django_assert_num_queries):
    specialty = SpecialtyFactory(name="General practice")
    patient = PatientFactory()
    for _ in range(5):
        doctor = DoctorFactory(specialty=specialty)
        AppointmentFactory(doctor=doctor, start=at(9))

    with django_assert_num_queries(4):
        slots = from_monday(specialty=specialty, patient=patient, limit=10)

    assert len(slots) == 10
