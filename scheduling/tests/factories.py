from datetime import datetime, time, timedelta

import factory
from django.utils import timezone

from patients.tests.factories import PatientFactory
from scheduling.models import Appointment
from staff.tests.factories import DoctorFactory, UserFactory


def local(day, hour, minute=0):
    """An aware datetime at a clinic-local wall time."""
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def tomorrow_at(hour, minute=0):
    return local(timezone.localdate() + timedelta(days=1), hour, minute)


class AppointmentFactory(factory.django.DjangoModelFactory):
    """Tomorrow 10:00–10:20 by default; built directly (tests of the rules go through services)."""

    class Meta:
        model = Appointment

    patient = factory.SubFactory(PatientFactory)
    doctor = factory.SubFactory(DoctorFactory)
    start = factory.LazyFunction(lambda: tomorrow_at(10))
    end = factory.LazyAttribute(lambda a: a.start + timedelta(minutes=20))
    reason = "Follow-up"
    booked_by = factory.SubFactory(UserFactory)
