"""Undo right after booking: by whoever booked, within minutes, while nothing else happened to it."""

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from patients.tests.factories import PatientFactory
from scheduling.models import Appointment
from scheduling.services import (
    BOOKING_UNDONE,
    UNDO_BOOKING_WITHIN,
    book_appointment,
    can_undo_booking,
    confirm_appointment,
    undo_booking,
)
from scheduling.tests.factories import tomorrow_at
from staff.tests.factories import DoctorFactory, UserFactory

pytestmark = pytest.mark.django_db
S = Appointment.Status


@pytest.fixture
def booked():
    clerk = UserFactory()
    doctor = DoctorFactory()
    appointment = book_appointment(patient=PatientFactory(), doctor=doctor, start=tomorrow_at(10), booked_by=clerk)
    return appointment, clerk


def test_undo_frees_the_time_and_keeps_the_appointment_as_cancelled(booked):
    appointment, clerk = booked
    undo_booking(appointment=appointment, by=clerk)
    appointment.refresh_from_db()
    assert appointment.status == S.CANCELLED
    assert appointment.cancellation_reason == BOOKING_UNDONE
    assert appointment.cancelled_by == clerk
    # The time is bookable again at once.
    again = book_appointment(
        patient=PatientFactory(), doctor=appointment.doctor, start=appointment.start, booked_by=clerk
    )
    assert again.status == S.SCHEDULED


def test_someone_else_cannot_undo_it(booked):
    appointment, _ = booked
    other = UserFactory()
    assert not can_undo_booking(appointment, other)
    with pytest.raises(ValidationError, match="Cancel it instead"):
        undo_booking(appointment=appointment, by=other)
    appointment.refresh_from_db()
    assert appointment.status == S.SCHEDULED


def test_not_after_the_window(booked):
    appointment, clerk = booked
    with time_machine.travel(timezone.now() + UNDO_BOOKING_WITHIN + timedelta(seconds=1)):
        assert not can_undo_booking(appointment, clerk)
        with pytest.raises(ValidationError):
            undo_booking(appointment=appointment, by=clerk)
    with time_machine.travel(timezone.now() + UNDO_BOOKING_WITHIN - timedelta(seconds=5)):
        assert can_undo_booking(appointment, clerk)


def test_not_once_something_else_happened_to_it(booked):
    appointment, clerk = booked
    confirm_appointment(appointment=appointment, by=clerk)
    appointment.refresh_from_db()
    with pytest.raises(ValidationError):
        undo_booking(appointment=appointment, by=clerk)


def test_a_stale_copy_is_judged_by_the_stored_row(booked):
    appointment, clerk = booked
    stale = Appointment.objects.get(pk=appointment.pk)
    confirm_appointment(appointment=appointment, by=clerk)
    with pytest.raises(ValidationError):
        undo_booking(appointment=stale, by=clerk)


def test_a_copy_loaded_before_the_patient_was_archived_cannot_be_booked():
    from patients.services import archive_patient

    clerk = UserFactory()
    stale = PatientFactory()
    archive_patient(patient=type(stale).objects.get(pk=stale.pk), by=clerk)
    with pytest.raises(ValidationError, match="archived"):
        book_appointment(patient=stale, doctor=DoctorFactory(), start=tomorrow_at(10), booked_by=clerk)
    assert not Appointment.objects.exists()
