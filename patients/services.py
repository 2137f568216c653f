"""The only ways a patient's record changes: register, edit, archive/restore, allergies (and that they
were asked about) and conditions.

Views, the admin and commands call these; the model's own guards (clean, the MRN in save) stay as the
last line. Each is one transaction, so an audited change and its entry commit together.
"""

from django.db import transaction
from django.utils import timezone

from clinic.audit import lock_rows
from clinic.contributions import Slot

from .models import Allergy, Condition, Patient

# What archiving a patient does in higher apps (scheduling: cancels the appointments still to come),
# inside the archive's own transaction. Each provider gets patient=, reason=, by= and returns a
# sentence saying what it did ("" for nothing); a ValidationError (e.g. {"reason": ...}) refuses the
# archive, and any error undoes everything the providers did before it.
ARCHIVING = Slot("archiving a patient: providers get patient=, reason=, by=, in the archive's transaction")


@transaction.atomic
def register_patient(*, patient: Patient) -> Patient:
    """A new patient from a checked form; the MRN is given on the first save."""
    patient.save()
    return patient


@transaction.atomic
def save_patient(*, patient: Patient) -> Patient:
    patient.save()
    return patient


@transaction.atomic
def archive_patient(*, patient: Patient, by, reason: str = "") -> list[str]:
    """Archive the record (never delete it) and let the higher apps act on it first (ARCHIVING):
    its appointments still to come are cancelled with `reason`, required when there are any. All or
    nothing: if one cancellation fails, nothing is cancelled and the record is not archived.

    Returns what else archiving did, one sentence each (for the message after it)."""
    # The patient's row locked first (after the audit chain, as every writer does). A booking for this
    # patient locks the same row (scheduling.services), so one under way finishes first and its
    # appointment is among those the providers see and cancel.
    lock_rows(Patient.objects.filter(pk=patient.pk)).get()
    done = ARCHIVING.collect(patient=patient, reason=(reason or "").strip(), by=by)
    patient.archive(by=by)
    return [sentence for sentence in done if sentence]


@transaction.atomic
def restore_patient(*, patient: Patient) -> Patient:
    patient.restore()
    return patient


@transaction.atomic
def record_allergies_checked(*, patient: Patient, by) -> Patient:
    """The patient was asked about allergies and the list as it stands is complete; with no active
    allergy, that is what "No known allergies" means (as opposed to never asked)."""
    patient.allergies_checked_at = timezone.now()
    patient.allergies_checked_by = by
    patient.save(update_fields=["allergies_checked_at", "allergies_checked_by", "updated_at"])
    return patient


@transaction.atomic
def save_history_item(item: Allergy | Condition, *, patient: Patient, by) -> Allergy | Condition:
    """An allergy or condition, new or edited, on this patient; whoever first recorded it stays its author."""
    item.patient = patient
    if item.recorded_by_id is None:
        item.recorded_by = by
    item.save()
    return item
