"""The clinic's money: expenses, other incomes and patients' payments, and closed months.

Every amount is a Decimal in settings.CLINIC_CURRENCY. An entry is positive; it is corrected by a
reversal (a negative entry pointing at it, with a reason), never by silent edits. Once a manager
closes a month its entries never change: the model refuses save()/delete(), the queryset refuses
update()/delete(), and database triggers (finance/guards.py) refuse raw SQL too.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from clinic.audit import Action, Audited
from clinic.uploads import random_name
from patients.models import Patient

from .money import format_money

AMOUNT = {"max_digits": 12, "decimal_places": 2}


class LockedEntryError(ValidationError):
    """The entry is in a closed month, or has been reversed: it cannot change."""


def first_of_month(day):
    return day.replace(day=1)


def month_label(day):
    return f"{day:%B %Y}"


class PaymentMethod(models.TextChoices):
    CASH = "cash", "Cash"
    CARD = "card", "Card"
    BANK_TRANSFER = "bank_transfer", "Bank transfer"
    CHEQUE = "cheque", "Cheque"
    INSURANCE = "insurance", "Insurance"
    OTHER = "other", "Other"


class ClosedMonthQuerySet(models.QuerySet):
    def covering(self, *days):
        return self.filter(month__in={first_of_month(day) for day in days if day})

    def update(self, **kwargs):
        raise LockedEntryError("A closed month stays closed.")

    def delete(self):
        raise LockedEntryError("A closed month stays closed.")


class ClosedMonth(Audited, models.Model):
    """A month whose finance entries are final: nothing dated in it is added, changed or removed."""

    month = models.DateField(unique=True, help_text="The first day of the month.")
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    closed_at = models.DateTimeField(default=timezone.now)
    note = models.TextField(blank=True)

    objects = ClosedMonthQuerySet.as_manager()

    class Meta:
        ordering = ["-month"]
        verbose_name = "closed month"

    def __str__(self):
        return month_label(self.month)

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise LockedEntryError("A closed month stays closed.")
        self.month = first_of_month(self.month)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise LockedEntryError("A closed month stays closed.")


class ExpenseCategory(Audited, models.Model):
    """A managed list; a manager adds categories and retires them (never deletes: entries use them)."""

    name = models.CharField(max_length=80)
    description = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField("active", default=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "expense categories"
        constraints = [
            models.UniqueConstraint(
                Lower("name"), name="expense_category_name_unique", violation_error_message="This category exists."
            )
        ]

    def __str__(self):
        return self.name


class MoneyEntryQuerySet(models.QuerySet):
    def _touches_closed_month(self, new_date=None):
        months = {first_of_month(d) for d in self.dates("date", "month")}
        if new_date:
            months.add(first_of_month(new_date))
        return ClosedMonth.objects.filter(month__in=months).exists()

    def standing(self):
        """Originals nobody has reversed. Originals are the positive rows (the amount_sign constraint);
        filtering on the amount keeps SQLite on the foreign-key index instead of the reverses_id one."""
        return self.filter(amount__gt=0, reversal__isnull=True)

    def update(self, **kwargs):
        if self._touches_closed_month(kwargs.get("date")):
            raise LockedEntryError("Entries in a closed month cannot be changed.")
        return super().update(**kwargs)

    def delete(self):
        if self._touches_closed_month():
            raise LockedEntryError("Entries in a closed month cannot be deleted.")
        if self.filter(models.Q(reverses__isnull=False) | models.Q(reversal__isnull=False)).exists():
            raise LockedEntryError("A reversed entry, or a reversal, cannot be deleted.")
        return super().delete()


class MoneyEntry(Audited, models.Model):
    """What every money entry in the books shares: a date, a positive amount (negative only for a reversal),
    who recorded it. Abstract: expenses, other incomes and payments each have their own table. (Named
    for money so it is not read as an audit entry, clinic.models.AuditEntry.)"""

    date = models.DateField(default=timezone.localdate, db_index=True)
    amount = models.DecimalField(**AMOUNT)
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversal", editable=False
    )
    reversal_reason = models.CharField(max_length=300, blank=True, editable=False)

    objects = MoneyEntryQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["-date", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(reverses__isnull=True) & models.Q(amount__gt=0))
                | (models.Q(reverses__isnull=False) & models.Q(amount__lt=0) & ~models.Q(reversal_reason="")),
                name="%(app_label)s_%(class)s_amount_sign",
                violation_error_message="Enter an amount above zero.",
            ),
        ]

    @property
    def is_reversal(self):
        return self.reverses_id is not None

    @property
    def is_reversed(self):
        try:
            return self.reversal is not None
        except models.ObjectDoesNotExist:
            return False

    @property
    def amount_display(self):
        return format_money(self.amount)

    def month_is_closed(self):
        return ClosedMonth.objects.covering(self.date).exists()

    def clean(self):
        super().clean()
        if self.amount is not None and self.reverses_id is None and self.amount <= 0:
            raise ValidationError({"amount": "Enter an amount above zero."})
        if self.date and self.date > timezone.localdate():
            raise ValidationError({"date": "An entry cannot be dated in the future."})
        if self.date and ClosedMonth.objects.covering(self.date).exists():
            raise ValidationError({"date": f"{month_label(self.date)} is closed; date the entry in an open month."})

    def audit_create_action(self):
        return Action.REVERSE if self.reverses_id else Action.CREATE

    def _stored(self):
        if self.pk is None:
            return None
        return type(self).objects.filter(pk=self.pk).values("date", "reverses_id").first()

    def save(self, *args, **kwargs):
        # Checked against the stored row, so a stale copy cannot move an entry out of a closed month.
        stored = self._stored()
        if stored is not None and (stored["reverses_id"] or type(self).objects.filter(reverses_id=self.pk).exists()):
            raise LockedEntryError("A reversed entry, or a reversal, cannot be changed.")
        dates = [self.date] + ([stored["date"]] if stored else [])
        closed = ClosedMonth.objects.covering(*dates).first()
        if closed is not None:
            raise LockedEntryError(f"{month_label(closed.month)} is closed; its entries cannot change.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        stored = self._stored()
        if stored and ClosedMonth.objects.covering(stored["date"]).exists():
            raise LockedEntryError("Entries in a closed month cannot be deleted.")
        if stored and (stored["reverses_id"] or type(self).objects.filter(reverses_id=self.pk).exists()):
            raise LockedEntryError("A reversed entry, or a reversal, cannot be deleted.")
        return super().delete(*args, **kwargs)


def receipt_upload_to(instance, filename):
    # The caller already checked the content; `filename` ends with the extension it found.
    return random_name("receipts", filename.rsplit(".", 1)[-1])


class Expense(MoneyEntry):
    category = models.ForeignKey(ExpenseCategory, on_delete=models.PROTECT, related_name="expenses")
    reason = models.CharField(max_length=200, help_text="What it was for, e.g. 'March rent' or 'Gloves, 20 boxes'.")
    paid_to = models.CharField(max_length=200)
    method = models.CharField("payment method", max_length=20, choices=PaymentMethod.choices)
    receipt = models.FileField(upload_to=receipt_upload_to, blank=True, max_length=200)
    receipt_name = models.CharField(max_length=160, blank=True, editable=False)
    receipt_type = models.CharField(max_length=40, blank=True, editable=False)

    class Meta(MoneyEntry.Meta):
        indexes = [
            models.Index(fields=["category", "date"], name="expense_category_date"),
            models.Index(fields=["method", "date"], name="expense_method_date"),
            models.Index(fields=["recorded_by", "date"], name="expense_recorder_date"),
        ]

    def __str__(self):
        return f"{self.date:%d %b %Y} {self.category}: {self.reason} ({format_money(self.amount)})"


class OtherIncome(MoneyEntry):
    class Source(models.TextChoices):
        LAB = "lab", "Laboratory"
        DONATION = "donation", "Donation"
        SERVICE = "service", "Service"
        OTHER = "other", "Other"

    source = models.CharField(max_length=20, choices=Source.choices)
    description = models.CharField(max_length=200)
    payer = models.CharField(max_length=200, blank=True)
    patient = models.ForeignKey(Patient, null=True, blank=True, on_delete=models.PROTECT, related_name="other_incomes")

    class Meta(MoneyEntry.Meta):
        verbose_name = "other income"
        indexes = [
            models.Index(fields=["source", "date"], name="otherincome_source_date"),
            models.Index(fields=["recorded_by", "date"], name="otherincome_recorder_date"),
        ]

    def __str__(self):
        return f"{self.date:%d %b %Y} {self.get_source_display()}: {self.description} ({format_money(self.amount)})"


class Payment(MoneyEntry):
    """A patient's payment for a completed visit or a done procedure; a reversal is a refund."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="payments")
    appointment = models.ForeignKey(
        "scheduling.Appointment", null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    procedure = models.ForeignKey(
        "clinical.Procedure", null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    fee = models.DecimalField("standard fee", **AMOUNT)
    fee_override_reason = models.CharField(
        "reason for a different amount",
        max_length=300,
        blank=True,
        help_text="Required when the amount is not the standard fee (discount, insurance share, waiver).",
    )
    method = models.CharField("payment method", max_length=20, choices=PaymentMethod.choices)
    receipt_number = models.CharField(max_length=20, unique=True, editable=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="received by"
    )

    class Meta(MoneyEntry.Meta):
        indexes = [
            models.Index(fields=["method", "date"], name="payment_method_date"),
            # Covering: the monthly report sums a year of payments (hundreds a day) from the index alone;
            # expenses and other incomes are few and are grouped by category and source too.
            models.Index(fields=["date", "amount"], name="payment_date_amount"),
            models.Index(fields=["recorded_by", "date"], name="payment_recorder_date"),
        ]
        constraints = [
            *MoneyEntry.Meta.constraints,
            models.CheckConstraint(
                condition=models.Q(appointment__isnull=False, procedure__isnull=True)
                | models.Q(appointment__isnull=True, procedure__isnull=False),
                name="payment_for_visit_or_procedure",
                violation_error_message="A payment is for one visit or one procedure.",
            ),
        ]

    def __str__(self):
        return f"Receipt {self.receipt_number} ({format_money(self.amount)})"

    def get_absolute_url(self):
        return reverse("finance:receipt", args=[self.pk])

    @property
    def paid_for(self):
        return self.procedure or self.appointment

    @property
    def fee_overridden(self):
        return self.reverses_id is None and self.fee is not None and self.amount != self.fee

    def clean(self):
        super().clean()
        if self.fee_overridden and not self.fee_override_reason.strip():
            raise ValidationError(
                {"fee_override_reason": f"The standard fee is {format_money(self.fee)}; say why this amount differs."}
            )


class MonthlyReport(models.Model):
    """No table: gives the monthly report a place and a permission in the admin (finance/admin/months.py)."""

    class Meta:
        managed = False
        default_permissions = ("view",)
        verbose_name = "monthly report"

    def __str__(self):
        return "Monthly report"
