"""Who may open this feature's pages: joins tests/test_access.py's table (see RULE_MODULES there)."""

from datetime import timedelta

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
