"""Building appointments and settings for the reminders' tests."""

import itertools
from datetime import timedelta

from django.utils import timezone

from patients.tests.factories import PatientFactory
from reminders.models import ReminderSettings
from scheduling.tests.factories import AppointmentFactory


def configure(**fields):
    config = ReminderSettings.current()
    for name, value in fields.items():
        setattr(config, name, value)
    config.save()
    return config


_numbers = itertools.count(1)


def appointment_in(hours, *, booked_hours_before=None, patient=None, **kwargs):
    """An appointment starting `hours` real hours from now, booked a week before its start (unless told)."""
    start = timezone.now().replace(microsecond=0) + timedelta(hours=hours)
    patient = patient or PatientFactory(email=f"patient-{next(_numbers)}@example.org")
    appointment = AppointmentFactory(start=start, patient=patient, **kwargs)
    booked_at = start - timedelta(hours=booked_hours_before or 24 * 7)
    type(appointment).objects.filter(pk=appointment.pk).update(booked_at=booked_at)
    appointment.refresh_from_db()
    return appointment
