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
