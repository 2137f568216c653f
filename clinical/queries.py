"""Reads that need care: the doctor's day and a patient's chart timeline, each a fixed number of queries."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Prefetch, Q
from django.utils import timezone

from clinic.contributions import Slot
from patients.models import Allergy
from scheduling.models import Appointment

from .models import MedicalRecord, Procedure, TreatmentPlan

TIMELINE_LIMIT = 50  # newest entries of each kind; a chart is read from the top
# Entries higher apps add to a chart's timeline (documents: documents and images the user may see):
# each provider gets patient= and user= and returns a list of TimelineEntry, at most TIMELINE_LIMIT of each kind.
TIMELINE = Slot("a chart's timeline: entries from patient=, user=")


def _active_allergies():
    return Prefetch("patient__allergies", queryset=Allergy.objects.filter(is_active=True), to_attr="active_allergies")


def my_day(doctor, day):
    """The doctor's appointments on a day, in order, with each patient's active allergies and record."""
    return list(
        Appointment.objects.on_day(day)
        .filter(doctor=doctor)
        .select_related("patient")
        .prefetch_related(_active_allergies(), "medical_records")
        .order_by("start")
    )


@dataclass
class TimelineEntry:
    kind: str  # visit, record, plan, procedure
    when: datetime
    obj: object


def chart_timeline(patient, plan_status="", user=None):
    """Visits, records, plans, procedures, and the documents and images the user may see, newest first."""
    visits = (
        Appointment.objects.filter(patient=patient).select_related("doctor__user").order_by("-start")[:TIMELINE_LIMIT]
    )
    records = (
        MedicalRecord.objects.filter(patient=patient)
        .select_related("author", "appointment")
        .annotate(amendment_count=Count("amendments"))
        .order_by("-created_at")[:TIMELINE_LIMIT]
    )
    plans = TreatmentPlan.objects.filter(patient=patient).select_related("doctor__user")
    if plan_status:
        plans = plans.filter(status=plan_status)
    plans = plans.annotate(
        done=Count("procedures", filter=Q(procedures__status=Procedure.Status.DONE)),
        planned=Count("procedures", filter=~Q(procedures__status=Procedure.Status.CANCELLED)),
    ).order_by("-created_at")[:TIMELINE_LIMIT]
    procedures = (
        Procedure.objects.filter(patient=patient)
        .select_related("plan", "performed_by")
        .order_by("-created_at")[:TIMELINE_LIMIT]
    )
    entries = (
        [TimelineEntry("visit", a.start, a) for a in visits]
        # A visit's record sits at the visit's time, whenever it was typed.
        + [TimelineEntry("record", r.appointment.start if r.appointment else r.created_at, r) for r in records]
        + [TimelineEntry("plan", p.created_at, p) for p in plans]
        + [TimelineEntry("procedure", _procedure_time(p), p) for p in procedures]
        + _contributed(patient, user)
    )
    return sorted(entries, key=lambda e: e.when, reverse=True)


def _contributed(patient, user):
    if user is None:
        return []
    return [entry for entries in TIMELINE.collect(patient=patient, user=user) for entry in entries]


def day_start(day):
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


def _procedure_time(procedure):
    day = procedure.performed_date or procedure.scheduled_date
    return day_start(day) if day else procedure.created_at
