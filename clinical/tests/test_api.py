"""The clinical API: who reads records, drafts saved and signed through the services, the allergy rule,
signed records immutable, amendments, plans and procedures, audit and bounded lists."""

import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from clinic.models import AuditEntry
from clinical.models import Amendment, MedicalRecord, Procedure, TreatmentPlan
from clinical.tests.factories import (
    AmendmentFactory,
    MedicalRecordFactory,
    MedicationFactory,
    ProcedureFactory,
    TreatmentPlanFactory,
)
from clinical.tests.pages import Status, signed_record, visit
from patients.tests.factories import AllergyFactory, PatientFactory
from staff.roles import ADMINISTRATOR, DOCTOR, MANAGER, NURSE, RECEPTIONIST
from staff.tests.factories import DoctorFactory

RECORDS = reverse("clinical_api:record-list")
PLANS = reverse("clinical_api:plan-list")
PROCEDURES = reverse("clinical_api:procedure-list")
PROBLEM = "application/problem+json"


def record_url(record, name="detail"):
    return reverse(f"clinical_api:record-{name}", kwargs={"pk": record.pk})


@pytest.fixture
def doctor():
    return DoctorFactory(user__first_name="Ngozi", user__last_name="Ọkonkwọ")


@pytest.fixture
def author(api_for, doctor):
    """The Doctor's API client; `doctor` is the doctor profile behind it."""
    return api_for(DOCTOR, user=doctor.user)


@pytest.fixture
def patient():
    return PatientFactory(first_name="Żaneta", last_name="Þórsdóttir")


# --- reading --------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", [RECEPTIONIST, MANAGER, ADMINISTRATOR, None])
def test_roles_outside_the_clinic_read_no_diagnoses(api_for, role, patient):
    record = signed_record(DoctorFactory().user, patient, diagnosis="Ménière’s disease")
    api = api_for(role)
    for url in (record_url(record), f"{RECORDS}?patient={patient.pk}"):
        response = api.get(url)
        assert response.status_code == 403, url
        assert response["Content-Type"] == PROBLEM
        assert "Ménière" not in response.content.decode()
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.VIEW, object_id=str(record.pk)).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role", [DOCTOR, NURSE])
def test_clinical_roles_read_a_record_in_full_and_the_read_is_audited(api_for, role, patient):
    AllergyFactory(patient=patient, substance="Penicillin")
    record = signed_record(
        DoctorFactory().user,
        patient,
        drugs=["Amoxicillin"],
        diagnosis="Streptococcal tonsillitis",
        icd10_codes="J03.00",
        examination="Ödem der Tonsillen",
        bp_systolic=128,
        bp_diastolic=82,
        temperature="38.4",
        weight_kg="70.0",
        height_cm="175.0",
    )
    AmendmentFactory(record=record, text="Culture positive — 確認済み", author=record.author)
    api = api_for(role)
    response = api.get(record_url(record))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "signed" and body["diagnosis"] == "Streptococcal tonsillitis"
    assert body["examination"] == "Ödem der Tonsillen"
    assert body["icd10"] == [{"code": "J03.00", "system": "ICD-10-CM", "title": body["icd10"][0]["title"]}]
    assert body["icd10"][0]["title"]
    assert (body["bp_systolic"], body["temperature"], body["bmi"]) == (128, "38.4", "22.9")
    assert [m["drug"] for m in body["medications"]] == ["Amoxicillin"]
    assert body["allergy_conflicts"][0]["allergy"] == "Penicillin"
    assert "Amoxicillin" in body["allergy_conflicts_acknowledged"]
    assert body["amendments"][0]["text"] == "Culture positive — 確認済み"
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.VIEW).latest("id")
    assert (entry.object_id, entry.patient_id, entry.user) == (str(record.pk), patient.pk, api.user)
    assert entry.user_agent.startswith("API token")


@pytest.mark.django_db
def test_a_patients_records_list_in_bounded_queries_and_is_audited(api_for, patient, django_assert_max_num_queries):
    AllergyFactory(patient=patient)
    for i in range(12):
        record = MedicalRecordFactory(patient=patient, diagnosis=f"Visit {i}: ĉefdoloro")
        MedicationFactory(record=record)
        MedicationFactory(record=record, drug="Ibuprofen")
    for _ in range(3):
        AmendmentFactory(record__patient=patient)
    MedicalRecordFactory()  # another patient's
    api = api_for(NURSE)
    api.get(f"{RECORDS}?patient={patient.pk}")  # warm the token's and the permissions' caches alike
    with django_assert_max_num_queries(11):
        response = api.get(RECORDS, {"patient": patient.pk, "page_size": 50})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 15
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.VIEW).latest("id")
    assert entry.patient_id == patient.pk and "15 listed" in entry.summary
    signed_only = api.get(RECORDS, {"patient": patient.pk, "status": "signed"}).json()
    signed_only = signed_only["results"]
    assert len(signed_only) == 3, signed_only


@pytest.mark.django_db
def test_the_list_needs_a_patient_that_exists(api_for):
    api = api_for(DOCTOR)
    missing = api.get(RECORDS)
    assert missing.status_code == 400 and "patient" in missing.json()["errors"]
    assert api.get(RECORDS, {"patient": "1.5"}).status_code == 400
    assert api.get(RECORDS, {"patient": str(10**30)}).status_code == 400
    assert api.get(RECORDS, {"patient": 987654}).status_code == 404


# --- drafts ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_doctor_opens_a_draft_for_a_patient_with_content_and_a_replay_makes_one(author, patient):
    key = str(uuid.uuid4())
    sent = {
        "patient": patient.pk,
        "chief_complaint": "Кашель две недели",
        "diagnosis": "Acute bronchitis",
        "icd10_codes": "j20.9",
        "temperature": "37,9 °C",
        "medications": [{"drug": "Salbutamol", "dose": "2 puffs", "frequency": "as needed"}],
    }
    first = author.post(RECORDS, sent, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == 201, first.content
    body = first.json()
    assert first["Location"] == reverse("clinical_api:record-detail", kwargs={"pk": body["id"]})
    assert body["status"] == "draft" and body["author"]["name"] == "Ngozi Ọkonkwọ"
    assert (body["icd10_codes"], body["temperature"]) == ("J20.9", "37.9")
    assert [m["drug"] for m in body["medications"]] == ["Salbutamol"]
    again = author.post(RECORDS, sent, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert again.status_code == 303 and again["Location"] == first["Location"]
    assert MedicalRecord.objects.count() == 1


@pytest.mark.django_db
def test_a_visits_record_is_opened_once(author, doctor, patient):
    appointment = visit(doctor, patient, status=Status.IN_PROGRESS)
    first = author.post(RECORDS, {"appointment": appointment.pk}, format="json")
    assert first.status_code == 201, first.content
    second = author.post(RECORDS, {"appointment": appointment.pk}, format="json")
    assert second.status_code == 200 and second.json()["id"] == first.json()["id"]
    cancelled = visit(doctor, patient, hour=15, status=Status.CANCELLED)
    refused = author.post(RECORDS, {"appointment": cancelled.pk}, format="json")
    assert refused.status_code == 400 and "no visit to chart" in refused.json()["detail"]


@pytest.mark.django_db
def test_opening_a_draft_checks_what_was_sent_like_the_page(author, patient):
    assert author.post(RECORDS, {}, format="json").status_code == 400
    both = author.post(RECORDS, {"patient": patient.pk, "appointment": 1}, format="json")
    assert both.status_code == 400
    unknown = author.post(RECORDS, {"patient": patient.pk, "icd10_codes": "QQ99.9"}, format="json")
    assert unknown.status_code == 400 and "Not in the ICD-10 code list" in unknown.json()["errors"]["icd10_codes"][0]
    hot = author.post(RECORDS, {"patient": patient.pk, "temperature": "99.5"}, format="json")
    assert hot.json()["errors"]["temperature"] == ["That looks like °F: did you mean 37.5 °C?"]
    patient.is_archived = True
    patient.save()
    assert author.post(RECORDS, {"patient": patient.pk}, format="json").status_code == 404
    assert not MedicalRecord.objects.exists()


@pytest.mark.django_db
def test_the_author_saves_a_draft_and_its_medications(author, doctor, patient):
    draft = MedicalRecordFactory(author=doctor.user, patient=patient, diagnosis="")
    kept = MedicationFactory(record=draft, drug="Paracetamol")
    dropped = MedicationFactory(record=draft, drug="Codeine")
    response = author.patch(
        record_url(draft),
        {
            "diagnosis": "Migraine without aura",
            "medications": [{"id": kept.pk, "dose": "1 g"}, {"drug": "Sumatriptan", "strength": "50 mg"}],
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    draft.refresh_from_db()
    assert draft.diagnosis == "Migraine without aura"
    assert draft.chief_complaint == "Sore throat for three days"  # not sent: kept
    assert sorted(draft.medications.values_list("drug", "dose")) == [("Paracetamol", "1 g"), ("Sumatriptan", "")]
    assert not draft.medications.filter(pk=dropped.pk).exists()
    # Without `medications`, the rows stay as they are.
    assert author.patch(record_url(draft), {"plan": "Review in 2 weeks"}, format="json").status_code == 200
    assert draft.medications.count() == 2
    bad = author.patch(record_url(draft), {"medications": [{"strength": "5 mg"}]}, format="json")
    assert bad.status_code == 400 and "medications[0].drug" in bad.json()["errors"]
    stranger = author.patch(record_url(draft), {"medications": [{"id": 987654, "drug": "X"}]}, format="json")
    assert stranger.status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["patch", "put"])
def test_only_the_author_edits_a_draft(api_for, patient, method):
    draft = MedicalRecordFactory(patient=patient, diagnosis="Gastritis")
    colleague = api_for(DOCTOR)
    response = getattr(colleague, method)(record_url(draft), {"diagnosis": "Ulcer"}, format="json")
    assert response.status_code == 403 and response["Content-Type"] == PROBLEM
    assert colleague.post(record_url(draft, "sign"), {}, format="json").status_code == 403
    assert api_for(NURSE).patch(record_url(draft), {"diagnosis": "Ulcer"}, format="json").status_code == 403
    draft.refresh_from_db()
    assert draft.diagnosis == "Gastritis" and not draft.is_signed


# --- signing and the allergy rule ------------------------------------------------------------------


@pytest.mark.django_db
def test_signing_refuses_an_allergy_clash_until_acknowledged(author, doctor, patient):
    AllergyFactory(patient=patient, substance="Penicillin", severity="severe")
    draft = MedicalRecordFactory(author=doctor.user, patient=patient)
    MedicationFactory(record=draft, drug="Amoxicillin")
    refused = author.post(record_url(draft, "sign"), {}, format="json")
    assert refused.status_code == 409 and refused["Content-Type"] == PROBLEM
    body = refused.json()
    assert body["detail"] == "Acknowledge the allergy warning before signing."
    assert body["errors"]["acknowledge_allergies"] == ["Acknowledge the allergy warning before signing."]
    assert body["allergy_conflicts"][0]["drug"] == "Amoxicillin"
    assert body["allergy_conflicts"][0]["allergy"] == "Penicillin"
    draft.refresh_from_db()
    assert not draft.is_signed
    signed = author.post(record_url(draft, "sign"), {"acknowledge_allergies": True}, format="json")
    assert signed.status_code == 200, signed.content
    assert signed.json()["status"] == "signed"
    assert "Amoxicillin vs allergy to Penicillin" in signed.json()["allergy_conflicts_acknowledged"]
    assert AuditEntry.objects.filter(action=AuditEntry.Action.SIGN, object_id=str(draft.pk)).exists()


@pytest.mark.django_db
def test_a_record_without_a_diagnosis_is_not_signed(author, doctor, patient):
    draft = MedicalRecordFactory(author=doctor.user, patient=patient, diagnosis="")
    response = author.post(record_url(draft, "sign"), {}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["diagnosis"] == ["A record cannot be signed without a diagnosis."]


@pytest.mark.django_db
def test_a_signed_record_never_changes_every_change_is_409(author, doctor, patient):
    record = signed_record(doctor.user, patient, diagnosis="Otitis media")
    before = MedicalRecord.objects.values().get(pk=record.pk)
    meds = list(record.medications.values())
    attempts = [
        author.patch(record_url(record), {"diagnosis": "Otitis externa"}, format="json"),
        author.put(record_url(record), {"diagnosis": "Otitis externa"}, format="json"),
        author.patch(record_url(record), {"medications": []}, format="json"),
        author.post(record_url(record, "sign"), {"acknowledge_allergies": True}, format="json"),
    ]
    for response in attempts:
        assert response.status_code == 409, response.content
        assert response["Content-Type"] == PROBLEM and response.json()["status"] == 409
    assert MedicalRecord.objects.values().get(pk=record.pk) == before
    assert list(record.medications.values()) == meds


@pytest.mark.django_db
def test_a_visits_signed_record_opened_again_with_content_is_409(author, doctor, patient):
    appointment = visit(doctor, patient, status=Status.IN_PROGRESS)
    record = MedicalRecordFactory(author=doctor.user, patient=patient, appointment=appointment)
    author.post(record_url(record, "sign"), {}, format="json")
    response = author.post(RECORDS, {"appointment": appointment.pk, "diagnosis": "Other"}, format="json")
    assert response.status_code == 409
    assert MedicalRecord.objects.get(pk=record.pk).diagnosis == "Acute tonsillitis"


@pytest.mark.django_db
def test_a_signed_record_is_amended_and_a_draft_is_not(author, doctor, patient):
    record = signed_record(doctor.user, patient)
    url = record_url(record, "amend")
    key = str(uuid.uuid4())
    amendment = {"section": "plan", "text": "Wiederholung in einer Woche", "reason": "Vergessen"}
    first = author.post(url, amendment, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == 201, first.content
    assert first.json()["author"]["name"] == "Ngozi Ọkonkwọ"
    assert author.post(url, amendment, format="json", HTTP_IDEMPOTENCY_KEY=key).status_code == 303
    assert Amendment.objects.filter(record=record).count() == 1
    assert author.post(url, {"section": "nonsense", "text": "", "reason": ""}, format="json").status_code == 400
    draft = MedicalRecordFactory(author=doctor.user, patient=patient)
    assert author.post(record_url(draft, "amend"), amendment, format="json").status_code == 409


@pytest.mark.django_db
def test_a_nurse_cannot_amend_or_open_records(api_for, patient):
    record = signed_record(DoctorFactory().user, patient)
    nurse = api_for(NURSE)
    amendment = {"section": "plan", "text": "x", "reason": "y"}
    assert nurse.post(record_url(record, "amend"), amendment, format="json").status_code == 403
    assert nurse.post(RECORDS, {"patient": patient.pk}, format="json").status_code == 403
    assert not Amendment.objects.exists()


# --- treatment plans and procedures ---------------------------------------------------------------


@pytest.mark.django_db
def test_a_plan_is_made_edited_and_moved_along_its_lifecycle(author, doctor, patient):
    made = author.post(
        PLANS,
        {"patient": patient.pk, "doctor": doctor.pk, "diagnosis_summary": "Diabète de type 2", "goals": "HbA1c < 53"},
        format="json",
    )
    assert made.status_code == 201, made.content
    plan = TreatmentPlan.objects.get(pk=made.json()["id"])
    assert plan.created_by == doctor.user and plan.status == "draft"
    assert made.json()["next_statuses"] == ["active", "cancelled"]
    url = reverse("clinical_api:plan-detail", kwargs={"pk": plan.pk})
    start, end = timezone.localdate(), timezone.localdate() - timedelta(days=1)
    wrong = author.patch(url, {"start_date": start.isoformat(), "expected_end_date": end.isoformat()}, format="json")
    assert wrong.status_code == 400 and "expected_end_date" in wrong.json()["errors"]
    assert author.patch(url, {"goals": "HbA1c < 48"}, format="json").status_code == 200
    status_url = reverse("clinical_api:plan-status", kwargs={"pk": plan.pk})
    active = author.post(status_url, {"status": "active"}, format="json")
    assert active.status_code == 200 and active.json()["start_date"] == timezone.localdate().isoformat()
    assert author.post(status_url, {"status": "completed"}, format="json").status_code == 200
    # Completed: history. Another move or an edit is a conflict with its state.
    assert author.post(status_url, {"status": "active"}, format="json").status_code == 409
    assert author.patch(url, {"goals": "changed"}, format="json").status_code == 409
    assert author.post(status_url, {"status": "whatever"}, format="json").status_code == 400
    plan.refresh_from_db()
    assert plan.goals == "HbA1c < 48" and plan.status == "completed"


@pytest.mark.django_db
def test_plans_list_with_their_procedures_in_bounded_queries(api_for, patient, django_assert_max_num_queries):
    for i in range(8):
        plan = TreatmentPlanFactory(patient=patient, diagnosis_summary=f"План {i}")
        ProcedureFactory(plan=plan)
        ProcedureFactory(plan=plan, status=Procedure.Status.CANCELLED)
    api = api_for(NURSE)
    api.get(PLANS, {"patient": patient.pk})
    with django_assert_max_num_queries(9):
        response = api.get(PLANS, {"patient": patient.pk})
    results = response.json()["results"]
    assert len(results) == 8 and all(p["planned"] == 1 and p["done"] == 0 for p in results)
    assert api_for(RECEPTIONIST).get(PLANS, {"patient": patient.pk}).status_code == 403


@pytest.mark.django_db
def test_procedures_are_linked_to_a_plan_or_a_visit_of_the_patient(author, doctor, patient):
    plan = TreatmentPlanFactory(patient=patient, doctor=doctor)
    other_plan = TreatmentPlanFactory()
    unlinked = author.post(PROCEDURES, {"patient": patient.pk, "name": "Spirometrie"}, format="json")
    assert unlinked.status_code == 400
    foreign = author.post(PROCEDURES, {"patient": patient.pk, "name": "X", "plan": other_plan.pk}, format="json")
    assert foreign.status_code == 400 and "plan" in foreign.json()["errors"]
    made = author.post(
        PROCEDURES, {"patient": patient.pk, "name": "Spirométrie", "plan": plan.pk, "fee": "40.00"}, format="json"
    )
    assert made.status_code == 201, made.content
    procedure = Procedure.objects.get(pk=made.json()["id"])
    assert procedure.created_by == doctor.user
    appointment = visit(doctor, patient, status=Status.IN_PROGRESS)
    on_visit = author.post(
        PROCEDURES, {"patient": patient.pk, "name": "ECG", "appointment": appointment.pk}, format="json"
    )
    assert on_visit.status_code == 201, on_visit.content
    url = reverse("clinical_api:procedure-detail", kwargs={"pk": procedure.pk})
    future = (timezone.localdate() + timedelta(days=2)).isoformat()
    early = author.patch(url, {"status": "done", "performed_date": future}, format="json")
    assert early.status_code == 400
    today = timezone.localdate().isoformat()
    done = author.patch(url, {"status": "done", "performed_date": today, "outcome": "FEV1 92 %"}, format="json")
    assert done.status_code == 200, done.content
    procedure.refresh_from_db()
    assert procedure.status == "done" and procedure.outcome == "FEV1 92 %"
    listed = author.get(PROCEDURES, {"patient": patient.pk, "plan": plan.pk}).json()["results"]
    assert [p["id"] for p in listed] == [procedure.pk]


@pytest.mark.django_db
def test_a_cancelled_procedure_is_history(author, doctor, patient):
    procedure = ProcedureFactory(plan=TreatmentPlanFactory(patient=patient), status=Procedure.Status.CANCELLED)
    url = reverse("clinical_api:procedure-detail", kwargs={"pk": procedure.pk})
    assert author.patch(url, {"name": "Renamed"}, format="json").status_code == 409
    assert author.get(url).status_code == 200
    assert AuditEntry.objects.filter(action=AuditEntry.Action.VIEW, object_id=str(procedure.pk)).exists()
