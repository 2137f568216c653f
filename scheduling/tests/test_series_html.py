"""The series pages are valid HTML (html-validate, as tests/test_html_valid.py runs it), in the states the
page walk does not reach: the list of occurrences with a clash, the forms with their errors, the page of an
appointment in a series."""

import json
import subprocess
import uuid
from datetime import timedelta

import pytest
from django.urls import reverse

from patients.tests.factories import PatientFactory
from scheduling.tests.factories import AppointmentFactory, local
from scheduling.tests.series_access_rules import series_appointments
from scheduling.tests.test_series_views import next_monday, rule
from staff.tests.factories import DoctorFactory
from tests.test_html_valid import ROOT, _node_tool

pytestmark = pytest.mark.django_db


def test_series_pages_are_valid_html(reception, tmp_path):
    command = _node_tool()
    doctor, patient = DoctorFactory(), PatientFactory(first_name="Zoë", last_name="Łukasiewicz")
    first = next_monday()
    AppointmentFactory(doctor=doctor, start=local(first + timedelta(weeks=1), 9))
    book = reverse("scheduling:series_book")
    in_series = series_appointments(4)
    move = reverse("scheduling:series_move", args=[in_series[1].pk])
    cancel = reverse("scheduling:series_cancel", args=[in_series[1].pk])
    pages = {
        "search": reception.get(book, {"q": "Łukasiewicz"}),
        "form": reception.get(book, {"patient": patient.pk}),
        "form-errors": reception.post(book, {"patient": patient.pk, "step": "preview"}),
        "list": reception.post(book, rule(doctor, patient)),
        "list-refused": reception.post(
            book, {**rule(doctor, patient), "o1": "bogus", "step": "save", "client_token": str(uuid.uuid4())}
        ),
        "appointment": reception.get(in_series[1].get_absolute_url()),
        "appointment-alone": reception.get(AppointmentFactory().get_absolute_url()),
        "move": reception.get(move),
        "move-errors": reception.post(move, {"step": "preview"}),
        "move-list": reception.post(
            move,
            {
                "scope": "all",
                "doctor": in_series[1].doctor_id,
                "date": in_series[1].local_start.date().isoformat(),
                "time": "11:00",
                "step": "preview",
            },
        ),
        "cancel": reception.get(cancel),
        "cancel-errors": reception.post(cancel, {}),
    }
    files = []
    for name, response in pages.items():
        assert response.status_code == 200, name
        path = tmp_path / f"{name}.html"
        path.write_bytes(response.content)
        files.append(str(path))
    assert "Clash:" in pages["list"].content.decode()
    report = tmp_path / "report.json"
    subprocess.run(
        [*command, "--config", str(ROOT / ".htmlvalidate.json"), "--formatter", f"json={report}", *files],
        capture_output=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    findings = [
        f"{result['filePath']}:{m['line']} {m['ruleId']}: {m['message']}"
        for result in json.loads(report.read_text())
        for m in result["messages"]
    ]
    assert findings == []
