"""Treatment plans and the procedures done under them (or on a visit)."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

from clinic.audit import Audited
from clinic.lifecycle import Lifecycle, refuse_illegal_change
from patients.models import Patient
from scheduling.models import Appointment
from staff.models import Doctor


class TreatmentPlan(Audited, models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        ON_HOLD = "on_hold", "On hold"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    lifecycle = Lifecycle(
        {
            Status.DRAFT: {Status.ACTIVE, Status.CANCELLED},
            Status.ACTIVE: {Status.ON_HOLD, Status.COMPLETED, Status.CANCELLED},
            Status.ON_HOLD: {Status.ACTIVE, Status.CANCELLED},
            Status.COMPLETED: set(),
            Status.CANCELLED: set(),
        },
        noun="plan",
    )
    TRANSITIONS = lifecycle.table
    CLOSED = {Status.COMPLETED, Status.CANCELLED}  # no longer edited, nor given procedures

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="treatment_plans")
    doctor = models.ForeignKey(
        Doctor, on_delete=models.PROTECT, related_name="treatment_plans", verbose_name="responsible doctor"
    )
    diagnosis_summary = models.TextField()
    prescription = models.TextField(blank=True)
    goals = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    start_date = models.DateField(null=True, blank=True)
    expected_end_date = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    client_token = models.UUIDField(null=True, blank=True, unique=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["patient", "status"], name="plan_patient_status")]

    def __str__(self):
        return f"Plan: {self.diagnosis_summary[:60]}"

    def get_absolute_url(self):
        return reverse("clinical:plan", args=[self.pk])

    def clean(self):
        if self.start_date and self.expected_end_date and self.expected_end_date < self.start_date:
            raise ValidationError({"expected_end_date": "The expected end cannot be before the start."})

    @property
    def is_open(self):
        return self.status not in self.CLOSED

    def save(self, *args, **kwargs):
        refuse_illegal_change(self)  # the last line; clinical.services moves the status
        super().save(*args, **kwargs)

    # tests/test_audit.py still calls this; everything else goes through clinical.services.


class Procedure(Audited, models.Model):
    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    # Done is final (finance charges for it) and so is cancelled; a planned one becomes either.
    lifecycle = Lifecycle(
        {Status.PLANNED: {Status.DONE, Status.CANCELLED}, Status.DONE: set(), Status.CANCELLED: set()},
        noun="procedure",
        verb="be marked",
    )

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="procedures")
    name = models.CharField(max_length=200)
    code = models.CharField(max_length=20, blank=True)
    plan = models.ForeignKey(TreatmentPlan, null=True, blank=True, on_delete=models.PROTECT, related_name="procedures")
    appointment = models.ForeignKey(
        Appointment, null=True, blank=True, on_delete=models.PROTECT, related_name="procedures"
    )
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    scheduled_date = models.DateField(null=True, blank=True)
    performed_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PLANNED)
    outcome = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    fee = models.DecimalField(
        max_digits=10, decimal_places=2, default=Decimal("0.00"), validators=[MinValueValidator(Decimal("0"))]
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    client_token = models.UUIDField(null=True, blank=True, unique=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["patient", "-created_at"], name="procedure_patient_created"),
            models.Index(fields=["plan", "status"], name="procedure_plan_status"),
            # Payments due lists done procedures with a fee, newest first (finance/queries.py unpaid_procedures).
            models.Index(
                fields=["-performed_date", "-id"],
                condition=models.Q(status="done", fee__gt=0),
                name="procedure_done_with_fee",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(plan__isnull=False) | models.Q(appointment__isnull=False),
                name="procedure_has_plan_or_visit",
                violation_error_message="Link the procedure to a treatment plan or an appointment.",
            ),
            models.CheckConstraint(
                condition=models.Q(fee__gte=0),
                name="procedure_fee_not_negative",
                violation_error_message="The fee cannot be negative.",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="done") | models.Q(performed_date__isnull=False),
                name="done_procedure_has_date",
                violation_error_message="A procedure marked done needs the date it was performed.",
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        if self.plan_id:
            return self.plan.get_absolute_url()
        return reverse("clinical:chart", args=[self.patient_id])

    def clean(self):
        # "Link to a plan or a visit" is the constraint procedure_has_plan_or_visit's message.
        for linked in (self.plan, self.appointment):
            if linked is not None and self.patient_id and linked.patient_id != self.patient_id:
                raise ValidationError("The plan or appointment belongs to another patient.")
        if self.status == self.Status.DONE:
            if not self.performed_date:
                raise ValidationError({"performed_date": "Enter the date the procedure was performed."})
            if self.performed_date > timezone.localdate():
                raise ValidationError({"performed_date": "A procedure cannot be marked done in the future."})

    def save(self, *args, **kwargs):
        refuse_illegal_change(self)  # the last line; clinical.services moves the status
        super().save(*args, **kwargs)
