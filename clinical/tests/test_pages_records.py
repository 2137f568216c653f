"""Drafts and signing: a doctor edits only their own drafts and amends signed records; signing
needs a diagnosis and warns of allergies."""

import pytest
from django.urls import reverse

from clinic.tests.submissions import token_on
from clinical.models import Amendment, MedicalRecord
from clinical.tests.factories import (
    MedicalRecordFactory,
    MedicationFactory,
)
from clinical.tests.pages import (
    everything_clinical,
    field_errors,
    record_form,
    signed_record,
    text,
)
from patients.tests.factories import AllergyFactory, PatientFactory
from staff.tests.factories import DoctorFactory

pytestmark = pytest.mark.django_db


def test_doctor_edits_own_draft_with_medications(doctor_client):
    record = MedicalRecordFactory(author=doctor_client.user)
    page = doctor_client.get(reverse("clinical:record_edit", args=[record.pk]))
    assert page.status_code == 200

    data = record_form(
        record, meds=["Amoxicillin", "Ibuprofen"], examination="Red throat", pulse=88, icd10_codes="j03.9"
    )
    response = doctor_client.post(reverse("clinical:record_edit", args=[record.pk]), data)

    assert response.status_code == 302
    assert response["Location"] == reverse("clinical:record_edit", args=[record.pk])
    record.refresh_from_db()
    assert (record.examination, record.pulse, record.icd10_codes) == ("Red throat", 88, "J03.9")
    assert list(record.medications.values_list("drug", flat=True)) == ["Amoxicillin", "Ibuprofen"]

    # Remove one row, keep the other; "Save and review" goes to the record's sign section.
    amoxicillin, ibuprofen = record.medications.all()
    data = record_form(record, existing=[(amoxicillin, True), (ibuprofen, False)])
    response = doctor_client.post(reverse("clinical:record_edit", args=[record.pk]), {**data, "sign": "1"})
    assert response["Location"] == record.get_absolute_url() + "#sign"
    assert list(record.medications.values_list("drug", flat=True)) == ["Ibuprofen"]


def test_doctor_cannot_edit_or_sign_another_doctors_draft(doctor_client):
    theirs = MedicalRecordFactory(author=DoctorFactory().user, diagnosis="Their diagnosis")
    before = everything_clinical()

    assert doctor_client.get(reverse("clinical:record_edit", args=[theirs.pk])).status_code == 403
    response = doctor_client.post(
        reverse("clinical:record_edit", args=[theirs.pk]), record_form(theirs, diagnosis="Mine now", meds=["X"])
    )
    assert response.status_code == 403
    assert doctor_client.post(reverse("clinical:record_sign", args=[theirs.pk])).status_code == 403

    assert everything_clinical() == before
    theirs.refresh_from_db()
    assert (theirs.diagnosis, theirs.status) == ("Their diagnosis", "draft")
    # Their draft's page offers this doctor neither editing nor signing.
    body = text(doctor_client.get(theirs.get_absolute_url()))
    assert reverse("clinical:record_edit", args=[theirs.pk]) not in body
    assert reverse("clinical:record_sign", args=[theirs.pk]) not in body


@pytest.mark.parametrize("whose", ["own", "another doctor's"])
def test_no_doctor_edits_a_signed_record(whose, doctor_client):
    author = doctor_client.user if whose == "own" else DoctorFactory().user
    record = signed_record(author, diagnosis="As signed")
    before = everything_clinical()

    assert doctor_client.get(reverse("clinical:record_edit", args=[record.pk])).status_code == 403
    response = doctor_client.post(
        reverse("clinical:record_edit", args=[record.pk]), record_form(record, diagnosis="Changed")
    )
    assert response.status_code == 403
    # Signing it again changes nothing either: back to the record, saying so.
    response = doctor_client.post(
        reverse("clinical:record_sign", args=[record.pk]), {"acknowledge_allergies": "on"}, follow=True
    )
    assert response.redirect_chain == [(record.get_absolute_url(), 302)]
    assert "already signed" in text(response)

    assert everything_clinical() == before
    body = text(doctor_client.get(record.get_absolute_url()))
    assert reverse("clinical:record_edit", args=[record.pk]) not in body
    assert reverse("clinical:record_amend", args=[record.pk]) in body


@pytest.mark.parametrize("whose", ["own", "another doctor's"])
def test_doctor_amends_a_signed_record(whose, doctor_client):
    author = doctor_client.user if whose == "own" else DoctorFactory().user
    record = signed_record(author, diagnosis="Viral pharyngitis")
    url = reverse("clinical:record_amend", args=[record.pk])
    page = doctor_client.get(url)
    assert page.status_code == 200
    token = token_on(page)

    data = {"section": "diagnosis", "text": "Bacterial tonsillitis", "reason": "Swab result", "client_token": token}
    first = doctor_client.post(url, data)
    second = doctor_client.post(url, data)  # the same form sent twice

    assert first.status_code == second.status_code == 302
    assert first["Location"] == record.get_absolute_url()
    amendment = Amendment.objects.get()
    assert (amendment.record, amendment.author, amendment.reason) == (record, doctor_client.user, "Swab result")
    body = text(doctor_client.get(record.get_absolute_url()))
    # The original text stays, and the amendment follows it.
    assert body.index("Viral pharyngitis") < body.index("Bacterial tonsillitis")
    assert "Original record" in body and "Reason: Swab result" in body
    record.refresh_from_db()
    assert record.diagnosis == "Viral pharyngitis"


def test_amendment_needs_text_and_reason(doctor_client):
    record = signed_record(doctor_client.user)
    response = doctor_client.post(reverse("clinical:record_amend", args=[record.pk]), {"section": "plan"})
    assert response.status_code == 200
    assert field_errors(response, "text") and field_errors(response, "reason")
    response = doctor_client.post(
        reverse("clinical:record_amend", args=[record.pk]), {"section": "nonsense", "text": "x", "reason": "y"}
    )
    assert response.status_code == 200 and field_errors(response, "section")
    assert not Amendment.objects.exists()


def test_a_draft_is_not_amended(doctor_client):
    draft = MedicalRecordFactory(author=doctor_client.user)
    assert doctor_client.get(reverse("clinical:record_amend", args=[draft.pk])).status_code == 404
    response = doctor_client.post(
        reverse("clinical:record_amend", args=[draft.pk]), {"section": "plan", "text": "x", "reason": "y"}
    )
    assert response.status_code == 404
    assert not Amendment.objects.exists()


def test_sign_flow_with_an_allergy_warning_to_acknowledge(doctor_client):
    patient = PatientFactory()
    AllergyFactory(patient=patient, substance="Penicillin", severity="severe", reaction="Anaphylaxis")
    record = MedicalRecordFactory(author=doctor_client.user, patient=patient, diagnosis="")
    edit = reverse("clinical:record_edit", args=[record.pk])
    sign = reverse("clinical:record_sign", args=[record.pk])

    # Chart the findings, a diagnosis and a conflicting prescription.
    data = record_form(record, diagnosis="Streptococcal tonsillitis", meds=["Penicillin V"])
    response = doctor_client.post(edit, {**data, "sign": "1"}, follow=True)
    body = text(response)
    assert "Allergy warning." in body
    assert "Penicillin V matches the patient's allergy to <strong>Penicillin</strong> (severe: Anaphylaxis)" in body
    assert sign in body

    # Signing without acknowledging is refused, with the message, and the record stays a draft.
    response = doctor_client.post(sign)
    assert response.status_code == 400
    assert "Acknowledge the allergy warning before signing." in text(response)
    record.refresh_from_db()
    assert record.status == MedicalRecord.Status.DRAFT

    response = doctor_client.post(sign, {"acknowledge_allergies": "on"}, follow=True)

    assert response.redirect_chain == [(record.get_absolute_url(), 302)]
    record.refresh_from_db()
    assert record.is_signed and record.signed_by == doctor_client.user
    assert record.allergy_conflicts_acknowledged == "Penicillin V vs allergy to Penicillin (Severe)"
    body = text(response)
    assert "Record signed." in body
    assert "Allergy warning acknowledged at signing" in body
    assert reverse("clinical:prescription", args=[record.pk]) in body
    assert reverse("clinical:record_sign", args=[record.pk]) not in body

    # A second click on "Sign record" (the same form again) lands on the signed record as well.
    response = doctor_client.post(sign, {"acknowledge_allergies": "on"}, follow=True)
    assert response.redirect_chain == [(record.get_absolute_url(), 302)]
    assert "This record is already signed." in text(response)
    signed_at = record.signed_at
    record.refresh_from_db()
    assert record.signed_at == signed_at
    # It is in the timeline.
    chart = doctor_client.get(reverse("clinical:chart", args=[patient.pk]))
    assert record in [e.obj for e in chart.context["timeline"]]


def test_signing_without_a_conflict_needs_no_acknowledgement(doctor_client):
    record = MedicalRecordFactory(author=doctor_client.user)
    MedicationFactory(record=record, drug="Paracetamol")
    AllergyFactory(patient=record.patient, substance="Penicillin")
    response = doctor_client.post(reverse("clinical:record_sign", args=[record.pk]))
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.is_signed and record.allergy_conflicts_acknowledged == ""


@pytest.mark.parametrize("diagnosis", ["", "   \n "])
def test_a_record_cannot_be_signed_without_a_diagnosis(diagnosis, doctor_client):
    record = MedicalRecordFactory(author=doctor_client.user, diagnosis=diagnosis)
    response = doctor_client.post(reverse("clinical:record_sign", args=[record.pk]), {"acknowledge_allergies": "on"})
    assert response.status_code == 400
    assert "A record cannot be signed without a diagnosis." in text(response)
    record.refresh_from_db()
    assert record.status == MedicalRecord.Status.DRAFT and record.signed_at is None
