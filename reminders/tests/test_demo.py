import pytest

from reminders.demo import SENT, seed_reminders
from reminders.models import Reminder, Reply
from scheduling.models import Appointment
from scheduling.tests.factories import AppointmentFactory, tomorrow_at

pytestmark = pytest.mark.django_db


def test_the_demo_has_sent_reminders_a_failed_one_and_a_confirmation_once():
    for hour in range(9, 9 + SENT + 1):
        AppointmentFactory(start=tomorrow_at(hour))
    assert seed_reminders() == SENT + 1
    assert Reminder.objects.filter(status=Reminder.Status.SENT).count() == SENT
    assert Reminder.objects.filter(status=Reminder.Status.FAILED).count() == 1
    reply = Reply.objects.get()
    assert Appointment.objects.get(pk=reply.appointment_id).status == Appointment.Status.CONFIRMED
    assert seed_reminders() == 0
