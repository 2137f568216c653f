"""Charting actions. Views and tests go through these; each is one transaction."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from clinic.audit import lock_rows

from .models import Amendment, MedicalRecord


def can_edit(record, user):
    """Only the author edits, and only a draft."""
    return not record.is_signed and record.author_id == user.pk


def _charting_allowed(appointment):
    if not appointment.is_active:
        raise ValidationError(f"A {appointment.get_status_display().lower()} appointment has no visit to chart.")


@transaction.atomic
def record_for_visit(*, appointment, by) -> MedicalRecord:
    """The visit's record: the one already started, or a new draft by this doctor.

    One record per visit (a unique constraint), so a double click opens the same record.
    """
    _charting_allowed(appointment)
    record, _ = MedicalRecord.objects.get_or_create(
        appointment=appointment, defaults={"patient": appointment.patient, "author": by}
    )
    return record


@transaction.atomic
def start_visit(*, appointment, by) -> MedicalRecord:
    """Start the consultation and open its record; a second click just opens the record."""
    if appointment.status != appointment.Status.IN_PROGRESS:
        appointment.start_visit(by=by)
    return record_for_visit(appointment=appointment, by=by)


@transaction.atomic
def save_draft(*, record, by, medications=None) -> MedicalRecord:
    """Save a draft and its medication rows (a formset) together, or nothing."""
    if not can_edit(record, by):
        raise PermissionDenied("Only the author can edit a draft record.")
    record.full_clean()
    record.save()
    if medications is not None:
        medications.instance = record
        medications.save()
    return record


@transaction.atomic
def sign_record(*, record, by, acknowledge_allergies=False) -> MedicalRecord:
    """Sign: the record becomes permanent. Needs a diagnosis; allergy conflicts must be acknowledged."""
    record = lock_rows(MedicalRecord.objects, of=("self",)).select_related("patient").get(pk=record.pk)
    if record.is_signed:
        raise ValidationError("This record is already signed.")
    if record.author_id != by.pk:
        raise PermissionDenied("Only the author can sign a record.")
    if not record.diagnosis.strip():
        raise ValidationError({"diagnosis": "A record cannot be signed without a diagnosis."})
    conflicts = record.allergy_conflicts()
    if conflicts and not acknowledge_allergies:
        # The code goes on the field's own error: a code given next to a dict would be dropped.
        warning = ValidationError("Acknowledge the allergy warning before signing.", code="allergy")
        raise ValidationError({"acknowledge_allergies": warning})
    record.allergy_conflicts_acknowledged = "; ".join(
        f"{drug} vs allergy to {allergy.substance} ({allergy.get_severity_display()})" for drug, allergy in conflicts
    )
    record.status = MedicalRecord.Status.SIGNED
    record.signed_at = timezone.now()
    record.signed_by = by
    record.save()
    return record


@transaction.atomic
def amend_record(*, record, by, section, text, reason, client_token=None) -> Amendment:
    if not record.is_signed:
        raise ValidationError("A draft is edited, not amended.")
    if client_token:
        existing = Amendment.objects.filter(client_token=client_token).first()
        if existing:
            return existing
    amendment = Amendment(
        record=record, author=by, section=section, text=text, reason=reason, client_token=client_token
    )
    amendment.full_clean()
    amendment.save()
    return amendment


@transaction.atomic
def record_vitals(*, appointment, by, values: dict) -> MedicalRecord:
    """A nurse's (or doctor's) vital signs on a visit, into the visit's draft record."""
    _charting_allowed(appointment)
    record, _ = lock_rows(MedicalRecord.objects).get_or_create(
        appointment=appointment, defaults={"patient": appointment.patient, "author": appointment.doctor.user}
    )
    if record.is_signed:
        raise ValidationError("The visit's record is signed; vital signs can no longer be added to it.")
    for name, value in values.items():
        setattr(record, name, value)
    record.vitals_recorded_by = by
    record.full_clean()
    record.save()
    return record
