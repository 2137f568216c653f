"""Vital signs on a visit, in range."""

import pytest
from django.urls import reverse

from clinical.models import MedicalRecord
from clinical.tests.factories import (
    MedicalRecordFactory,
)
from clinical.tests.pages import (
    Status,
    field_errors,
    record_form,
    signed_record,
    text,
    visit,
)

pytestmark = pytest.mark.django_db


def test_nurse_records_vitals_into_the_visits_draft(doctor, nurse):
    appointment = visit(doctor, status=Status.CHECKED_IN)
    url = reverse("clinical:vitals", args=[appointment.pk])
    assert nurse.get(url).status_code == 200

    values = {"bp_systolic": 128, "bp_diastolic": 82, "pulse": 72, "temperature": "36.8", "spo2": 98}
    response = nurse.post(url, {**values, "weight_kg": "70", "height_cm": "175"})

    assert response.status_code == 302
    assert response["Location"] == appointment.get_absolute_url()
    record = MedicalRecord.objects.get()
    assert (record.appointment, record.author, record.vitals_recorded_by) == (appointment, doctor.user, nurse.user)
    assert (record.bp_systolic, record.pulse, str(record.temperature), str(record.bmi)) == (128, 72, "36.8", "22.9")
    # The doctor's draft of this visit shows them.
    assert "BMI 22.9" in text(nurse.get(record.get_absolute_url()))


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("pulse", "400", "Enter a value between 20 and 250 /min; check the reading."),
        ("pulse", "5", "Enter a value between 20 and 250 /min; check the reading."),
        ("temperature", "47.5", "Enter a value between 30.0 and 45.0 °C; check the reading."),
        ("spo2", "101", "Enter a value between 50 and 100 %; check the reading."),
        ("bp_systolic", "400", "Enter a value between 50 and 260 mmHg; check the reading."),
        ("weight_kg", "0.1", "Enter a value between 0.3 and 400 kg; check the reading."),
        ("height_cm", "999", "Enter a value between 20 and 250 cm; check the reading."),
        ("respiratory_rate", "-3", None),
        ("pulse", "abc", "Enter a whole number."),
        ("temperature", "1e5", None),
        ("temperature", "NaN", None),
    ],
)
def test_vitals_out_of_range_give_a_field_error_and_save_nothing(field, value, message, doctor, nurse):
    appointment = visit(doctor, status=Status.CHECKED_IN)
    response = nurse.post(reverse("clinical:vitals", args=[appointment.pk]), {"pulse": "70", field: value})
    assert response.status_code == 200
    errors = field_errors(response, field)
    assert errors
    if message:
        assert message in errors
        assert message in text(response)
    assert not MedicalRecord.objects.exists()


def test_vitals_out_of_range_in_the_doctors_form_save_nothing(doctor_client):
    record = MedicalRecordFactory(author=doctor_client.user, examination="As first written")
    data = record_form(record, examination="Changed", temperature="50.0", meds=["Paracetamol"])
    response = doctor_client.post(reverse("clinical:record_edit", args=[record.pk]), data)
    assert response.status_code == 200
    assert "Enter a value between 30.0 and 45.0 °C; check the reading." in field_errors(response, "temperature")
    record.refresh_from_db()
    assert record.examination == "As first written" and record.temperature is None
    assert not record.medications.exists()


def test_vitals_need_at_least_one_reading_and_a_diastolic_below_the_systolic(doctor, nurse):
    appointment = visit(doctor, status=Status.CHECKED_IN)
    url = reverse("clinical:vitals", args=[appointment.pk])
    response = nurse.post(url, {})
    assert "Enter at least one vital sign." in text(response)
    response = nurse.post(url, {"bp_systolic": "110", "bp_diastolic": "120"})
    assert "The diastolic pressure must be below the systolic." in field_errors(response, "bp_diastolic")
    assert not MedicalRecord.objects.exists()


def test_vitals_cannot_be_added_to_a_signed_visit_record(doctor, nurse):
    appointment = visit(doctor, status=Status.COMPLETED)
    record = signed_record(doctor.user, appointment.patient, appointment=appointment)
    response = nurse.post(reverse("clinical:vitals", args=[appointment.pk]), {"pulse": "70"})
    assert response.status_code == 200
    assert "vital signs can no longer be added" in text(response)
    record.refresh_from_db()
    assert record.pulse is None
