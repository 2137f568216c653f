"""The waitlist's pages in each of their states are valid HTML (html-validate, as tests/test_html_valid.py
runs it): the panels with candidates and offers, Today's freed times, the list, the forms with errors, and
every state of the patient's accept page."""

import json
import subprocess
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from clinic.links import make_link_token
from scheduling import services as scheduling
from tests.test_html_valid import ROOT, _node_tool
from waitlist import services
from waitlist.models import FreedTime, Urgency
from waitlist.tests.factories import WaitlistEntryFactory, WaitlistOfferFactory
from waitlist.tests.test_services import freed_time, moved_appointment

pytestmark = pytest.mark.django_db


def test_the_waitlists_pages_are_valid_html(reception, anonymous, tmp_path):
    command = _node_tool()
    soon = freed_time(day=timezone.localdate() + timedelta(days=1))
    WaitlistEntryFactory(doctor=soon.doctor, urgency=Urgency.URGENT, note="Any time <b>not</b> Fridays")
    WaitlistEntryFactory(doctor=soon.doctor, weekdays="024", time_from=soon.start.time().replace(hour=8))
    entry = WaitlistEntryFactory(doctor=soon.doctor, patient__first_name="Łucja", patient__email="l@example.org")
    offer = WaitlistOfferFactory(entry=entry, doctor=soon.doctor, start=soon.start, end=soon.end)
    link = make_link_token(services.ACCEPT, offer.pk, valid_until=offer.valid_until)
    taken = freed_time(doctor=soon.doctor, hour=15, day=soon.start.date())
    taken_offer = WaitlistOfferFactory(entry=entry, doctor=soon.doctor, start=taken.start, end=taken.end)
    scheduling.book_appointment(patient=WaitlistEntryFactory().patient, doctor=soon.doctor, start=taken.start,
                                booked_by=reception.user)  # fmt: skip
    taken_link = make_link_token(services.ACCEPT, taken_offer.pk, valid_until=taken_offer.valid_until)

    moved = FreedTime.objects.get(appointment=moved_appointment(day=soon.start.date(), hour=12))
    WaitlistEntryFactory(doctor=moved.doctor)
    pages = {
        "moved": reception.get(reverse("waitlist:moved", args=[moved.pk])),
        "freed": reception.get(soon.get_absolute_url()),
        "today": reception.get(reverse("home")),
        "list": reception.get(reverse("waitlist:list")),
        "list-filtered": reception.get(reverse("waitlist:list"), {"doctor": soon.doctor_id}),
        "add-search": reception.get(reverse("waitlist:add"), {"q": "Łucja"}),
        "add-errors": reception.post(
            reverse("waitlist:add") + f"?patient={entry.patient_id}", {"time_of_day": "custom"}
        ),
        "edit": reception.get(reverse("waitlist:edit", args=[entry.pk])),
        "remove-errors": reception.post(reverse("waitlist:remove", args=[entry.pk]), {"reason": ""}),
        "accept": anonymous.get(reverse("waitlist:accept", args=[link])),
        "accept-taken": anonymous.get(reverse("waitlist:accept", args=[taken_link])),
        "accept-forged": anonymous.get(reverse("waitlist:accept", args=["nonsense"])),
    }
    with time_machine.travel(offer.valid_until + timedelta(minutes=1)):
        pages["accept-expired"] = anonymous.get(reverse("waitlist:accept", args=[link]))
    anonymous.post(reverse("waitlist:accept", args=[link]))
    pages["accept-done"] = anonymous.get(reverse("waitlist:accept", args=[link]))
    assert "This time is free again" in pages["freed"].content.decode()
    assert "This time is free again" in pages["moved"].content.decode()
    assert "Freed times" in pages["today"].content.decode()
    assert "Your appointment is booked" in pages["accept-done"].content.decode()

    paths = []
    for name, response in pages.items():
        path = tmp_path / f"{name}.html"
        path.write_bytes(response.content)
        paths.append(str(path))
    report = tmp_path / "report.json"
    subprocess.run(
        [*command, "--config", str(ROOT / ".htmlvalidate.json"), "--formatter", f"json={report}", *paths],
        capture_output=True, cwd=ROOT, timeout=300, check=False,
    )  # fmt: skip
    findings = [
        f"{result['filePath']}:{m['line']} {m['ruleId']}: {m['message']}"
        for result in json.loads(report.read_text())
        for m in result["messages"]
    ]
    assert findings == []
