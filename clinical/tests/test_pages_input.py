"""The printable prescription, and malformed input: a 404 or a form error, never a 500."""

import uuid

import pytest
from django.urls import reverse

from clinical.forms import MAX_MEDICATIONS
from clinical.models import MedicalRecord, Procedure, TreatmentPlan
from clinical.tests.factories import (
    MedicalRecordFactory,
    MedicationFactory,
    TreatmentPlanFactory,
)
from clinical.tests.pages import (
    HUGE,
    PAGES,
    UNKNOWN,
    everything_clinical,
    field_errors,
    plan_form,
    procedure_form,
    record_form,
    signed_record,
    text,
)
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_prescription_of_a_signed_record(doctor, doctor_client, nurse, settings):
    patient = PatientFactory(first_name="Ottilie", last_name="Quillfeather", address="1 High Street")
    record = signed_record(doctor.user, patient, drugs=["Amoxicillin", "Ibuprofen"])
    for client in (doctor_client, nurse):
        response = client.get(reverse("clinical:prescription", args=[record.pk]))
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        body = text(response)
        assert "Amoxicillin" in body and "Ibuprofen" in body
        assert "Ottilie Quillfeather" in body and patient.mrn in body and "1 High Street" in body
        assert doctor.licence_number in body and str(doctor) in body
        assert settings.CLINIC_NAME in body
        assert f"Signed electronically by {doctor.user}" in body


def test_no_prescription_for_a_draft(doctor_client):
    draft = MedicalRecordFactory(author=doctor_client.user)
    MedicationFactory(record=draft)
    assert doctor_client.get(reverse("clinical:prescription", args=[draft.pk])).status_code == 404
    assert reverse("clinical:prescription", args=[draft.pk]) not in text(doctor_client.get(draft.get_absolute_url()))


class Nowhere:
    """A stand-in world in which every object has the same (missing) id."""

    def __init__(self, pk):
        self.pk = pk

    def __getattr__(self, name):
        return self


# The pages whose URL names an object (My day and the lookups name none).
WITH_IDS = [name for name in PAGES if PAGES[name][0](Nowhere(1))]


@pytest.mark.parametrize("value", [UNKNOWN, HUGE])
@pytest.mark.parametrize("name", WITH_IDS)
def test_unknown_or_huge_ids_are_a_404(name, value, doctor_client):
    kwargs = PAGES[name][0](Nowhere(value))
    response = getattr(doctor_client, PAGES[name][1])(reverse(name, kwargs=kwargs))
    assert response.status_code == 404


@pytest.mark.parametrize("path", ["patients/abc/", "records/1.5/", "plans/-1/", "records/%C2%B2/", "visits//start/"])
def test_non_numeric_ids_do_not_resolve(path, doctor_client):
    assert doctor_client.get(f"/clinical/{path}").status_code == 404


@pytest.mark.parametrize("name", ["clinical:record_create", "clinical:plan_create", "clinical:procedure_create"])
def test_an_archived_patient_gets_no_new_charting(name, doctor_client):
    patient = PatientFactory(is_archived=True)
    url = reverse(name, args=[patient.pk])
    assert doctor_client.post(url, {"client_token": str(uuid.uuid4())}).status_code == 404
    assert everything_clinical()[0] == []


@pytest.mark.parametrize("value", ["abc", "1.5", "-1", "²", str(HUGE), str(UNKNOWN)])
def test_malformed_procedure_prefill_shows_the_form(value, doctor, doctor_client):
    patient = PatientFactory()
    url = reverse("clinical:procedure_create", args=[patient.pk])
    response = doctor_client.get(url, {"plan": value, "appointment": value})
    assert response.status_code == 200


@pytest.mark.parametrize("value", ["abc", "1.5", "-1", "²", str(HUGE), str(UNKNOWN)])
def test_malformed_choices_in_forms_are_field_errors(value, doctor, doctor_client):
    patient = PatientFactory()
    response = doctor_client.post(
        reverse("clinical:plan_create", args=[patient.pk]), {**plan_form(doctor), "doctor": value}
    )
    assert response.status_code == 200 and field_errors(response, "doctor")
    response = doctor_client.post(
        reverse("clinical:procedure_create", args=[patient.pk]),
        procedure_form(plan=value, appointment=value, performed_by=value),
    )
    assert response.status_code == 200 and field_errors(response, "plan") and field_errors(response, "performed_by")
    assert not TreatmentPlan.objects.exists() and not Procedure.objects.exists()


@pytest.mark.parametrize(
    "fields",
    [
        {"start_date": "2024-13-45"},
        {"start_date": "9999-12-31"},
        {"expected_end_date": "0001-01-01"},
    ],
    ids=str,
)
def test_malformed_dates_and_tokens_in_the_plan_form_are_errors(fields, doctor, doctor_client):
    response = doctor_client.post(
        reverse("clinical:plan_create", args=[PatientFactory().pk]), plan_form(doctor, **fields)
    )
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not TreatmentPlan.objects.exists()


@pytest.mark.parametrize(
    "fields",
    [{"fee": "-5"}, {"fee": "abc"}, {"fee": "1e400"}, {"status": "exploded"}, {"scheduled_date": "2024-02-30"}],
    ids=str,
)
def test_malformed_procedure_fields_are_errors(fields, doctor, doctor_client):
    plan = TreatmentPlanFactory(doctor=doctor)
    response = doctor_client.post(
        reverse("clinical:procedure_create", args=[plan.patient.pk]), procedure_form(plan=plan.pk, **fields)
    )
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not Procedure.objects.exists()


@pytest.mark.parametrize("token", ["not-a-uuid", "", "x" * 500])
def test_new_record_with_a_malformed_token_still_opens_a_draft(token, doctor_client):
    patient = PatientFactory()
    response = doctor_client.post(reverse("clinical:record_create", args=[patient.pk]), {"client_token": token})
    record = MedicalRecord.objects.get()
    assert response["Location"] == reverse("clinical:record_edit", args=[record.pk])


@pytest.mark.parametrize(
    "tamper",
    [
        {"meds-TOTAL_FORMS": "abc"},
        {"meds-INITIAL_FORMS": "5"},
        {"meds-0-id": "abc"},
        {"icd10_codes": "not a code"},
        {"spo2": "²"},
    ],
    ids=str,
)
def test_tampered_record_form_is_an_error_not_a_crash(tamper, doctor_client):
    record = MedicalRecordFactory(author=doctor_client.user, examination="As first written")
    data = {**record_form(record, examination="Changed", meds=["Paracetamol"]), **tamper}
    response = doctor_client.post(reverse("clinical:record_edit", args=[record.pk]), data)
    assert response.status_code == 200
    record.refresh_from_db()
    assert record.examination == "As first written"
    assert not record.medications.exists()


@pytest.mark.parametrize("total", [str(MAX_MEDICATIONS + 1), "2000", "99999999"])
def test_a_huge_number_of_medication_rows_is_refused_with_a_message(total, doctor_client):
    record = MedicalRecordFactory(author=doctor_client.user)
    data = {**record_form(record, meds=["Paracetamol"]), "meds-TOTAL_FORMS": total}
    response = doctor_client.post(reverse("clinical:record_edit", args=[record.pk]), data)
    assert response.status_code == 200
    assert f"Please submit at most {MAX_MEDICATIONS} forms." in text(response)
    # The page shows at most the cap's rows, not thousands.
    assert len(response.context["medications"].forms) <= MAX_MEDICATIONS
    assert not record.medications.exists()


def test_as_many_medications_as_the_cap_are_saved(doctor_client):
    record = MedicalRecordFactory(author=doctor_client.user)
    drugs = [f"Drug {n}" for n in range(MAX_MEDICATIONS)]
    response = doctor_client.post(reverse("clinical:record_edit", args=[record.pk]), record_form(record, meds=drugs))
    assert response.status_code == 302
    assert record.medications.count() == MAX_MEDICATIONS


def test_medication_rows_of_another_record_cannot_be_taken_over(doctor_client):
    mine = MedicalRecordFactory(author=doctor_client.user)
    others = MedicationFactory(drug="Someone else's drug")
    owner = others.record_id
    data = record_form(mine)
    data.update({"meds-TOTAL_FORMS": "1", "meds-INITIAL_FORMS": "1", "meds-0-id": others.pk, "meds-0-drug": "Mine"})
    response = doctor_client.post(reverse("clinical:record_edit", args=[mine.pk]), data)
    # The formset looks rows up among this record's only: the row is dropped, never moved or changed.
    assert response.status_code in (200, 302)
    others.refresh_from_db()
    assert (others.record_id, others.drug) == (owner, "Someone else's drug")
    assert not mine.medications.exists()
