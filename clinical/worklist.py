"""A doctor's unsigned notes, and what clinical adds to a visit's page and its completion:
the visit's vital signs, and the question before a visit is completed with its notes unfinished."""

from django.urls import reverse

from .models import VITAL_FIELDS, MedicalRecord

# What makes a draft more than an opened form: any of these written.
NOTE_FIELDS = ("chief_complaint", "history", "examination", "diagnosis", "plan", "notes")


def unsigned_notes(user):
    """The drafts `user` wrote and has not signed, oldest first (the oldest is the most overdue)."""
    return (
        MedicalRecord.objects.filter(author=user, status=MedicalRecord.Status.DRAFT)
        .select_related("patient", "appointment")
        .order_by("created_at", "pk")
    )


def is_empty(record):
    return not any(getattr(record, name) for name in NOTE_FIELDS) and not record.medications.exists()


def completion_concerns(*, appointment, user):
    """Scheduling's BEFORE_COMPLETING: the visit has no record, or one that is empty or unsigned."""
    records = list(appointment.medical_records.all())
    if not records:
        can_chart = user.has_perm("clinical.add_medicalrecord")
        url = reverse("clinical:visit_record", args=[appointment.pk]) if can_chart else ""
        return [{"text": "No notes have been written for this visit.", "url": url, "label": "Write the notes"}]
    concerns = []
    for record in records:
        if record.is_signed:
            continue
        mine = record.author_id == user.pk
        url = reverse("clinical:record_edit" if mine else "clinical:record", args=[record.pk])
        if is_empty(record):
            text, label = "The record of this visit is empty (nothing written yet).", "Write the notes"
        else:
            text, label = "The record of this visit is a draft that has not been signed.", "Review and sign"
        concerns.append({"text": text, "url": url, "label": label if mine else "Open the record"})
    return concerns


def vital_signs_read_out(record):
    """[(label, reading)] of a record's vital signs, as a page shows them."""
    r, readings = record, []
    if r.bp_systolic or r.bp_diastolic:
        readings.append(("Blood pressure", f"{r.bp_systolic or '?'}/{r.bp_diastolic or '?'} mmHg"))
    for label, value, unit in (
        ("Pulse", r.pulse, "/min"),
        ("Temperature", r.temperature, " °C"),
        ("Respiratory rate", r.respiratory_rate, "/min"),
        ("SpO₂", r.spo2, "%"),
        ("Weight", r.weight_kg, " kg"),
        ("Height", r.height_cm, " cm"),
        ("BMI", r.bmi, ""),
    ):
        if value is not None:
            readings.append((label, f"{value}{unit}"))
    return readings


def visit_vital_signs(*, appointment, user):
    """Scheduling's APPOINTMENT_PAGE: the vital signs recorded on this visit, for those who may read them."""
    if not user.has_perm("clinical.view_medicalrecord"):
        return {}
    fields = ("pk", "vitals_recorded_by", *VITAL_FIELDS)
    record = appointment.medical_records.select_related("vitals_recorded_by").only(*fields).order_by("pk").first()
    if record is None or not record.has_vitals:
        return {}
    return {"visit_vitals": vital_signs_read_out(record), "visit_vitals_by": record.vitals_recorded_by}
