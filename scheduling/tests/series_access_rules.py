"""Who may open this feature's pages: joins tests/test_access.py's table (see RULE_MODULES there)."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from patients.tests.factories import PatientFactory
from scheduling.models import Series
from scheduling.tests.factories import AppointmentFactory, tomorrow_at
from staff.roles import ADMINISTRATOR, RECEPTIONIST
from staff.tests.factories import DoctorFactory, UserFactory

FRONT_DESK = {RECEPTIONIST, ADMINISTRATOR}  # who books, moves and cancels appointments (staff/roles.py)


def series_appointments(count=3, *, start=None, **series_fields):
    """A weekly series of `count` appointments (tomorrow 10:00 first), built directly like AppointmentFactory."""
    start = start or tomorrow_at(10)
    patient = series_fields.pop("patient", None) or PatientFactory()
    doctor = series_fields.pop("doctor", None) or DoctorFactory()
    series = Series.objects.create(
        patient=patient,
        doctor=doctor,
        first_start=start,
        length=timedelta(minutes=20),
        count=count,
        weekdays=str(timezone.localtime(start).weekday()),
        created_by=UserFactory(),
        **series_fields,
    )
    return [
        AppointmentFactory(patient=patient, doctor=doctor, start=start + timedelta(weeks=n), series=series)
        for n in range(count)
    ]


def _in_series(user=None):
    return {"pk": series_appointments()[1].pk}


ACCESS = {
    "scheduling:series_book": FRONT_DESK,
    "scheduling:series_move": FRONT_DESK,
    "scheduling:series_cancel": FRONT_DESK,
}
KWARGS = {
    "scheduling:series_move": _in_series,
    "scheduling:series_cancel": _in_series,
}


# Replay cases for tests/test_idempotency.py's WRITES (each sent twice with one token, saved once): builders
# given `client_for`, returning (client, url, data function); test_idempotency wraps them in its Form.
def _series_book(client_for):
    patient, doctor = PatientFactory(), DoctorFactory()
    first = timezone.localdate() + timedelta(days=1)
    data = {
        "patient": patient.pk,
        "doctor": doctor.pk,
        "date": first.isoformat(),
        "time": "10:00",
        "unit": "weeks",
        "interval": "1",
        "weekdays": [str(first.weekday())],
        "count": "3",
        "step": "save",
        **{f"o{number}": "keep" for number in (1, 2, 3)},
    }
    return client_for(RECEPTIONIST), reverse("scheduling:series_book"), lambda: data


def _series_move(client_for):
    appointment = series_appointments()[1]
    later = appointment.local_start + timedelta(hours=2)
    data = {
        "scope": "following",
        "doctor": appointment.doctor_id,
        "date": later.date().isoformat(),
        "time": later.strftime("%H:%M"),
        "step": "save",
        **{f"a{a.pk}": "keep" for a in appointment.series.appointments.filter(start__gte=appointment.start)},
    }
    return client_for(RECEPTIONIST), reverse("scheduling:series_move", args=[appointment.pk]), lambda: data


def _series_cancel(client_for):
    appointment = series_appointments()[1]
    data = {"scope": "following", "reason": "Discharged"}
    return client_for(RECEPTIONIST), reverse("scheduling:series_cancel", args=[appointment.pk]), lambda: data


IDEMPOTENCY_WRITES = {
    "scheduling:series_book": _series_book,
    "scheduling:series_move": _series_move,
    "scheduling:series_cancel": _series_cancel,
}
