"""The allergy warning when a drug is entered: saving a draft with a conflicting medication shows,
next to that row, which allergy it conflicts with and why; the draft is saved all the same."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinical.models import Medication
from clinical.tests.factories import MedicalRecordFactory, MedicationFactory
from clinical.tests.pages import record_form, text
from patients.tests.factories import AllergyFactory, PatientFactory

pytestmark = pytest.mark.django_db


def penicillin_allergic_draft(author):
    patient = PatientFactory()
    AllergyFactory(patient=patient, substance="Penicillin V", severity="severe", reaction="rash")
    return MedicalRecordFactory(author=author, patient=patient, diagnosis="")


def row_warnings(body):
    return re.findall(r'<p class="warning row-allergy-warning" role="alert">(.*?)</p>', body, re.S)


def test_saving_amoxicillin_for_a_penicillin_allergic_patient_warns_next_to_the_row(doctor_client):
    record = penicillin_allergic_draft(doctor_client.user)
    edit = reverse("clinical:record_edit", args=[record.pk])

    response = doctor_client.post(
        edit, record_form(record, meds=["Paracetamol", "Amoxicillin 500 mg capsules"]), follow=True
    )

    assert list(Medication.objects.filter(record=record).values_list("drug", flat=True).order_by("pk")) == [
        "Paracetamol",
        "Amoxicillin 500 mg capsules",
    ]
    body = text(response)
    assert "Draft saved." in body
    [warning] = row_warnings(body)
    assert "Allergy warning (row 2)." in warning
    assert (
        "Amoxicillin 500 mg capsules matches the patient's allergy to <strong>Penicillin V</strong>"
        " (severe: rash): Amoxicillin 500 mg capsules is a penicillin." in warning
    )
    # The row warning follows the amoxicillin row, not the paracetamol row.
    assert body.index('value="Amoxicillin 500 mg capsules"') < body.index("Allergy warning (row 2).")
    assert body.index('value="Paracetamol"') < body.index('value="Amoxicillin 500 mg capsules"')


def test_a_combination_product_warns_by_its_component(doctor_client):
    record = penicillin_allergic_draft(doctor_client.user)
    edit = reverse("clinical:record_edit", args=[record.pk])

    body = text(doctor_client.post(edit, record_form(record, meds=["Co-amoxiclav 625mg"]), follow=True))

    [warning] = row_warnings(body)
    assert "Co-amoxiclav 625mg contains amoxicillin, a penicillin." in warning


def test_a_drug_typed_into_a_form_that_fails_is_warned_about_before_it_is_saved(doctor_client):
    record = penicillin_allergic_draft(doctor_client.user)
    edit = reverse("clinical:record_edit", args=[record.pk])

    response = doctor_client.post(edit, record_form(record, meds=["Cefalexin"], temperature="379"))

    assert response.status_code == 200
    assert not Medication.objects.filter(record=record).exists()
    [warning] = row_warnings(text(response))
    assert "Cefalexin is a cephalosporin, which can cross-react with a penicillin." in warning


def test_a_drug_of_another_class_gets_no_warning(doctor_client):
    record = penicillin_allergic_draft(doctor_client.user)
    edit = reverse("clinical:record_edit", args=[record.pk])

    body = text(doctor_client.post(edit, record_form(record, meds=["Azithromycin 500 mg"]), follow=True))

    assert row_warnings(body) == []
    assert "Allergy warning" not in body


def test_the_edit_page_checks_all_rows_against_the_allergies_in_one_query(doctor_client):
    record = penicillin_allergic_draft(doctor_client.user)
    for drug in ["Amoxicillin", "Flucloxacillin", "Paracetamol", "Ibuprofen", "Cefalexin"]:
        MedicationFactory(record=record, drug=drug)
    edit = reverse("clinical:record_edit", args=[record.pk])
    doctor_client.get(edit)  # warm caches (sessions, permissions)

    with CaptureQueriesContext(connection) as queries:
        body = text(doctor_client.get(edit))
    allergy_queries = [q for q in queries.captured_queries if "patients_allergy" in q["sql"]]

    assert len(row_warnings(body)) == 3
    assert len(allergy_queries) <= 3  # the banner, the top warning and the rows: each once, not once a row


def test_signing_a_class_conflict_still_asks_for_acknowledgement_and_records_it(doctor_client):
    record = penicillin_allergic_draft(doctor_client.user)
    edit = reverse("clinical:record_edit", args=[record.pk])
    sign = reverse("clinical:record_sign", args=[record.pk])
    doctor_client.post(edit, record_form(record, diagnosis="Otitis media", meds=["Amoxicillin"]))

    refused = doctor_client.post(sign)
    assert refused.status_code == 400
    assert "Acknowledge the allergy warning before signing." in text(refused)
    assert "Amoxicillin is a penicillin." in text(refused)

    doctor_client.post(sign, {"acknowledge_allergies": "on"})
    record.refresh_from_db()
    assert record.is_signed
    assert record.allergy_conflicts_acknowledged == "Amoxicillin vs allergy to Penicillin V (Severe)"
