"""The patient page's visits, which scheduling contributes through patients.views.PATIENT_PAGE."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from patients.tests.factories import AllergyFactory, ConditionFactory, PatientFactory
from scheduling.tests.factories import AppointmentFactory, local, tomorrow_at
from staff.tests.factories import DoctorFactory

pytestmark = pytest.mark.django_db


# --- the chart's front page: queries ----------------------------------------------------------------


def test_the_detail_page_runs_the_same_queries_however_long_the_history(doctor_client, django_assert_num_queries):
    patient = PatientFactory()
    yesterday = timezone.localdate() - timedelta(days=1)
    AppointmentFactory(patient=patient, start=tomorrow_at(9))
    AppointmentFactory(patient=patient, start=local(yesterday, 9))
    AllergyFactory(patient=patient)
    ConditionFactory(patient=patient)
    url = patient.get_absolute_url()
    with CaptureQueriesContext(connection) as short:
        doctor_client.get(url)

    # Each appointment with a different doctor, so a per-row lookup of the doctor would show.
    for i in range(12):
        AppointmentFactory(patient=patient, doctor=DoctorFactory(hours=[]), start=tomorrow_at(10) + timedelta(days=i))
        AppointmentFactory(
            patient=patient, doctor=DoctorFactory(hours=[]), start=local(yesterday, 10) - timedelta(days=i)
        )
        AllergyFactory(patient=patient, substance=f"Substance {i}")
        ConditionFactory(patient=patient, name=f"Condition {i}")
    with django_assert_num_queries(len(short.captured_queries)):
        response = doctor_client.get(url)

    assert len(response.context["upcoming"]) == 10
    assert len(response.context["past"]) == 10
    assert "Substance 11" in response.text
    assert "Condition 11" in response.text


def test_the_detail_page_shows_upcoming_and_recent_appointments(reception):
    patient = PatientFactory()
    doctor = DoctorFactory(user__first_name="Grace", user__last_name="Hopper")
    AppointmentFactory(patient=patient, doctor=doctor, start=tomorrow_at(9))

    response = reception.get(patient.get_absolute_url())

    assert "Dr Grace Hopper" in response.text
    assert "Book appointment" in response.text
    assert "No earlier appointments." in response.text
