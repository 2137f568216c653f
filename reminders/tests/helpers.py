"""Building appointments and settings for the reminders' tests."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from patients.tests.factories import PatientFactory
from reminders.models import Reminder, ReminderSettings
from scheduling.tests.factories import AppointmentFactory
from staff.tests.factories import DoctorFactory, UserFactory


def configure(**fields):
    config = ReminderSettings.current()
    for name, value in fields.items():
        setattr(config, name, value)
    config.save()
    return config


def appointment_in(hours, *, booked_hours_before=None, patient=None, **kwargs):
    """An appointment starting `hours` real hours from now, booked a week before its start (unless told)."""
    start = timezone.now().replace(microsecond=0) + timedelta(hours=hours)
    patient = patient or PatientFactory(email="patient@example.org")
    appointment = AppointmentFactory(start=start, patient=patient, **kwargs)
    booked_at = start - timedelta(hours=booked_hours_before or 24 * 7)
    type(appointment).objects.filter(pk=appointment.pk).update(booked_at=booked_at)
    appointment.refresh_from_db()
    return appointment


def sent(channel=Reminder.Channel.EMAIL):
    return Reminder.objects.filter(status=Reminder.Status.SENT, channel=channel)


@pytest.fixture
def doctor_named():
    return DoctorFactory(user=UserFactory(first_name="Amara", last_name="Okafor"))


def outbox():
    return list(mail.outbox)
