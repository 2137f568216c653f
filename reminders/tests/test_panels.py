"""What staff see: an appointment's reminders and the patient's answer on its page; replies to reminders on
Today (today's and tomorrow's, the newest first, bounded, in a number of queries that does not grow)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from reminders import panels
from reminders.models import Reminder, Reply
from reminders.tests.factories import ReminderFactory
from scheduling.tests.factories import AppointmentFactory, local

pytestmark = pytest.mark.django_db


def reply(appointment, answer=Reply.Answer.CONFIRMED, **kwargs):
    return Reply.objects.create(appointment=appointment, answer=answer, starts_at=appointment.start, **kwargs)


def test_the_appointment_page_shows_its_reminders_and_the_patient_s_answer(reception):
    reminder = ReminderFactory(status=Reminder.Status.SENT, last_error="", sent_at=timezone.now())
    ReminderFactory(appointment=reminder.appointment, channel=Reminder.Channel.SMS, hours_before=2)
    reply(reminder.appointment, reminder=reminder)
    page = reception.get(reverse("scheduling:detail", args=[reminder.appointment_id])).content.decode()
    assert "Reminders" in page
    assert "Confirmed by the patient" in page
    assert "Text message" in page and "The mail server refused the address" in page


def test_doctors_and_nurses_see_no_reminders_panel(doctor_client):
    reminder = ReminderFactory()
    page = doctor_client.get(reverse("scheduling:detail", args=[reminder.appointment_id])).content.decode()
    assert 'id="reminders-heading"' not in page


def _replies(count, day):
    for i in range(count):
        appointment = AppointmentFactory(start=local(day, 9) + timedelta(minutes=20 * i))
        reply(appointment, Reply.Answer.CANCELLED if i % 2 else Reply.Answer.CONFIRMED)


def _today_queries(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("home"))
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_today_lists_replies_for_today_and_tomorrow_newest_first(reception):
    today = timezone.localdate()
    _replies(2, today)
    _replies(1, today + timedelta(days=1))
    _replies(1, today + timedelta(days=3))  # later: not on Today
    [panel] = panels.today_panel(day=today, doctor=None, user=reception.user)
    assert len(panel["replies"]) == 3
    assert [r.day_label for r in panel["replies"]].count("tomorrow") == 1
    page = _today_queries(reception)[1]
    assert "Replies to reminders" in page
    assert "Cancelled</strong>" in page and "Confirmed</strong>" in page


def test_today_s_replies_are_bounded_and_cost_the_same_queries_for_many(reception):
    today = timezone.localdate()
    _replies(2, today)
    few, _ = _today_queries(reception)
    _replies(panels.SHOWN + 5, today + timedelta(days=1))
    many, page = _today_queries(reception)
    assert many <= few + 1  # the board's own rows may add one; none per reply
    [panel] = panels.today_panel(day=today, doctor=None, user=reception.user)
    assert len(panel["replies"]) == panels.SHOWN and panel["more"]
    assert f"Only the newest {panels.SHOWN} are shown" in page


def test_today_narrowed_to_a_doctor_shows_their_replies_only(reception):
    today = timezone.localdate()
    mine = AppointmentFactory(start=local(today, 9))
    other = AppointmentFactory(start=local(today, 10))
    reply(mine)
    reply(other)
    [panel] = panels.today_panel(day=today, doctor=mine.doctor, user=reception.user)
    assert [r.appointment_id for r in panel["replies"]] == [mine.pk]


def test_the_appointment_panel_costs_the_same_queries_for_many_reminders(reception):
    reminder = ReminderFactory()
    url = reverse("scheduling:detail", args=[reminder.appointment_id])
    with CaptureQueriesContext(connection) as few:
        reception.get(url)
    for hours in range(1, 30):
        ReminderFactory(appointment=reminder.appointment, hours_before=hours, starts_at=reminder.starts_at)
    with CaptureQueriesContext(connection) as many:
        page = reception.get(url).content.decode()
    assert len(many) == len(few)
    assert page.count("<tr>") - page.count("<thead><tr>") <= panels.SHOWN + 1
