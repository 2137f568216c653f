"""The booking service: book, reschedule, cancel, and the rules each one enforces."""

from datetime import time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from patients.tests.factories import PatientFactory
from scheduling.models import Appointment
from scheduling.services import book_appointment, cancel_appointment, reschedule_appointment
from scheduling.tests.factories import AppointmentFactory, local
from staff.tests.factories import DoctorFactory, UserFactory

pytestmark = pytest.mark.django_db

S = Appointment.Status
MONDAY = 0


def next_monday():
    today = timezone.localdate()
    return today + timedelta(days=7 - today.weekday())


def at(hour, minute=0, day=None):
    return local(day or next_monday(), hour, minute)


def book(**kwargs):
    kwargs.setdefault("patient", PatientFactory())
    kwargs.setdefault("doctor", DoctorFactory())
    kwargs.setdefault("start", at(10))
    kwargs.setdefault("booked_by", UserFactory())
    return book_appointment(**kwargs)


def refusal(call, **kwargs):
    with pytest.raises(ValidationError) as excinfo:
        call(**kwargs)
    return " ".join(excinfo.value.messages)


# --- booking ------------------------------------------------------------------------------------


def test_booking_uses_the_doctors_consultation_length():
    doctor = DoctorFactory(consultation_minutes=30)
    appointment = book(doctor=doctor, start=at(9), reason="Cough")

    appointment.refresh_from_db()
    assert (appointment.start, appointment.end) == (at(9), at(9, 30))
    assert appointment.status == S.SCHEDULED
    assert appointment.reason == "Cough"


def test_booking_with_an_explicit_end_keeps_it():
    appointment = book(start=at(9), end=at(9, 45))
    assert appointment.duration == timedelta(minutes=45)


def test_booking_outside_working_hours_is_refused_naming_the_hours():
    doctor = DoctorFactory(hours=[(MONDAY, time(9), time(12)), (MONDAY, time(14), time(17))])

    message = refusal(book, doctor=doctor, start=at(12, 50))

    assert "09:00–12:00, 14:00–17:00" in message
    assert "Monday" in message
    assert not Appointment.objects.exists()


def test_booking_that_runs_past_the_end_of_hours_is_refused():
    doctor = DoctorFactory(hours=[(MONDAY, time(9), time(12))])
    message = refusal(book, doctor=doctor, start=at(11, 50))
    assert "09:00–12:00" in message


def test_booking_that_fills_the_last_minutes_of_hours_is_allowed():
    doctor = DoctorFactory(hours=[(MONDAY, time(9), time(12))])
    assert book(doctor=doctor, start=at(11, 40)).end == at(12)


def test_booking_on_a_day_the_doctor_does_not_work_is_refused():
    doctor = DoctorFactory(hours=[(1, time(9), time(17))])
    message = refusal(book, doctor=doctor, start=at(10))
    assert "does not work on Mondays" in message


def test_doctor_overlap_is_refused_naming_the_other_appointment():
    doctor = DoctorFactory()
    first = book(doctor=doctor, start=at(10))

    message = refusal(book, doctor=doctor, start=at(10, 10))

    assert "10:00–10:20" in message
    assert str(first.patient) in message
    assert Appointment.objects.count() == 1


def test_patient_overlap_is_refused_naming_the_other_appointment():
    patient = PatientFactory()
    first = book(patient=patient, start=at(10))

    message = refusal(book, patient=patient, doctor=DoctorFactory(), start=at(10, 10))

    assert "10:00–10:20" in message
    assert patient.full_name in message
    assert str(first.doctor) in message
    assert Appointment.objects.count() == 1


def test_an_appointment_covering_another_entirely_is_refused():
    doctor = DoctorFactory()
    book(doctor=doctor, start=at(10, 5), end=at(10, 10))
    refusal(book, doctor=doctor, start=at(10), end=at(11))


@pytest.mark.parametrize("same", ["doctor", "patient"])
def test_back_to_back_appointments_are_allowed(same):
    shared = {"doctor": DoctorFactory()} if same == "doctor" else {"patient": PatientFactory()}
    book(start=at(10), **shared)
    book(start=at(10, 20), **shared)
    book(start=at(9, 40), **shared)
    assert Appointment.objects.count() == 3


@pytest.mark.parametrize("status", [S.CANCELLED, S.NO_SHOW])
def test_inactive_appointments_do_not_hold_the_slot(status):
    doctor, patient = DoctorFactory(), PatientFactory()
    AppointmentFactory(doctor=doctor, patient=patient, start=at(10), status=status)

    book(doctor=doctor, patient=patient, start=at(10))

    assert Appointment.objects.active().count() == 1


@pytest.mark.parametrize("status", [S.CONFIRMED, S.CHECKED_IN, S.IN_PROGRESS, S.COMPLETED])
def test_every_active_status_holds_the_slot(status):
    doctor = DoctorFactory()
    AppointmentFactory(doctor=doctor, start=at(10), status=status)
    refusal(book, doctor=doctor, start=at(10))


def test_a_cancelled_booking_frees_its_slot():
    doctor = DoctorFactory()
    first = book(doctor=doctor, start=at(10))
    cancel_appointment(appointment=first, reason="Patient phoned", by=UserFactory())

    book(doctor=doctor, start=at(10))

    assert Appointment.objects.filter(status=S.SCHEDULED).count() == 1


def test_booking_on_a_past_day_is_refused():
    yesterday = timezone.localdate() - timedelta(days=1)
    message = refusal(book, start=local(yesterday, 10))
    assert "day that has passed" in message


def test_booking_earlier_today_is_allowed():
    today = timezone.localdate()
    doctor = DoctorFactory(hours=[(today.weekday(), time(0), time(23, 59))])

    appointment = book(doctor=doctor, start=local(today, 0))

    assert appointment.start <= timezone.now()


def test_booking_a_past_day_is_allowed_when_asked_explicitly():
    yesterday = timezone.localdate() - timedelta(days=1)
    assert book(start=local(yesterday, 10), allow_past=True).pk


def test_booking_for_an_archived_patient_is_refused():
    patient = PatientFactory()
    patient.archive(by=UserFactory())

    message = refusal(book, patient=patient)

    assert "archived" in message


def test_booking_with_an_inactive_doctor_is_refused():
    message = refusal(book, doctor=DoctorFactory(is_active=False))
    assert "not taking appointments" in message


def test_booking_with_a_doctor_whose_account_is_disabled_is_refused():
    doctor = DoctorFactory(user__is_active=False)
    message = refusal(book, doctor=doctor)
    assert "not taking appointments" in message


@pytest.mark.parametrize(("minutes", "words"), [(4, "at least 5 minutes"), (8 * 60 + 5, "more than 8 hours")])
def test_booking_length_is_bounded(minutes, words):
    message = refusal(book, start=at(9), end=at(9) + timedelta(minutes=minutes))
    assert words in message


# --- rescheduling -------------------------------------------------------------------------------


def test_reschedule_keeps_the_duration():
    appointment = book(start=at(9), end=at(9, 45))

    moved = reschedule_appointment(appointment=appointment, start=at(14), by=UserFactory())

    moved.refresh_from_db()
    assert (moved.start, moved.end) == (at(14), at(14, 45))


def test_reschedule_to_another_doctor_keeps_the_duration():
    appointment = book(start=at(9), end=at(9, 45))
    other = DoctorFactory(consultation_minutes=15)

    moved = reschedule_appointment(appointment=appointment, start=at(11), doctor=other, by=UserFactory())

    moved.refresh_from_db()
    assert moved.doctor == other
    assert moved.end == at(11, 45)


def test_reschedule_may_overlap_its_own_old_time():
    appointment = book(start=at(10))
    moved = reschedule_appointment(appointment=appointment, start=at(10, 10), by=UserFactory())
    assert (moved.start, moved.end) == (at(10, 10), at(10, 30))


def test_reschedule_onto_another_appointment_is_refused():
    doctor = DoctorFactory()
    other = book(doctor=doctor, start=at(11))
    appointment = book(doctor=doctor, start=at(9))

    message = refusal(reschedule_appointment, appointment=appointment, start=at(11, 10), by=UserFactory())

    assert str(other.patient) in message
    assert Appointment.objects.get(pk=appointment.pk).start == at(9)


def test_reschedule_onto_the_patients_other_appointment_is_refused():
    patient = PatientFactory()
    book(patient=patient, start=at(11))
    appointment = book(patient=patient, start=at(9))

    message = refusal(reschedule_appointment, appointment=appointment, start=at(11), by=UserFactory())

    assert patient.full_name in message


def test_reschedule_outside_working_hours_is_refused():
    doctor = DoctorFactory(hours=[(MONDAY, time(9), time(12))])
    appointment = book(doctor=doctor, start=at(9))

    message = refusal(reschedule_appointment, appointment=appointment, start=at(13), by=UserFactory())

    assert "09:00–12:00" in message


def test_reschedule_to_a_past_day_is_refused():
    appointment = book(start=at(9))
    yesterday = timezone.localdate() - timedelta(days=1)
    refusal(reschedule_appointment, appointment=appointment, start=local(yesterday, 9), by=UserFactory())


@pytest.mark.parametrize("status", [S.SCHEDULED, S.CONFIRMED])
def test_scheduled_and_confirmed_appointments_can_be_rescheduled(status):
    appointment = AppointmentFactory(start=at(9), status=status)
    moved = reschedule_appointment(appointment=appointment, start=at(15), by=UserFactory())
    assert moved.start == at(15)
    assert moved.status == status


@pytest.mark.parametrize("status", [S.CHECKED_IN, S.IN_PROGRESS, S.COMPLETED, S.CANCELLED, S.NO_SHOW])
def test_other_statuses_cannot_be_rescheduled(status):
    appointment = AppointmentFactory(start=at(9), status=status)

    message = refusal(reschedule_appointment, appointment=appointment, start=at(15), by=UserFactory())

    assert "cannot be rescheduled" in message
    assert Appointment.objects.get().start == at(9)
