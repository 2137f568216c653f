"""A patient's reminders, per channel: on for a new patient, turned off and on again from the patient form."""

import re

import pytest
from django.urls import reverse

from patients.models import Patient
from patients.tests.factories import PatientFactory
from patients.tests.test_views import patient_form

pytestmark = pytest.mark.django_db

FIELDS = {
    "reminders_by_email": "Send appointment reminders by e-mail",
    "reminders_by_sms": "Send appointment reminders by text message",
}


def test_a_new_patient_gets_reminders_on_both_channels():
    patient = PatientFactory()
    assert patient.reminders_by_email and patient.reminders_by_sms


def test_the_registration_form_offers_both_ticked_with_plain_labels(reception):
    page = reception.get(reverse("patients:create")).content.decode()
    for name, label in FIELDS.items():
        assert label in page
        checkbox = re.search(rf'<input[^>]*name="{name}"[^>]*>', page).group(0)
        assert "checked" in checkbox
        assert f'<label for="id_{name}">' in page


def test_reception_turns_text_messages_off_and_on_again(reception):
    patient = PatientFactory()
    url = reverse("patients:edit", args=[patient.pk])
    reception.post(url, patient_form(reminders_by_email="on"))
    patient.refresh_from_db()
    assert (patient.reminders_by_email, patient.reminders_by_sms) == (True, False)
    reception.post(url, patient_form(reminders_by_email="on", reminders_by_sms="on"))
    assert Patient.objects.get(pk=patient.pk).reminders_by_sms


def test_a_patient_registered_through_the_api_without_the_fields_keeps_reminders_on(api_for):
    from patients.tests.test_api import LIST, NEW

    api = api_for("Receptionist")
    created = api.post(LIST, NEW, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["reminders_by_email"] is True and created.json()["reminders_by_sms"] is True
    patient = Patient.objects.get(pk=created.json()["id"])
    assert patient.reminders_by_email and patient.reminders_by_sms
    detail = reverse("patients_api:patient-detail", args=[patient.pk])
    assert api.patch(detail, {"reminders_by_sms": False}, format="json").status_code == 200
    patient.refresh_from_db()
    assert (patient.reminders_by_email, patient.reminders_by_sms) == (True, False)
    assert api.patch(detail, {"notes": "Prefers mornings"}, format="json").status_code == 200
    patient.refresh_from_db()
    assert not patient.reminders_by_sms  # left out: kept as it was
