from datetime import timedelta

import factory

from reminders.models import Reminder, ReminderSettings
from scheduling.tests.factories import AppointmentFactory


class ReminderFactory(factory.django.DjangoModelFactory):
    """A failed e-mail reminder, 48 h before an appointment tomorrow (what the admin's list is for)."""

    class Meta:
        model = Reminder

    appointment = factory.SubFactory(AppointmentFactory)
    channel = Reminder.Channel.EMAIL
    hours_before = 48
    starts_at = factory.LazyAttribute(lambda r: r.appointment.start)
    status = Reminder.Status.FAILED
    attempts = 1
    next_attempt_at = factory.LazyAttribute(lambda r: r.starts_at - timedelta(hours=r.hours_before))
    last_error = "The mail server refused the address: 550 No such user"


def reminder_settings():
    return ReminderSettings.current()
