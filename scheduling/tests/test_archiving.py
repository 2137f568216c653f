"""Archiving a patient asks first, says what happens to their appointments still to come, and cancels them
with the reason given, in the archive's transaction (scheduling/archiving.py through
patients.services.ARCHIVING); patients/ itself knows nothing of appointments."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from clinic.models import AuditEntry
from clinic.tests.submissions import token_on
from patients import services as patient_services
from patients.tests.factories import PatientFactory
from scheduling import archiving
from scheduling.models import Appointment
from scheduling.tests.factories import AppointmentFactory, tomorrow_at
from staff.roles import ADMINISTRATOR
from staff.tests.factories import DoctorFactory

pytestmark = pytest.mark.django_db
Status = Appointment.Status


def archive_url(patient):
    return reverse("patients:archive", args=[patient.pk])


@pytest.fixture
def booked():
    """A patient with two appointments still to come, one past, one already cancelled."""
    patient = PatientFactory(first_name="Ada", last_name="Łukasiewicz")
    doctor = DoctorFactory(user__first_name="Hana", user__last_name="Okafor")
    soon = AppointmentFactory(patient=patient, doctor=doctor, start=tomorrow_at(9))
    later = AppointmentFactory(patient=patient, start=tomorrow_at(11) + timedelta(days=7), status=Status.CONFIRMED)
    past = AppointmentFactory(patient=patient, start=timezone.now() - timedelta(days=3), status=Status.COMPLETED)
    called_off = AppointmentFactory(patient=patient, start=tomorrow_at(14), status=Status.CANCELLED)
    return patient, [soon, later], [past, called_off]


def statuses(appointments):
    return [Appointment.objects.get(pk=a.pk).status for a in appointments]


def test_the_question_lists_the_appointments_archiving_cancels_and_asks_a_reason(reception, booked):
    patient, to_come, others = booked

    page = reception.get(archive_url(patient)).content.decode()

    assert "2 appointments will be cancelled" in page
    assert "Dr Hana Okafor" in page
    for appointment in to_come:
        assert appointment.get_absolute_url() in page
    for appointment in others:
        assert appointment.get_absolute_url() not in page
    assert 'name="reason"' in page and "required" in page.split('name="reason"')[1].split(">")[0]
    assert "Archive and cancel 2 appointments" in page
    assert statuses(to_come) == [Status.SCHEDULED, Status.CONFIRMED]


def test_without_a_reason_nothing_changes_and_the_error_is_next_to_the_reason(reception, booked):
    patient, to_come, _ = booked
    entries = AuditEntry.objects.count()

    response = reception.post(archive_url(patient), {"reason": "   "})

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == ["reason"]
    html = response.content.decode()
    wrapper = html[html.rindex('<div class="field', 0, html.index('id="id_reason"')) : html.index('class="actions"')]
    assert "has-error" in wrapper and "Say why" in wrapper  # in the reason's own field block
    patient.refresh_from_db()
    assert not patient.is_archived
    assert statuses(to_come) == [Status.SCHEDULED, Status.CONFIRMED]
    assert AuditEntry.objects.count() == entries


def test_with_a_reason_it_archives_and_cancels_them_with_that_reason(reception, booked):
    patient, to_come, others = booked

    response = reception.post(archive_url(patient), {"reason": "Moved to Kraków"}, follow=True)

    patient.refresh_from_db()
    assert patient.is_archived
    for appointment in to_come:
        appointment.refresh_from_db()
        assert appointment.status == Status.CANCELLED
        assert appointment.cancellation_reason == "Moved to Kraków"
        assert appointment.cancelled_by == reception.user
    assert statuses(others) == [Status.COMPLETED, Status.CANCELLED]
    assert "record is archived. 2 appointments still to come cancelled." in response.content.decode()


def test_with_none_to_come_it_archives_without_a_reason(reception):
    patient = PatientFactory()
    AppointmentFactory(patient=patient, start=timezone.now() - timedelta(days=2), status=Status.COMPLETED)

    response = reception.post(archive_url(patient))

    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.is_archived


def test_if_one_cancellation_fails_nothing_is_cancelled_or_archived(reception, booked, monkeypatch):
    patient, to_come, _ = booked
    real = archiving.cancel_appointment
    calls = []

    def second_one_fails(**kwargs):
        calls.append(kwargs["appointment"].pk)
        if len(calls) == 2:
            raise ValidationError("This appointment cannot be cancelled right now.")
        return real(**kwargs)

    monkeypatch.setattr(archiving, "cancel_appointment", second_one_fails)

    response = reception.post(archive_url(patient), {"reason": "Moved away"})

    assert response.status_code == 200
    assert "cannot be cancelled right now" in response.content.decode()
    assert calls == [a.pk for a in to_come]
    patient.refresh_from_db()
    assert not patient.is_archived
    assert statuses(to_come) == [Status.SCHEDULED, Status.CONFIRMED]  # the first cancellation was undone too


def test_an_appointment_booked_after_the_question_was_shown_still_needs_the_reason(reception):
    patient = PatientFactory()
    page = reception.get(archive_url(patient))
    assert 'name="reason"' not in page.content.decode()
    booked_since = AppointmentFactory(patient=patient, start=tomorrow_at(10))

    response = reception.post(archive_url(patient), {"client_token": token_on(page)})

    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    assert 'name="reason"' in response.content.decode()
    patient.refresh_from_db()
    assert not patient.is_archived
    assert statuses([booked_since]) == [Status.SCHEDULED]


def test_the_service_refuses_without_a_reason_too(reception, booked):
    patient, to_come, _ = booked

    with pytest.raises(ValidationError) as refused:
        patient_services.archive_patient(patient=patient, by=reception.user, reason="")

    assert "reason" in refused.value.error_dict
    patient.refresh_from_db()
    assert not patient.is_archived


def test_a_double_submit_archives_and_cancels_once(reception, booked):
    patient, to_come, _ = booked
    page = reception.get(archive_url(patient))
    data = {"reason": "Moved away", "client_token": token_on(page)}

    first = reception.post(archive_url(patient), data)
    second = reception.post(archive_url(patient), data)

    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == patient.get_absolute_url()
    assert Appointment.objects.filter(patient=patient, cancellation_reason="Moved away").count() == 2


def test_an_administrator_archives_the_same_way(client_for, booked):
    patient, to_come, _ = booked
    client = client_for(ADMINISTRATOR)

    client.post(archive_url(patient), {"reason": "Duplicate record"})

    patient.refresh_from_db()
    assert patient.is_archived
    assert statuses(to_come) == [Status.CANCELLED, Status.CANCELLED]


def test_restoring_leaves_the_cancelled_appointments_cancelled(reception, booked):
    patient, to_come, _ = booked
    reception.post(archive_url(patient), {"reason": "Moved away"})

    reception.post(reverse("patients:restore", args=[patient.pk]))

    patient.refresh_from_db()
    assert not patient.is_archived
    assert statuses(to_come) == [Status.CANCELLED, Status.CANCELLED]
