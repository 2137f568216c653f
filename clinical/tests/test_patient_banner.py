"""The allergy banner: every clinical form (record, vital signs, plan, procedure) shows the patient's
active allergies (or "No allergies recorded", never
"No known allergies": the record cannot yet tell that from never asked) and active conditions at the top."""

import re

import pytest
from django.urls import reverse

from clinical.tests.factories import MedicalRecordFactory, ProcedureFactory, TreatmentPlanFactory
from clinical.tests.pages import Status, text, visit
from patients.tests.factories import AllergyFactory, ConditionFactory, PatientFactory

pytestmark = pytest.mark.django_db


def banner(response):
    assert response.status_code == 200
    found = re.findall(r'<section class="card patient-banner"[^>]*>(.*?)</section>', text(response), re.S)
    assert len(found) == 1, "one banner, at the top of the page"
    return found[0]


def form_pages(doctor, patient):
    """Each clinical form of `patient`, as (client role, url)."""
    record = MedicalRecordFactory(author=doctor.user, patient=patient)
    appointment = visit(doctor, patient, status=Status.CHECKED_IN)
    plan = TreatmentPlanFactory(patient=patient, doctor=doctor)
    procedure = ProcedureFactory(plan=plan)
    return {
        "record": reverse("clinical:record_edit", args=[record.pk]),
        "vitals": reverse("clinical:vitals", args=[appointment.pk]),
        "new plan": reverse("clinical:plan_create", args=[patient.pk]),
        "plan": reverse("clinical:plan_edit", args=[plan.pk]),
        "new procedure": reverse("clinical:procedure_create", args=[patient.pk]),
        "procedure": reverse("clinical:procedure_edit", args=[procedure.pk]),
    }


def test_every_clinical_form_shows_allergies_and_active_conditions(doctor, doctor_client):
    patient = PatientFactory()
    AllergyFactory(patient=patient, substance="Penicillin", severity="severe", reaction="Anaphylaxis")
    AllergyFactory(patient=patient, substance="Latex", severity="mild", reaction="")
    AllergyFactory(patient=patient, substance="Codeine", is_active=False)
    ConditionFactory(patient=patient, name="Type 2 diabetes", icd10_code="E11", status="active")
    ConditionFactory(patient=patient, name="Appendicitis", icd10_code="", status="resolved")

    for name, url in form_pages(doctor, patient).items():
        shown = banner(doctor_client.get(url))
        assert "<strong>Penicillin</strong> (severe: Anaphylaxis)" in shown, name
        assert "<strong>Latex</strong> (mild)" in shown, name
        assert "Codeine" not in shown, name
        assert "Active conditions: <strong>Type 2 diabetes</strong> <code>E11</code>" in shown, name
        assert "Appendicitis" not in shown, name


def test_a_patient_without_allergies_or_conditions_says_so(doctor, doctor_client):
    patient = PatientFactory()
    for name, url in form_pages(doctor, patient).items():
        shown = banner(doctor_client.get(url))
        assert "No allergies recorded" in shown, name
        assert "No active conditions recorded" in shown, name


def test_the_nurse_sees_the_banner_on_the_vitals_form(doctor, nurse):
    patient = PatientFactory()
    AllergyFactory(patient=patient, substance="Chlorhexidine", severity="life_threatening", reaction="")
    appointment = visit(doctor, patient, status=Status.CHECKED_IN)

    shown = banner(nurse.get(reverse("clinical:vitals", args=[appointment.pk])))

    assert "<strong>Chlorhexidine</strong> (life-threatening)" in shown
