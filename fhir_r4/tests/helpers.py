"""What the FHIR tests share: validating what the server emits, and a patient with a full chart."""

from collections import Counter
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class

from clinical import services as clinical_services
from clinical.tests.factories import MedicalRecordFactory, MedicationFactory, ProcedureFactory, TreatmentPlanFactory
from documents.models import ClinicalDocument
from documents.tests.factories import make_document
from patients.models import Allergy, Condition
from patients.tests.factories import AllergyFactory, ConditionFactory, PatientFactory
from scheduling.models import Appointment
from scheduling.tests.factories import AppointmentFactory, local
from staff.tests.factories import DoctorFactory, UserFactory


def validated(resource):
    """The resource checked against the FHIR R4B model of its type (fhir.resources); a Bundle's entries
    are each checked against their own type's model too. Returns the resource."""
    assert isinstance(resource, dict), resource
    model = get_fhir_model_class(resource["resourceType"])
    model.model_validate(resource)
    for entry in resource.get("entry", []):
        validated(entry["resource"])
    return resource


def fhir_json(response, status=200):
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/fhir+json"), response["Content-Type"]
    return validated(response.json())


def counts(bundle):
    return Counter(entry["resource"]["resourceType"] for entry in bundle.get("entry", []))


def full_chart():
    """A patient (names outside Latin-1) with every kind of record: two visits (one done, one to come), an
    allergy, a problem list of two, a signed record with vital signs, two ICD-10 diagnoses and two
    prescriptions, a plan with a procedure done, a lab result and a referral."""
    doctor = DoctorFactory(user=UserFactory(first_name="Αθηνά", last_name="Παπαδοπούλου"), phone="+30 210 000 0000")
    patient = PatientFactory(
        first_name="Thị Hương",
        last_name="Đặng",
        email="huong@example.org",
        address="Phố Hàng Bạc 12, Hà Nội",
        emergency_contact_name="Nguyễn Văn Ánh",
        emergency_contact_relationship="Brother",
        emergency_contact_phone="+84 24 0000 0000",
    )
    yesterday = timezone.localdate() - timedelta(days=1)
    start = local(yesterday, 10)
    visit = AppointmentFactory(
        patient=patient,
        doctor=doctor,
        start=start,
        end=start + timedelta(minutes=20),
        reason="Khám định kỳ — follow-up",
        status=Appointment.Status.COMPLETED,
        checked_in_at=start,
        started_at=start + timedelta(minutes=2),
        completed_at=start + timedelta(minutes=19),
    )
    AppointmentFactory(patient=patient, doctor=doctor)  # tomorrow at 10, booked
    AllergyFactory(patient=patient, substance="Pénicilline", reaction="Phát ban", severity=Allergy.Severity.SEVERE)
    ConditionFactory(patient=patient, name="Tăng huyết áp", icd10_code="I10")
    ConditionFactory(
        patient=patient,
        name="Viêm phế quản",
        icd10_code="J20.9",
        status=Condition.Status.RESOLVED,
        onset_date=yesterday - timedelta(days=60),
        resolved_date=yesterday - timedelta(days=30),
        notes="Hết sau kháng sinh",
    )
    record = MedicalRecordFactory(
        patient=patient,
        appointment=visit,
        author=doctor.user,
        diagnosis="Đái tháo đường típ 2; tăng huyết áp",
        icd10_codes="E11.9, I10",
        bp_systolic=142,
        bp_diastolic=91,
        pulse=78,
        temperature=Decimal("36.8"),
        respiratory_rate=16,
        spo2=97,
        weight_kg=Decimal("61.5"),
        height_cm=Decimal("158.0"),
    )
    MedicationFactory(record=record, drug="Metformin", strength="500 mg", instructions="Uống sau ăn")
    MedicationFactory(record=record, drug="Amlodipine", strength="5 mg", dose="1 tablet", frequency="once a day")
    clinical_services.sign_record(record=record, by=doctor.user)
    plan = TreatmentPlanFactory(patient=patient, doctor=doctor, diagnosis_summary="Đái tháo đường típ 2")
    ProcedureFactory(
        plan=plan, appointment=visit, status="done", performed_date=yesterday, performed_by=doctor.user, outcome="Ổn"
    )
    make_document(patient, by=doctor.user, title="Xét nghiệm máu — HbA1c")
    make_document(patient, by=doctor.user, doc_type=ClinicalDocument.Type.REFERRAL, title="Giới thiệu — 眼科")
    return patient, doctor


# What full_chart() gives a doctor's $everything: one of each, and these counts.
FULL_CHART_FOR_A_DOCTOR = {
    "Patient": 1,
    "Appointment": 2,
    "Encounter": 1,
    "AllergyIntolerance": 1,
    "Condition": 4,  # two on the problem list, two diagnoses coded on the record
    "Observation": 7,  # blood pressure, pulse, temperature, breathing, SpO2, weight, height ...
    "MedicationRequest": 2,
    "CarePlan": 1,
    "Procedure": 1,
    "DocumentReference": 2,
    "Practitioner": 1,
    "PractitionerRole": 1,
}
FULL_CHART_FOR_A_DOCTOR["Observation"] += 1  # ... and the BMI computed from them
