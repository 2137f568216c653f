"""Reads other pages show: a patient's visits (on the patient page, through its slot)."""

from django.utils import timezone

from .models import Appointment

VISITS_SHOWN = 10  # each way: the next and the last visits


def patient_visits(*, patient, user):
    """The patient page's "Upcoming" and "Past" visits (2 queries)."""
    now = timezone.now()
    visits = Appointment.objects.filter(patient=patient).select_related("doctor__user", "doctor__specialty")
    return {
        "upcoming": visits.filter(start__gte=now).order_by("start")[:VISITS_SHOWN],
        "past": visits.filter(start__lt=now).order_by("-start")[:VISITS_SHOWN],
    }
