"""The only ways a patient's record changes: register, edit, archive/restore, allergies (and that they
were asked about) and conditions.

Views, the admin and commands call these; the model's own guards (clean, the MRN in save) stay as the
last line. Each is one transaction, so an audited change and its entry commit together.
"""

from django.db import transaction
from django.utils import timezone

from .models import Allergy, Condition, Patient


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
def archive_patient(*, patient: Patient, by) -> Patient:
    patient.archive(by=by)
    return patient


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
