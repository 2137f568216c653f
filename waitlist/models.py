"""Patients waiting for an earlier time (an entry each), and the freed times offered to them by message."""

from datetime import time

from django.conf import settings
from django.db import models
from django.urls import reverse

from clinic.audit import Audited
from patients.models import Patient
from scheduling.models import Appointment
from staff.models import Doctor, Specialty

WEEKDAY_NAMES = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]

# Named parts of the day a patient may prefer; anything else is shown as its times ("10:00–14:00").
DAY_PARTS = {
    "mornings": (time(8), time(12)),
    "afternoons": (time(12), time(17)),
    "evenings": (time(17), time(21)),
}


class Urgency(models.IntegerChoices):
    # The number is the ranking: the lower, the sooner a freed time goes to them.
    URGENT = 1, "Urgent"
    SOON = 2, "Soon"
    ROUTINE = 3, "Routine"


class WaitlistEntryQuerySet(models.QuerySet):
    def waiting(self):
        """Entries still waiting, of patients whose record is not archived."""
        return self.filter(status=WaitlistEntry.Status.WAITING, patient__is_archived=False)

    def ranked(self):
        """Urgency first, then whoever has waited longest."""
        return self.order_by("urgency", "added_at", "pk")

    def with_people(self):
        return self.select_related("patient", "doctor__user", "doctor__specialty", "specialty", "added_by")


class WaitlistEntry(Audited, models.Model):
    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        BOOKED = "booked", "Booked"
        REMOVED = "removed", "Removed"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="waitlist_entries")
    # One of the two: a named doctor, or any doctor of a specialty.
    doctor = models.ForeignKey(Doctor, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    specialty = models.ForeignKey(Specialty, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # Clinic-local weekdays as digits, Monday 0 ("024" = Mon, Wed, Fri); empty: any day.
    weekdays = models.CharField(max_length=7, blank=True, default="")
    # Clinic-local wall times the visit must lie within; empty: any time.
    time_from = models.TimeField(null=True, blank=True)
    time_to = models.TimeField(null=True, blank=True)
    not_before = models.DateField("not before", null=True, blank=True)
    urgency = models.PositiveSmallIntegerField(choices=Urgency.choices, default=Urgency.ROUTINE)
    note = models.CharField(max_length=500, blank=True)

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    added_at = models.DateTimeField(auto_now_add=True)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    removal_reason = models.CharField(max_length=255, blank=True)
    appointment = models.ForeignKey(
        Appointment, null=True, blank=True, on_delete=models.PROTECT, related_name="waitlist_entries"
    )

    objects = WaitlistEntryQuerySet.as_manager()

    class Meta:
        ordering = ["urgency", "added_at", "pk"]
        verbose_name = "waitlist entry"
        verbose_name_plural = "waitlist entries"
        permissions = [("offer_waitlistentry", "Can offer freed times to patients on the waitlist")]
        indexes = [
            models.Index(fields=["status", "doctor", "urgency", "added_at"], name="waitlist_doctor_rank"),
            models.Index(fields=["status", "specialty", "urgency", "added_at"], name="waitlist_specialty_rank"),
            models.Index(fields=["patient", "status"], name="waitlist_patient_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(doctor__isnull=False) | models.Q(specialty__isnull=False),
                name="waitlist_doctor_or_specialty",
                violation_error_message="Choose a doctor or a specialty.",
            ),
            models.CheckConstraint(
                condition=models.Q(time_from__isnull=True)
                | models.Q(time_to__isnull=True)
                | models.Q(time_to__gt=models.F("time_from")),
                name="waitlist_time_window_order",
                violation_error_message="The end of the preferred times must be after their start.",
            ),
        ]

    def __str__(self):
        return f"{self.patient.full_name} waiting for {self.wanted}"

    def get_absolute_url(self):
        return reverse("waitlist:edit", args=[self.pk])

    @property
    def wanted(self):
        return str(self.doctor) if self.doctor_id else f"any {self.specialty} doctor"

    @property
    def weekday_numbers(self):
        return [int(d) for d in self.weekdays]

    @property
    def preference(self):
        """The preferred days and times in words: "Mon, Wed · mornings", or "any time"."""
        parts = []
        if self.weekdays:
            parts.append(", ".join(WEEKDAY_NAMES[d] for d in self.weekday_numbers))
        if self.time_from or self.time_to:
            named = next((name for name, span in DAY_PARTS.items() if span == (self.time_from, self.time_to)), None)
            if named:
                parts.append(named)
            elif self.time_from and self.time_to:
                parts.append(f"{self.time_from:%H:%M}–{self.time_to:%H:%M}")
            elif self.time_from:
                parts.append(f"from {self.time_from:%H:%M}")
            else:
                parts.append(f"until {self.time_to:%H:%M}")
        return " · ".join(parts) or "any time"


class WaitlistOffer(models.Model):
    """A freed time offered to one waiting patient by e-mail/SMS, with a link to accept it (first accept wins)."""

    class Status(models.TextChoices):
        SENDING = "sending", "Being sent"
        SENT = "sent", "Sent"
        UNREACHABLE = "unreachable", "Not sent (no contact)"
        ACCEPTED = "accepted", "Accepted"
        TAKEN = "taken", "Taken by someone else"
        EXPIRED = "expired", "Expired"

    OPEN = {Status.SENDING, Status.SENT}

    entry = models.ForeignKey(WaitlistEntry, on_delete=models.PROTECT, related_name="offers")
    doctor = models.ForeignKey(Doctor, on_delete=models.PROTECT, related_name="+")
    start = models.DateTimeField()
    end = models.DateTimeField()
    valid_until = models.DateTimeField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.SENDING)
    channels = models.CharField(max_length=40, blank=True)  # how it went out: "email", "email, sms"
    offered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    appointment = models.ForeignKey(Appointment, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-created_at", "pk"]
        indexes = [
            models.Index(fields=["status", "valid_until"], name="waitlist_offer_open"),
            models.Index(fields=["doctor", "start"], name="waitlist_offer_time"),
        ]
        constraints = [
            # Offering a time twice to the same entry sends one message.
            models.UniqueConstraint(fields=["entry", "doctor", "start"], name="waitlist_offer_once"),
        ]

    def __str__(self):
        return f"Offer to {self.entry.patient.full_name} of {self.start:%Y-%m-%d %H:%M}"


class FreedTime(models.Model):
    """A doctor's time left free when an appointment was moved from it (rescheduled); a cancelled
    appointment keeps its own time, so it needs no row here. Written by waitlist/signals.py."""

    doctor = models.ForeignKey(Doctor, on_delete=models.CASCADE, related_name="+")
    start = models.DateTimeField()
    end = models.DateTimeField()
    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="+")  # the one moved
    freed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["start", "pk"]
        indexes = [models.Index(fields=["start"], name="waitlist_freed_start")]

    def __str__(self):
        return f"{self.doctor} {self.start:%Y-%m-%d %H:%M} (moved)"

    def get_absolute_url(self):
        return self.appointment.get_absolute_url()
