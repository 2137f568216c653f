"""What can be printed from a signed medical record: a prescription, a visit summary for the patient, a
sick note (fitness for work) and a referral letter, each a PDF on the clinic's letterhead (documents/pdf.py)
with the doctor's name and licence number and a document reference.

The reference (e.g. RX-000123-7F3A9C) names the kind, the record and a digest of everything the letter
says: the same letter gives the same reference, any change a new one. Nothing is stored to make it: it is
written to the audit trail each time the letter is generated (and in the title of a filed copy), so the
audit search finds who printed it and when, and the record's number leads to the record.
"""

import hashlib
from dataclasses import dataclass

from django.utils import timezone
from django.utils.text import slugify
from unidecode import unidecode

from clinical.models import Amendment, MedicalRecord
from scheduling.models import Appointment

from .models import ClinicalDocument
from .pdf import Letter, letterhead, render


@dataclass(frozen=True)
class Kind:
    slug: str
    title: str
    code: str
    doc_type: str
    label: str  # the record page's button
    has_details: bool = False  # a form says what the letter says (sick note, referral)


PRESCRIPTION = Kind("prescription", "Prescription", "RX", ClinicalDocument.Type.PRESCRIPTION, "Print prescription")
VISIT_SUMMARY = Kind("visit-summary", "Visit summary", "VS", ClinicalDocument.Type.OTHER, "Print visit summary")
SICK_NOTE = Kind("sick-note", "Fitness for work note", "FW", ClinicalDocument.Type.OTHER, "Sick note", True)
REFERRAL = Kind("referral", "Referral letter", "RF", ClinicalDocument.Type.REFERRAL, "Referral letter", True)
KINDS = {kind.slug: kind for kind in (PRESCRIPTION, VISIT_SUMMARY, SICK_NOTE, REFERRAL)}
PLAIN_KINDS = {slug: kind for slug, kind in KINDS.items() if not kind.has_details}

SIGNED_RECORDS = MedicalRecord.objects.filter(status=MedicalRecord.Status.SIGNED).select_related(
    "patient", "author__doctor__specialty", "signed_by", "appointment__doctor__user"
)


def printable_records():
    """Signed records with what every printout reads (a draft is never printed)."""
    return SIGNED_RECORDS.prefetch_related("medications", "amendments", "patient__allergies")


def available(kind, record):
    """Whether `kind` can be printed from `record` (a prescription needs a medication)."""
    if not record.is_signed:
        return False
    return kind is not PRESCRIPTION or bool(record.medications.all())


@dataclass
class Printout:
    kind: Kind
    record: MedicalRecord
    letter: Letter

    @property
    def reference(self):
        return self.letter.reference

    @property
    def filename(self):
        name = slugify(unidecode(self.record.patient.last_name)) or "patient"
        return f"{self.kind.slug}-{name}-{self.letter.issued_on:%Y-%m-%d}-{self.reference}.pdf"

    @property
    def title(self):
        return f"{self.kind.title} {self.reference}"

    def pdf(self):
        return render(self.letter)


def issue(kind, record, details=None, issued_on=None):
    """The printout of `kind` from a signed `record` (`details`: the sick note's or referral's form data)."""
    if not record.is_signed:
        raise ValueError("Only a signed record is printed.")
    issued_on = issued_on or timezone.localdate()
    letter = Letter(title=kind.title, reference="", issued_on=issued_on, patient=_patient(record))
    BUILDERS[kind.slug](letter, record, details or {})
    letter.signatory = _signatory(record)
    letter.reference = _reference(kind, record, letter)
    letter.subject = f"{kind.title} for {record.patient.full_name}"
    return Printout(kind, record, letter)


def _reference(kind, record, letter):
    digest = hashlib.sha256()
    for text in (kind.slug, str(record.pk), letter.issued_on.isoformat(), *letter.strings()):
        digest.update(str(text).encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return f"{kind.code}-{record.pk:06d}-{digest.hexdigest()[:6].upper()}"


# --- what each letter says ----------------------------------------------------------------------------


def _day(value):
    return f"{value:%d %B %Y}" if value else ""


def _patient(record):
    patient = record.patient
    return [
        ("Patient", patient.full_name),
        ("Date of birth", f"{_day(patient.date_of_birth)} (age {patient.age})"),
        ("MRN", patient.mrn or f"#{patient.pk}"),
    ]


def _doctor(record):
    return getattr(record.author, "doctor", None)


def _signatory(record):
    doctor = _doctor(record)
    name = str(doctor) if doctor else (record.author.get_full_name() or record.author.get_username())
    lines = [name]
    if doctor:
        lines.append(doctor.specialty.name)
        lines.append(f"Licence number {doctor.licence_number}")
    else:
        lines.append("Licence number: not recorded")
    signed = timezone.localtime(record.signed_at)
    lines.append(f"Signed electronically by {record.signed_by or record.author} on {signed:%d %B %Y, %H:%M}")
    return lines


def _amendments(record, section):
    return [a for a in record.amendments.all() if a.section == section]


def _section(letter, record, heading, section, value):
    amendments = _amendments(record, section)
    if not value and not amendments:
        return
    letter.heading(heading)
    if value:
        letter.text(value)
    for amendment in amendments:
        letter.text(f"Amended {_day(timezone.localtime(amendment.created_at))}: {amendment.text}")


def _diagnosis(record):
    return " ".join(part for part in (record.diagnosis, record.icd10_codes and f"({record.icd10_codes})") if part)


def _medication_table(letter, record, with_instructions=True):
    rows = []
    for m in record.medications.all():
        medicine = " ".join(part for part in (m.drug, m.strength) if part)
        if with_instructions and m.instructions:
            medicine = f"{medicine}\n{m.instructions}"
        rows.append((medicine, m.dose, m.route, m.frequency, m.duration))
    if rows:
        letter.table(("Medicine", "Dose", "Route", "How often", "For"), rows, (62, 26, 22, 37, 27))
    for amendment in _amendments(record, Amendment.Section.MEDICATIONS):
        letter.text(f"Amended {_day(timezone.localtime(amendment.created_at))}: {amendment.text}")
    return bool(rows)


def _allergies(record):
    active = [a for a in record.patient.allergies.all() if a.is_active]
    if not active:
        return "None recorded"
    return "; ".join(
        f"{a.substance} ({a.get_severity_display().lower()}{', ' + a.reaction if a.reaction else ''})" for a in active
    )


def visit_day(record):
    if record.appointment_id:
        return timezone.localtime(record.appointment.start).date()
    return timezone.localtime(record.signed_at).date()


def _prescription(letter, record, details):
    letter.pairs([("Address", record.patient.address), ("Allergies", _allergies(record))])
    letter.heading("Medicines")
    if not _medication_table(letter, record):
        letter.text("No medicine was prescribed in this record.")
    letter.text(f"Prescribed on {_day(timezone.localtime(record.signed_at))}.")


def _visit_summary(letter, record, details):
    letter.pairs([("Visit", _day(visit_day(record)))])
    _section(letter, record, "Why you came", Amendment.Section.CHIEF_COMPLAINT, record.chief_complaint)
    _section(letter, record, "What we found", Amendment.Section.DIAGNOSIS, _diagnosis(record))
    if record.medications.all() or _amendments(record, Amendment.Section.MEDICATIONS):
        letter.heading("Your medicines")
        _medication_table(letter, record)
    _section(letter, record, "Plan and advice", Amendment.Section.PLAN, record.plan)
    letter.heading("Next steps")
    upcoming = _next_appointment(record)
    if upcoming:
        start = timezone.localtime(upcoming.start)
        letter.text(f"Your next appointment: {start:%A %d %B %Y at %H:%M} with {upcoming.doctor}.")
    phone = letterhead()["contact"]
    letter.text(
        "If you get worse, or something worries you, contact the clinic"
        + (f" ({phone})" if phone else "")
        + ". In an emergency call the emergency services."
    )


def _next_appointment(record):
    return (
        Appointment.objects.filter(
            patient=record.patient, start__gt=timezone.now(), status__in=Appointment.RESCHEDULABLE
        )
        .select_related("doctor__user")
        .order_by("start")
        .first()
    )


def _sick_note(letter, record, details):
    assessed = details.get("assessed_on") or visit_day(record)
    letter.pairs([("Assessed on", _day(assessed)), ("Condition", details.get("condition", ""))])
    letter.heading("Advice")
    if details.get("outcome") == "may_be_fit":
        letter.text("You may be fit for work taking account of the following advice.")
        adjustments = details.get("adjustments") or []
        if adjustments:
            letter.pairs([("If available", ", ".join(adjustments))])
    else:
        letter.text("You are not fit for work.")
    letter.pairs([("From", _day(details.get("start"))), ("To", _day(details.get("end")))])
    if details.get("comments"):
        letter.heading("Comments")
        letter.text(details["comments"])


def _referral(letter, record, details):
    letter.pairs(
        [
            ("To", details.get("recipient", "")),
            ("Specialty", details.get("specialty", "")),
            ("Urgency", details.get("urgency_label", "")),
        ]
    )
    letter.heading("Reason for referral")
    letter.text("Dear colleague,")
    letter.text(
        f"Thank you for seeing {record.patient.full_name} (born {_day(record.patient.date_of_birth)}). "
        + details.get("reason", "")
    )
    _section(letter, record, "Findings", Amendment.Section.EXAMINATION, record.examination)
    vitals = _vitals(record)
    if vitals:
        letter.pairs([("Vital signs", vitals)])
    _section(letter, record, "Diagnosis", Amendment.Section.DIAGNOSIS, _diagnosis(record))
    letter.heading("Current medications")
    if not _medication_table(letter, record):
        letter.text("None prescribed in this record.")
    letter.heading("Allergies")
    letter.text(_allergies(record))
    letter.text("Yours sincerely,")


def _vitals(record):
    if not record.has_vitals:
        return ""
    parts = [
        record.bp_systolic and f"BP {record.bp_systolic}/{record.bp_diastolic or '?'} mmHg",
        record.pulse and f"pulse {record.pulse}/min",
        record.temperature and f"{record.temperature} °C",
        record.respiratory_rate and f"RR {record.respiratory_rate}/min",
        record.spo2 and f"SpO₂ {record.spo2}%",
        record.weight_kg and f"{record.weight_kg} kg",
        record.height_cm and f"{record.height_cm} cm",
    ]
    return ", ".join(part for part in parts if part)


BUILDERS = {
    PRESCRIPTION.slug: _prescription,
    VISIT_SUMMARY.slug: _visit_summary,
    SICK_NOTE.slug: _sick_note,
    REFERRAL.slug: _referral,
}
