"""Clinical charting, by concern: records.py (medical records with medications and amendments;
signed ones are immutable) and plans.py (treatment plans and procedures)."""

from .plans import Procedure, TreatmentPlan
from .records import (
    VITAL_FIELDS,
    Amendment,
    MedicalRecord,
    MedicalRecordQuerySet,
    Medication,
    MedicationQuerySet,
    SignedRecordError,
    drug_matches_allergy,
)

__all__ = [
    "VITAL_FIELDS",
    "Amendment",
    "MedicalRecord",
    "MedicalRecordQuerySet",
    "Medication",
    "MedicationQuerySet",
    "Procedure",
    "SignedRecordError",
    "TreatmentPlan",
    "drug_matches_allergy",
]
