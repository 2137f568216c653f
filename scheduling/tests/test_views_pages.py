"""Booking and the appointment's day, through the pages reception, nurses and doctors use."""

from datetime import time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from clinic.tests import fields
from patients.tests.factories import PatientFactory
from scheduling.models import Appointment
from scheduling.tests.factories import AppointmentFactory, local, tomorrow_at
from staff.tests.factories import DoctorFactory

pytestmark = pytest.mark.django_db

Status = Appointment.Status
BOOK = reverse("scheduling:book")


def field_block(html, name):
    """The rendered block of one form field (label, input, help, errors), from _form_field.html."""
    return fields.field_block(html, f"id_{name}")


def booking(patient, doctor, *, day=None, time="10:00", minutes="20", reason="Knee pain"):
    day = day or timezone.localdate() + timedelta(days=1)
    return {
        "patient": patient.pk,
        "doctor": doctor.pk,
        "date": day.isoformat(),
        "time": time,
        "minutes": minutes,
        "reason": reason,
    }


def test_reception_books_through_the_form_and_lands_on_the_appointment(reception):
    patient, doctor = PatientFactory(), DoctorFactory()
    page = reception.get(BOOK, {"patient": patient.pk})
    assert page.status_code == 200
    assert patient.full_name in page.content.decode()

    response = reception.post(BOOK, booking(patient, doctor, time="10:00", minutes="30"))

    appointment = Appointment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == appointment.get_absolute_url()
    assert (appointment.patient, appointment.doctor, appointment.booked_by) == (patient, doctor, reception.user)
    assert appointment.start == tomorrow_at(10)
    assert appointment.end == tomorrow_at(10, 30)
    assert appointment.reason == "Knee pain"
    assert appointment.status == Status.SCHEDULED
    page = reception.get(response["Location"])
    assert "Booked:" in page.content.decode()


def test_empty_length_uses_the_doctors_consultation_length(reception):
    patient, doctor = PatientFactory(), DoctorFactory(consultation_minutes=15)
    reception.post(BOOK, booking(patient, doctor, time="11:00", minutes=""))
    assert Appointment.objects.get().end == tomorrow_at(11, 15)


def test_booking_over_the_doctors_appointment_shows_the_conflict_at_the_time_field(reception):
    existing = AppointmentFactory(start=tomorrow_at(10))
    response = reception.post(BOOK, booking(PatientFactory(), existing.doctor, time="10:10"))

    assert response.status_code == 200
    time_field = field_block(response.content.decode(), "time")
    assert "has-error" in time_field.split(">", 1)[0]
    assert f"{existing.doctor} already has an appointment" in time_field
    assert Appointment.objects.count() == 1


def test_booking_the_patient_twice_at_once_shows_the_conflict(reception):
    existing = AppointmentFactory(start=tomorrow_at(10))
    response = reception.post(BOOK, booking(existing.patient, DoctorFactory(), time="10:00"))

    assert response.status_code == 200
    assert f"{existing.patient.full_name} already has an appointment" in field_block(response.content.decode(), "time")
    assert Appointment.objects.count() == 1


def test_back_to_back_booking_is_not_a_conflict(reception):
    existing = AppointmentFactory(start=tomorrow_at(10))
    response = reception.post(BOOK, booking(PatientFactory(), existing.doctor, time="10:20"))
    assert response.status_code == 302
    assert Appointment.objects.count() == 2


def test_a_cancelled_appointment_frees_its_time(reception):
    existing = AppointmentFactory(start=tomorrow_at(10), status=Status.CANCELLED)
    response = reception.post(BOOK, booking(PatientFactory(), existing.doctor, time="10:00"))
    assert response.status_code == 302


def test_booking_outside_working_hours_says_so_at_the_time_field(reception):
    doctor = DoctorFactory()  # works 08:00–18:00 every day
    response = reception.post(BOOK, booking(PatientFactory(), doctor, time="17:50", minutes="20"))

    assert response.status_code == 200
    time_field = field_block(response.content.decode(), "time")
    assert "works 08:00–18:00" in time_field
    assert "outside those hours" in time_field
    assert not Appointment.objects.exists()


def test_booking_on_a_day_the_doctor_does_not_work(reception):
    tomorrow = timezone.localdate() + timedelta(days=1)
    other_day = (tomorrow.weekday() + 1) % 7
    doctor = DoctorFactory(hours=[(other_day, time(9), time(17))])
    response = reception.post(BOOK, booking(PatientFactory(), doctor, day=tomorrow))

    assert response.status_code == 200
    assert "does not work on" in field_block(response.content.decode(), "time")
    assert not Appointment.objects.exists()


def test_booking_on_a_past_day_is_refused(reception):
    yesterday = timezone.localdate() - timedelta(days=1)
    response = reception.post(BOOK, booking(PatientFactory(), DoctorFactory(), day=yesterday))

    assert response.status_code == 200
    assert "day that has passed" in field_block(response.content.decode(), "time")
    assert not Appointment.objects.exists()


def test_archived_patient_cannot_be_booked(reception):
    patient = PatientFactory(is_archived=True)
    assert reception.get(BOOK, {"patient": patient.pk}).status_code == 404
    assert reception.post(BOOK, booking(patient, DoctorFactory())).status_code == 404
    assert not Appointment.objects.exists()


def test_reception_checks_a_patient_in_from_the_dashboard(reception):
    appointment = AppointmentFactory(start=local(timezone.localdate(), 10))
    check_in = reverse("scheduling:check_in", args=[appointment.pk])
    dashboard = reception.get(reverse("home")).content.decode()
    assert f'action="{check_in}"' in dashboard

    response = reception.post(check_in, {"next": "/"})

    assert response.status_code == 302
    assert response["Location"] == "/"
    appointment.refresh_from_db()
    assert appointment.status == Status.CHECKED_IN
    assert appointment.checked_in_by == reception.user
    assert appointment.checked_in_at is not None
    page = reception.get("/").content.decode()
    assert f"{appointment.patient.full_name}: checked in." in page
    waiting = page.split('id="lane-waiting"', 1)[1].split("</section>", 1)[0]
    assert f'data-appointment="{appointment.pk}"' in waiting


def test_check_in_on_another_day_is_refused_with_a_message(reception):
    appointment = AppointmentFactory(start=tomorrow_at(10))
    response = reception.post(reverse("scheduling:check_in", args=[appointment.pk]), follow=True)

    assert response.redirect_chain[-1][0] == appointment.get_absolute_url()
    assert "only on the day of the appointment" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == Status.SCHEDULED


def test_next_pointing_off_site_is_ignored(reception):
    appointment = AppointmentFactory(start=local(timezone.localdate(), 10))
    response = reception.post(reverse("scheduling:check_in", args=[appointment.pk]), {"next": "https://evil.example/"})
    assert response["Location"] == appointment.get_absolute_url()


def test_cancel_needs_a_reason(reception):
    appointment = AppointmentFactory()
    url = reverse("scheduling:cancel", args=[appointment.pk])
    assert reception.get(url).status_code == 200

    for reason in ("", "   "):
        response = reception.post(url, {"reason": reason})
        assert response.status_code == 200
        assert "This field is required." in field_block(response.content.decode(), "reason")
        appointment.refresh_from_db()
        assert appointment.status == Status.SCHEDULED

    response = reception.post(url, {"reason": "Patient phoned to cancel"})
    assert response.status_code == 302
    assert response["Location"] == appointment.get_absolute_url()
    appointment.refresh_from_db()
    assert appointment.status == Status.CANCELLED
    assert appointment.cancellation_reason == "Patient phoned to cancel"
    assert appointment.cancelled_by == reception.user


def test_reschedule_moves_the_appointment(reception):
    appointment = AppointmentFactory(start=tomorrow_at(10), end=tomorrow_at(10, 30))
    url = reverse("scheduling:reschedule", args=[appointment.pk])
    form = reception.get(url).content.decode()
    assert 'value="10:00"' in form and 'value="30"' in form

    day_after = (timezone.localdate() + timedelta(days=2)).isoformat()
    response = reception.post(
        url, {"doctor": appointment.doctor_id, "date": day_after, "time": "14:00", "minutes": "30"}
    )

    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.start == local(timezone.localdate() + timedelta(days=2), 14)
    assert appointment.duration == timedelta(minutes=30)
    assert Appointment.objects.count() == 1


def test_reschedule_into_a_conflict_is_refused_at_the_time_field(reception):
    appointment = AppointmentFactory(start=tomorrow_at(10))
    AppointmentFactory(doctor=appointment.doctor, start=tomorrow_at(11))
    response = reception.post(
        reverse("scheduling:reschedule", args=[appointment.pk]),
        {"doctor": appointment.doctor_id, "date": tomorrow_at(11).date().isoformat(), "time": "11:10", "minutes": "20"},
    )
    assert response.status_code == 200
    assert "already has an appointment" in field_block(response.content.decode(), "time")
    appointment.refresh_from_db()
    assert appointment.start == tomorrow_at(10)


def test_a_cancelled_appointment_cannot_be_rescheduled(reception):
    appointment = AppointmentFactory(status=Status.CANCELLED)
    response = reception.post(
        reverse("scheduling:reschedule", args=[appointment.pk]),
        {"doctor": appointment.doctor_id, "date": tomorrow_at(9).date().isoformat(), "time": "14:00", "minutes": "20"},
    )
    assert response.status_code == 200
    assert "cannot be rescheduled" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.start == tomorrow_at(10)


def test_reception_confirms_an_appointment(reception):
    appointment = AppointmentFactory()
    response = reception.post(reverse("scheduling:confirm", args=[appointment.pk]))
    assert response["Location"] == appointment.get_absolute_url()
    appointment.refresh_from_db()
    assert appointment.status == Status.CONFIRMED
    assert appointment.confirmed_at is not None


def test_doctor_starts_and_completes_a_visit(doctor_client):
    appointment = AppointmentFactory(start=local(timezone.localdate(), 9), status=Status.CHECKED_IN)
    page = doctor_client.get(appointment.get_absolute_url()).content.decode()
    assert "Start consultation" in page

    doctor_client.post(reverse("scheduling:start", args=[appointment.pk]))
    appointment.refresh_from_db()
    assert appointment.status == Status.IN_PROGRESS
    assert appointment.started_at is not None

    # No notes written: completing asks first, and changes nothing until answered.
    asked = doctor_client.post(reverse("scheduling:complete", args=[appointment.pk]))
    assert asked.status_code == 200
    assert "Complete this visit?" in asked.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == Status.IN_PROGRESS

    doctor_client.post(reverse("scheduling:complete", args=[appointment.pk]), {"anyway": "1"})
    appointment.refresh_from_db()
    assert appointment.status == Status.COMPLETED
    assert appointment.completed_at is not None


def test_a_step_out_of_order_is_refused_with_a_message(doctor_client):
    appointment = AppointmentFactory()
    response = doctor_client.post(reverse("scheduling:complete", args=[appointment.pk]), follow=True)
    assert "it cannot be marked completed" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == Status.SCHEDULED


def test_nurse_checks_in_but_cannot_book(nurse):
    appointment = AppointmentFactory(start=local(timezone.localdate(), 10))
    nurse.post(reverse("scheduling:check_in", args=[appointment.pk]), {"next": "/"})
    appointment.refresh_from_db()
    assert appointment.status == Status.CHECKED_IN

    patient, doctor = PatientFactory(), DoctorFactory()
    assert nurse.get(BOOK).status_code == 403
    response = nurse.post(BOOK, booking(patient, doctor))
    assert response.status_code == 403
    assert Appointment.objects.count() == 1


def test_appointment_page_offers_each_role_only_its_steps(reception, nurse, doctor_client, manager):
    appointment = AppointmentFactory(start=local(timezone.localdate(), 10))
    url = appointment.get_absolute_url()

    front_desk = reception.get(url).content.decode()
    for label in ("Check in", "Mark confirmed", "Reschedule", "Cancel appointment"):
        assert label in front_desk
    nurse_page = nurse.get(url).content.decode()
    assert "Check in" in nurse_page and "Reschedule" not in nurse_page and "Mark confirmed" not in nurse_page
    assert "Nothing more to do for this appointment." in manager.get(url).content.decode()
    doctor_page = doctor_client.get(url).content.decode()
    assert "Open chart" in doctor_page and "Record vital signs" in doctor_page
    assert "Check in" not in doctor_page and "Reschedule" not in doctor_page
    assert "Open chart" not in front_desk and "Record vital signs" in nurse_page
