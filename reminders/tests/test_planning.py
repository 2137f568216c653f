"""When reminders are made: real hours before the start, the nearest due one only, never for a time
that had passed at booking; across the clock changes (Europe/London), leap day, any name."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patients.tests.factories import PatientFactory
from reminders import services
from reminders.models import Reminder
from reminders.tests.helpers import appointment_in, configure
from scheduling.models import Appointment
from scheduling.tests.factories import AppointmentFactory

LONDON = ZoneInfo("Europe/London")
Status = Reminder.Status


@pytest.fixture
def london(settings):
    settings.TIME_ZONE = "Europe/London"
    timezone.activate(LONDON)
    yield
    timezone.deactivate()


# --- the rule, as a pure function ---------------------------------------------------------------------


def _appointment(start, booked_at):
    return SimpleNamespace(start=start, booked_at=booked_at)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    start=st.datetimes(min_value=datetime(2027, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)),
    booked_before=st.integers(min_value=0, max_value=400 * 60),
    now_before=st.integers(min_value=-60, max_value=400 * 60),
    hours=st.lists(st.integers(1, 336), min_size=1, max_size=4, unique=True),
)
def test_the_nearest_due_reminder_only_and_never_one_whose_time_passed_before_booking(
    start, booked_before, now_before, hours
):
    booked_at = start - timedelta(minutes=booked_before)
    now = start - timedelta(minutes=now_before)
    if now < booked_at:
        return  # nobody plans before the appointment exists
    lead = services.nearest_due(_appointment(start, booked_at), hours, now)
    due = [h for h in hours if start - timedelta(hours=h) <= now]
    if now >= start or not due or start - timedelta(hours=min(due)) < booked_at:
        assert lead is None
    else:
        assert lead == min(due)
        # Real hours: the distance in UTC, whatever the clocks in London did in between.
        assert (start - now).total_seconds() <= lead * 3600


@settings(
    max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(start=st.datetimes(min_value=datetime(2027, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)))
def test_the_message_shows_the_clinic_s_wall_clock_time(start, london):
    local = start.astimezone(LONDON)
    text = services.when_text(start)
    assert text.endswith(f" at {local:%H:%M}")
    assert f"{local.day} {local:%B} {local.year}" in text


# --- rows in the database -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_appointment_gets_one_row_per_channel_when_its_time_comes(sms_outbox):
    configure(hours_before="48, 2", send_email=True, send_sms=True)
    appointment = appointment_in(47)
    assert services.plan_reminders() == 2
    rows = Reminder.objects.filter(appointment=appointment)
    assert {(r.channel, r.hours_before, r.status) for r in rows} == {
        ("email", 48, Status.WAITING),
        ("sms", 48, Status.WAITING),
    }
    assert services.plan_reminders() == 0  # planned again: nothing new
    assert rows.count() == 2


@pytest.mark.django_db
def test_not_yet_due_far_away_past_and_inactive_appointments_get_none():
    configure(hours_before="48, 2")
    appointment_in(49)
    appointment_in(-1)
    appointment_in(10, status=Appointment.Status.CANCELLED)
    appointment_in(10, status=Appointment.Status.NO_SHOW)
    assert services.plan_reminders() == 0
    assert not Reminder.objects.exists()


@pytest.mark.django_db
def test_a_reminder_overtaken_by_a_nearer_one_is_not_made():
    configure(hours_before="48, 2")
    appointment = appointment_in(1)  # both are due: the worker was stopped for two days
    services.plan_reminders()
    assert list(Reminder.objects.filter(appointment=appointment).values_list("hours_before", flat=True)) == [2]


@pytest.mark.django_db
def test_a_reminder_whose_time_passed_before_booking_is_not_sent_the_next_one_is():
    configure(hours_before="48, 2")
    appointment = appointment_in(30, booked_hours_before=31)
    services.plan_reminders()
    assert not Reminder.objects.exists()
    with time_machine.travel(timezone.now() + timedelta(hours=28, minutes=1)):
        services.plan_reminders()
    assert list(Reminder.objects.filter(appointment=appointment).values_list("hours_before", flat=True)) == [2]


@pytest.mark.django_db
def test_missing_addresses_and_opt_outs_are_skipped_with_the_reason(sms_outbox):
    configure(send_email=True, send_sms=True)
    no_email = appointment_in(5, patient=PatientFactory(email="", phone="07700 900123"))
    opted_out = appointment_in(5, patient=PatientFactory(email="a@example.org", phone="", reminders_by_email=False))
    services.plan_reminders()
    reasons = {(r.appointment_id, r.channel): r.last_error for r in Reminder.objects.filter(status=Status.SKIPPED)}
    assert reasons[(no_email.pk, "email")] == "The patient has no e-mail address."
    assert reasons[(opted_out.pk, "email")] == "The patient asked for no reminders by e-mail."
    assert reasons[(opted_out.pk, "sms")] == "The patient has no phone number."
    assert Reminder.objects.get(appointment=no_email, channel="sms").status == Status.WAITING


@pytest.mark.django_db
def test_sms_without_a_provider_is_skipped(monkeypatch):
    from reminders import channels

    monkeypatch.setattr(channels, "sms_available", lambda: False)
    configure(send_email=False, send_sms=True)
    appointment_in(5)
    services.plan_reminders()
    assert Reminder.objects.get().last_error == "No SMS provider is configured."


# Moments around the clock changes and leap day: (appointment's wall time in London, hours before).
AROUND = [
    (datetime(2027, 3, 29, 10, 0), 48),  # 48 h before crosses the spring change (23-hour day)
    (datetime(2027, 3, 28, 3, 30), 2),  # the first hour of summer time: 2 h before is 00:30 GMT
    (datetime(2027, 3, 28, 9, 0), 24),  # 24 real hours before is 08:00 the day before, on the wall
    (datetime(2027, 10, 31, 9, 0), 24),  # autumn: 24 real hours before is 10:00 the day before
    (datetime(2027, 10, 31, 1, 30), 2),  # the repeated hour (the later 01:30, GMT)
    (datetime(2027, 11, 1, 10, 0), 48),
    (datetime(2028, 2, 29, 9, 0), 48),  # leap day
    (datetime(2028, 3, 1, 9, 0), 48),  # 48 h before is 28 February... through 29 February
    (datetime(2026, 12, 31, 23, 30), 2),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("wall", "hours"), AROUND)
def test_sent_exactly_that_many_real_hours_before_with_the_local_time_in_the_message(london, wall, hours):
    start = wall.replace(tzinfo=LONDON, fold=1).astimezone(UTC)  # fold=1: the later of a repeated hour
    configure(hours_before=str(hours), send_email=True, send_sms=False)
    patient = PatientFactory(first_name="Zoë", last_name="Łukasiewicz-Nakamura", email="zoe@example.org")
    with time_machine.travel(start - timedelta(days=20), tick=False):
        appointment = AppointmentFactory(start=start, end=start + timedelta(minutes=20), patient=patient)
    due = start - timedelta(hours=hours)
    with time_machine.travel(due - timedelta(seconds=1), tick=False):
        assert services.run() == (0, 0)
    with time_machine.travel(due, tick=False):
        assert services.run() == (1, 1)
    assert (start - due) == timedelta(hours=hours)
    [message] = mail.outbox
    local = start.astimezone(LONDON)
    assert f"at {local:%H:%M}" in message.subject
    assert f"{local.day} {local:%B} {local.year}" in message.subject
    assert "Dear Zoë Łukasiewicz-Nakamura" in message.body
    assert Reminder.objects.get(appointment=appointment).sent_at == due
    with time_machine.travel(start - timedelta(seconds=1), tick=False):
        assert services.run() == (0, 0)  # nothing more, ever, for this time
    assert len(mail.outbox) == 1
