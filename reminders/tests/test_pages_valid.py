"""The reminders' pages in every state are valid HTML (html-validate, as tests/test_html_valid.py runs it): a
patient's link (to answer, answered, used again, expired, forged, moved, stop), signed out; the appointment
page and Today with reminders and replies, as reception sees them."""

import json
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from reminders import services
from reminders.models import Reminder, Reply
from reminders.tests.factories import ReminderFactory
from reminders.tests.test_links import cancel_url, confirm_url, sent_reminder, url
from scheduling.models import Appointment
from scheduling.tests.factories import AppointmentFactory, local
from tests.test_html_valid import ROOT, _node_tool

pytestmark = pytest.mark.django_db


def _pages(reception):
    pages = []
    fresh = sent_reminder()
    pages.append(("confirm", Client().get(confirm_url(fresh))))
    answered = sent_reminder()
    link = cancel_url(answered)
    Client().post(link)
    pages.append(("cancelled", Client().get(link)))
    pages.append(("used-again", Client().post(link)))
    expired = sent_reminder()
    with time_machine.travel(expired.starts_at + timedelta(minutes=1)):
        pages.append(("expired", Client().get(confirm_url(expired))))
    pages.append(("forged", Client().get(reverse("reminders:confirm", kwargs={"token": "made-up"}))))
    moved = sent_reminder()
    later = moved.starts_at + timedelta(hours=1)
    Appointment.objects.filter(pk=moved.appointment_id).update(start=later, end=later + timedelta(minutes=20))
    pages.append(("moved", Client().get(confirm_url(moved))))
    pages.append(("moved-post", Client().post(confirm_url(moved))))
    stop = sent_reminder(channel=Reminder.Channel.SMS)
    pages.append(("stop", Client().get(url("reminders:opt_out", stop, services.OPT_OUT))))

    busy = ReminderFactory(status=Reminder.Status.SENT, last_error="", sent_at=timezone.now())
    ReminderFactory(appointment=busy.appointment, channel=Reminder.Channel.SMS)
    Reply.objects.create(appointment=busy.appointment, answer="confirmed", starts_at=busy.starts_at, reminder=busy)
    pages.append(("appointment", reception.get(reverse("scheduling:detail", args=[busy.appointment_id]))))
    today = AppointmentFactory(start=local(timezone.localdate(), 11))
    Reply.objects.create(appointment=today, answer="cancelled", starts_at=today.start)
    pages.append(("today", reception.get(reverse("home"))))
    return pages


def test_every_state_of_the_reminders_pages_is_valid_html(reception, tmp_path):
    command = _node_tool()
    files = []
    for label, response in _pages(reception):
        assert response.status_code < 500, label
        path = tmp_path / f"{label}.html"
        path.write_bytes(response.content)
        files.append(path)
    report = tmp_path / "report.json"
    subprocess.run(
        [*command, "--config", str(ROOT / ".htmlvalidate.json"), "--formatter", f"json={report}", *map(str, files)],
        capture_output=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    findings = [
        f"{Path(result['filePath']).stem}:{m['line']} {m['ruleId']}: {m['message']}"
        for result in json.loads(report.read_text())
        for m in result["messages"]
    ]
    assert findings == []
