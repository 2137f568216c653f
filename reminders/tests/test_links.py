"""The pages a reminder's links open: valid, expired, reused and forged links; the appointment's status,
the patient's reply and the audit trail after a confirm or a cancel; two clicks at once."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clinic.links import make_link_token
from clinic.models import AuditEntry
from clinic.tests.concurrency import at_once
from reminders import services
from reminders.models import Reminder, Reply
from reminders.tests.helpers import appointment_in
from scheduling.models import Appointment

Status = Appointment.Status


def sent_reminder(hours=20, channel=Reminder.Channel.EMAIL, **kwargs):
    appointment = appointment_in(hours, **kwargs)
    return Reminder.objects.create(
        appointment=appointment,
        channel=channel,
        hours_before=48,
        starts_at=appointment.start,
        status=Reminder.Status.SENT,
        next_attempt_at=timezone.now(),
    )


def url(name, reminder, purpose, valid_until=None):
    token = make_link_token(purpose, reminder.pk, valid_until=valid_until or reminder.starts_at)
    return reverse(name, kwargs={"token": token})


def confirm_url(reminder, **kwargs):
    return url("reminders:confirm", reminder, services.CONFIRM, **kwargs)


def cancel_url(reminder, **kwargs):
    return url("reminders:cancel", reminder, services.CANCEL, **kwargs)


@pytest.mark.django_db
def test_the_link_shows_the_appointment_and_a_button_and_nothing_clinical():
    reminder = sent_reminder(reason="Suspected melanoma")
    appointment = reminder.appointment
    response = Client().get(confirm_url(reminder))
    page = response.content.decode()
    assert response.status_code == 200
    assert services.when_text(appointment.start) in page
    assert str(appointment.doctor) in page
    assert "Yes, I will come" in page
    assert "melanoma" not in page
    assert response["Cache-Control"] == "no-store"
    assert Appointment.objects.get(pk=appointment.pk).status == Status.SCHEDULED  # a GET changes nothing


@pytest.mark.django_db
def test_confirming_marks_the_appointment_records_the_reply_and_says_who_in_the_trail():
    reminder = sent_reminder()
    link = confirm_url(reminder)
    client = Client()
    response = client.post(link)
    assert response.status_code == 302 and response["Location"] == link
    appointment = Appointment.objects.get(pk=reminder.appointment_id)
    assert appointment.status == Status.CONFIRMED and appointment.confirmed_at is not None
    reply = Reply.objects.get()
    assert (reply.appointment_id, reply.answer, reply.reminder_id) == (appointment.pk, "confirmed", reminder.pk)
    entry = AuditEntry.objects.filter(object_id=str(appointment.pk), summary__contains="by the patient").get()
    assert entry.summary.startswith("confirmed by the patient through the link in a reminder")
    assert entry.user_id is None and entry.patient_id == appointment.patient_id
    again = client.get(link)
    assert again.status_code == 200
    assert "Your appointment is confirmed" in again.content.decode()


@pytest.mark.django_db
def test_cancelling_frees_the_slot_with_the_patient_s_reason(reception):
    reminder = sent_reminder()
    Client().post(cancel_url(reminder))
    appointment = Appointment.objects.get(pk=reminder.appointment_id)
    assert appointment.status == Status.CANCELLED
    assert appointment.cancellation_reason == "Cancelled by the patient from a reminder"
    assert appointment.cancelled_by is None
    assert Reply.objects.get().answer == "cancelled"
    page = reception.get(reverse("scheduling:detail", args=[appointment.pk])).content.decode()
    assert ": Cancelled by the patient from a reminder" in page and "by None" not in page


@pytest.mark.django_db
def test_a_reused_link_says_so_and_changes_nothing_more():
    reminder = sent_reminder()
    link = cancel_url(reminder)
    Client().post(link)
    entries = AuditEntry.objects.count()
    second = Client().post(link)
    assert second.status_code == 409
    assert "already been used" in second.content.decode()
    assert Reply.objects.count() == 1 and AuditEntry.objects.count() == entries


@pytest.mark.django_db
def test_an_expired_link_says_so_on_both_get_and_post():
    reminder = sent_reminder()
    link = confirm_url(reminder)
    with time_machine.travel(reminder.starts_at + timedelta(seconds=1)):
        for method in ("get", "post"):
            response = getattr(Client(), method)(link)
            assert response.status_code == 410
            assert "This link has expired." in response.content.decode()
    assert not Reply.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB"),
        lambda token: "nonsense",
        lambda token: "x" * 2000,
        lambda token: "Zoë:Łódź",
        lambda token: "." + token,
    ],
)
def test_a_forged_link_gets_a_plain_page_and_no_details(tamper):
    reminder = sent_reminder()
    token = make_link_token(services.CONFIRM, reminder.pk, valid_until=reminder.starts_at)
    link = reverse("reminders:confirm", kwargs={"token": tamper(token)})
    for method in ("get", "post"):
        response = getattr(Client(), method)(link)
        page = response.content.decode()
        assert response.status_code == 404
        assert "This link is not valid" in page
        assert reminder.appointment.patient.last_name not in page and "Traceback" not in page
    assert Appointment.objects.get(pk=reminder.appointment_id).status == Status.SCHEDULED


@pytest.mark.django_db
def test_a_link_for_another_purpose_is_refused():
    reminder = sent_reminder()
    token = make_link_token(services.CONFIRM, reminder.pk, valid_until=reminder.starts_at)
    response = Client().post(reverse("reminders:cancel", kwargs={"token": token}))
    assert response.status_code == 404
    assert Appointment.objects.get(pk=reminder.appointment_id).status == Status.SCHEDULED


@pytest.mark.django_db
def test_a_moved_appointment_cannot_be_answered_by_an_old_reminder():
    reminder = sent_reminder()
    moved = reminder.starts_at + timedelta(hours=2)
    Appointment.objects.filter(pk=reminder.appointment_id).update(start=moved, end=moved + timedelta(minutes=20))
    link = confirm_url(reminder)
    assert "has been moved" in Client().get(link).content.decode()
    response = Client().post(link)
    assert response.status_code == 409
    assert Appointment.objects.get(pk=reminder.appointment_id).status == Status.SCHEDULED
    # The refusal gave the link back (nothing was done with it).
    assert not Reply.objects.exists()


@pytest.mark.django_db
def test_an_appointment_cancelled_by_reception_cannot_be_confirmed():
    from scheduling.services import cancel_appointment

    reminder = sent_reminder()
    cancel_appointment(appointment=reminder.appointment, reason="Doctor ill", by=None)
    response = Client().post(confirm_url(reminder))
    assert response.status_code == 409
    assert "has been cancelled" in response.content.decode()


@pytest.mark.django_db
def test_the_stop_link_turns_that_channel_off_for_the_patient():
    reminder = sent_reminder(channel=Reminder.Channel.SMS)
    link = url("reminders:opt_out", reminder, services.OPT_OUT, valid_until=reminder.starts_at + timedelta(days=90))
    assert "Stop these reminders" in Client().get(link).content.decode()
    Client().post(link)
    patient = type(reminder.appointment.patient).objects.get(pk=reminder.appointment.patient_id)
    assert (patient.reminders_by_sms, patient.reminders_by_email) == (False, True)
    assert "Reminders by text message are turned off" in Client().get(link).content.decode()
    assert AuditEntry.objects.filter(summary__contains="turned off by the patient").exists()


@pytest.mark.django_db(transaction=True)
def test_two_clicks_at_once_one_confirms_the_other_is_told_it_was_used():
    reminder = sent_reminder()
    link = confirm_url(reminder)
    outcomes = at_once(lambda i: Client().post(link).status_code, 2)
    assert sorted(outcomes) == [302, 409], outcomes
    assert Reply.objects.count() == 1
    assert Appointment.objects.get(pk=reminder.appointment_id).status == Status.CONFIRMED


@pytest.mark.django_db(transaction=True)
def test_a_confirm_and_a_cancel_at_once_one_wins():
    reminder = sent_reminder()
    links = [confirm_url(reminder), cancel_url(reminder)]
    outcomes = at_once(lambda i: Client().post(links[i]).status_code, 2)
    assert sorted(outcomes) in ([302, 302], [302, 409]), outcomes
    status = Appointment.objects.get(pk=reminder.appointment_id).status
    # Both may act one after the other (confirmed, then cancelled); never a 500, never a lost reply.
    assert Reply.objects.count() == outcomes.count(302)
    assert status in (Status.CONFIRMED, Status.CANCELLED)


@pytest.mark.django_db
def test_the_access_log_names_the_page_not_the_link(caplog):
    reminder = sent_reminder()
    link = confirm_url(reminder)
    token = link.rstrip("/").rsplit("/", 1)[1]
    with caplog.at_level("INFO", logger="clinic.access"):
        Client().get(link)
        Client().post(link)
    lines = [record.getMessage() for record in caplog.records if record.name == "clinic.access"]
    assert len(lines) == 2
    assert all("/reminders/confirm/<token>/" in line for line in lines), lines
    assert not any(token in line for line in lines)


@pytest.mark.django_db
def test_a_used_link_of_an_appointment_that_moved_on_says_it_was_used():
    reminder = sent_reminder()
    link = confirm_url(reminder)
    Client().post(link)
    Appointment.objects.filter(pk=reminder.appointment_id).update(status=Status.CHECKED_IN)  # reception checked in
    page = Client().get(link).content.decode()
    assert "This link has already been used." in page
