"""Medical records, their medications and amendments.

A signed record is immutable. The model refuses save()/delete(), the queryset refuses update()/delete(),
and database triggers (clinical/guards.py) refuse whatever gets past both: raw SQL included.
"""

from decimal import Decimal
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

from clinic.audit import Action, Audited
from clinic.lifecycle import Lifecycle, refuse_illegal_change
from clinical.drugs import conflict_reason
from patients.models import ICD10_VALIDATOR, Patient
from scheduling.models import Appointment


class SignedRecordError(ValidationError):
    """A signed record, its medications and its amendments never change."""


def _range(low, high, unit):
    # Django fills a validator's message in with "%" formatting: a literal "%" (SpO₂) must be doubled.
    message = f"Enter a value between {low} and {high} {unit}; check the reading.".replace("%", "%%")
    return [MinValueValidator(low, message), MaxValueValidator(high, message)]


class MedicalRecordQuerySet(models.QuerySet):
    def signed(self):
        return self.filter(status=MedicalRecord.Status.SIGNED)

    def update(self, **kwargs):
        if self.signed().exists():
            raise SignedRecordError("Signed records cannot be changed; add an amendment.")
        return super().update(**kwargs)

    def delete(self):
        if self.signed().exists():
            raise SignedRecordError("Signed records cannot be deleted.")
        return super().delete()


class MedicalRecord(Audited, models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SIGNED = "signed", "Signed"

    audit_status_actions = {Status.SIGNED: Action.SIGN}
    # Signing is the one move (clinical.services.sign_record); a signed record is then amended.
    lifecycle = Lifecycle({Status.DRAFT: {Status.SIGNED}, Status.SIGNED: set()}, noun="record", verb="be marked")

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="medical_records")
    appointment = models.ForeignKey(
        Appointment, null=True, blank=True, on_delete=models.PROTECT, related_name="medical_records"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Set by the form on first display: a second submit of the same form finds this record.
    client_token = models.UUIDField(null=True, blank=True, unique=True, editable=False)

    chief_complaint = models.CharField(max_length=255, blank=True)
    history = models.TextField("history", blank=True)
    examination = models.TextField("findings (examination)", blank=True)
    diagnosis = models.TextField(blank=True)
    icd10_codes = models.CharField(
        "ICD-10 codes", max_length=100, blank=True, help_text="Optional, separated by commas: E11.9, I10"
    )
    plan = models.TextField(blank=True)
    notes = models.TextField(blank=True)

    bp_systolic = models.PositiveSmallIntegerField(
        "BP systolic (mmHg)", null=True, blank=True, validators=_range(50, 260, "mmHg")
    )
    bp_diastolic = models.PositiveSmallIntegerField(
        "BP diastolic (mmHg)", null=True, blank=True, validators=_range(20, 160, "mmHg")
    )
    pulse = models.PositiveSmallIntegerField("pulse (/min)", null=True, blank=True, validators=_range(20, 250, "/min"))
    temperature = models.DecimalField(
        "temperature (°C)",
        max_digits=3,
        decimal_places=1,
        null=True,
        blank=True,
        validators=_range(Decimal("30.0"), Decimal("45.0"), "°C"),
    )
    respiratory_rate = models.PositiveSmallIntegerField(
        "respiratory rate (/min)", null=True, blank=True, validators=_range(4, 60, "/min")
    )
    spo2 = models.PositiveSmallIntegerField("SpO₂ (%)", null=True, blank=True, validators=_range(50, 100, "%"))
    weight_kg = models.DecimalField(
        "weight (kg)",
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=_range(Decimal("0.3"), Decimal("400"), "kg"),
    )
    height_cm = models.DecimalField(
        "height (cm)",
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=_range(Decimal("20"), Decimal("250"), "cm"),
    )
    vitals_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    allergy_conflicts_acknowledged = models.TextField(
        blank=True, help_text="The allergy warnings the author saw and acknowledged when signing."
    )

    objects = MedicalRecordQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("sign_medicalrecord", "Can sign medical records"),
            ("amend_medicalrecord", "Can amend signed medical records"),
            ("record_vitals_medicalrecord", "Can record vital signs on a visit"),
        ]
        indexes = [
            models.Index(fields=["patient", "-created_at"], name="record_patient_created"),
            models.Index(fields=["author", "status"], name="record_author_status"),
        ]
        constraints = [
            # One record per visit: starting to chart a visit twice opens the same record.
            models.UniqueConstraint(
                fields=["appointment"], condition=models.Q(appointment__isnull=False), name="one_record_per_visit"
            ),
            models.CheckConstraint(
                condition=models.Q(status="draft") | models.Q(signed_at__isnull=False, signed_by__isnull=False),
                name="signed_record_has_signer",
            ),
        ]

    def __str__(self):
        when = timezone.localtime(self.created_at).date() if self.created_at else "new"
        return f"Record for {self.patient.full_name} ({when})"

    def get_absolute_url(self):
        return reverse("clinical:record", args=[self.pk])

    @property
    def is_signed(self):
        return self.status == self.Status.SIGNED

    @property
    def bmi(self):
        if self.weight_kg and self.height_cm:
            metres = self.height_cm / 100
            return (self.weight_kg / (metres * metres)).quantize(Decimal("0.1"))
        return None

    @property
    def has_vitals(self):
        return any(getattr(self, f) is not None for f in VITAL_FIELDS)

    def icd10_list(self):
        return [code.strip().upper() for code in self.icd10_codes.split(",") if code.strip()]

    def clean(self):
        for code in self.icd10_list():
            try:
                ICD10_VALIDATOR(code)
            except ValidationError as error:
                raise ValidationError({"icd10_codes": f"{code}: {error.messages[0]}"}) from error
        self.icd10_codes = ", ".join(self.icd10_list())
        if self.bp_systolic and self.bp_diastolic and self.bp_diastolic >= self.bp_systolic:
            raise ValidationError({"bp_diastolic": "The diastolic pressure must be below the systolic."})
        if self.appointment_id and self.appointment.patient_id != self.patient_id:
            raise ValidationError({"appointment": "This visit belongs to another patient."})

    def _stored_as_signed(self):
        # The stored row decides, not this copy: one loaded before signing, refreshed with
        # refresh_from_db() or loaded with status deferred still says "draft" in memory.
        return self.pk is not None and MedicalRecord.objects.filter(pk=self.pk, status=self.Status.SIGNED).exists()

    def save(self, *args, **kwargs):
        if self._stored_as_signed():
            raise SignedRecordError("A signed record cannot be changed; add an amendment.")
        refuse_illegal_change(self)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.is_signed or self._stored_as_signed():
            raise SignedRecordError("A signed record cannot be deleted.")
        return super().delete(*args, **kwargs)

    def allergy_conflicts(self, medications=None):
        """(drug, allergy) pairs where a prescribed drug conflicts with an active allergy of the patient."""
        meds = list(self.medications.all()) if medications is None else list(medications)
        allergies = [a for a in self.patient.allergies.all() if a.is_active]
        return [
            AllergyConflict(m.drug, a) for m in meds for a in allergies if drug_matches_allergy(m.drug, a.substance)
        ]


class AllergyConflict(NamedTuple):
    """A prescribed drug and the allergy it conflicts with; `reason` says why, for the warning."""

    drug: str
    allergy: object

    @property
    def reason(self):
        return conflict_reason(self.drug, self.allergy.substance)


def drug_matches_allergy(drug: str, substance: str) -> bool:
    """Same substance, a shared drug class or cross-reactive classes (clinical/data/drug_classes.toml)."""
    return conflict_reason(drug, substance) is not None


VITAL_FIELDS = [
    "bp_systolic",
    "bp_diastolic",
    "pulse",
    "temperature",
    "respiratory_rate",
    "spo2",
    "weight_kg",
    "height_cm",
]


class MedicationQuerySet(models.QuerySet):
    """Medications of a signed record cannot be bulk-changed either."""

    locked_q = models.Q(record__status=MedicalRecord.Status.SIGNED)

    def update(self, **kwargs):
        if self.filter(self.locked_q).exists():
            raise SignedRecordError("This belongs to a signed record and cannot be changed.")
        return super().update(**kwargs)

    def delete(self):
        if self.filter(self.locked_q).exists():
            raise SignedRecordError("This belongs to a signed record and cannot be deleted.")
        return super().delete()


class Medication(Audited, models.Model):
    """One prescribed medication: a structured row of a record."""

    record = models.ForeignKey(MedicalRecord, on_delete=models.CASCADE, related_name="medications")
    drug = models.CharField(max_length=200)
    strength = models.CharField(max_length=50, blank=True, help_text="e.g. 500 mg")
    dose = models.CharField(max_length=50, blank=True, help_text="e.g. 1 tablet")
    route = models.CharField(max_length=30, blank=True, help_text="e.g. oral")
    frequency = models.CharField(max_length=50, blank=True, help_text="e.g. three times a day")
    duration = models.CharField(max_length=50, blank=True, help_text="e.g. 7 days")
    instructions = models.CharField(max_length=255, blank=True)

    objects = MedicationQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return " ".join(filter(None, [self.drug, self.strength, self.dose, self.route, self.frequency, self.duration]))

    def audit_patient_id(self):
        return self.record.patient_id

    def _locked(self):
        # The record it belongs to now and, for a stored row, the one it is being moved away from.
        records = models.Q(pk=self.record_id)
        if self.pk is not None:
            records |= models.Q(medications__pk=self.pk)
        return MedicalRecord.objects.filter(records, status=MedicalRecord.Status.SIGNED).exists()

    def save(self, *args, **kwargs):
        if self._locked():
            raise SignedRecordError("The medications of a signed record cannot be changed; add an amendment.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self._locked():
            raise SignedRecordError("The medications of a signed record cannot be removed; add an amendment.")
        return super().delete(*args, **kwargs)


class Amendment(Audited, models.Model):
    """A correction or addition to a signed record: append-only, with its author, time and reason."""

    class Section(models.TextChoices):
        CHIEF_COMPLAINT = "chief_complaint", "Chief complaint"
        HISTORY = "history", "History"
        EXAMINATION = "examination", "Findings"
        DIAGNOSIS = "diagnosis", "Diagnosis"
        MEDICATIONS = "medications", "Medications"
        PLAN = "plan", "Plan"
        NOTES = "notes", "Notes"

    record = models.ForeignKey(MedicalRecord, on_delete=models.PROTECT, related_name="amendments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    section = models.CharField(max_length=20, choices=Section.choices)
    text = models.TextField("amended text")
    reason = models.CharField("reason for the amendment", max_length=255)
    client_token = models.UUIDField(null=True, blank=True, unique=True, editable=False)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["record", "created_at"])]

    def __str__(self):
        return f"Amendment to {self.get_section_display()} by {self.author}"

    def audit_patient_id(self):
        return self.record.patient_id

    def audit_create_action(self):
        return Action.AMEND

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise SignedRecordError("An amendment cannot be changed; add another amendment.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise SignedRecordError("An amendment cannot be deleted.")
