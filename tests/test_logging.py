"""Logs and error reports: the request id on every line, no patient data on any, Sentry scrubbed.

Lines are captured through the formatter and filter that settings.LOGGING configures (pytest's caplog
would use its own formatter), parsed as JSON, and searched for a patient's name: in the search's
query string, in a registration's form values, and in a request that fails.
"""

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sentry_sdk
from django.conf import settings as django_settings
from django.db import connection
from django.urls import reverse
from django.utils.module_loading import import_string
from sentry_sdk.transport import Transport

from clinic import sentry
from patients.models import Patient
from patients.tests.factories import PatientFactory
from patients.views import PatientCreateView, PatientListView
from staff.roles import RECEPTIONIST
from staff.tests.factories import UserFactory

from .test_resilience import Browser

BASE_DIR = Path(__file__).resolve().parents[1]
PATIENTS = reverse("patients:list")
CREATE = reverse("patients:create")
# A name no page, template or log message has by chance.
SURNAME = "Quarrendon-Fitchwell"
FIRST_NAME = "Ottoline"
SEARCH = "Quarrendon"


def _build(config):
    """A formatter or filter as logging's dictConfig builds it from a settings.LOGGING entry."""
    config = dict(config)
    return import_string(config.pop("()"))(**config)


@pytest.fixture
def captured():
    """capture("json" or "plain") -> a function returning what the console handler would have printed."""
    root = logging.getLogger()
    handlers, level = [], root.level

    def capture(fmt):
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(_build(django_settings.LOGGING["formatters"][fmt]))
        for name in django_settings.LOGGING["handlers"]["console"]["filters"]:
            handler.addFilter(_build(django_settings.LOGGING["filters"][name]))
        root.addHandler(handler)
        handlers.append(handler)
        return stream.getvalue

    root.setLevel(logging.INFO)
    yield capture
    for handler in handlers:
        root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def json_lines(captured):
    text = captured("json")

    def lines():
        raw = text()
        return raw, [json.loads(line) for line in raw.splitlines() if line.strip()]

    return lines


def access_line(lines):
    [line] = [line for line in lines if line["logger"] == "clinic.access"]
    return line


def failing(monkeypatch, view, method):
    def boom(self, *args, **kwargs):
        raise RuntimeError("the search index is unavailable")

    monkeypatch.setattr(view, method, boom)


def registration(**overrides):
    return {
        "first_name": FIRST_NAME,
        "last_name": SURNAME,
        "date_of_birth": "1984-03-12",
        "sex": "female",
        "phone": "020 7946 5521",
        "email": "ottoline@example.org",
        "address": "7 Larkspur Mews",
        "emergency_contact_name": "",
        "emergency_contact_relationship": "",
        "emergency_contact_phone": "",
        "notes": "Prefers afternoon visits",
        **overrides,
    }


# The phone as typed and as digits: long enough not to turn up by chance in a random trace or span id (hex).
PRIVATE = [SEARCH, FIRST_NAME, "ottoline@example.org", "Larkspur", "7946 5521", "79465521", "afternoon", "q="]


def assert_no_patient_data(raw):
    for value in PRIVATE:
        assert value not in raw, f"{value!r} reached the logs"
    assert "WSGIRequest" not in raw


# --- JSON lines ---------------------------------------------------------------------------------


def test_a_patient_search_is_one_access_line_with_the_request_id_and_without_the_name(reception, json_lines):
    PatientFactory(first_name=FIRST_NAME, last_name=SURNAME)

    response = reception.get(PATIENTS, {"q": SEARCH})

    assert response.status_code == 200
    assert SURNAME.upper() in response.content.decode()  # the search did find the patient
    raw, lines = json_lines()
    assert_no_patient_data(raw)
    access = access_line(lines)
    assert access["request_id"] == response["X-Request-ID"]
    assert access["level"] == "INFO"
    assert (access["method"], access["path"], access["status"]) == ("GET", PATIENTS, 200)
    assert isinstance(access["duration_ms"], float) and access["duration_ms"] >= 0
    assert access["user_id"] == reception.user.pk
    assert access["message"].startswith(f"GET {PATIENTS} 200 ")
    assert access["time"].endswith("Z") and access["time"][10] == "T"
    assert set(access) == {"time", "level", "logger", "message", "request_id"} | {
        "method",
        "path",
        "status",
        "duration_ms",
        "user_id",
    }
    assert reception.user.username not in raw


def test_registering_a_patient_logs_no_form_value(reception, json_lines):
    response = reception.post(CREATE, registration())

    assert response.status_code == 302
    assert Patient.objects.get().last_name == SURNAME
    raw, lines = json_lines()
    assert_no_patient_data(raw)
    assert SURNAME not in raw
    access = access_line(lines)
    assert (access["method"], access["path"], access["status"]) == ("POST", CREATE, 302)
    assert access["request_id"] == response["X-Request-ID"]


def test_a_failing_request_is_logged_with_its_traceback_method_and_path_but_not_the_request(
    reception, json_lines, monkeypatch
):
    PatientFactory(first_name=FIRST_NAME, last_name=SURNAME)
    failing(monkeypatch, PatientListView, "get_queryset")
    reception.raise_request_exception = False

    response = reception.get(PATIENTS, {"q": SEARCH})

    assert response.status_code == 500
    raw, lines = json_lines()
    assert_no_patient_data(raw)
    [error] = [line for line in lines if line["level"] == "ERROR"]
    assert error["logger"] == "django.request"
    assert error["message"] == f"Internal Server Error: {PATIENTS}"
    assert (error["method"], error["path"], error["status"]) == ("GET", PATIENTS, 500)
    assert error["request_id"] == response["X-Request-ID"]
    assert "Traceback (most recent call last)" in error["exc_info"]
    assert "RuntimeError: the search index is unavailable" in error["exc_info"]
    assert "request" not in error and "status_code" not in error
    assert access_line(lines)["status"] == 500
    assert {line["request_id"] for line in lines} == {response["X-Request-ID"]}


def test_a_failing_registration_logs_none_of_the_posted_values(reception, json_lines, monkeypatch):
    failing(monkeypatch, PatientCreateView, "form_valid")
    reception.raise_request_exception = False

    response = reception.post(CREATE, registration())

    assert response.status_code == 500
    raw, lines = json_lines()
    assert_no_patient_data(raw)
    assert SURNAME not in raw
    assert any(line["level"] == "ERROR" and line["path"] == CREATE for line in lines)


def test_a_line_outside_any_request_has_an_empty_request_id(json_lines):
    logging.getLogger("clinic.tests").warning("backup finished in %s s", 3)

    _, [line] = json_lines()
    assert line["request_id"] == ""
    assert line["message"] == "backup finished in 3 s"
    assert (line["level"], line["logger"]) == ("WARNING", "clinic.tests")


def test_extra_fields_that_are_not_listed_never_reach_a_line(json_lines, captured):
    plain = captured("plain")

    logging.getLogger("clinic.tests").info(
        "registered", extra={"patient": f"{FIRST_NAME} {SURNAME}", "form": {"q": SEARCH}, "status": 201}
    )

    raw, [line] = json_lines()
    assert_no_patient_data(raw + plain())
    assert line["status"] == 201
    assert "patient" not in line and "form" not in line


def test_the_plain_format_carries_the_request_id_and_no_query_string(reception, captured):
    plain = captured("plain")
    PatientFactory(first_name=FIRST_NAME, last_name=SURNAME)

    response = reception.get(PATIENTS, {"q": SEARCH})

    [line] = [line for line in plain().splitlines() if "clinic.access" in line]
    assert f"[{response['X-Request-ID']}] GET {PATIENTS} 200 " in line
    assert_no_patient_data(plain())


@pytest.mark.django_db
def test_sql_is_never_logged_even_at_debug_level(json_lines):
    PatientFactory(first_name=FIRST_NAME, last_name=SURNAME)
    logging.getLogger().setLevel(logging.DEBUG)
    connection.force_debug_cursor = True  # what DEBUG=True does: every query goes to django.db.backends
    try:
        assert list(Patient.objects.search(SEARCH))
    finally:
        connection.force_debug_cursor = False

    raw, _ = json_lines()
    assert SEARCH not in raw and "SELECT" not in raw


def test_runservers_request_line_with_its_query_string_is_not_printed(json_lines):
    # runserver logs '"GET /patients/?q=<name> HTTP/1.1" 200' to django.server; clinic.access replaces it.
    logging.getLogger("django.server").info('"GET /patients/?q=%s HTTP/1.1" 200 1234', SEARCH)
    logging.getLogger("django.server").error('"GET /patients/?q=%s HTTP/1.1" 500 99', SEARCH)

    raw, _ = json_lines()
    assert raw == ""


# --- the settings: LOG_FORMAT, and Sentry off without a DSN ---------------------------------------

PROBE = """
import logging, django, sentry_sdk
django.setup()
from django.conf import settings
print(settings.LOG_FORMAT, sentry_sdk.get_client().is_active(), flush=True)
if sentry_sdk.get_client().is_active():
    o = sentry_sdk.get_client().options
    dc = o["data_collection"]
    print(dc["user_info"], dc["cookies"]["mode"], dc["http_bodies"], dc["url_query_params"]["mode"],
          dc["stack_frame_variables"], dc["database_query_data"], flush=True)
    print(o["environment"], o["release"], o["traces_sample_rate"], o["before_send"].__module__, flush=True)
logging.getLogger("clinic.probe").warning("hello %s", "there")
"""


def _start(tmp_path, **env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "LOCAL_RUN", "DEBUG", "LOG_FORMAT"} and not k.startswith("SENTRY_")
    }
    clean.update({"DATA_DIR": str(tmp_path), "LOCAL_RUN": "0", "DJANGO_SETTINGS_MODULE": "clinic.settings", **env})
    return subprocess.run(
        [sys.executable, "-c", PROBE], cwd=BASE_DIR, env=clean, capture_output=True, text=True, timeout=60
    )


def test_production_logs_json_lines_and_starts_no_sentry_without_a_dsn(tmp_path):
    result = _start(tmp_path, SECRET_KEY="x" * 60)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["json", "False"]
    [line] = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert (line["logger"], line["level"], line["message"], line["request_id"]) == (
        "clinic.probe",
        "WARNING",
        "hello there",
        "",
    )


def test_a_local_run_logs_plain_lines(tmp_path):
    result = _start(tmp_path, LOCAL_RUN="1")

    assert result.stdout.split()[0] == "plain"
    assert "WARNING clinic.probe [-] hello there" in result.stderr


def test_an_unknown_log_format_is_refused(tmp_path):
    result = _start(tmp_path, SECRET_KEY="x" * 60, LOG_FORMAT="xml")

    assert result.returncode != 0
    assert "LOG_FORMAT must be json or plain" in result.stderr


def test_with_a_dsn_sentry_starts_without_personal_data(tmp_path):
    # Nothing is sent: no error happens, and the DSN points at a closed port on this machine.
    result = _start(
        tmp_path,
        SECRET_KEY="x" * 60,
        SENTRY_DSN="http://public@127.0.0.1:9/1",
        SENTRY_ENVIRONMENT="staging",
        SENTRY_RELEASE="clinic@abc123",
        SENTRY_TRACES_SAMPLE_RATE="0.25",
    )

    assert result.returncode == 0, result.stderr
    first, collected, second = result.stdout.splitlines()
    assert first == "json True"
    assert collected.split() == ["False", "off", "[]", "off", "False", "False"]
    assert second.split() == ["staging", "clinic@abc123", "0.25", "clinic.sentry"]
    assert "Warning" not in result.stderr  # no deprecated option in use


# --- Sentry -------------------------------------------------------------------------------------


def a_realistic_event():
    """Roughly what the SDK's Django integration builds for a failed patient search with a body."""
    return {
        "level": "error",
        "request": {
            "url": f"https://clinic.example.org/patients/?q={SEARCH}",
            "method": "POST",
            "query_string": f"q={SEARCH}",
            "data": {"first_name": FIRST_NAME, "last_name": SURNAME},
            "cookies": {"sessionid": "s3ss10n", "csrftoken": "t0ken"},
            "headers": {
                "User-Agent": "Mozilla/5.0",
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": "sessionid=s3ss10n",
                "Referer": f"https://clinic.example.org/patients/?q={SEARCH}",
                "X-Forwarded-For": "203.0.113.9",
            },
            "env": {"REMOTE_ADDR": "203.0.113.9", "SERVER_NAME": "clinic"},
        },
        "user": {"id": "7", "username": "reception", "email": "desk@example.org", "ip_address": "203.0.113.9"},
        "exception": {
            "values": [
                {
                    "type": "RuntimeError",
                    "value": "the search index is unavailable",
                    "stacktrace": {
                        "frames": [
                            {"function": "get_queryset", "module": "patients.views", "vars": {"q": f"'{SEARCH}'"}}
                        ]
                    },
                }
            ]
        },
        "threads": {"values": [{"stacktrace": {"frames": [{"function": "run", "vars": {"form": FIRST_NAME}}]}}]},
        "breadcrumbs": {
            "values": [
                {
                    "type": "default",
                    "category": "query",
                    "message": "SELECT ... WHERE search_text LIKE %s",
                    "data": {"db.params": [f"%{SEARCH}%"]},
                    "timestamp": "2026-01-05T10:00:00Z",
                },
                {"category": "clinic.access", "message": "GET /patients/ 500 12ms", "data": {"q": SEARCH}},
            ]
        },
        "extra": {"request": f"<WSGIRequest: GET '/patients/?q={SEARCH}'>", "sys.argv": ["gunicorn"]},
    }


def test_scrub_keeps_nothing_that_could_hold_patient_data():
    event = sentry.scrub(a_realistic_event())

    text = json.dumps(event)
    for value in [SEARCH, FIRST_NAME, SURNAME, "s3ss10n", "t0ken", "203.0.113.9", "reception", "desk@example.org"]:
        assert value not in text, value
    assert event["request"] == {
        "method": "POST",
        "url": "https://clinic.example.org/patients/",
        "headers": {"User-Agent": "Mozilla/5.0", "Content-Type": "application/x-www-form-urlencoded"},
    }
    assert event["user"] == {"id": "7"}
    frame = event["exception"]["values"][0]["stacktrace"]["frames"][0]
    assert frame == {"function": "get_queryset", "module": "patients.views"}
    assert event["exception"]["values"][0]["value"] == "the search index is unavailable"
    assert event["breadcrumbs"]["values"][0] == {
        "type": "default",
        "category": "query",
        "message": "SELECT ... WHERE search_text LIKE %s",
        "timestamp": "2026-01-05T10:00:00Z",
    }
    assert "extra" not in event


def test_scrub_drops_an_anonymous_user_entirely():
    event = sentry.scrub({"user": {"ip_address": "203.0.113.9"}, "request": {"url": "https://x/accounts/login/"}})

    assert "user" not in event
    assert event["request"] == {"url": "https://x/accounts/login/"}


def test_sentry_is_not_started_in_this_process_without_a_dsn():
    assert not os.environ.get("SENTRY_DSN")
    assert not sentry_sdk.get_client().is_active()


class KeptInMemory(Transport):
    def __init__(self, options=None):
        super().__init__(options)
        self.events = []

    def capture_envelope(self, envelope):
        self.events.extend(item.payload.json for item in envelope.items if item.type in ("event", "transaction"))


@pytest.fixture
def sentry_events():
    """Sentry started as settings start it, with a transport that keeps the events here."""
    transport = KeptInMemory()
    sentry.init_sentry(dsn="http://public@127.0.0.1:9/1", environment="test", transport=transport)
    yield transport.events
    sentry_sdk.get_client().close()
    sentry_sdk.get_global_scope().set_client(None)


@pytest.fixture
def desk(settings):
    """Reception, through the WSGI application as gunicorn calls it: Sentry's Django integration adds
    the URL, query string and headers to an event there (the test client goes round that layer)."""
    settings.SECURE_SSL_REDIRECT = False
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    user = UserFactory(roles=[RECEPTIONIST])
    browser = Browser(user)
    browser.user = user
    return browser


def the_error(events):
    [event] = [event for event in events if event.get("exception")]
    return event


@pytest.mark.django_db(transaction=True)
def test_an_error_in_a_search_reaches_sentry_tagged_and_without_patient_data(desk, sentry_events, monkeypatch):
    PatientFactory(first_name=FIRST_NAME, last_name=SURNAME)
    failing(monkeypatch, PatientListView, "get_queryset")

    response = desk.get(PATIENTS, query=f"q={SEARCH}", headers={"HTTP_REFERER": f"http://127.0.0.1/?q={SEARCH}"})

    assert response.status == 500
    event = the_error(sentry_events)
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    assert event["tags"]["request_id"] == response.headers["X-Request-ID"]
    assert event["user"] == {"id": str(desk.user.pk)}
    assert event["request"] == {
        "method": "GET",
        "url": f"http://127.0.0.1{PATIENTS}",
        "headers": {"User-Agent": "resilience-test", "Content-Type": "application/x-www-form-urlencoded"},
    }
    text = json.dumps(sentry_events)
    for value in [SEARCH, SURNAME, FIRST_NAME, desk.user.username, *desk.cookies.values()]:
        assert value not in text, value
    assert all("vars" not in frame for value in event["exception"]["values"] for frame in value["stacktrace"]["frames"])


@pytest.mark.django_db(transaction=True)
def test_an_error_in_a_registration_reaches_sentry_without_the_posted_values(desk, sentry_events, monkeypatch):
    failing(monkeypatch, PatientCreateView, "form_valid")

    response = desk.post(CREATE, registration())

    assert response.status == 500
    event = the_error(sentry_events)
    assert event["tags"]["request_id"] == response.headers["X-Request-ID"]
    assert event["request"]["method"] == "POST"
    assert event["request"]["url"] == f"http://127.0.0.1{CREATE}"
    text = json.dumps(sentry_events)
    for value in [*PRIVATE, SURNAME, *desk.cookies.values()]:
        assert value not in text, value
