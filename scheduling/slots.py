"""The free-slot finder: the next bookable times from working hours and existing appointments."""

from dataclasses import dataclass
from datetime import datetime, timedelta

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


def _round_up(moment: datetime) -> datetime:
    step = int(ALIGN.total_seconds())
    return datetime.fromtimestamp(-(-moment.timestamp() // step) * step, tz=moment.tzinfo)


def _doctor_slots(doctor, busy, start_from, days, length):
    """Walk each working interval; jump past a busy appointment, else offer the slot."""
    first_day = timezone.localtime(start_from).date()
    hours_by_day = {}
    for hours in doctor.working_hours.all():
        hours_by_day.setdefault(hours.weekday, []).append(hours)
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        for hours in sorted(hours_by_day.get(day.weekday(), []), key=lambda h: h.start_time):
            cursor = timezone.make_aware(datetime.combine(day, hours.start_time))
            until = timezone.make_aware(datetime.combine(day, hours.end_time))
            cursor = max(cursor, _round_up(start_from))
            while cursor + length <= until:
                blocking = [end for (start, end) in busy if start < cursor + length and end > cursor]
                if blocking:
                    cursor = _round_up(max(blocking))
                    continue
                yield Slot(doctor, cursor, cursor + length)
                cursor += length


def free_slots(*, doctor=None, specialty=None, start_from=None, days=14, length=None, limit=10, patient=None):
    """The next `limit` free slots of one doctor, or of any active doctor of a specialty.

    Uses each doctor's weekly hours and consultation length (or `length`), skips times the
    doctor, or the patient when given, is already booked. Queries: doctors, their hours, appointments.
    """
    start_from = max(start_from or timezone.now(), timezone.now())
    doctors = Doctor.objects.active().select_related("user", "specialty").prefetch_related("working_hours")
    if doctor is not None:
        doctors = doctors.filter(pk=doctor.pk)
    elif specialty is not None:
        doctors = doctors.filter(specialty=specialty)
    doctors = list(doctors)
    range_end = start_from + timedelta(days=days)
    appointments = list(
        Appointment.objects.active()
        .overlapping(start_from, range_end)
        .filter(doctor__in=doctors)
        .values_list("doctor_id", "start", "end")
    )
    patient_busy = []
    if patient is not None:
        patient_busy = list(
            Appointment.objects.active()
            .overlapping(start_from, range_end)
            .filter(patient=patient)
            .values_list("start", "end")
        )
    found = []
    for doc in doctors:
        busy = [(s, e) for (d, s, e) in appointments if d == doc.pk] + patient_busy
        slots = _doctor_slots(doc, busy, start_from, days, length or doc.consultation_length)
        for _, slot in zip(range(limit), slots, strict=False):
            found.append(slot)
    found.sort(key=lambda s: (s.start, s.doctor.user.last_name))
    return found[:limit]
