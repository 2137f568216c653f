"""The allergy banner: every clinical form (record, vital signs, plan, procedure) shows the patient's
active allergies and conditions at the top; with no active allergy it says "No known allergies" only
when someone asked (who and when), else "Allergies not yet recorded" with the button to record it."""

import re

import pytest
from django.urls import reverse

from clinic.idempotency import new_token
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


def test_a_patient_never_asked_about_allergies_is_not_shown_as_having_none(doctor, doctor_client):
    patient = PatientFactory()
    for name, url in form_pages(doctor, patient).items():
        shown = banner(doctor_client.get(url))
        assert "Allergies not yet recorded" in shown, name
        assert ">No known allergies<" not in shown, name
        assert "Record: no known allergies" in shown, name
        assert "No active conditions recorded" in shown, name


def test_no_known_allergies_is_recorded_from_the_banner_and_the_form_comes_back(doctor, doctor_client):
    patient = PatientFactory()
    pages = form_pages(doctor, patient)
    checked = reverse("patients:allergies_checked", args=[patient.pk])

    response = doctor_client.post(checked, {"next": pages["record"], "client_token": new_token()})

    assert response.status_code == 302 and response["Location"] == pages["record"]
    patient.refresh_from_db()
    assert patient.allergies_checked_by == doctor.user and patient.allergies_checked_at is not None
    who = doctor.user.get_full_name()
    for name, url in pages.items():
        shown = banner(doctor_client.get(url))
        assert "No known allergies" in shown and f"by {who})" in shown, name
        assert "Allergies not yet recorded" not in shown and "Record: no known allergies" not in shown, name


def test_an_active_allergy_outranks_an_earlier_no_known_allergies(doctor, doctor_client):
    patient = PatientFactory()
    doctor_client.post(reverse("patients:allergies_checked", args=[patient.pk]), {"client_token": new_token()})
    AllergyFactory(patient=patient, substance="Penicillin", severity="severe", reaction="Rash")

    shown = banner(doctor_client.get(form_pages(doctor, patient)["record"]))

    assert "<strong>Penicillin</strong>" in shown
    assert "No known allergies" not in shown


def test_the_next_address_must_be_on_this_site(doctor_client):
    patient = PatientFactory()
    url = reverse("patients:allergies_checked", args=[patient.pk])

    response = doctor_client.post(url, {"next": "https://evil.example/", "client_token": new_token()})

    assert response["Location"] == patient.get_absolute_url()


def test_reception_cannot_record_no_known_allergies(reception):
    patient = PatientFactory()
    url = reverse("patients:allergies_checked", args=[patient.pk])

    assert reception.post(url, {"client_token": new_token()}).status_code == 403
    patient.refresh_from_db()
    assert patient.allergies_checked_at is None


def test_the_nurse_sees_the_banner_on_the_vitals_form(doctor, nurse):
    patient = PatientFactory()
    AllergyFactory(patient=patient, substance="Chlorhexidine", severity="life_threatening", reaction="")
    appointment = visit(doctor, patient, status=Status.CHECKED_IN)

    shown = banner(nurse.get(reverse("clinical:vitals", args=[appointment.pk])))

    assert "<strong>Chlorhexidine</strong> (life-threatening)" in shown
