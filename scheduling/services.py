"""Booking and the appointment's lifecycle. Views, the admin, commands and tests all go through these:
each action is one function with keyword arguments, run in one transaction."""

from datetime import datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from clinic.audit import lock_rows
from clinic.lifecycle import InvalidTransition, transition
from patients.models import Patient
from staff.models import Doctor

from .guards import DOCTOR_OVERLAP, OVERLAP_NAMES
from .models import Appointment


def _queue_behind_other_bookings(*, doctor, patient):
    """Lock the doctor's and the patient's rows (PostgreSQL; SQLite's IMMEDIATE transactions queue anyway);
    returns whether the patient's record is archived, as read under the lock.

    Two bookings of one doctor or patient then run one after the other, and the later one is told
    which appointment it clashes with. Without this both insert, and PostgreSQL's exclusion check can
    find each other's row and abort one with "deadlock detected" instead of an overlap error.
    NO KEY UPDATE leaves the foreign-key checks of other inserts unblocked.
    """
    list(lock_rows(Doctor.objects.filter(pk=doctor.pk).order_by()).values_list("pk"))
    # Read under the patient's lock, not from the caller's copy: archiving (which locks the same row and
    # cancels what is still to come) may have finished since that copy was loaded.
    return lock_rows(Patient.objects.filter(pk=patient.pk).order_by()).values_list("is_archived", flat=True).get()


ARCHIVED = "This patient's record is archived; restore it before booking."


def _save_guarded(appointment: Appointment):
    """Validate, then save; an overlap the database refuses (a race) becomes a form error."""
    # Patient and doctor are not looked up again: the service holds both rows locked (they exist).
    appointment.full_clean(exclude=["booked_by", "patient", "doctor"])
    try:
        with transaction.atomic():
            appointment.save()
    except IntegrityError as exc:
        text = str(exc)
        if not any(name in text for name in OVERLAP_NAMES):
            raise
        who = "the doctor" if DOCTOR_OVERLAP in text else "the patient"
        taken = f"That time was just taken for {who} by another booking. Choose another time."
        raise ValidationError({"start": ValidationError(taken, code="overlap")}) from exc
    return appointment


def _not_before_today(start):
    # Booking earlier today is allowed (a walk-in recorded after the fact); earlier days are not.
    today_start = timezone.make_aware(datetime.combine(timezone.localdate(), time.min))
    if start < today_start:
        raise ValidationError({"start": "Appointments cannot be booked on a day that has passed."})


@transaction.atomic
def book_appointment(*, patient, doctor, start, end=None, reason="", booked_by, allow_past=False) -> Appointment:
    end = end or start + doctor.consultation_length
    if not allow_past:
        _not_before_today(start)
    if _queue_behind_other_bookings(doctor=doctor, patient=patient):  # archived, read under its lock
        raise ValidationError({"patient": ARCHIVED})
    appointment = Appointment(patient=patient, doctor=doctor, start=start, end=end, reason=reason, booked_by=booked_by)
    return _save_guarded(appointment)


@transaction.atomic
def reschedule_appointment(*, appointment, start, end=None, doctor=None, by) -> Appointment:
    appointment = lock_rows(Appointment.objects).get(pk=appointment.pk)
    if appointment.status not in Appointment.RESCHEDULABLE:
        raise ValidationError(f"A {appointment.get_status_display().lower()} appointment cannot be rescheduled.")
    doctor = doctor or appointment.doctor
    length = appointment.duration if end is None else None
    _not_before_today(start)
    _queue_behind_other_bookings(doctor=doctor, patient=appointment.patient)
    appointment.doctor = doctor
    appointment.start = start
    appointment.end = end or start + (length or doctor.consultation_length)
    return _save_guarded(appointment)


@transaction.atomic
def update_appointment_details(*, appointment, reason, by) -> Appointment:
    """The reason for visit, while the appointment is still to come (like its time: a visit that
    has begun, ended or was called off is history)."""
    appointment = lock_rows(Appointment.objects).get(pk=appointment.pk)
    if appointment.status not in Appointment.RESCHEDULABLE:
        raise ValidationError(f"A {appointment.get_status_display().lower()} appointment cannot be changed.")
    appointment.reason = reason
    appointment.clean_fields(exclude=[f.name for f in Appointment._meta.fields if f.name != "reason"])
    appointment.save(update_fields=["reason", "updated_at"])
    return appointment


# A booking just made can be taken back (the wrong patient, time or doctor) by whoever made it, for this long.
UNDO_BOOKING_WITHIN = timedelta(minutes=10)
BOOKING_UNDONE = "Booking undone right after it was made"


def can_undo_booking(appointment, user) -> bool:
    return (
        appointment.booked_by_id == user.pk
        and appointment.status == Appointment.Status.SCHEDULED
        and timezone.now() - appointment.booked_at <= UNDO_BOOKING_WITHIN
    )


@transaction.atomic
def undo_booking(*, appointment, by) -> Appointment:
    """Take back a booking just made: its time is free again at once. The appointment is cancelled
    with a reason saying so (not deleted), so the audit trail keeps both steps."""
    appointment = lock_rows(Appointment.objects).get(pk=appointment.pk)
    if not can_undo_booking(appointment, by):
        raise ValidationError(
            f"Only a booking you made in the last {UNDO_BOOKING_WITHIN.seconds // 60} minutes, and that nothing else "
            "has happened to, can be undone. "
            "Cancel it instead."
        )
    return cancel_appointment(appointment=appointment, reason=BOOKING_UNDONE, by=by)


# --- the lifecycle: each step under a row lock (clinic/lifecycle.py), refused when the table says no ---
Status = Appointment.Status


def _refuse_a_way_back(appointment, wanted):
    """The lifecycle lets a checked-in appointment go back to scheduled or confirmed, but only through
    undo_check_in: as a step of its own it would leave the check-in's time and person behind."""
    current = lock_rows(Appointment.objects).values_list("status", flat=True).get(pk=appointment.pk)
    if (current, wanted) in Appointment.WAYS_BACK:
        raise Appointment.lifecycle.refusal(Appointment, current, wanted)


@transaction.atomic
def confirm_appointment(*, appointment, by) -> Appointment:
    _refuse_a_way_back(appointment, Status.CONFIRMED)
    return transition(appointment, Status.CONFIRMED, by=by, confirmed_at=timezone.now())


# When a step may be taken at all, whatever the status: the services refuse the rest, and the appointment
# page asks the same functions which buttons to offer (scheduling.views.next_steps).
def is_check_in_day(appointment, now=None) -> bool:
    """A patient is checked in on the (clinic-local) day of the appointment, not before nor after."""
    return appointment.local_start.date() == timezone.localtime(now or timezone.now()).date()


def has_started(appointment, now=None) -> bool:
    """A no-show can be marked only once the appointment's start has passed."""
    return appointment.start <= (now or timezone.now())


@transaction.atomic
def check_in(*, appointment, by) -> Appointment:
    if not is_check_in_day(appointment):
        raise InvalidTransition("A patient can be checked in only on the day of the appointment.")
    return transition(appointment, Status.CHECKED_IN, by=by, checked_in_at=timezone.now(), checked_in_by=by)


@transaction.atomic
def undo_check_in(*, appointment, by) -> Appointment:
    """Take back a check-in (the wrong patient, or too early): back to confirmed if it had been confirmed,
    else scheduled, and the check-in's time and person cleared. Only while the patient is still waiting:
    once the visit has started it is history. The audit trail keeps both steps."""
    stored = lock_rows(Appointment.objects).values("status", "confirmed_at").get(pk=appointment.pk)
    if stored["status"] != Status.CHECKED_IN:
        label = Status(stored["status"]).label.lower()
        raise InvalidTransition(
            f"This appointment is {label}; only a check-in whose visit has not started can be undone.",
            code="invalid_transition",
        )
    back_to = Status.CONFIRMED if stored["confirmed_at"] else Status.SCHEDULED
    return transition(appointment, back_to, by=by, reread=("confirmed_at",), checked_in_at=None, checked_in_by=None)


@transaction.atomic
def start_visit(*, appointment, by) -> Appointment:
    return transition(appointment, Status.IN_PROGRESS, by=by, started_at=timezone.now())


@transaction.atomic
def complete_visit(*, appointment, by) -> Appointment:
    return transition(appointment, Status.COMPLETED, by=by, completed_at=timezone.now())


@transaction.atomic
def mark_no_show(*, appointment, by) -> Appointment:
    if not has_started(appointment):
        raise InvalidTransition("A patient can be marked as a no-show only after the appointment's start.")
    return transition(appointment, Status.NO_SHOW, by=by, no_show_at=timezone.now())


@transaction.atomic
def cancel_appointment(*, appointment, reason, by) -> Appointment:
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the appointment is cancelled."})
    return transition(
        appointment,
        Status.CANCELLED,
        by=by,
        cancelled_at=timezone.now(),
        cancelled_by=by,
        cancellation_reason=reason.strip(),
    )
