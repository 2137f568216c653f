"""Shared fixtures: one signed-in client per role (personas), and the settings tests need."""

import pytest
from django.test import Client

from staff.roles import ADMINISTRATOR, DOCTOR, MANAGER, NURSE, RECEPTIONIST
from staff.tests.factories import UserFactory

# Browser fixtures (Debian's Chromium through Playwright, one live server) for every app's journeys.
pytest_plugins = ["clinic.tests.browser"]


def pytest_configure(config):
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
