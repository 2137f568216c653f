"""What the clinical page tests share: the visit and record builders, the forms as a browser posts
them, and the table of clinical pages with the data each one shows."""

import io
import uuid
from html import unescape

from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from clinical import services
from clinical.models import Amendment, MedicalRecord, Medication, Procedure, TreatmentPlan
from clinical.tests.factories import (
    MedicalRecordFactory,
    MedicationFactory,
)
from patients.tests.factories import PatientFactory
from scheduling.models import Appointment
from scheduling.tests.factories import AppointmentFactory, local

Status = Appointment.Status


PlanStatus = TreatmentPlan.Status


FRIENDLY_403 = "This page is not available to you"


UNKNOWN = 987654


HUGE = 99999999999999999999999  # beyond any database integer


def text(response):
    """The page's text; a PDF's (the prescription) read with pypdf."""
    if response.get("Content-Type") == "application/pdf":
        if not hasattr(response, "pdf_text"):  # a file response can be read once
            data = b"".join(response.streaming_content)
            response.pdf_text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
        return response.pdf_text
    return unescape(response.content.decode())


def today_at(hour, minute=0):
    return local(timezone.localdate(), hour, minute)


def visit(doctor, patient=None, *, hour=10, status=Status.CHECKED_IN, day=None, **fields):
    """An appointment (today by default) in the given status, with the timestamps that status implies."""
    start = local(day or timezone.localdate(), hour)
    now = timezone.now()
    if status in (Status.CHECKED_IN, Status.IN_PROGRESS, Status.COMPLETED):
        fields.setdefault("checked_in_at", now)
    if status in (Status.IN_PROGRESS, Status.COMPLETED):
        fields.setdefault("started_at", now)
    if status == Status.COMPLETED:
        fields.setdefault("completed_at", now)
    return AppointmentFactory(doctor=doctor, patient=patient or PatientFactory(), start=start, status=status, **fields)


def signed_record(author, patient=None, *, drugs=("Paracetamol",), **fields):
    """A record signed by its author, with a medication row per drug."""
    record = MedicalRecordFactory(author=author, patient=patient or PatientFactory(), **fields)
    for drug in drugs:
        MedicationFactory(record=record, drug=drug)
    return services.sign_record(record=record, by=author, acknowledge_allergies=True)


def record_form(record=None, *, meds=(), existing=(), **fields):
    """POST data for the record form: its fields (the record's own unless given) and medication rows.
    `existing` are (medication, delete?) pairs for rows already saved; `meds` are new drugs."""
    data = {
        name: "" if getattr(record, name, None) is None else str(getattr(record, name))
        for name in (
            "chief_complaint",
            "history",
            "examination",
            "bp_systolic",
            "bp_diastolic",
            "pulse",
            "temperature",
            "respiratory_rate",
            "spo2",
            "weight_kg",
            "height_cm",
            "diagnosis",
            "icd10_codes",
            "plan",
            "notes",
        )
    }
    data.update({name: str(value) for name, value in fields.items()})
    rows = [{"id": m.pk, "drug": m.drug, **({"DELETE": "on"} if delete else {})} for m, delete in existing]
    rows += [{"drug": drug, "strength": "250 mg", "dose": "1 capsule", "route": "oral"} for drug in meds]
    data.update(
        {
            "meds-TOTAL_FORMS": str(len(rows)),
            "meds-INITIAL_FORMS": str(len(existing)),
            "meds-MIN_NUM_FORMS": "0",
            "meds-MAX_NUM_FORMS": "1000",
        }
    )
    for i, row in enumerate(rows):
        data.update({f"meds-{i}-{key}": value for key, value in row.items()})
    return data


def plan_form(doctor, **fields):
    return {"doctor": doctor.pk, "diagnosis_summary": "Hypertension, stage 1", "goals": "BP below 140/90", **fields}


def procedure_form(**fields):
    return {"name": "ECG", "code": "ECG12", "status": Procedure.Status.PLANNED, "fee": "40.00", **fields}


def field_errors(response, name):
    return [str(e) for e in response.context["form"].errors.get(name, [])]


# What only the clinic's clinical staff may see: none of it may reach anyone else.
SECRETS = ["Zebra fever", "Quinoxaline", "Unicorn therapy", "Narwhal scan", "Latexium", "Chronic wobble"]


# URL name -> (arguments from the world, method, what a doctor sends when it is a POST).
PAGES = {
    "clinical:my_day": (lambda w: {}, "get", None),
    "clinical:unsigned_notes": (lambda w: {}, "get", None),
    "clinical:chart": (lambda w: {"pk": w.patient.pk}, "get", None),
    "clinical:record_create": (lambda w: {"patient_pk": w.patient.pk}, "post", lambda w: {}),
    "clinical:plan_create": (lambda w: {"patient_pk": w.patient.pk}, "get", None),
    "clinical:procedure_create": (lambda w: {"patient_pk": w.patient.pk}, "get", None),
    "clinical:visit_start": (lambda w: {"pk": w.checked_in.pk}, "post", lambda w: {}),
    "clinical:visit_record": (lambda w: {"pk": w.in_progress.pk}, "post", lambda w: {}),
    "clinical:vitals": (lambda w: {"pk": w.checked_in.pk}, "get", None),
    "clinical:record": (lambda w: {"pk": w.signed.pk}, "get", None),
    "clinical:record_edit": (lambda w: {"pk": w.draft.pk}, "get", None),
    "clinical:record_sign": (lambda w: {"pk": w.draft.pk}, "post", lambda w: {}),
    "clinical:record_amend": (lambda w: {"pk": w.signed.pk}, "get", None),
    "clinical:prescription": (lambda w: {"pk": w.signed.pk}, "get", None),
    "clinical:plan": (lambda w: {"pk": w.plan.pk}, "get", None),
    "clinical:plan_edit": (lambda w: {"pk": w.plan.pk}, "get", None),
    "clinical:plan_status": (lambda w: {"pk": w.plan.pk}, "post", lambda w: {"status": TreatmentPlan.Status.ACTIVE}),
    "clinical:procedure_edit": (lambda w: {"pk": w.procedure.pk}, "get", None),
    # The record form's lookups (JSON), asked by its script as the doctor types.
    "clinical:icd10_lookup": (lambda w: {}, "get", None),
    "clinical:drug_lookup": (lambda w: {}, "get", None),
    "clinical:allergy_check": (lambda w: {"pk": w.draft.pk}, "get", None),
}


NURSE_PAGES = {"clinical:chart", "clinical:record", "clinical:prescription", "clinical:plan", "clinical:vitals"}


# The clinical text each page a clinician opens must show (so the 403 checks below are not vacuous).
SHOWS = {
    "clinical:my_day": ["Latexium", "Ottilie Quillfeather"],
    "clinical:unsigned_notes": ["Zebra fever, relapse", "Ottilie Quillfeather"],
    "clinical:chart": ["Latexium", "Chronic wobble", "Zebra fever", "Unicorn therapy", "Narwhal scan"],
    "clinical:record": ["Zebra fever", "Quinoxaline", "Zebra fever confirmed by the laboratory"],
    "clinical:record_edit": ["Zebra fever, relapse"],
    "clinical:record_amend": ["Zebra fever", "Quinoxaline"],
    "clinical:prescription": ["Quinoxaline", "Ottilie Quillfeather"],
    "clinical:plan": ["Unicorn therapy", "Narwhal scan"],
    "clinical:plan_edit": ["Unicorn therapy"],
    "clinical:procedure_edit": ["Narwhal scan"],
}


def url_of(name, world):
    return reverse(name, kwargs=PAGES[name][0](world))


def everything_clinical():
    """A snapshot of the clinical data and the visits' statuses: a refused request changes none of it."""
    return (
        sorted(MedicalRecord.objects.values_list("pk", "status", "updated_at")),
        Medication.objects.count(),
        Amendment.objects.count(),
        sorted(TreatmentPlan.objects.values_list("pk", "status", "updated_at")),
        sorted(Procedure.objects.values_list("pk", "status")),
        sorted(Appointment.objects.values_list("pk", "status")),
    )


def everything_a_doctor_could_send(world):
    """One body that every clinical form would accept from a doctor."""
    return {
        "client_token": str(uuid.uuid4()),
        "status": TreatmentPlan.Status.ACTIVE,
        "acknowledge_allergies": "on",
        "doctor": world.doctor.pk,
        "diagnosis_summary": "Sneaked in",
        "section": "plan",
        "text": "Sneaked in",
        "reason": "Sneaked in",
        "pulse": "80",
        "name": "Sneaked in",
        "plan": world.plan.pk,
        "fee": "1.00",
        **record_form(world.draft, diagnosis="Sneaked in"),
    }
