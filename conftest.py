"""Shared fixtures: one signed-in client per role (personas), and the settings tests need.

Running the suite at another moment (CLINIC_TEST_CLOCK)
-------------------------------------------------------
Tests must not depend on when they run. To find the ones that do, set the environment variable
CLINIC_TEST_CLOCK to an ISO datetime with its zone, for example

    CLINIC_TEST_CLOCK=2026-12-31T23:52:00+00:00 LOCAL_RUN=1 .venv/bin/pytest -q scheduling

and the whole session runs as if it were that moment: time_machine.travel(moment, tick=True) starts in
pytest_configure (before any test module is collected and before any fixture, the database set-up and the
live server included, runs) and the clock then moves on normally from there. It patches the process-wide
clock (time.time, datetime.now, date.today, ...), so the live server's thread sees it too. A test that
freezes time itself (time_machine.travel inside it) still does, and comes back to the travelled clock.
Not travelled: the database server's own clock (SQL now()/CURRENT_TIMESTAMP) and the browser's (Chromium is
another process); browser tests run anyway, the pages' JavaScript clock showing the real time. Unset or empty:
the real clock, as always. Moments worth a run (London is UTC+0 in winter, UTC+1 in summer):
    2026-12-05T23:52:00+00:00  just before midnight      2026-12-06T00:03:00+00:00  just after
    2027-03-28T00:30:00+00:00  before clocks go forward  2027-03-28T01:30:00+00:00  after (02:30 BST)
    2026-10-25T01:30:00+00:00  the repeated hour (fall back)
    2026-12-31T23:55:00+00:00  New Year's Eve            2027-04-30T22:55:00+00:00  a month's last evening (BST)
    2028-02-29T12:00:00+00:00  29 February              2026-12-05T12:00:00+00:00 / ...06T12:00  Sat / Sun
"""

import os
from datetime import datetime

import pytest
import time_machine
from django.test import Client

from staff.roles import ADMINISTRATOR, DOCTOR, MANAGER, NURSE, RECEPTIONIST
from staff.tests.factories import UserFactory

# Browser fixtures (Debian's Chromium through Playwright, one live server) for every app's journeys.
pytest_plugins = ["clinic.tests.browser"]


TEST_CLOCK = "CLINIC_TEST_CLOCK"
_travel = None


def _clock_moment(value):
    """The aware datetime CLINIC_TEST_CLOCK names; a UsageError for anything else (no zone, not ISO)."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise pytest.UsageError(
            f"{TEST_CLOCK}={value!r} is not an ISO datetime; use e.g. 2026-12-31T23:52:00+00:00"
        ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise pytest.UsageError(f"{TEST_CLOCK}={value!r} has no zone; add one, e.g. +00:00 or Z")
    return moment


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    global _travel
    value = os.environ.get(TEST_CLOCK, "").strip()
    if value and _travel is None:
        _travel = time_machine.travel(_clock_moment(value), tick=True)
        _travel.start()
    _serve_static_from_app_folders()


def pytest_unconfigure(config):
    global _travel
    if _travel is not None:
        _travel.stop()
        _travel = None


def pytest_report_header(config):
    value = os.environ.get(TEST_CLOCK, "").strip()
    if value:
        from django.utils import timezone

        return f"{TEST_CLOCK}: the session started at {value} ({timezone.localtime():%Y-%m-%d %H:%M %Z} clinic time)"
    return None


def _serve_static_from_app_folders():
    # Static files straight from the app folders, no collectstatic: set before anything (the
    # session-wide live server included) builds the middleware.
    from django.conf import settings

    settings.STATIC_ROOT = None
    settings.WHITENOISE_USE_FINDERS = True
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Uploaded files go to a fresh folder per test (never data/media); returns that folder."""
    folder = tmp_path / "media"
    settings.MEDIA_ROOT = str(folder)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(folder)}},
    }
    return folder


@pytest.fixture(autouse=True)
def _sms_outbox(settings):
    """Text messages go to clinic.sms.outbox (emptied for each test), like e-mails to mail.outbox."""
    from clinic import sms

    settings.SMS_BACKEND = "clinic.sms.LocmemBackend"
    sms.outbox.clear()


@pytest.fixture(autouse=True)
def _fast_and_quiet(settings):
    # Sign-in failures wait on purpose in production; tests should not.
    settings.LOGIN_FAILURE_DELAY = 0
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _let_flush_empty_signed_records(request):
    """SQLite empties a transactional test's database with DELETE, which the triggers guarding
    signed records, closed months and the audit trail refuse; drop those delete guards just before
    (the flush's post_migrate puts them back). PostgreSQL uses TRUNCATE, which row triggers do not
    see; only the audit trail's TRUNCATE guard has to go."""
    yield
    marker = request.node.get_closest_marker("django_db")
    if marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])):
        from django.db import connection

        from clinic.guards import drop_guards_for_test_flush
        from clinical.guards import drop_sqlite_delete_guards
        from finance.guards import drop_sqlite_delete_guards as drop_finance_delete_guards

        drop_sqlite_delete_guards(connection)
        drop_finance_delete_guards(connection)
        drop_guards_for_test_flush(connection)


def _client_for(role):
    user = UserFactory(username=f"{role.lower()}-persona", roles=[role], is_staff=role in (MANAGER, ADMINISTRATOR))
    client = Client()
    client.force_login(user)
    client.user = user
    return client


def _persona(role):
    @pytest.fixture
    def persona(db):
        return _client_for(role)

    persona.__doc__ = f"A client signed in as a {role}."
    return persona


reception = _persona(RECEPTIONIST)
doctor_client = _persona(DOCTOR)
nurse = _persona(NURSE)
manager = _persona(MANAGER)
administrator = _persona(ADMINISTRATOR)


@pytest.fixture
def anonymous():
    return Client()


@pytest.fixture
def client_for(db):
    """client_for("Nurse") -> a signed-in client with that role; None -> a signed-in user with no role."""

    def make(role):
        if role is None:
            user = UserFactory()
            client = Client()
            client.force_login(user)
            client.user = user
            return client
        return _client_for(role)

    return make


@pytest.fixture(scope="session", autouse=True)
def _no_stray_database_sessions(django_db_setup, django_db_blocker):
    """Before the test database is dropped: let a /readyz probe still under way finish (it runs in a thread
    of its own and may outlive its request on a loaded machine), then end any other session still on it, so
    PostgreSQL does not refuse the drop ("being accessed by other users") and leave the database behind."""
    yield
    from concurrent.futures import wait

    from django.db import connection

    from clinic import health

    if health._probe is not None:
        wait([health._probe], timeout=30)
    if connection.vendor == "postgresql":
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )


@pytest.fixture
def api_for(db):
    """api_for("Doctor") -> a DRF APIClient calling with an API token of a user with that role (None: no
    role); `.user`, `.token` and `.key` on it. Made through the service, as "Your API tokens" does."""
    from rest_framework.test import APIClient

    from staff.api_tokens import create_api_token

    def make(role, *, user=None):
        user = user or UserFactory(roles=[role] if role else [], is_staff=role in (MANAGER, ADMINISTRATOR))
        token, key = create_api_token(user=user, name=f"tests ({role or 'no role'})", days=30)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        client.user, client.token, client.key = user, token, key
        return client

    return make


@pytest.fixture(autouse=True)
def _api_rate_counts_per_test(settings):
    """The API's rate limits count in a database cache (shared by a server's workers); in tests they
    count per test in memory, so one test's calls (from 127.0.0.1, as every test's are) never use up
    another's allowance. staff/tests/test_api_tokens.py checks the limits with the database cache."""
    from django.core.cache import caches

    settings.CACHES = {**settings.CACHES, "api": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    caches["api"].clear()
