"""Reads other pages show: a patient's visits (on the patient page, through its slot), the next
appointment of each patient in a list (the patient list, the booking page's patient search), and the
appointments archiving a patient would cancel."""

from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from .models import Appointment

VISITS_SHOWN = 10  # each way: the next and the last visits
# Still to come: booked (confirmed or not) or already checked in. Cancelled, no-show, in consultation
# and completed appointments are not "next".
STILL_TO_COME = (Appointment.Status.SCHEDULED, Appointment.Status.CONFIRMED, Appointment.Status.CHECKED_IN)
NEXT_FOR_AT_MOST = 500  # patients per call: a page of a list, never a whole table


def patient_visits(*, patient, user):
    """The patient page's "Upcoming" and "Past" visits (2 queries)."""
    now = timezone.now()
    visits = Appointment.objects.filter(patient=patient).select_related("doctor__user", "doctor__specialty")
    return {
        "upcoming": visits.filter(start__gte=now).order_by("start")[:VISITS_SHOWN],
        "past": visits.filter(start__lt=now).order_by("-start")[:VISITS_SHOWN],
    }


def _to_come(now=None):
    return Appointment.objects.filter(status__in=STILL_TO_COME, start__gte=now or timezone.now())


def next_appointments(patient_ids, *, now=None) -> dict[int, Appointment]:
    """{patient id: that patient's next appointment} for the given patients, in ONE query.

    The next appointment is the earliest one starting at or after `now` (default: this moment) that is
    still to come (scheduled, confirmed or checked in), with its doctor and the doctor's user loaded
    (`str(appointment.doctor)` costs nothing more). Patients with none are absent from the answer.
    At most one row per patient comes back (a window function picks it in the database), so the cost
    follows the number of patients asked about, which is capped at NEXT_FOR_AT_MOST (a page of a list).
    Public: the patient list (through patients.views.PATIENT_LIST) and the booking page use it.
    """
    ids = list(dict.fromkeys(patient_ids))
    if not ids:
        return {}
    if len(ids) > NEXT_FOR_AT_MOST:
        raise ValueError(f"next_appointments() answers for at most {NEXT_FOR_AT_MOST} patients at a time.")
    first = Window(RowNumber(), partition_by=[F("patient_id")], order_by=[F("start").asc(), F("pk").asc()])
    rows = (
        _to_come(now)
        .filter(patient_id__in=ids)
        .annotate(place=first)
        .filter(place=1)
        .select_related("doctor__user")
        .order_by()
    )
    return {appointment.patient_id: appointment for appointment in rows}


def patient_list_rows(*, patients, user):
    """The patient list's extra column: {"next_appointment": {patient id: Appointment}}."""
    if not user.has_perm("scheduling.view_appointment"):
        return {}
    return {"next_appointment": next_appointments([patient.pk for patient in patients])}


def appointments_archiving_cancels(patient, *, now=None):
    """The patient's appointments still to come, in time order: archiving the patient cancels them."""
    return _to_come(now).filter(patient=patient).select_related("doctor__user").order_by("start", "pk")


ARCHIVE_PAGE_LISTS = 50  # appointments listed on the archive page (all are cancelled; the count says how many)


def archive_page(*, patient, user):
    """The archive confirmation page: the appointments archiving will cancel, and how many (1-2 queries)."""
    appointments = appointments_archiving_cancels(patient)
    shown = list(appointments[: ARCHIVE_PAGE_LISTS + 1])
    count = len(shown) if len(shown) <= ARCHIVE_PAGE_LISTS else appointments.count()
    return {"cancelled_by_archiving": shown[:ARCHIVE_PAGE_LISTS], "cancelled_by_archiving_count": count}
