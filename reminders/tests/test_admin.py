"""The manager's side: the settings (validated, previewed) and the failed reminders, sent again."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from clinic.models import AuditEntry
from clinic.tests.adminforms import form_data
from reminders import services
from reminders.models import Reminder, ReminderSettings, parse_hours
from reminders.tests.factories import ReminderFactory
from reminders.wording import check_template
from scheduling.models import Appointment

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("text", "hours"), [("48, 2", [48, 2]), ("2,48", [48, 2]), ("336", [336]), ("1; 24 ,72, 4", [72, 24, 4, 1])]
)
def test_times_are_read_largest_first(text, hours):
    assert parse_hours(text) == hours


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "at least one"),
        ("0", "between 1 and 336"),
        ("337", "between 1 and 336"),
        ("48, 48", "only once"),
        ("1, 2, 3, 4, 5", "At most 4"),
        ("two", "not a whole number"),
        ("٤٨", "not a whole number"),  # Arabic-Indic digits: int() reads them, the clinic does not
        ("-2", "not a whole number"),
        ("2.5", "not a whole number"),
    ],
)
def test_bad_times_are_refused_with_a_message(text, message):
    with pytest.raises(ValidationError) as refused:
        parse_hours(text)
    assert message in " ".join(refused.value.messages)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Dear {name}", "Unknown placeholder {name}"),
        ("Dear {patient", "not closed"),
        ("Dear patient}", "not closed or not opened"),
        ("{when:%H}", "without a format"),
        ("{when!r}", "without a format"),
        ("{patient.__class__}", "Unknown placeholder"),
        ("{0}", "Unknown placeholder"),
        ("{}", "Unknown placeholder"),
    ],
)
def test_a_bad_template_is_a_field_error(text, message):
    with pytest.raises(ValidationError) as refused:
        check_template(text)
    assert message in " ".join(refused.value.messages)


def test_every_placeholder_and_doubled_braces_are_accepted():
    check_template("{patient} {when} {doctor} {clinic} {address} {phone} {confirm_link} {cancel_link} {{x}}")


def test_the_data_migration_made_the_one_row_with_the_clinic_s_name(settings):
    assert ReminderSettings.objects.count() == 1
    config = ReminderSettings.current()
    assert config.clinic_name == settings.CLINIC_NAME
    assert config.hours == [48, 2] and config.send_email and not config.send_sms


def _settings_url():
    return reverse("admin:reminders_remindersettings_change", args=[ReminderSettings.current().pk])


def test_a_manager_sees_a_preview_and_errors_next_to_the_fields(manager):
    page = manager.get(_settings_url())
    assert page.status_code == 200
    text = page.content.decode()
    assert "Zoë Łukasiewicz-Nakamura" in text and "/reminders/confirm/" in text
    data = form_data(page)
    data.update(hours_before="48, 48", email_subject="Hello {name}", sms_text="{patient")
    refused = manager.post(_settings_url(), data)
    assert refused.status_code == 200
    errors = refused.context["adminform"].form.errors
    assert set(errors) == {"hours_before", "email_subject", "sms_text"}
    assert "Unknown placeholder {name}" in str(errors["email_subject"])
    data.update(hours_before="72, 24, 2", email_subject="Appointment on {when}", sms_text="{clinic}: {when}")
    assert manager.post(_settings_url(), data).status_code == 302
    config = ReminderSettings.current()
    assert config.hours == [72, 24, 2]
    assert AuditEntry.objects.filter(object_type="reminders.remindersettings", action="change").exists()


def test_an_administrator_may_not_change_the_settings(administrator):
    assert administrator.get(_settings_url()).status_code == 403


def test_the_failed_list_shows_failed_and_unknown_by_default(manager):
    failed = ReminderFactory()
    unknown = ReminderFactory(status=Reminder.Status.UNKNOWN, last_error=services.UNKNOWN_REASON)
    sent = ReminderFactory(status=Reminder.Status.SENT, last_error="")
    response = manager.get(reverse("admin:reminders_reminder_changelist"))
    listed = {r.pk for r in response.context["cl"].result_list}
    assert listed == {failed.pk, unknown.pk}
    everything = manager.get(reverse("admin:reminders_reminder_changelist") + "?state=all")
    assert sent.pk in {r.pk for r in everything.context["cl"].result_list}


def test_a_manager_sends_a_failed_reminder_again_and_it_goes_once(manager):
    from django.core import mail

    failed = ReminderFactory(appointment__patient__email="ada@example.org")
    gone = ReminderFactory(appointment__status=Appointment.Status.CANCELLED)
    url = reverse("admin:reminders_reminder_changelist")
    response = manager.post(url, {"action": "send_again", "_selected_action": [failed.pk, gone.pk]}, follow=True)
    text = response.content.decode()
    assert "1 reminder(s) will be sent" in text and "cannot be sent again" in text
    failed.refresh_from_db()
    assert failed.status == Reminder.Status.WAITING
    assert Reminder.objects.get(pk=gone.pk).status == Reminder.Status.FAILED
    assert AuditEntry.objects.filter(summary__contains=f"reminder #{failed.pk}", user=manager.user).exists()
    services.send_due()
    services.send_due()
    assert [m.to for m in mail.outbox] == [["ada@example.org"]]


def test_the_retry_service_refuses_a_sent_or_past_reminder():
    with pytest.raises(ValidationError, match="Only a failed reminder"):
        services.retry_reminder(reminder=ReminderFactory(status=Reminder.Status.SENT), by=None)
    past = ReminderFactory(appointment__start=timezone.now() - timezone.timedelta(hours=1))
    with pytest.raises(ValidationError, match="has begun"):
        services.retry_reminder(reminder=past, by=None)
