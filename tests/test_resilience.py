"""The database restarts under the application; a request fails half-way.

Requests here go through Django's WSGI application as gunicorn sends them (Browser), not through the
test client: only then does Django open, health-check and close connections between requests as in
production (the test client switches that off to keep a test's transaction). The tests are
transactional, so what a request writes is committed, or not, as it would be.

PostgreSQL: the app's connection is killed from another connection (pg_terminate_backend), as a
database restart or failover does. SQLite has no server connection to lose; what applies there runs
on both databases.
"""

import io
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode
from wsgiref.util import setup_testing_defaults

import pytest
from django.conf import settings as django_settings
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection, connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clinic import dbtimeouts, health
from finance import services as finance_services
from finance.models import Payment, PaymentMethod
from finance.tests.factories import CompletedVisitFactory
from patients import models as patient_models
from patients.models import Patient
from patients.tests.factories import PatientFactory
from scheduling import services as scheduling_services
from scheduling.models import Appointment
from staff.roles import RECEPTIONIST
from staff.tests.factories import DoctorFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite has no server connection that can be dropped"
)
CSRF_TOKEN = "resiliencecsrftoken0123456789abc"  # 32 characters: a valid CSRF secret


@dataclass
class Answer:
    status: int
    headers: dict
    content: bytes


class Browser:
    """Requests through Django's WSGI application (as gunicorn makes them), signed in as `user`."""

    def __init__(self, user=None):
        self.app = WSGIHandler()
        self.cookies = {django_settings.CSRF_COOKIE_NAME: CSRF_TOKEN}
        if user is not None:
            client = Client()
            client.force_login(user)
            name = django_settings.SESSION_COOKIE_NAME
            self.cookies[name] = client.cookies[name].value

    def request(self, method, path, *, query="", data=None, headers=None):
        body = urlencode(data or {}, doseq=True).encode()
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "wsgi.input": io.BytesIO(body),
            "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": "application/x-www-form-urlencoded",
            "HTTP_COOKIE": "; ".join(f"{name}={value}" for name, value in self.cookies.items()),
            "HTTP_X_CSRFTOKEN": CSRF_TOKEN,
            "HTTP_USER_AGENT": "resilience-test",
            **(headers or {}),
        }
        setup_testing_defaults(environ)  # HTTP_HOST 127.0.0.1, plain HTTP, wsgi.* keys
        started = {}

        def start_response(status, response_headers, exc_info=None):
            started["status"] = int(status.split()[0])
            started["headers"] = dict(response_headers)

        result = self.app(environ, start_response)
        try:
            content = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()  # fires request_finished: Django closes or keeps the connection here
        return Answer(started["status"], started["headers"], content)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, data, **kwargs):
        return self.request("POST", path, data=data, **kwargs)


@pytest.fixture(autouse=True)
def _plain_http_to_this_machine(settings, monkeypatch):
    # Set before any Browser builds its middleware (the HTTPS redirect reads this at start-up).
    settings.SECURE_SSL_REDIRECT = False
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    monkeypatch.setattr(health, "_migrations_applied", False)  # readiness looks at migrations afresh
    # No rest after a failure here: each request asks the database (test_hung_database tests the breaker).
    monkeypatch.setattr(dbtimeouts.breaker, "rest", 0)
    yield
    connection.close()  # whatever a test did to it, the next one starts on a fresh connection


@pytest.fixture
def reception_browser(db):
    return Browser(UserFactory(roles=[RECEPTIONIST]))


def backend_pid():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def kill_backend(pid):
    """What a database restart does to the app's connection: the server ends it."""
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            assert cursor.fetchone()[0]
            for _ in range(100):
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
                if cursor.fetchone()[0] == 0:
                    return
                time.sleep(0.05)
        raise AssertionError(f"backend {pid} is still there")
    finally:
        other.close()


def pay_form(visit):
    return {
        "amount": str(visit.doctor.consultation_fee),
        "method": PaymentMethod.CARD,
        "fee_override_reason": "",
        "date": timezone.localdate().isoformat(),
        "notes": "",
    }


# --- the database restarts under the application -----------------------------------------------


@on_postgresql
def test_a_page_works_right_after_the_database_dropped_the_apps_connection(reception_browser):
    assert reception_browser.get(reverse("patients:list")).status == 200
    assert connection.connection is not None  # kept open between requests (CONN_MAX_AGE)
    before = backend_pid()

    kill_backend(before)

    # CONN_HEALTH_CHECKS: the first query of the request finds the connection dead and opens another.
    assert reception_browser.get(reverse("patients:list")).status == 200
    assert backend_pid() != before
    assert reception_browser.get("/readyz").status == 200


@on_postgresql
def test_without_health_checks_the_first_request_after_a_restart_fails(reception_browser, monkeypatch):
    # The control for the test above: the guard really is what saves that request.
    connection.close()
    monkeypatch.setitem(connection.settings_dict, "CONN_HEALTH_CHECKS", False)
    assert reception_browser.get(reverse("patients:list")).status == 200

    kill_backend(backend_pid())

    # The "try again" page (503): trying again is what helps.
    assert reception_browser.get(reverse("patients:list")).status == 503
    # Django closes a connection that failed at the end of the request; the next one reconnects.
    assert reception_browser.get(reverse("patients:list")).status == 200


class DatabaseDown:
    """While active, the app's connection is gone and no new one can be opened."""

    def __enter__(self):
        self.patch = pytest.MonkeyPatch()
        if connection.vendor == "postgresql":
            kill_backend(backend_pid())
            self.patch.setitem(connection.settings_dict, "PORT", "1")  # nothing listens on port 1
        else:
            connection.close()
            self.patch.setitem(connection.settings_dict, "NAME", "/nonexistent-folder/clinic.sqlite3")
        return self

    def __exit__(self, *exc):
        self.patch.undo()


def test_readiness_fails_while_the_database_is_down_and_recovers_when_it_is_back(reception_browser):
    assert reception_browser.get("/readyz").status == 200

    with DatabaseDown():
        down = reception_browser.get("/readyz")
        assert (down.status, down.content) == (503, b"not ready\n")
        assert reception_browser.get("/healthz").status == 200  # liveness: the process itself is fine
        page = reception_browser.get(reverse("patients:list"))
        assert (page.status, page.headers["Retry-After"]) == (503, "10")
        assert b"Please try again in a moment" in page.content

    health._probe.result(timeout=10)  # the probe that saw the database down has ended
    assert reception_browser.get("/readyz").status == 200
    assert reception_browser.get(reverse("patients:list")).status == 200


@on_postgresql
def test_a_payment_cut_off_by_a_database_restart_half_way_writes_nothing(reception_browser, monkeypatch):
    visit = CompletedVisitFactory()
    number_receipt = finance_services._number_receipt

    def restart_then_number(payment):
        # The payment row is inserted; the database goes away before its receipt number is written.
        kill_backend(backend_pid())
        number_receipt(payment)

    monkeypatch.setattr(finance_services, "_number_receipt", restart_then_number)
    url = reverse("finance:pay_visit", args=[visit.pk])

    assert reception_browser.post(url, pay_form(visit)).status == 503
    assert not Payment.objects.exists()

    monkeypatch.setattr(finance_services, "_number_receipt", number_receipt)
    assert reception_browser.post(url, pay_form(visit)).status == 302
    assert Payment.objects.get().receipt_number.endswith(f"{Payment.objects.get().pk:06d}")


# --- a request that fails half-way leaves nothing half-written (both databases) ------------------


def fails_after(module, name, monkeypatch):
    """Make module.name do its work (a write), then raise, as a bug or a lost database would."""
    original = getattr(module, name)
    done = []

    def then_fail(*args, **kwargs):
        done.append(original(*args, **kwargs))
        raise RuntimeError(f"failed after {name}")

    monkeypatch.setattr(module, name, then_fail)
    return done


def test_a_payment_failing_after_its_row_is_written_leaves_no_payment(reception_browser, monkeypatch):
    visit = CompletedVisitFactory()
    # The payment row is inserted and numbered, then the request fails.
    done = fails_after(finance_services, "_number_receipt", monkeypatch)

    response = reception_browser.post(reverse("finance:pay_visit", args=[visit.pk]), pay_form(visit))

    assert response.status == 500
    assert len(done) == 1
    assert not Payment.objects.exists()


def test_a_booking_failing_after_the_appointment_is_saved_leaves_no_appointment(reception_browser, monkeypatch):
    patient, doctor = PatientFactory(), DoctorFactory()
    saved = fails_after(scheduling_services, "_save_guarded", monkeypatch)
    tomorrow = timezone.localdate() + timedelta(days=1)

    response = reception_browser.post(
        reverse("scheduling:book"),
        {"patient": patient.pk, "doctor": doctor.pk, "date": tomorrow.isoformat(), "time": "10:00", "minutes": "20"},
    )

    assert response.status == 500
    assert saved[0].pk is not None  # the appointment's row was written before the failure
    assert not Appointment.objects.exists()


def test_a_registration_failing_before_the_mrn_is_written_leaves_no_patient(reception_browser, monkeypatch):
    def no_check_digit(number):
        raise RuntimeError("failed before the MRN was written")

    monkeypatch.setattr(patient_models, "luhn_digit", no_check_digit)

    response = reception_browser.post(
        reverse("patients:create"),
        {
            "first_name": "Ines",
            "last_name": "Halvorsen",
            "date_of_birth": "1984-03-12",
            "sex": "female",
            "phone": "020 7946 0018",
            "email": "",
            "address": "",
            "emergency_contact_name": "",
            "emergency_contact_relationship": "",
            "emergency_contact_phone": "",
            "notes": "",
        },
    )

    assert response.status == 500
    assert not Patient.objects.exists()
