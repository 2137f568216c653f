"""The links to the chart from an appointment and a patient."""

import pytest
from django.urls import reverse

from clinical.tests.pages import (
    Status,
    text,
    visit,
)
from patients.tests.factories import PatientFactory
from staff.roles import ADMINISTRATOR, DOCTOR, MANAGER, NURSE, RECEPTIONIST
from staff.tests.factories import DoctorFactory

pytestmark = pytest.mark.django_db


LINKS = ("Open chart", "Record vital signs", "Chart this visit")


@pytest.mark.parametrize(
    "role, expected",
    [
        (DOCTOR, {"Open chart", "Record vital signs", "Chart this visit"}),
        (NURSE, {"Open chart", "Record vital signs"}),
        (RECEPTIONIST, set()),
        (MANAGER, set()),
        (ADMINISTRATOR, set()),
    ],
)
def test_appointment_page_links_to_the_chart_by_role(role, expected, client_for):
    appointment = visit(DoctorFactory(), status=Status.IN_PROGRESS)
    response = client_for(role).get(appointment.get_absolute_url())
    assert response.status_code == 200
    body = text(response)
    assert {label for label in LINKS if label in body} == expected
    urls = {
        "Open chart": reverse("clinical:chart", args=[appointment.patient_id]),
        "Record vital signs": reverse("clinical:vitals", args=[appointment.pk]),
        "Chart this visit": reverse("clinical:visit_record", args=[appointment.pk]),
    }
    for label, url in urls.items():
        assert (url in body) == (label in expected), label


@pytest.mark.parametrize("role, shown", [(DOCTOR, True), (NURSE, False), (RECEPTIONIST, False)])
def test_start_consultation_is_offered_to_doctors_on_a_checked_in_visit(role, shown, client_for):
    appointment = visit(DoctorFactory(), status=Status.CHECKED_IN)
    body = text(client_for(role).get(appointment.get_absolute_url()))
    assert ("Start consultation" in body) == shown
    assert (reverse("clinical:visit_start", args=[appointment.pk]) in body) == shown
    assert "Chart this visit" not in body


@pytest.mark.parametrize("status", [Status.CANCELLED, Status.NO_SHOW])
def test_no_vital_signs_on_a_visit_that_did_not_happen(status, nurse):
    extra = {"cancellation_reason": "Unwell"} if status == Status.CANCELLED else {}
    appointment = visit(DoctorFactory(), status=status, **extra)
    body = text(nurse.get(appointment.get_absolute_url()))
    assert "Record vital signs" not in body
    assert "Open chart" in body


@pytest.mark.parametrize("role, shown", [(DOCTOR, True), (NURSE, True), (RECEPTIONIST, False), (MANAGER, False)])
def test_patient_page_offers_the_chart_to_clinical_roles(role, shown, client_for):
    patient = PatientFactory()
    body = text(client_for(role).get(patient.get_absolute_url()))
    assert ("Open chart" in body) == shown
    assert (reverse("clinical:chart", args=[patient.pk]) in body) == shown
