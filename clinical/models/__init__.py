"""Clinical charting, by concern: records.py (medical records with medications and amendments;
signed ones are immutable), plans.py (treatment plans and procedures) and formulary.py (the drug
names the record form suggests)."""

from .formulary import FormularyDrug
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
    "FormularyDrug",
    "MedicalRecord",
    "MedicalRecordQuerySet",
    "Medication",
    "MedicationQuerySet",
    "Procedure",
    "SignedRecordError",
    "TreatmentPlan",
    "drug_matches_allergy",
]
