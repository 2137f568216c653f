from datetime import timedelta
from decimal import Decimal

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower


class User(AbstractUser):
    """A member of staff. Never deleted once they have history: deactivated instead."""

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        ordering = ["last_name", "first_name", "username"]
        permissions = [("deactivate_user", "Can deactivate and reactivate staff accounts")]

    def __str__(self):
        return self.get_full_name() or self.username

    @property
    def role_names(self):
        return [g.name for g in self.groups.all()]


class Specialty(models.Model):
    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "specialties"

    def __str__(self):
        return self.name


class DoctorQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True, user__is_active=True)

    def search(self, text):
        qs = self
        for word in (text or "").split():
            qs = qs.filter(
                models.Q(user__first_name__icontains=word)
                | models.Q(user__last_name__icontains=word)
                | models.Q(specialty__name__icontains=word)
            )
        return qs


class Doctor(models.Model):
    """The profile of a user in the Doctor role."""

    user = models.OneToOneField(User, on_delete=models.PROTECT, related_name="doctor")
    specialty = models.ForeignKey(Specialty, on_delete=models.PROTECT, related_name="doctors")
    licence_number = models.CharField(max_length=50, unique=True)
    phone = models.CharField(max_length=30, blank=True)
    consultation_minutes = models.PositiveSmallIntegerField(
        "default consultation length (minutes)",
        default=20,
        validators=[MinValueValidator(5), MaxValueValidator(240)],
    )
    consultation_fee = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="What a visit costs the patient; reception is offered it when recording a payment.",
    )
    is_active = models.BooleanField("active", default=True, db_index=True)

    objects = DoctorQuerySet.as_manager()

    class Meta:
        ordering = ["user__last_name", "user__first_name"]
        indexes = [models.Index(Lower("licence_number"), name="doctor_licence_lower")]

    def __str__(self):
        return f"Dr {self.user.get_full_name() or self.user.username}"

    @property
    def consultation_length(self):
        return timedelta(minutes=self.consultation_minutes)


class WorkingHours(models.Model):
    """One interval of a doctor's weekly timetable; a weekday may have several (morning, afternoon)."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    doctor = models.ForeignKey(Doctor, on_delete=models.CASCADE, related_name="working_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_time = models.TimeField()
    end_time = models.TimeField()

    class Meta:
        ordering = ["doctor", "weekday", "start_time"]
        verbose_name_plural = "working hours"
        indexes = [models.Index(fields=["doctor", "weekday"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_time__gt=models.F("start_time")),
                name="working_hours_end_after_start",
                violation_error_message="The end of working hours must be after their start.",
            ),
        ]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.start_time:%H:%M}–{self.end_time:%H:%M}"

    def clean(self):
        if self.start_time and self.end_time and self.end_time <= self.start_time:
            raise ValidationError({"end_time": "The end must be after the start."})
        if self.doctor_id and self.start_time and self.end_time and self.weekday is not None:
            overlapping = WorkingHours.objects.filter(
                doctor_id=self.doctor_id,
                weekday=self.weekday,
                start_time__lt=self.end_time,
                end_time__gt=self.start_time,
            ).exclude(pk=self.pk)
            if overlapping.exists():
                raise ValidationError("These hours overlap another interval on the same day.")
