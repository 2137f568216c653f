"""Undo right after booking, through the appointment's page."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from patients.tests.factories import PatientFactory
from scheduling.models import Appointment
from scheduling.services import BOOKING_UNDONE
from scheduling.tests.factories import AppointmentFactory
from staff.tests.factories import DoctorFactory

pytestmark = pytest.mark.django_db

S = Appointment.Status
BOOK = reverse("scheduling:book")


def tomorrow():
    return timezone.localdate() + timedelta(days=1)


def test_undo_right_after_booking_frees_the_time_and_returns_to_booking(reception):
    doctor, patient = DoctorFactory(), PatientFactory()
    reception.post(f"{BOOK}?patient={patient.pk}", {"patient": patient.pk, "doctor": doctor.pk,
                                                    "date": tomorrow(), "time": "10:00"})  # fmt: skip
    appointment = Appointment.objects.get()
    page = reception.get(appointment.get_absolute_url()).content.decode()
    assert "Undo booking" in page

    response = reception.post(reverse("scheduling:undo_booking", args=[appointment.pk]))

    appointment.refresh_from_db()
    assert (appointment.status, appointment.cancellation_reason) == (S.CANCELLED, BOOKING_UNDONE)
    target = urlsplit(response["Location"])
    assert target.path == BOOK
    assert parse_qs(target.query) == {
        "patient": [str(patient.pk)],
        "doctor": [str(doctor.pk)],
        "date": [tomorrow().isoformat()],
    }
    assert "Undo booking" not in reception.get(appointment.get_absolute_url()).content.decode()


def test_someone_elses_booking_cannot_be_undone_and_offers_no_undo(reception):
    appointment = AppointmentFactory()
    assert "Undo booking" not in reception.get(appointment.get_absolute_url()).content.decode()
    response = reception.post(reverse("scheduling:undo_booking", args=[appointment.pk]), follow=True)
    appointment.refresh_from_db()
    assert appointment.status == S.SCHEDULED
    assert "Cancel it instead" in response.content.decode()
