"""Charting, plans and procedures. Views, the admin, commands and tests go through these; each is one
transaction, and every status change is a lifecycle transition (clinic/lifecycle.py)."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from clinic.audit import lock_rows
from clinic.lifecycle import transition
from scheduling import services as scheduling

from .models import Amendment, MedicalRecord, Procedure, TreatmentPlan


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
        scheduling.start_visit(appointment=appointment, by=by)
    return record_for_visit(appointment=appointment, by=by)


def _not_archived(patient):
    if patient.is_archived:
        raise ValidationError("This patient's record is archived; restore it first.")


@transaction.atomic
def new_record(*, patient, by, record=None) -> MedicalRecord:
    """A draft record by `by` outside a visit (a phone consultation, a result review); `record`
    carries any fields already filled in (the admin's form)."""
    _not_archived(patient)
    record = record or MedicalRecord()
    record.patient, record.author = patient, by
    record.full_clean()
    record.save()
    return record


@transaction.atomic
def save_draft(*, record, by, medications=None) -> MedicalRecord:
    """Save a draft and its medication rows (a formset) together, or nothing."""
    if not can_edit(record, by):
        raise PermissionDenied("Only the author can edit a draft record.")
    record.full_clean()
    record.save()
    if medications is not None:
        save_medications(record=record, by=by, medications=medications)
    return record


@transaction.atomic
def save_medications(*, record, by, medications):
    """The medication rows of the author's draft (a validated formset)."""
    if not can_edit(record, by):
        raise PermissionDenied("Only the author can edit a draft record.")
    medications.instance = record
    return medications.save()


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
    acknowledged = "; ".join(
        f"{drug} vs allergy to {allergy.substance} ({allergy.get_severity_display()})" for drug, allergy in conflicts
    )
    return transition(
        record,
        MedicalRecord.Status.SIGNED,
        by=by,
        signed_at=timezone.now(),
        signed_by=by,
        allergy_conflicts_acknowledged=acknowledged,
    )


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


# --- treatment plans -------------------------------------------------------------------------------
@transaction.atomic
def create_plan(*, plan, patient, by) -> TreatmentPlan:
    """A new plan for `patient` (its fields filled in by a form), created by `by`."""
    _not_archived(patient)
    plan.patient, plan.created_by = patient, by
    plan.full_clean()
    plan.save()
    return plan


@transaction.atomic
def update_plan(*, plan, by) -> TreatmentPlan:
    """Save a plan's edited fields; a completed or cancelled plan is history. The status moves
    only through change_plan_status."""
    stored = lock_rows(TreatmentPlan.objects).values_list("status", flat=True).get(pk=plan.pk)
    if stored in TreatmentPlan.CLOSED:
        raise ValidationError(f"A {TreatmentPlan.Status(stored).label.lower()} plan cannot be changed.")
    plan.full_clean()
    fields = [f.name for f in TreatmentPlan._meta.concrete_fields if f.editable and not f.primary_key]
    plan.save(update_fields=[name for name in fields if name not in ("status", "created_by")])
    return plan


@transaction.atomic
def change_plan_status(*, plan, status, by) -> TreatmentPlan:
    """Along the plan's lifecycle; a plan made active without a start date starts today. The start
    date another request just set is kept (read from the locked row)."""
    extra = {}
    if status == TreatmentPlan.Status.ACTIVE:
        extra["start_date"] = lambda current: current.start_date or timezone.localdate()
    return transition(plan, status, by=by, reread=("start_date",), **extra)


# --- procedures ------------------------------------------------------------------------------------
@transaction.atomic
def save_procedure(*, procedure, by) -> Procedure:
    """Create (by `by`) or edit a procedure (its fields filled in by a form). Its status follows the
    lifecycle from what the row holds now: planned, then done or cancelled."""
    if procedure._state.adding:
        _not_archived(procedure.patient)
        procedure.created_by = by
    else:
        stored = lock_rows(Procedure.objects).values_list("status", flat=True).get(pk=procedure.pk)
        if stored == Procedure.Status.CANCELLED:
            raise ValidationError("A cancelled procedure cannot be changed.")
        procedure.audit_read_under_lock(status=stored)  # save() measures the status change from the row
    procedure.full_clean()
    procedure.save()
    return procedure
