"""The appointment admin goes through the booking services: what they refuse, it refuses."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from clinic.models import AuditEntry
from clinic.tests.adminforms import form_data
from clinical.tests.factories import SignedRecordFactory
from finance.tests.factories import PaymentFactory
from patients.tests.factories import PatientFactory
from scheduling.models import Appointment
from scheduling.services import update_appointment_details
from scheduling.tests.factories import AppointmentFactory, local, tomorrow_at
from staff.tests.factories import DoctorFactory

pytestmark = pytest.mark.django_db

S = Appointment.Status


def change_url(appointment):
    return reverse("admin:scheduling_appointment_change", args=[appointment.pk])


ADD_URL = "/admin/scheduling/appointment/add/"


def at(moment):
    """A date-time as the admin's split date and time inputs post it."""
    moment = timezone.localtime(moment)
    return f"{moment:%Y-%m-%d}", f"{moment:%H:%M:%S}"


def posted(*, patient=None, doctor=None, start=None, end=None, reason=None):
    data = {}
    if patient is not None:
        data["patient"] = str(patient.pk)
    if doctor is not None:
        data["doctor"] = str(doctor.pk)
    for name, moment in (("start", start), ("end", end)):
        if moment is not None:
            data[f"{name}_0"], data[f"{name}_1"] = at(moment)
    if reason is not None:
        data["reason"] = reason
    return data


def snapshot(appointment):
    row = Appointment.objects.get(pk=appointment.pk)
    return row.patient_id, row.doctor_id, row.start, row.end, row.reason, row.status


def changes_recorded(appointment):
    return list(
        AuditEntry.objects.filter(object_type="scheduling.appointment", object_id=str(appointment.pk))
        .exclude(action__in=["create", "view"])
        .values_list("action", "summary")
    )


def form_errors(response):
    form = response.context["adminform"].form
    return " ".join(" ".join(errors) for errors in form.errors.values())


def doctor(first, last):
    return DoctorFactory(user__first_name=first, user__last_name=last)


# --- a visit that has happened is history --------------------------------------------------------


def test_a_signed_and_paid_visit_cannot_be_moved_to_another_patient_doctor_or_time(administrator):
    # The reproduction: the admin moved a completed visit, and its signed record and
    # payment then hung off another patient's appointment.
    payment = PaymentFactory()
    visit = payment.appointment
    SignedRecordFactory(patient=visit.patient, appointment=visit, author=visit.doctor.user)
    before = snapshot(visit)
    crafted = posted(
        patient=PatientFactory(),
        doctor=DoctorFactory(),
        start=tomorrow_at(11),
        end=tomorrow_at(11, 20),
        reason="Moved",
    )

    response = administrator.post(change_url(visit), crafted, follow=True)

    assert response.status_code == 200
    assert snapshot(visit) == before
    assert changes_recorded(visit) == []
    assert "completed appointment cannot be changed" in response.content.decode()


@pytest.mark.parametrize("status", [S.CHECKED_IN, S.IN_PROGRESS, S.COMPLETED, S.CANCELLED, S.NO_SHOW])
def test_an_appointment_that_cannot_be_rescheduled_opens_read_only(administrator, status):
    appointment = AppointmentFactory(status=status)

    response = administrator.get(change_url(appointment))

    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    assert not response.context["adminform"].form.fields


@pytest.mark.parametrize("status", [S.CHECKED_IN, S.IN_PROGRESS, S.COMPLETED, S.CANCELLED, S.NO_SHOW])
def test_a_crafted_change_of_an_appointment_that_cannot_be_rescheduled_is_refused(administrator, status):
    appointment = AppointmentFactory(status=status)
    before = snapshot(appointment)

    response = administrator.post(
        change_url(appointment), posted(doctor=DoctorFactory(), start=tomorrow_at(14), end=tomorrow_at(14, 20))
    )

    assert response.status_code == 302
    assert snapshot(appointment) == before
    assert changes_recorded(appointment) == []


def test_a_visit_completed_after_its_page_was_opened_is_not_changed(administrator):
    appointment = AppointmentFactory(start=tomorrow_at(10))
    data = form_data(administrator.get(change_url(appointment)))
    Appointment.objects.filter(pk=appointment.pk).update(status=S.COMPLETED)
    data["start_0"], data["start_1"] = at(tomorrow_at(15))
    data["end_0"], data["end_1"] = at(tomorrow_at(15, 20))

    response = administrator.post(change_url(appointment), data, follow=True)

    assert response.status_code == 200
    assert "completed appointment cannot be changed" in response.content.decode()
    assert Appointment.objects.get(pk=appointment.pk).start == tomorrow_at(10)


# --- changing an upcoming appointment ----------------------------------------------------------


def test_the_patient_of_a_booked_appointment_cannot_be_changed(administrator):
    appointment = AppointmentFactory()
    page = administrator.get(change_url(appointment))
    assert "patient" not in page.context["adminform"].form.fields
    data = {**form_data(page), "patient": str(PatientFactory().pk)}

    response = administrator.post(change_url(appointment), data)

    assert response.status_code == 302
    assert Appointment.objects.get(pk=appointment.pk).patient_id == appointment.patient_id


def test_rescheduling_in_the_admin_names_the_old_and_new_time_and_doctor(administrator):
    first, second = doctor("Ada", "Moss"), doctor("Ben", "Okafor")
    appointment = AppointmentFactory(doctor=first, start=tomorrow_at(10))
    data = {
        **form_data(administrator.get(change_url(appointment))),
        **posted(doctor=second, start=tomorrow_at(11, 30), end=tomorrow_at(11, 50)),
    }

    response = administrator.post(change_url(appointment), data)

    assert response.status_code == 302
    moved = Appointment.objects.get(pk=appointment.pk)
    assert (moved.doctor, moved.start, moved.end) == (second, tomorrow_at(11, 30), tomorrow_at(11, 50))
    day = f"{tomorrow_at(10):%Y-%m-%d}"
    assert changes_recorded(appointment) == [
        ("reschedule", f"{day} 10:00–10:20 → {day} 11:30–11:50; doctor: Dr Ada Moss → Dr Ben Okafor")
    ]


def test_a_new_reason_for_visit_is_recorded_with_old_and_new(administrator):
    appointment = AppointmentFactory(reason="Follow-up")
    data = {**form_data(administrator.get(change_url(appointment))), "reason": "Chest pain on exertion"}

    assert administrator.post(change_url(appointment), data).status_code == 302

    assert Appointment.objects.get(pk=appointment.pk).reason == "Chest pain on exertion"
    assert changes_recorded(appointment) == [("change", 'reason: "Follow-up" → "Chest pain on exertion"')]


def test_saving_an_unchanged_appointment_changes_and_records_nothing(administrator):
    appointment = AppointmentFactory()
    before = snapshot(appointment)

    response = administrator.post(change_url(appointment), form_data(administrator.get(change_url(appointment))))

    assert response.status_code == 302
    assert snapshot(appointment) == before
    assert changes_recorded(appointment) == []


def test_rescheduling_onto_a_day_that_has_passed_is_a_form_error(administrator):
    appointment = AppointmentFactory(start=tomorrow_at(10))
    yesterday = timezone.localdate() - timedelta(days=1)
    data = {
        **form_data(administrator.get(change_url(appointment))),
        **posted(start=local(yesterday, 10), end=local(yesterday, 10, 20)),
    }

    response = administrator.post(change_url(appointment), data)

    assert response.status_code == 200
    assert "day that has passed" in form_errors(response)
    assert Appointment.objects.get(pk=appointment.pk).start == tomorrow_at(10)
    assert changes_recorded(appointment) == []


def test_rescheduling_onto_the_doctors_other_appointment_is_a_form_error(administrator):
    appointment = AppointmentFactory(start=tomorrow_at(10))
    AppointmentFactory(doctor=appointment.doctor, start=tomorrow_at(11))
    data = {
        **form_data(administrator.get(change_url(appointment))),
        **posted(start=tomorrow_at(11, 10), end=tomorrow_at(11, 30)),
    }

    response = administrator.post(change_url(appointment), data)

    assert response.status_code == 200
    assert "already has an appointment" in form_errors(response)
    assert Appointment.objects.get(pk=appointment.pk).start == tomorrow_at(10)


# --- booking in the admin ----------------------------------------------------------------------


def test_booking_in_the_admin_goes_through_the_booking_service(administrator):
    patient, chosen = PatientFactory(), DoctorFactory()

    response = administrator.post(
        ADD_URL,
        posted(patient=patient, doctor=chosen, start=tomorrow_at(9), end=tomorrow_at(9, 20), reason="Cough"),
    )

    assert response.status_code == 302
    booked = Appointment.objects.get()
    assert (booked.patient, booked.doctor, booked.start, booked.reason) == (patient, chosen, tomorrow_at(9), "Cough")
    assert booked.booked_by == administrator.user
    assert booked.status == S.SCHEDULED


def test_booking_on_a_day_that_has_passed_is_a_form_error(administrator):
    yesterday = timezone.localdate() - timedelta(days=1)
    data = posted(
        patient=PatientFactory(), doctor=DoctorFactory(), start=local(yesterday, 9), end=local(yesterday, 9, 20)
    )

    response = administrator.post(ADD_URL, data)

    assert response.status_code == 200
    assert "day that has passed" in form_errors(response)
    assert not Appointment.objects.exists()


def test_booking_over_the_doctors_appointment_is_a_form_error(administrator):
    taken = AppointmentFactory(start=tomorrow_at(10))
    data = posted(patient=PatientFactory(), doctor=taken.doctor, start=tomorrow_at(10, 10), end=tomorrow_at(10, 30))

    response = administrator.post(ADD_URL, data)

    assert response.status_code == 200
    assert "already has an appointment" in form_errors(response)
    assert Appointment.objects.count() == 1


def test_a_booking_that_loses_a_race_is_a_form_error_not_a_500(administrator, monkeypatch):
    # The form's check saw the time free; another booking took it before the insert, so the
    # database's guard refuses it (an exclusion constraint on PostgreSQL, a trigger on SQLite).
    taken = AppointmentFactory(start=tomorrow_at(10))
    monkeypatch.setattr(Appointment, "conflicts", lambda self: Appointment.objects.none())
    data = posted(patient=PatientFactory(), doctor=taken.doctor, start=tomorrow_at(10), end=tomorrow_at(10, 20))

    response = administrator.post(ADD_URL, data)

    assert response.status_code == 200, connection.vendor
    assert "just taken for the doctor" in form_errors(response)
    assert Appointment.objects.count() == 1


# --- the audit entry names every change, whoever makes it ----------------------------------------


def test_a_change_made_around_the_services_still_names_each_field():
    # Code that saves an appointment directly (a shell, a data fix) is not stopped by the admin or
    # the services; the trail at least says what moved.
    first, second = doctor("Ada", "Moss"), doctor("Ben", "Okafor")
    appointment = AppointmentFactory(doctor=first, start=tomorrow_at(10), reason="Cough")
    appointment = Appointment.objects.get(pk=appointment.pk)

    appointment.doctor, appointment.reason = second, "Rash"
    appointment.save()

    assert changes_recorded(appointment) == [
        ("reschedule", 'doctor: Dr Ada Moss → Dr Ben Okafor; reason: "Cough" → "Rash"')
    ]


def test_no_save_moves_an_appointment_to_another_patient():
    appointment = AppointmentFactory()
    original = appointment.patient_id
    appointment = Appointment.objects.get(pk=appointment.pk)

    appointment.patient = PatientFactory()
    with pytest.raises(ValidationError, match="cannot be moved to another patient"):
        appointment.save()

    assert Appointment.objects.get(pk=appointment.pk).patient_id == original
    assert changes_recorded(appointment) == []


# --- the service behind the reason for visit ------------------------------------------------------


def test_the_reason_of_a_visit_that_has_begun_cannot_be_changed():
    appointment = AppointmentFactory(status=S.IN_PROGRESS, reason="Cough")

    with pytest.raises(ValidationError, match="in consultation appointment cannot be changed"):
        update_appointment_details(appointment=appointment, reason="Rash", by=appointment.booked_by)

    assert Appointment.objects.get(pk=appointment.pk).reason == "Cough"


def test_a_reason_longer_than_the_field_is_refused_next_to_it():
    appointment = AppointmentFactory(reason="Cough")

    with pytest.raises(ValidationError) as refused:
        update_appointment_details(appointment=appointment, reason="x" * 256, by=appointment.booked_by)

    assert list(refused.value.error_dict) == ["reason"]
