"""Which waiting patients fit a freed time, best first, and why (in plain words).

A freed time is a doctor's [start, end). An entry fits when it is for that doctor, or for the doctor's
specialty with no doctor named; the time's clinic-local weekday is one it prefers (or it prefers none);
the visit lies within its preferred times of day; the day is not before its "not before" date; and the
patient has no other active appointment overlapping the time and is not archived.

`candidates_for` asks the database and names each patient once, by their best-ranked entry; `fits` is the
same rule in Python, for one entry (the property tests check that the two agree on every day of the year,
daylight-saving days included).
"""

from dataclasses import dataclass
from datetime import time

from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from scheduling.models import Appointment

from .models import WaitlistEntry


@dataclass
class Candidate:
    entry: WaitlistEntry
    reason: str


def local_span(start, end):
    """Clinic-local weekday, date, start time and end time of [start, end). A visit ending at midnight
    ends at the day's end: only an entry with no latest time accepts it."""
    local_start, local_end = timezone.localtime(start), timezone.localtime(end)
    end_time = local_end.time() if local_end.date() == local_start.date() else time.max
    return local_start.weekday(), local_start.date(), local_start.time(), end_time


def _fitting(queryset, doctor, start, end):
    weekday, day, start_time, end_time = local_span(start, end)
    busy = Appointment.objects.active().overlapping(start, end).values("patient_id")
    return (
        queryset.waiting()
        .filter(Q(doctor=doctor) | Q(doctor__isnull=True, specialty_id=doctor.specialty_id))
        .filter(Q(weekdays="") | Q(weekdays__contains=str(weekday)))
        .filter(Q(time_from__isnull=True) | Q(time_from__lte=start_time))
        .filter(Q(time_to__isnull=True) | Q(time_to__gte=end_time))
        .filter(Q(not_before__isnull=True) | Q(not_before__lte=day))
        .exclude(patient_id__in=busy)
    )


def _one_per_patient(fitting):
    """Each patient's best-ranked fitting entry only: one waiting for this doctor and for the doctor's
    specialty fits twice, and is one person to call."""
    best = fitting.filter(patient_id=OuterRef("patient_id")).ranked().values("pk")[:1]
    return fitting.filter(pk=Subquery(best))


def candidates_for(doctor, start, end, *, limit=None, now=None):
    """The waiting patients that fit this doctor's freed [start, end), by their best entry, ranked: urgency,
    then longest waiting."""
    found = _one_per_patient(_fitting(WaitlistEntry.objects, doctor, start, end)).with_people().ranked()
    if limit is not None:
        found = found[:limit]
    return [Candidate(entry, reason(entry, now=now)) for entry in found]


def count_for(doctor, start, end):
    """How many patients (not entries) fit."""
    return _fitting(WaitlistEntry.objects, doctor, start, end).values("patient_id").distinct().count()


def fits(entry, doctor, start, end, *, busy_patient_ids=()):
    """The rule `candidates_for` applies, for one entry in Python."""
    weekday, day, start_time, end_time = local_span(start, end)
    if entry.status != WaitlistEntry.Status.WAITING or entry.patient.is_archived:
        return False
    if entry.doctor_id is not None:
        if entry.doctor_id != doctor.pk:
            return False
    elif entry.specialty_id != doctor.specialty_id:
        return False
    if entry.weekdays and weekday not in entry.weekday_numbers:
        return False
    if entry.time_from is not None and start_time < entry.time_from:
        return False
    if entry.time_to is not None and end_time > entry.time_to:
        return False
    if entry.not_before is not None and day < entry.not_before:
        return False
    return entry.patient_id not in busy_patient_ids


def reason(entry, *, now=None):
    """Why this patient: "urgent · waiting 12 days · prefers mornings"."""
    days = ((now or timezone.now()) - entry.added_at).days
    waited = "added today" if days < 1 else f"waiting {days} day{'s' if days != 1 else ''}"
    parts = [entry.get_urgency_display().lower(), waited]
    if entry.preference != "any time":
        parts.append(f"prefers {entry.preference}")
    if not entry.doctor_id:
        parts.append(f"any {entry.specialty} doctor")
    return " · ".join(parts)
