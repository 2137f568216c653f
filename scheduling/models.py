from datetime import datetime, time, timedelta

from django.conf import settings
from django.contrib.postgres.fields import RangeBoundary, RangeOperators
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from clinic.audit import Action, Audited
from clinic.lifecycle import InvalidTransition, Lifecycle, refuse_illegal_change
from patients.models import Patient
from staff.models import Doctor, WorkingHours

from .guards import (
    DOCTOR_OVERLAP,
    INACTIVE_STATUSES,
    LENGTH_SLACK,
    MAX_MINUTES,
    PATIENT_OVERLAP,
    PostgresExclusionConstraint,
    TsTzRange,
)

# How long an appointment may be: the booking forms' "Length (minutes)" takes its bounds from here
# (the longest from guards.py, whose database checks refuse anything longer).
MIN_MINUTES = 5
MIN_LENGTH = timedelta(minutes=MIN_MINUTES)
MAX_LENGTH = timedelta(minutes=MAX_MINUTES)


# An audit summary names the time and the doctor (a reschedule) first, then any other field.
_NAMED_FIRST = ("start", "end", "doctor")


def _short(text, limit=60):
    # Keeps a summary naming several fields within the audit entry's 300 characters.
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _shown(value):
    if value in (None, ""):
        return "(none)"
    if isinstance(value, str):
        return f'"{_short(value)}"'
    if isinstance(value, datetime):
        return f"{timezone.localtime(value):%Y-%m-%d %H:%M}"
    if isinstance(value, int):
        return f"#{value}"  # an id whose row was not found
    return _short(str(value))


def _old_new(name, values, labels=None):
    """'name: old → new', each value by its label when it has one (a doctor by name, not id)."""
    labels = labels or {}
    return f"{name}: " + " → ".join(labels.get(value) or _shown(value) for value in values)


__all__ = ["Appointment", "AppointmentQuerySet", "InvalidTransition", "Series"]

# A series repeats at most this often and this far (scheduling/series.py generates its occurrences).
SERIES_MAX_COUNT = 52
SERIES_MAX_SPAN = timedelta(days=366)
SERIES_MAX_INTERVAL = 52


class Series(Audited, models.Model):
    """Visits that repeat (physiotherapy, dressings, antenatal): every N days, or every N weeks on chosen
    weekdays, until a date or for a count. The rule is kept as it was booked; its appointments point here
    (Appointment.series) and each is booked, moved and cancelled as an appointment of its own."""

    class Unit(models.TextChoices):
        DAYS = "days", "Days"
        WEEKS = "weeks", "Weeks"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="appointment_series")
    doctor = models.ForeignKey(Doctor, on_delete=models.PROTECT, related_name="appointment_series")
    first_start = models.DateTimeField("first appointment")
    length = models.DurationField()
    unit = models.CharField("repeat every", max_length=5, choices=Unit.choices, default=Unit.WEEKS)
    interval = models.PositiveSmallIntegerField(default=1)
    # Weekdays as digits, Monday 0 ("02" is Monday and Wednesday); weekly series only.
    weekdays = models.CharField(max_length=7, blank=True)
    until = models.DateField(null=True, blank=True)
    count = models.PositiveSmallIntegerField(null=True, blank=True)
    reason = models.CharField("reason for visit", max_length=255, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "series"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(until__isnull=True, count__gte=1, count__lte=SERIES_MAX_COUNT)
                | models.Q(until__isnull=False, count__isnull=True),
                name="series_until_or_count",
                violation_error_message=f"A series ends on a date or after 1 to {SERIES_MAX_COUNT} appointments.",
            ),
            models.CheckConstraint(
                condition=models.Q(interval__gte=1, interval__lte=SERIES_MAX_INTERVAL),
                name="series_interval_range",
                violation_error_message=f"A series repeats every 1 to {SERIES_MAX_INTERVAL} days or weeks.",
            ),
        ]

    def __str__(self):
        return f"{self.describe()} for {self.patient.full_name}"

    @property
    def weekday_numbers(self):
        return sorted({int(digit) for digit in self.weekdays if digit.isdigit() and int(digit) < 7})

    @property
    def kind(self):
        """ "weekly", "fortnightly", "daily", "every 3 weeks": how the page names it."""
        if self.interval == 1:
            return "weekly" if self.unit == self.Unit.WEEKS else "daily"
        if self.interval == 2 and self.unit == self.Unit.WEEKS:
            return "fortnightly"
        return f"every {self.interval} {self.unit}"

    def describe(self):
        text = f"{self.kind[0].upper()}{self.kind[1:]} series"
        if self.unit == self.Unit.WEEKS and self.weekday_numbers:
            names = [date_format(datetime(2024, 1, 1 + day), "l") for day in self.weekday_numbers]  # 1 Jan 2024: Monday
            text += " on " + ", ".join(names)
        return text


class AppointmentQuerySet(models.QuerySet):
    def active(self):
        return self.exclude(status__in=INACTIVE_STATUSES)

    def overlapping(self, start, end):
        """Appointments overlapping [start, end). Half-open: [start, end) meets [end, later) without overlapping.

        None lasts longer than MAX_LENGTH (clean() refuses it, and so does the database: a check on
        PostgreSQL, the overlap trigger on SQLite, scheduling/guards.py), so one that overlaps starts
        after start - MAX_LENGTH: that lower bound keeps the (doctor, start) and (patient, start) index
        scans to a day's rows instead of every past appointment. LENGTH_SLACK covers the database's
        rounding of the length it checks."""
        return self.filter(start__gt=start - MAX_LENGTH - LENGTH_SLACK, start__lt=end, end__gt=start)

    def on_day(self, day):
        """Appointments starting on a clinic-local calendar day."""
        start = timezone.make_aware(datetime.combine(day, time.min))
        return self.filter(start__gte=start, start__lt=start + timedelta(days=1))

    def with_people(self):
        return self.select_related("patient", "doctor__user", "doctor__specialty")


class Appointment(Audited, models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        CONFIRMED = "confirmed", "Confirmed"
        CHECKED_IN = "checked_in", "Checked in"
        IN_PROGRESS = "in_progress", "In consultation"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"
        NO_SHOW = "no_show", "No-show"

    # The lifecycle: which status may follow which (scheduling/services.py moves it; save() refuses the rest).
    lifecycle = Lifecycle(
        {
            Status.SCHEDULED: {Status.CONFIRMED, Status.CHECKED_IN, Status.CANCELLED, Status.NO_SHOW},
            Status.CONFIRMED: {Status.CHECKED_IN, Status.CANCELLED, Status.NO_SHOW},
            # The way back (services.undo_check_in): a patient checked in by mistake, before the visit starts.
            Status.CHECKED_IN: {Status.IN_PROGRESS, Status.CANCELLED, Status.SCHEDULED, Status.CONFIRMED},
            Status.IN_PROGRESS: {Status.COMPLETED},
            Status.COMPLETED: set(),
            Status.CANCELLED: set(),
            Status.NO_SHOW: set(),
        },
        noun="appointment",
        verb="be marked",
    )
    TRANSITIONS = lifecycle.table
    # Moves the table allows only as an undo (services.undo_check_in), never as a step of their own:
    # "Mark confirmed" is not offered to, and refused for, a checked-in patient.
    WAYS_BACK = {(Status.CHECKED_IN, Status.SCHEDULED), (Status.CHECKED_IN, Status.CONFIRMED)}
    RESCHEDULABLE = {Status.SCHEDULED, Status.CONFIRMED}

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="appointments")
    doctor = models.ForeignKey(Doctor, on_delete=models.PROTECT, related_name="appointments")
    start = models.DateTimeField()
    end = models.DateTimeField()
    reason = models.CharField("reason for visit", max_length=255, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SCHEDULED)

    booked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    booked_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField("consultation started", null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cancellation_reason = models.CharField(max_length=255, blank=True)
    no_show_at = models.DateTimeField(null=True, blank=True)
    # The series it was booked in, if any (scheduling/series.py); it stays an appointment of its own.
    series = models.ForeignKey(
        Series,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="appointments",
        editable=False,
        db_index=False,  # the (series, start) index serves it
    )

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        ordering = ["start", "doctor"]
        permissions = [
            ("cancel_appointment", "Can cancel appointments"),
            ("check_in_appointment", "Can check patients in and mark no-shows"),
            ("start_visit_appointment", "Can start and complete visits"),
        ]
        indexes = [
            models.Index(fields=["doctor", "start"], name="appointment_doctor_start"),
            models.Index(fields=["patient", "start"], name="appointment_patient_start"),
            models.Index(fields=["start"], name="appointment_start"),
            models.Index(fields=["series", "start"], name="appointment_series_start"),
            # Payments due walks completed visits newest first and counts them (finance/queries.py);
            # without it the walk passed every future appointment first.
            models.Index(fields=["-start"], condition=models.Q(status="completed"), name="appointment_completed_start"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")),
                name="appointment_end_after_start",
                violation_error_message="An appointment must end after it starts.",
            ),
            PostgresExclusionConstraint(
                name=DOCTOR_OVERLAP,
                expressions=[
                    (TsTzRange("start", "end", RangeBoundary()), RangeOperators.OVERLAPS),
                    ("doctor", RangeOperators.EQUAL),
                ],
                condition=~models.Q(status__in=INACTIVE_STATUSES),
            ),
            PostgresExclusionConstraint(
                name=PATIENT_OVERLAP,
                expressions=[
                    (TsTzRange("start", "end", RangeBoundary()), RangeOperators.OVERLAPS),
                    ("patient", RangeOperators.EQUAL),
                ],
                condition=~models.Q(status__in=INACTIVE_STATUSES),
            ),
        ]

    def audit_action(self, changes):
        """Each changed field with its old and new value: a reschedule names the earlier time and
        doctor, so the appointment's history stays findable though it changes in place."""
        if "status" in changes:
            return super().audit_action(changes)
        parts = []
        if "start" in changes or "end" in changes:
            starts = changes.get("start") or (self.start, self.start)
            ends = changes.get("end") or (self.end, self.end)
            parts.append(
                " → ".join(
                    f"{timezone.localtime(s):%Y-%m-%d %H:%M}–{timezone.localtime(e):%H:%M}"
                    for s, e in zip(starts, ends, strict=True)
                )
            )
        if "doctor" in changes:
            # Names rather than ids: one query, only when the doctor changes.
            doctors = Doctor.objects.select_related("user").in_bulk(changes["doctor"])
            parts.append(_old_new("doctor", changes["doctor"], {pk: _short(str(d)) for pk, d in doctors.items()}))
        parts += [_old_new(name, values) for name, values in changes.items() if name not in _NAMED_FIRST]
        moved = not changes.keys().isdisjoint(_NAMED_FIRST)
        return (Action.RESCHEDULE if moved else Action.CHANGE), "; ".join(parts)

    def __str__(self):
        local = timezone.localtime(self.start)
        return f"{self.patient.full_name} with {self.doctor} on {date_format(local, 'D j M Y H:i')}"

    def get_absolute_url(self):
        return reverse("scheduling:detail", args=[self.pk])

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        # Remember where and whose it was, so save() can refuse a move to another patient.
        instance._loaded = {
            name: getattr(instance, name, None)
            for name in ("start", "end", "doctor_id", "patient_id")
            if name in field_names
        }
        return instance

    @property
    def is_active(self):
        return self.status not in INACTIVE_STATUSES

    @property
    def duration(self):
        return self.end - self.start

    @property
    def local_start(self):
        return timezone.localtime(self.start)

    @property
    def local_end(self):
        return timezone.localtime(self.end)

    # --- validation --------------------------------------------------------------------------
    def _times_changed(self):
        loaded = getattr(self, "_loaded", None)
        if not loaded or self._state.adding:
            return True
        return any(loaded.get(k) != getattr(self, k) for k in ("start", "end", "doctor_id", "patient_id"))

    def clean(self):
        self.check_bookable()

    def check_bookable(self, *, hours=None, nearby=None):
        """clean()'s rules. A caller checking many times at once (a series' occurrences) passes the doctor's
        working hours and the active appointments around them, each loaded once, instead of two queries a time."""
        if not (self.start and self.end and self.doctor_id and self.patient_id):
            return
        if self.end <= self.start:
            raise ValidationError({"end": "An appointment must end after it starts."})
        if self.end - self.start < MIN_LENGTH:
            raise ValidationError({"end": f"An appointment lasts at least {MIN_MINUTES} minutes."})
        if self.end - self.start > MAX_LENGTH:
            raise ValidationError({"end": f"An appointment cannot last more than {MAX_MINUTES // 60} hours."})
        if not self.is_active or not self._times_changed():
            return
        if self.patient.is_archived:
            raise ValidationError({"patient": "This patient's record is archived; restore it before booking."})
        if not self.doctor.is_active or not self.doctor.user.is_active:
            raise ValidationError({"doctor": f"{self.doctor} is not taking appointments."})
        self._check_working_hours(hours)
        self._check_overlaps(nearby)

    def _check_working_hours(self, all_hours=None):
        local_start, local_end = self.local_start, self.local_end
        if local_start.date() != local_end.date() and local_end.time() != time.min:
            raise ValidationError({"start": "An appointment must start and end on the same day."})
        if all_hours is None:
            hours = list(WorkingHours.objects.filter(doctor_id=self.doctor_id, weekday=local_start.weekday()))
        else:
            hours = [h for h in all_hours if h.doctor_id == self.doctor_id and h.weekday == local_start.weekday()]
        end_time = local_end.time() if local_end.date() == local_start.date() else time.max
        if any(h.start_time <= local_start.time() and end_time <= h.end_time for h in hours):
            return
        day = date_format(local_start, "l")
        if hours:
            listed = ", ".join(f"{h.start_time:%H:%M}–{h.end_time:%H:%M}" for h in hours)
            message = f"{self.doctor} works {listed} on {day}s; this time is outside those hours."
        else:
            message = f"{self.doctor} does not work on {day}s."
        raise ValidationError({"start": message})

    def conflicts(self):
        """Active appointments of the same doctor or patient overlapping this one."""
        others = Appointment.objects.active().overlapping(self.start, self.end).with_people()
        if self.pk:
            others = others.exclude(pk=self.pk)
        return others.filter(models.Q(doctor_id=self.doctor_id) | models.Q(patient_id=self.patient_id))

    def _clashes_with(self, other):
        return (
            other.pk != self.pk
            and other.is_active
            and other.start < self.end
            and self.start < other.end
            and (other.doctor_id == self.doctor_id or other.patient_id == self.patient_id)
        )

    def _check_overlaps(self, nearby=None):
        found = self.conflicts()[:1] if nearby is None else [o for o in nearby if self._clashes_with(o)][:1]
        for other in found:
            when = f"{date_format(other.local_start, 'D j M H:i')}–{other.local_end:%H:%M}"
            if other.doctor_id == self.doctor_id:
                message = f"{self.doctor} already has an appointment {when} with {other.patient}."
            else:
                message = f"{other.patient.full_name} already has an appointment {when} with {other.doctor}."
            # The code on the field's own error: on a dict of errors Django keeps no code of its own.
            raise ValidationError({"start": ValidationError(message, code="overlap")})

    def save(self, *args, **kwargs):
        loaded = getattr(self, "_loaded", None)
        if loaded and not self._state.adding and loaded.get("patient_id", self.patient_id) != self.patient_id:
            # The visit's record, vital signs and payments hang off it: it stays the patient's.
            raise ValidationError({"patient": "An appointment cannot be moved to another patient; book a new one."})
        refuse_illegal_change(self)  # the last line; the services move the status
        super().save(*args, **kwargs)
        self._loaded = {k: getattr(self, k) for k in ("start", "end", "doctor_id", "patient_id")}

    # tests/test_audit.py still calls these two; everything else goes through scheduling.services.
