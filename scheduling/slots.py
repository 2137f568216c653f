"""The free-slot finder: the next bookable times from working hours and existing appointments."""

import bisect
import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from staff.models import Doctor

from .models import Appointment

ALIGN = timedelta(minutes=5)


@dataclass(frozen=True)
class Slot:
    doctor: Doctor
    start: datetime
    end: datetime

    @property
    def local_start(self):
        return timezone.localtime(self.start)

    @property
    def choice(self):
        """The value of a button that takes this slot (scheduling.forms.with_offered_slot reads it)."""
        return f"{self.doctor.pk}@{self.local_start.isoformat(timespec='minutes')}"


def _round_up(moment: datetime) -> datetime:
    step = int(ALIGN.total_seconds())
    return datetime.fromtimestamp(-(-moment.timestamp() // step) * step, tz=moment.tzinfo)


class _Busy:
    """Busy intervals answering "what blocks [cursor, cursor + length)?" in O(log n) a question.

    Sorted by start, with the latest end among each prefix: the intervals starting before
    cursor + length are a prefix, and one of them blocks exactly when that prefix's latest end is
    after the cursor, which is then the first time worth trying. (Scanning the whole list for every
    candidate slot made a full fortnight quadratic in the doctor's appointments.)"""

    def __init__(self, intervals):
        ordered = sorted(intervals)
        self.starts = [start for start, _ in ordered]
        self.latest_ends = list(itertools.accumulate((end for _, end in ordered), max))

    def blocked_until(self, cursor, length):
        """The latest end of the intervals overlapping [cursor, cursor + length), or None if none do."""
        count = bisect.bisect_left(self.starts, cursor + length)
        if count and self.latest_ends[count - 1] > cursor:
            return self.latest_ends[count - 1]
        return None


def _doctor_slots(doctor, busy, start_from, days, length):
    """Walk each working interval; jump past a busy appointment, else offer the slot."""
    busy = _Busy(busy)
    first_day = timezone.localtime(start_from).date()
    hours_by_day = {}
    for hours in doctor.working_hours.all():
        hours_by_day.setdefault(hours.weekday, []).append(hours)
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        for hours in sorted(hours_by_day.get(day.weekday(), []), key=lambda h: h.start_time):
            # Walk in UTC: arithmetic on times of the clinic's zone is wall-clock arithmetic, which offered
            # 01:40 on the night 01:00 becomes 02:00 and walked the hour the clocks repeat only once.
            cursor = timezone.make_aware(datetime.combine(day, hours.start_time)).astimezone(UTC)
            until = timezone.make_aware(datetime.combine(day, hours.end_time)).astimezone(UTC)
            cursor = max(cursor, _round_up(start_from).astimezone(UTC))
            while cursor + length <= until:
                blocked_until = busy.blocked_until(cursor, length)
                if blocked_until is not None:
                    cursor = _round_up(blocked_until)
                    continue
                yield Slot(doctor, cursor, cursor + length)
                cursor += length


def free_slots(
    *, doctor=None, specialty=None, start_from=None, days=14, length=None, limit=10, patient=None, ignore=None
):
    """The next `limit` free slots of one doctor, or of any active doctor of a specialty.

    Uses each doctor's weekly hours and consultation length (or `length`), skips times the
    doctor, or the patient when given, is already booked; `ignore` is an appointment that does not
    count as busy (the one being moved). Queries: doctors, their hours, appointments.
    """
    start_from = max(start_from or timezone.now(), timezone.now())
    doctors = Doctor.objects.active().select_related("user", "specialty").prefetch_related("working_hours")
    if doctor is not None:
        doctors = doctors.filter(pk=doctor.pk)
    elif specialty is not None:
        doctors = doctors.filter(specialty=specialty)
    doctors = list(doctors)
    range_end = start_from + timedelta(days=days)
    taken = Appointment.objects.active().overlapping(start_from, range_end)
    if ignore is not None:
        taken = taken.exclude(pk=ignore.pk)
    appointments = list(taken.filter(doctor__in=doctors).values_list("doctor_id", "start", "end"))
    patient_busy = []
    if patient is not None:
        patient_busy = list(taken.filter(patient=patient).values_list("start", "end"))
    busy_by_doctor = {}
    for doctor_id, start, end in appointments:
        busy_by_doctor.setdefault(doctor_id, []).append((start, end))
    found = []
    for doc in doctors:
        busy = busy_by_doctor.get(doc.pk, []) + patient_busy
        slots = _doctor_slots(doc, busy, start_from, days, length or doc.consultation_length)
        for _, slot in zip(range(limit), slots, strict=False):
            found.append(slot)
    found.sort(key=lambda s: (s.start, s.doctor.user.last_name))
    return found[:limit]


def nearest_free_slots(*, doctor, around, length=None, patient=None, ignore=None, count=6, days=7):
    """The `count` free times of `doctor` closest to `around`, earlier or later (never in the past), in
    time order: what a clash offers instead of the time asked for."""
    day_start = timezone.make_aware(datetime.combine(timezone.localdate(around), datetime.min.time()))
    candidates = free_slots(
        doctor=doctor,
        start_from=day_start,
        days=days,
        length=length,
        patient=patient,
        ignore=ignore,
        limit=count * 20,  # enough to reach past `around` on a full day
    )
    nearest = sorted(candidates, key=lambda slot: (abs(slot.start - around), slot.start))[:count]
    return sorted(nearest, key=lambda slot: slot.start)
