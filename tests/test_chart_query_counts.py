"""The clinical pages run the same number of queries for a short history and a long one (no N+1).

Each test measures a page, makes the patient's history (or the doctor's day, or the record, or the
plan) much bigger, measures again and compares. A warm-up request first, so one-off caches
(content types, permissions) count in neither measurement.
"""

from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinical import services
from clinical.models import MedicalRecord, Procedure, TreatmentPlan
from clinical.tests.factories import (
    AmendmentFactory,
    MedicalRecordFactory,
    MedicationFactory,
    ProcedureFactory,
    TreatmentPlanFactory,
)
from documents import services as document_services
from documents.models import ClinicalDocument
from documents.tests.factories import make_document, make_image, pdf_upload, photo_upload
from patients.tests.factories import AllergyFactory, ConditionFactory, PatientFactory
from scheduling.models import Appointment
from scheduling.tests.factories import AppointmentFactory, local
from staff.roles import NURSE
from staff.tests.factories import DoctorFactory, UserFactory

pytestmark = pytest.mark.django_db

Status = Appointment.Status
# A ceiling as well: constant but wasteful would still be a regression.
MAX_QUERIES = 25
PLAN_STATUSES = list(TreatmentPlan.Status)
PROCEDURE_STATUSES = list(Procedure.Status)


def queries(client, url, data=None):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, data)
    assert response.status_code == 200
    return len(captured)


def assert_does_not_grow(client, url, add_more, data=None):
    client.get(url, data)  # warm-up
    few = queries(client, url, data)
    add_more()
    many = queries(client, url, data)
    assert many == few, f"{url}: {few} queries with a short history, {many} with a long one"
    assert few <= MAX_QUERIES, few


def days_ago(n, hour=9):
    return local(timezone.localdate() - timedelta(days=n), hour)


def sign(record, meds=2, amendments=1):
    """Medications, then the signature, then amendments by colleagues."""
    for i in range(meds):
        MedicationFactory(record=record, drug=f"Drug {record.pk}-{i}")
    record = services.sign_record(record=record, by=record.author, acknowledge_allergies=True)
    for _ in range(amendments):
        AmendmentFactory(record=record, author=DoctorFactory().user)
    return record


def grow_history(patient, *, visits, first_day, doctors=None):
    """`visits` past visits (one a day, from `first_day` days ago backwards) by several doctors, each
    with a record: most signed, with medications and amendments, some drafts, some outside a visit;
    a treatment plan every third visit, in every status, with procedures in every status."""
    doctors = doctors or [DoctorFactory() for _ in range(3)]
    nurse = UserFactory(roles=[NURSE])
    for i in range(visits):
        doctor = doctors[i % len(doctors)]
        start = days_ago(first_day + i)
        appointment = AppointmentFactory(
            patient=patient,
            doctor=doctor,
            start=start,
            status=Status.COMPLETED,
            checked_in_at=start,
            started_at=start,
            completed_at=start + timedelta(minutes=20),
        )
        record = MedicalRecordFactory(
            patient=patient,
            author=doctor.user,
            appointment=appointment if i % 4 != 3 else None,
            diagnosis=f"Diagnosis {i}",
            pulse=70 + i % 20,
            vitals_recorded_by=nurse,
        )
        if i % 5 != 4:
            sign(record, meds=2, amendments=1 + i % 2)
        else:
            MedicationFactory(record=record)
        if i % 3 == 0:
            plan = TreatmentPlanFactory(
                patient=patient, doctor=doctor, status=PLAN_STATUSES[(i // 3) % len(PLAN_STATUSES)]
            )
            for j, status in enumerate(PROCEDURE_STATUSES):
                ProcedureFactory(
                    plan=plan,
                    appointment=appointment if j == 0 else None,
                    status=status,
                    performed_date=start.date() if status == Procedure.Status.DONE else None,
                    scheduled_date=start.date() + timedelta(days=7),
                    performed_by=doctor.user if status == Procedure.Status.DONE else None,
                )
        # A procedure on the visit alone, outside any plan.
        if i % 4 == 1:
            ProcedureFactory(plan=None, patient=patient, appointment=appointment, name="Dressing")


@pytest.fixture
def doctor(doctor_client):
    return DoctorFactory(user=doctor_client.user)


def a_patient():
    patient = PatientFactory()
    AllergyFactory(patient=patient, substance="Penicillin")
    AllergyFactory(patient=patient, substance="Latex", severity="severe")
    ConditionFactory(patient=patient)
    return patient


def file_paperwork(patient, *, count, first_day):
    """`count` documents of every type (every other one corrected, every fifth archived) and as many
    photos of a few body sites (every fourth archived), each filed by a different clinician."""
    types = list(ClinicalDocument.Type)
    for i in range(count):
        document = make_document(
            patient,
            doc_type=types[i % len(types)],
            title=f"Document {first_day}-{i}",
            document_date=days_ago(first_day + i).date(),
        )
        if i % 2 == 0:
            document_services.replace_document_file(
                document=document, uploaded=pdf_upload(), by=UserFactory(roles=[NURSE]), note="Corrected"
            )
        image = make_image(
            patient,
            body_site=["Left shin", "Sacrum", "Right heel"][i % 3],
            taken_on=days_ago(first_day + i).date(),
            uploaded=photo_upload(size=(160, 120)),
        )
        if i % 5 == 4:
            document_services.archive_document(document=document, by=document.uploaded_by, reason="Filed in error")
        if i % 4 == 3:
            document_services.archive_image(image=image, by=image.uploaded_by, reason="Blurred")


# --- the chart ------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["doctor_client", "nurse"])
@pytest.mark.parametrize("plan_status", ["", "active"])
def test_chart(persona, plan_status, request):
    client = request.getfixturevalue(persona)
    patient = a_patient()
    doctors = [DoctorFactory() for _ in range(3)]
    grow_history(patient, visits=2, first_day=1, doctors=doctors)
    file_paperwork(patient, count=1, first_day=1)
    url = reverse("clinical:chart", args=[patient.pk])
    data = {"plan_status": plan_status} if plan_status else None

    def add_more():
        grow_history(patient, visits=28, first_day=3, doctors=[*doctors, DoctorFactory(), DoctorFactory()])
        AllergyFactory(patient=patient, substance="Ibuprofen")
        ConditionFactory(patient=patient, name="Asthma", icd10_code="J45")
        file_paperwork(patient, count=20, first_day=3)

    assert_does_not_grow(client, url, add_more, data)
    # The long history is really on the chart, page by page (25 entries a page), documents and
    # photos too (the archived ones are not).
    timeline, params = [], data
    while True:
        response = client.get(url, params)
        timeline += response.context["timeline"]
        if "older" not in response.context["pages"]:
            break
        params = {k: v[0] for k, v in parse_qs(urlsplit(response.context["pages"]["older"]).query).items()}
    kinds = {entry.kind for entry in timeline}
    assert kinds == {"visit", "record", "plan", "procedure", "document", "image"}
    assert len([e for e in timeline if e.kind == "record"]) == 30
    assert len([e for e in timeline if e.kind == "document"]) == 1 + 16
    assert len([e for e in timeline if e.kind == "image"]) == 1 + 15
    assert MedicalRecord.objects.signed().filter(patient=patient, amendments__isnull=False).exists()


# --- my day ---------------------------------------------------------------------------------------

DAY_STATUSES = list(Status)


def book_today(doctor, count, *, first_hour):
    """`count` appointments for the doctor today, 20 minutes apart, every status, each patient with
    allergies, a history, and a record for the visits under way or done."""
    for i in range(count):
        status = DAY_STATUSES[i % len(DAY_STATUSES)]
        start = local(timezone.localdate(), first_hour) + timedelta(minutes=20 * i)
        patient = a_patient()
        grow_history(patient, visits=1, first_day=1 + i)
        appointment = AppointmentFactory(
            patient=patient,
            doctor=doctor,
            start=start,
            status=status,
            reason=f"Reason {i}",
            checked_in_at=start if status not in (Status.SCHEDULED, Status.CONFIRMED) else None,
            cancellation_reason="Unwell" if status == Status.CANCELLED else "",
        )
        if status in (Status.IN_PROGRESS, Status.COMPLETED):
            record = MedicalRecordFactory(patient=patient, author=doctor.user, appointment=appointment)
            if status == Status.COMPLETED:
                sign(record)


def test_my_day(doctor, doctor_client):
    book_today(doctor, len(DAY_STATUSES), first_hour=8)

    def add_more():
        book_today(doctor, 3 * len(DAY_STATUSES), first_hour=11)
        # Colleagues' days are not on this page, however full.
        book_today(DoctorFactory(), len(DAY_STATUSES), first_hour=8)

    url = reverse("clinical:my_day")
    assert_does_not_grow(doctor_client, url, add_more)
    assert len(doctor_client.get(url).context["appointments"]) == 4 * len(DAY_STATUSES)


# --- one record, one plan -------------------------------------------------------------------------


def test_record_detail_with_many_medications_and_amendments(doctor, doctor_client, nurse):
    patient = a_patient()
    nurse_user = UserFactory(roles=[NURSE])
    few = sign(
        MedicalRecordFactory(patient=patient, author=doctor.user, pulse=80, vitals_recorded_by=nurse_user),
        meds=1,
        amendments=1,
    )
    many = sign(
        MedicalRecordFactory(patient=patient, author=doctor.user, pulse=80, vitals_recorded_by=nurse_user),
        meds=30,
        amendments=12,
    )
    for _ in range(10):
        AllergyFactory(patient=patient, substance="Sulfa")
    for client in (doctor_client, nurse):
        for name in ("clinical:record", "clinical:prescription", "clinical:record_amend"):
            if name == "clinical:record_amend" and client is nurse:
                continue
            client.get(reverse(name, args=[few.pk]))  # warm-up
            counts = [queries(client, reverse(name, args=[record.pk])) for record in (few, many)]
            assert counts[0] == counts[1], (name, counts)
            assert counts[0] <= MAX_QUERIES


@pytest.mark.parametrize("name", ["clinical:record", "clinical:record_edit"])
def test_draft_record_pages_with_many_medications(name, doctor, doctor_client):
    patient = a_patient()
    draft = MedicalRecordFactory(patient=patient, author=doctor.user)
    MedicationFactory(record=draft, drug="Penicillin V")  # an allergy warning in both measurements

    def add_more():
        for i in range(30):
            MedicationFactory(record=draft, drug="Amoxicillin" if i % 2 else f"Penicillin {i}")
        for _ in range(5):
            AllergyFactory(patient=patient, substance="Penicillin")

    assert_does_not_grow(doctor_client, reverse(name, args=[draft.pk]), add_more)


@pytest.mark.parametrize("persona", ["doctor_client", "nurse"])
def test_plan_detail_with_many_procedures(persona, doctor, request):
    client = request.getfixturevalue(persona)
    patient = a_patient()
    plan = TreatmentPlanFactory(patient=patient, doctor=doctor, status="active")
    ProcedureFactory(plan=plan, status="done", performed_date=timezone.localdate(), performed_by=doctor.user)
    ProcedureFactory(plan=plan)

    def add_more():
        doctors = [DoctorFactory() for _ in range(4)]
        for i in range(30):
            status = PROCEDURE_STATUSES[i % len(PROCEDURE_STATUSES)]
            visit = AppointmentFactory(patient=patient, doctor=doctors[i % 4], start=days_ago(i + 1))
            ProcedureFactory(
                plan=plan,
                appointment=visit if i % 2 else None,
                status=status,
                performed_date=timezone.localdate() if status == Procedure.Status.DONE else None,
                performed_by=doctors[i % 4].user if i % 3 else None,
                fee=Decimal(i),
            )

    assert_does_not_grow(client, plan.get_absolute_url(), add_more)
    assert len(client.get(plan.get_absolute_url()).context["procedures"]) == 32
