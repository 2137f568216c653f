"""Demo appointments for `seed_demo`: a doctor's bookable slots, lived-in statuses, and the bulk
load for load tests (`seed_demo --appointments M`)."""

import itertools
import random
import time
from datetime import datetime, timedelta

from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone

from clinic import audit
from clinic.models import AuditEntry
from patients.models import Patient
from staff.models import Doctor

from .models import Appointment

S = Appointment.Status
REASONS = [
    "Follow-up",
    "Blood pressure review",
    "Persistent cough",
    "Skin rash",
    "Annual check-up",
    "Chest pain review",
    "Diabetes review",
    "Vaccination",
    "Back pain",
    "Headaches",
    "Medication review",
    "Child development check",
]
# How far the bulk load reaches either way; far beyond any load asked of it (about 450 slots a week).
BULK_YEARS = 40


def working_slots(doctor, day):
    """(start, end) of each consultation in the doctor's working hours on `day`, back to back."""
    length = doctor.consultation_length
    for hours in doctor.working_hours.all():
        if hours.weekday != day.weekday():
            continue
        cursor = timezone.make_aware(datetime.combine(day, hours.start_time))
        end = timezone.make_aware(datetime.combine(day, hours.end_time))
        while cursor + length <= end:
            yield cursor, cursor + length
            cursor += length


def status_for(start, end, rnd, now):
    """A status that fits the time: past visits done (or missed), the present one under way, later ones booked."""
    if start.date() < now.date() or start + timedelta(hours=2) < now:
        return rnd.choices([S.COMPLETED, S.NO_SHOW, S.CANCELLED], weights=[85, 8, 7])[0]
    if end <= now:
        return rnd.choice([S.CHECKED_IN, S.IN_PROGRESS, S.COMPLETED])
    if start <= now:
        return rnd.choice([S.CHECKED_IN, S.IN_PROGRESS])  # not over yet, so not completed
    return rnd.choices([S.SCHEDULED, S.CONFIRMED, S.CANCELLED], weights=[60, 35, 5])[0]


def stamp(appointment, rnd, now):
    """Fill the lifecycle timestamps a status implies, so demo data looks lived-in; none after `now`."""
    a, s = appointment, appointment.status
    if s in (S.CHECKED_IN, S.IN_PROGRESS, S.COMPLETED):
        a.checked_in_at = min(a.start - timedelta(minutes=rnd.randrange(2, 15)), now)
        a.checked_in_by = a.booked_by
    if s in (S.IN_PROGRESS, S.COMPLETED):
        a.started_at = min(a.start + timedelta(minutes=rnd.randrange(0, 6)), now)
    if s == S.COMPLETED:
        a.completed_at = a.end
    if s == S.CANCELLED:
        a.cancelled_at, a.cancelled_by, a.cancellation_reason = (
            min(a.start - timedelta(days=1), now),
            a.booked_by,
            "Patient asked to cancel",
        )
    if s == S.NO_SHOW:
        a.no_show_at = a.start + timedelta(minutes=20)
    if s == S.CONFIRMED:
        a.confirmed_at = min(a.start - timedelta(days=1), now)
    return a


def _taken_days(days):
    """Clinic-local days in this run of days that hold any appointment already (from an earlier run, or booked)."""
    low, high = min(days), max(days) + timedelta(days=1)
    starts = Appointment.objects.filter(
        start__gte=timezone.make_aware(datetime.combine(low, datetime.min.time())),
        start__lt=timezone.make_aware(datetime.combine(high, datetime.min.time())),
    ).values_list("start", flat=True)
    return {timezone.localtime(start).date() for start in starts}


def seed_bulk_appointments(count, *, booked_by, future_from, past_before, seed=2026, batch_size=10000, progress=None):
    """`count` more appointments on whole days that no demo or earlier bulk appointment uses: half
    from `future_from` on, half before `past_before`; a batch of days at a time, each batch in one
    transaction with one audit entry naming it (a row each would make the trail as big as the load).
    No overlap by construction: each doctor's slots are back to back in the working hours, and on
    any one day a patient is booked once. Returns how many were made."""
    doctors = list(Doctor.objects.prefetch_related("working_hours").order_by("pk"))
    patients = list(Patient.objects.order_by("pk").values_list("pk", flat=True))
    busiest = max(len(_day_slots(doctors, future_from + timedelta(days=d))) for d in range(7))
    if busiest == 0:
        raise CommandError("Bulk appointments need doctors with working hours.")
    if len(patients) < busiest:
        raise CommandError(f"Bulk appointments need at least {busiest} patients (one a slot on the busiest day).")
    rnd, now, started = random.Random(f"{seed}-bulk-appointments"), timezone.now(), time.monotonic()
    # Days are filled latest first. SQLite's overlap trigger looks through the doctor's appointments
    # that start before the new one (its index is doctor, start): filled in time order, each insert
    # would read all the load before it (minutes at 200,000); latest first, it reads almost nothing.
    # So the future half goes in first, farthest day first, then the past going back.
    future = list(_days_until(future_from, 1, count // 2, doctors))
    made = 0
    batches = itertools.chain(
        _batches(reversed(future), batch_size, doctors), _batches(_days_back(past_before), batch_size, doctors)
    )
    for days in batches:
        if made >= count:
            break
        taken = _taken_days(days)
        batch = []
        for day in days:
            if day in taken:
                continue
            # Patients in turn from an offset fixed by the day: nobody twice on one day.
            offset = day.toordinal() * busiest
            for slot, (doctor, start, end) in enumerate(_day_slots(doctors, day)):
                appointment = Appointment(
                    patient_id=patients[(offset + slot) % len(patients)],
                    doctor=doctor,
                    start=start,
                    end=end,
                    booked_by=booked_by,
                    reason=rnd.choice(REASONS),
                    status=status_for(start, end, rnd, now),
                )
                batch.append(stamp(appointment, rnd, now))
        batch = batch[: count - made]
        if not batch:
            continue
        with transaction.atomic():
            Appointment.objects.bulk_create(batch, batch_size=2000)
            first, last = min(a.start for a in batch), max(a.start for a in batch)
            audit.record(
                AuditEntry.Action.CREATE,
                summary=f"Demo load: {len(batch)} appointments, {first:%Y-%m-%d} to {last:%Y-%m-%d}",
            )
        made += len(batch)
        if progress:
            progress(f"Appointments: {made:,} of {count:,} ({time.monotonic() - started:.0f} s)")
    return made


def _days_until(first, step, slots, doctors):
    """Days from `first` whose slots add up to at least `slots`."""
    day, total = first, 0
    while total < slots:
        yield day
        total += len(_day_slots(doctors, day))
        day += timedelta(days=step)


def _days_back(before):
    """Days going back from the one before `before`, for as long as any load could need."""
    return (before - timedelta(days=n) for n in range(1, 366 * BULK_YEARS))


def _batches(days, size, doctors):
    """Runs of consecutive days, each with about `size` slots."""
    batch, slots = [], 0
    for day in days:
        batch.append(day)
        slots += len(_day_slots(doctors, day))
        if slots >= size:
            yield batch
            batch, slots = [], 0
    if batch:
        yield batch


def _day_slots(doctors, day):
    return [(doctor, start, end) for doctor in doctors for start, end in working_slots(doctor, day)]


DEMO_SERIES_REASON = "Physiotherapy: knee rehabilitation"
DEMO_SERIES_COUNT = 8


def seed_demo_series(*, patient, doctor, booked_by, first_day):
    """A weekly series of DEMO_SERIES_COUNT visits for `patient` with `doctor`, from the first day on or after
    `first_day` the doctor works, at its third slot, booked through the series services (a clash skipped);
    once: a second run finds it and adds nothing. Returns how many appointments it booked."""
    from .series import Rule, book_series, load_doctor, plan_series

    if patient.appointment_series.filter(reason=DEMO_SERIES_REASON).exists():
        return 0
    doctor = load_doctor(doctor.pk)
    for offset in range(7):
        day = first_day + timedelta(days=offset)
        slots = list(working_slots(doctor, day))
        if len(slots) >= 3:
            break
    else:
        return 0
    start, end = slots[2]
    rule = Rule(unit="weeks", interval=1, weekdays=(day.weekday(),), count=DEMO_SERIES_COUNT)
    occurrences = plan_series(patient=patient, doctor=doctor, first_start=start, length=end - start, rule=rule)
    free = [occurrence for occurrence in occurrences if not occurrence.problem]
    if not free:
        return 0
    _, booked = book_series(
        patient=patient,
        doctor=doctor,
        first_start=start,
        length=end - start,
        rule=rule,
        reason=DEMO_SERIES_REASON,
        chosen=free,
        booked_by=booked_by,
    )
    return len(booked)
