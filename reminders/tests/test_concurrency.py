"""Two workers running the task at the same moment: every reminder goes out exactly once (real threads,
each on its own connection, on SQLite and PostgreSQL alike); and a control without the claim shows the race
is real."""

import threading
import time

import pytest
from django.core import mail

from clinic.tests.concurrency import at_once
from reminders import channels, services
from reminders.models import Reminder
from reminders.tasks import send_due_reminders
from reminders.tests.helpers import appointment_in, configure

pytestmark = pytest.mark.django_db(transaction=True)
APPOINTMENTS = 12


@pytest.fixture
def slow_mail(monkeypatch):
    """Each send takes a few milliseconds, as a mail server does: the two workers overlap for sure."""
    real_send = channels.EmailMessage.send
    lock = threading.Lock()

    def send(self, *args, **kwargs):
        time.sleep(0.01)
        with lock:  # locmem's outbox is a plain list
            return real_send(self, *args, **kwargs)

    monkeypatch.setattr(channels.EmailMessage, "send", send)


def _due_appointments():
    configure(hours_before="48, 2", send_email=True, send_sms=True)
    return [appointment_in(1 + hour) for hour in range(APPOINTMENTS)]


def test_two_workers_at_once_send_each_reminder_exactly_once(slow_mail, sms_outbox):
    _due_appointments()
    outcomes = at_once(lambda i: send_due_reminders.call(), 2)
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert sum(o["sent"] for o in outcomes) == 2 * APPOINTMENTS
    assert len(mail.outbox) == APPOINTMENTS
    assert len({message.to[0] for message in mail.outbox}) == APPOINTMENTS
    assert len(sms_outbox) == APPOINTMENTS
    assert Reminder.objects.count() == 2 * APPOINTMENTS
    assert set(Reminder.objects.values_list("status", "attempts")) == {(Reminder.Status.SENT, 1)}


def test_control_without_the_claim_the_same_race_sends_twice(slow_mail, monkeypatch):
    _due_appointments()
    configure(send_sms=False)
    started = threading.Barrier(2)

    def claim_everything(pk, now=None):
        # What a sender without the conditional UPDATE does: take every row it listed as due.
        Reminder.objects.filter(pk=pk).update(status=Reminder.Status.SENDING)
        return True

    real_send_due = services.send_due

    def send_due_listed_together(now=None, *, limit=services.BATCH):
        started.wait(timeout=30)
        return real_send_due(now, limit=limit)

    monkeypatch.setattr(services, "claim", claim_everything)
    monkeypatch.setattr(services, "send_due", send_due_listed_together)
    at_once(lambda i: services.run(), 2)
    assert len(mail.outbox) > APPOINTMENTS
