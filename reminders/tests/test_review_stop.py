"""Review of issue #17's worker and sending: a worker asked to stop (SIGTERM on a deploy, `docker compose
stop`, Ctrl-C) while a run of send_due_reminders is under way stops between reminders. Before, the run went on
with its whole batch (up to 200 sends, each up to EMAIL_TIMEOUT when the mail server is slow), longer than the
container's 60 s grace: the kill then came in the middle of a send, and that reminder was left "unknown" (never
sent again by itself) although nothing was wrong with it."""

import signal

import pytest
from django.core import mail

from clinic import worker
from clinic.tests.tasks import run_queued_tasks
from reminders import channels
from reminders.models import Reminder
from reminders.tasks import send_due_reminders
from reminders.tests.helpers import appointment_in, configure

pytestmark = pytest.mark.django_db
Status = Reminder.Status


@pytest.fixture(autouse=True)
def not_stopping():
    worker.stopping.clear()
    yield
    worker.stopping.clear()


def sigterm_during_the_first_send(monkeypatch, running_worker):
    real_send = channels.EmailMessage.send

    def send_then_sigterm(message, *args, **kwargs):
        sent = real_send(message, *args, **kwargs)
        if len(mail.outbox) == 1:
            running_worker.shutdown(signal.SIGTERM, None)  # what the signal handler does
        return sent

    monkeypatch.setattr(channels.EmailMessage, "send", send_then_sigterm)


def a_worker_running_a_task():
    running = worker.ClinicWorker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="review",
        excluded_queue_names=[],
    )
    running.running_task = True
    return running


def test_a_worker_told_to_stop_sends_no_more_of_its_batch(monkeypatch):
    configure(hours_before="48")
    for _ in range(3):
        appointment_in(47)
    running = a_worker_running_a_task()
    sigterm_during_the_first_send(monkeypatch, running)

    send_due_reminders.call()

    assert len(mail.outbox) == 1
    assert running.running is False  # the worker itself still stops after the task, as before
    statuses = sorted(Reminder.objects.values_list("status", flat=True))
    assert statuses == [Status.SENT, Status.WAITING, Status.WAITING]  # none left "sending"


def test_the_rest_go_at_the_next_run_of_a_worker_started_again(monkeypatch):
    configure(hours_before="48")
    for _ in range(3):
        appointment_in(47)
    sigterm_during_the_first_send(monkeypatch, a_worker_running_a_task())
    send_due_reminders.call()
    monkeypatch.undo()

    worker.stopping.clear()  # a new worker process starts with it clear (run() clears it)
    send_due_reminders.enqueue()
    assert run_queued_tasks() == 1

    assert len(mail.outbox) == 3
    assert set(Reminder.objects.values_list("status", flat=True)) == {Status.SENT}
