"""Sending: once, on each channel, retried with back-off on a temporary failure, failed at once on a
permanent one, never again after a worker stopped mid-send; a moved or cancelled appointment's old
reminders are not sent."""

import smtplib
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from clinic.sms import SmsError
from patients.tests.factories import PatientFactory
from reminders import channels, services
from reminders.models import Reminder
from reminders.tests.helpers import appointment_in, configure
from scheduling import services as scheduling_services
from scheduling.models import Appointment

pytestmark = pytest.mark.django_db
Status = Reminder.Status


def test_a_due_reminder_is_sent_once_by_e_mail_with_its_links():
    configure(hours_before="48, 2", clinic_name="Riverside Clinic", clinic_phone="020 7946 0000")
    appointment = appointment_in(47)
    assert services.run() == (1, 1)
    assert services.run() == (0, 0)
    [message] = mail.outbox
    assert message.to == [appointment.patient.email]
    assert "Riverside Clinic" in message.subject
    assert "/reminders/confirm/" in message.body and "/reminders/cancel/" in message.body
    assert "/reminders/stop/" in message.body
    assert appointment.reason not in message.body  # no clinical detail in a message
    reminder = Reminder.objects.get()
    assert (reminder.status, reminder.attempts, reminder.recipient) == (Status.SENT, 1, appointment.patient.email)
    assert reminder.sent_at is not None


def test_sms_goes_through_the_provider_with_the_number(sms_outbox):
    configure(send_email=False, send_sms=True)
    appointment = appointment_in(3)
    services.run()
    [message] = sms_outbox
    assert message["to"] == channels.international(appointment.patient.phone)
    assert "/reminders/confirm/" in message["body"]
    assert Reminder.objects.get().message_id == message["id"]


def test_a_temporary_failure_is_retried_with_back_off_then_fails(monkeypatch):
    configure(hours_before="48")
    appointment_in(47)

    def down(*args, **kwargs):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr(channels.EmailMessage, "send", down)
    start = timezone.now()
    waits = []
    with time_machine.travel(start, tick=False):
        services.run()
    for _wait in services.BACKOFF:
        reminder = Reminder.objects.get()
        assert reminder.status == Status.WAITING
        assert "SMTPServerDisconnected" in reminder.last_error
        waits.append(reminder.next_attempt_at - start)
        with time_machine.travel(reminder.next_attempt_at - timedelta(seconds=1), tick=False):
            assert services.send_due() == 0
            assert Reminder.objects.get().attempts == len(waits)  # not tried before its time
        start = reminder.next_attempt_at
        with time_machine.travel(start, tick=False):
            services.send_due()
    assert waits == list(services.BACKOFF)
    reminder = Reminder.objects.get()
    assert reminder.status == Status.FAILED
    assert reminder.attempts == len(services.BACKOFF) + 1
    assert reminder.last_error.startswith("Gave up after 4 attempts")


def test_a_recovered_server_sends_it_on_the_next_attempt(monkeypatch):
    configure(hours_before="48")
    appointment_in(47)
    real_send = channels.EmailMessage.send
    calls = []

    def flaky(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise TimeoutError("timed out")
        return real_send(self, *args, **kwargs)

    monkeypatch.setattr(channels.EmailMessage, "send", flaky)
    services.run()
    with time_machine.travel(timezone.now() + timedelta(minutes=5, seconds=1)):
        services.run()
    assert Reminder.objects.get().status == Status.SENT
    assert len(mail.outbox) == 1


def test_a_refused_recipient_fails_at_once(monkeypatch):
    appointment_in(5)

    def refused(*args, **kwargs):
        raise smtplib.SMTPRecipientsRefused({"patient@example.org": (550, b"No such user")})

    monkeypatch.setattr(channels.EmailMessage, "send", refused)
    services.run()
    reminder = Reminder.objects.get()
    assert (reminder.status, reminder.attempts) == (Status.FAILED, 1)
    assert "refused the address" in reminder.last_error


def test_a_permanent_sms_error_fails_at_once_a_temporary_one_waits(monkeypatch):
    configure(send_email=False, send_sms=True)
    monkeypatch.setattr(channels, "sms_available", lambda: True)
    permanent, temporary = appointment_in(5), appointment_in(6)

    def send_sms(to, body):
        raise SmsError("21211 invalid number", temporary=to != channels.international(permanent.patient.phone))

    monkeypatch.setattr(channels, "send_sms", send_sms)
    services.run()
    assert Reminder.objects.get(appointment=permanent).status == Status.FAILED
    assert Reminder.objects.get(appointment=temporary).status == Status.WAITING


def test_the_real_sms_backend_gets_the_number_in_international_form(settings):
    from clinic import sms

    settings.SMS_BACKEND = "clinic.sms.LocmemBackend"
    sms.outbox.clear()
    configure(send_email=False, send_sms=True)
    appointment_in(5, patient=PatientFactory(phone="07700 900123", email=""))
    services.run()
    assert [message["to"] for message in sms.outbox] == ["+447700900123"]
    assert Reminder.objects.get().status == Reminder.Status.SENT
    assert Reminder.objects.get().recipient == "07700 900123"


@pytest.mark.parametrize(
    ("written", "sent"),
    [
        ("07700 900123", "+447700900123"),
        ("+44 (0)20 7946 0000", "+442079460000"),
        ("0033 1 23 45 67 89", "+33123456789"),
    ],
)
def test_numbers_are_sent_in_international_form(written, sent):
    assert channels.international(written) == sent


def test_a_worker_killed_mid_send_leaves_it_unsent_and_then_unknown(monkeypatch):
    appointment_in(5)

    def killed(*args, **kwargs):
        raise SystemExit("killed")  # not an Exception: nothing in the sender catches it

    monkeypatch.setattr(channels.EmailMessage, "send", killed)
    with pytest.raises(SystemExit):
        services.run()
    monkeypatch.undo()
    assert Reminder.objects.get().status == Status.SENDING
    services.run()  # the next run: the row is someone's (or was)
    assert Reminder.objects.get().status == Status.SENDING
    with time_machine.travel(timezone.now() + services.SENDING_TIMEOUT + timedelta(seconds=1)):
        services.run()
    reminder = Reminder.objects.get()
    assert reminder.status == Status.UNKNOWN
    assert "not sent again" in reminder.last_error
    assert mail.outbox == []


def test_a_rescheduled_appointment_gets_reminders_of_its_new_time_only():
    configure(hours_before="48, 2")
    appointment = appointment_in(47)
    services.run()
    new_start = appointment.start + timedelta(minutes=30)  # still within 48 h: its own 48 h reminder is due
    Appointment.objects.filter(pk=appointment.pk).update(start=new_start, end=new_start + timedelta(minutes=20))
    services.run()
    assert list(Reminder.objects.filter(appointment=appointment).values_list("starts_at", "status").order_by("pk")) == [
        (appointment.start, Status.SENT),
        (new_start, Status.SENT),
    ]
    assert len(mail.outbox) == 2
    assert services.when_text(new_start) in mail.outbox[1].subject


def test_a_reminder_waiting_when_its_appointment_is_cancelled_or_moved_is_not_sent(monkeypatch):
    configure(hours_before="48")
    cancelled, moved = appointment_in(40), appointment_in(41)
    services.plan_reminders()
    scheduling_services.cancel_appointment(appointment=cancelled, reason="Phoned", by=None)
    Appointment.objects.filter(pk=moved.pk).update(
        start=moved.start + timedelta(days=7), end=moved.end + timedelta(days=7)
    )
    services.send_due()
    reasons = dict(Reminder.objects.values_list("appointment_id", "last_error"))
    assert reasons[cancelled.pk] == "The appointment is cancelled."
    assert reasons[moved.pk].startswith("The appointment was moved")
    assert set(Reminder.objects.values_list("status", flat=True)) == {Status.SKIPPED}
    assert mail.outbox == []


def test_a_patient_who_opts_out_after_planning_gets_nothing():
    appointment = appointment_in(5)
    services.plan_reminders()
    type(appointment.patient).objects.filter(pk=appointment.patient_id).update(reminders_by_email=False)
    services.send_due()
    assert Reminder.objects.get().status == Status.SKIPPED
    assert mail.outbox == []


def test_one_run_sends_a_bounded_batch_the_next_goes_on():
    for hours in range(1, 6):
        appointment_in(hours)
    services.plan_reminders()
    assert services.send_due(limit=3) == 3
    assert services.send_due(limit=3) == 2
    assert len(mail.outbox) == 5


def test_the_worker_runs_the_periodic_task_and_it_sends(settings):
    from django.utils.module_loading import import_string

    from clinic.tests.tasks import failed_tasks, run_queued_tasks

    task = import_string("reminders.tasks.send_due_reminders")
    assert "reminders.tasks.send_due_reminders" in settings.PERIODIC_TASKS  # the beat enqueues it by this name
    appointment_in(5)
    task.enqueue()
    assert run_queued_tasks() == 1
    assert failed_tasks() == []
    assert len(mail.outbox) == 1


def test_the_task_plans_and_sends():
    from reminders.tasks import send_due_reminders

    appointment_in(5)
    assert send_due_reminders.call() == {"planned": 1, "sent": 1}
    assert len(mail.outbox) == 1


def test_a_wording_with_non_latin_names_and_braces_is_sent_as_written():
    configure(email_subject="Rappel : {patient} — {{RDV}}", email_body="Ğüñ {patient} {when} {doctor}")
    from patients.tests.factories import PatientFactory

    appointment_in(5, patient=PatientFactory(first_name="Đorđe", last_name="Ñúñez 王", email="d@example.org"))
    services.run()
    [message] = mail.outbox
    assert message.subject == "Rappel : Đorđe Ñúñez 王 — {RDV}"
    assert message.body.startswith("Ğüñ Đorđe Ñúñez 王")
    assert "/reminders/stop/" in message.body  # the opt-out link is added when the wording lacks it
