"""Sessions: the absolute lifetime, idle sign-out, sign-out on password change, "Your sessions" and
signing out other sessions, administrators signing someone out everywhere."""

import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic.models import AuditEntry
from staff import sessions
from staff.models import StaffSession, describe_user_agent
from staff.roles import ADMINISTRATOR, DOCTOR, MANAGER, NURSE, RECEPTIONIST
from staff.tests.factories import UserFactory, code_for, two_factor_for

pytestmark = pytest.mark.django_db

PASSWORD = "clinic-demo-pw"  # what UserFactory sets
NEW_PASSWORD = "heron-quartz-meadow-71"
HOME = reverse("home")
LOGIN = reverse("login")
SESSIONS = reverse("staff:sessions")
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI_PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)


def signed_in_client(user, **client_kwargs):
    """A client signed in through the real sign-in page (so the session's row is written as in life)."""
    client = Client(**client_kwargs)
    response = client.post(LOGIN, {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    return client


def is_signed_out(client):
    response = client.get(HOME)
    return response.status_code == 302 and response["Location"].startswith(LOGIN)


@pytest.fixture
def rita():
    return UserFactory(username="rita", roles=[RECEPTIONIST])


@pytest.fixture
def later(monkeypatch):
    """later(hours=13): the sessions clock moves on that much (Django's own clock does not, so the
    idle timeout is not what ends the session)."""

    def move(**delta):
        moved = time.time() + timedelta(**delta).total_seconds()
        monkeypatch.setattr(sessions, "time", SimpleNamespace(time=lambda: moved))

    return move


# --- absolute lifetime, idle timeout -------------------------------------------------------------------


def test_a_session_ends_after_its_absolute_lifetime_however_active(rita, later, settings):
    settings.SESSION_ABSOLUTE_TIMEOUT = 12
    client = signed_in_client(rita)
    assert client.get(HOME).status_code == 200

    later(hours=11, minutes=59)
    assert client.get(HOME).status_code == 200, "still within its lifetime"

    later(hours=12, minutes=1)
    response = client.get(reverse("patients:list"))
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next=/patients/"
    assert "signed out after a long session" in client.get(response["Location"]).content.decode()
    assert "_auth_user_id" not in client.session
    assert not StaffSession.objects.filter(user=rita).exists()


def test_the_lifetime_counts_from_sign_in_not_from_the_last_request(rita, later, settings):
    settings.SESSION_ABSOLUTE_TIMEOUT = 2
    client = signed_in_client(rita)
    for hours in (0.5, 1, 1.5, 1.9):
        later(hours=hours)
        assert client.get(HOME).status_code == 200
    later(hours=2.1)
    assert is_signed_out(client)


def test_signing_in_again_starts_a_new_lifetime(rita, later, settings):
    settings.SESSION_ABSOLUTE_TIMEOUT = 12
    later(hours=13)
    client = signed_in_client(rita)  # signed in "now" by the moved clock
    assert client.get(HOME).status_code == 200


def test_the_idle_timeout_still_signs_out(rita):
    client = signed_in_client(rita)
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    assert is_signed_out(client)


def test_lifetime_setting_defaults_to_twelve_hours():
    import importlib

    production = importlib.import_module("clinic.settings")
    assert production.SESSION_ABSOLUTE_TIMEOUT == 12
    assert production.REQUIRE_2FA_FOR_ADMINS is False


# --- giving the password again -------------------------------------------------------------------------


def _verified_administrator_client():
    """An administrator (the admin site's sign-in page takes only staff) who signed in with the code."""
    user = UserFactory(roles=[ADMINISTRATOR], is_staff=True)
    device = two_factor_for(user)
    client = signed_in_client(user)
    client.post(reverse("staff:two_factor_verify"), {"code": code_for(device)})
    assert client.get(HOME).status_code == 200
    return client, user, device


def test_giving_the_password_again_owes_the_code_again(later, settings):
    settings.SESSION_ABSOLUTE_TIMEOUT = 12
    client, user, device = _verified_administrator_client()

    later(hours=11.9)
    response = client.post(reverse("admin:login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302

    verify = reverse("staff:two_factor_verify")
    for url in (HOME, reverse("admin:index"), reverse("patients:list"), reverse("staff:sessions"), SESSIONS):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(verify), url
    response = client.post(reverse("staff:sign_out_others"))
    assert response.status_code == 302 and response["Location"].startswith(verify)
    assert client.get(verify).status_code == 200

    # Password and code again: a whole new sign-in, so the lifetime starts again from the password.
    client.post(verify, {"code": code_for(device, steps_ahead=1)})
    assert client.get(reverse("admin:index")).status_code == 200
    later(hours=12.1)
    assert client.get(HOME).status_code == 200
    later(hours=11.9 + 12.1)
    assert is_signed_out(client)


def test_giving_the_password_again_without_the_code_does_not_stretch_the_lifetime(later, settings):
    settings.SESSION_ABSOLUTE_TIMEOUT = 12
    client, user, _ = _verified_administrator_client()
    later(hours=11.9)
    client.post(reverse("admin:login"), {"username": user.username, "password": PASSWORD})
    later(hours=12.1)
    # Nothing but the code page and sign-out, however long it lives.
    assert client.get(HOME)["Location"].startswith(reverse("staff:two_factor_verify"))


def test_the_sign_in_page_turns_away_a_signed_in_session(rita, later):
    client = signed_in_client(rita)
    signed_in_at = client.session[sessions.SIGNED_IN_AT]
    later(hours=11.9)
    response = client.post(LOGIN, {"username": rita.username, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.session[sessions.SIGNED_IN_AT] == signed_in_at, "no new sign-in, no new lifetime"


# --- password change --------------------------------------------------------------------------------


def test_changing_the_password_signs_out_the_other_sessions_and_keeps_this_one(rita):
    here, elsewhere = signed_in_client(rita), signed_in_client(rita)
    assert elsewhere.get(HOME).status_code == 200

    response = here.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("password_change_done")

    assert here.get(HOME).status_code == 200, "the session that changed it stays signed in"
    assert is_signed_out(elsewhere)
    # The list says so: one session, this one, under its new key.
    assert list(StaffSession.objects.filter(user=rita).values_list("session_key", flat=True)) == [
        here.session.session_key
    ]


# --- "Your sessions" --------------------------------------------------------------------------------


def test_sessions_are_recorded_at_sign_in_and_removed_at_sign_out(rita):
    client = signed_in_client(rita, HTTP_USER_AGENT=FIREFOX, REMOTE_ADDR="203.0.113.7")
    row = StaffSession.objects.get(user=rita)
    assert row.session_key == client.session.session_key
    assert row.ip == "203.0.113.7"
    assert row.device == "Firefox on Windows"

    client.post(reverse("logout"))
    assert not StaffSession.objects.filter(user=rita).exists()


def test_sessions_page_lists_both_sessions_and_marks_this_one(rita):
    here = signed_in_client(rita, HTTP_USER_AGENT=FIREFOX, REMOTE_ADDR="203.0.113.7")
    signed_in_client(rita, HTTP_USER_AGENT=SAFARI_PHONE, REMOTE_ADDR="198.51.100.20")

    page = here.get(SESSIONS)
    assert page.status_code == 200
    assert sorted(row.device for row in page.context["sessions"]) == ["Firefox on Windows", "Safari on iPhone"]
    current = [row for row in page.context["sessions"] if row.is_current]
    assert [row.device for row in current] == ["Firefox on Windows"]
    body = page.content.decode()
    assert "203.0.113.7" in body and "198.51.100.20" in body
    assert "this session" in body
    assert "Sign out all other sessions" in body
    assert here.session.session_key not in body, "session keys are never shown"


def test_sign_out_other_sessions_ends_the_other_client_only(rita):
    here, elsewhere = signed_in_client(rita), signed_in_client(rita)
    other_key = elsewhere.session.session_key

    response = here.post(reverse("staff:sign_out_others"))
    assert response.status_code == 302
    assert response["Location"] == SESSIONS
    assert "Signed out of 1 other session." in here.get(SESSIONS).content.decode()

    assert here.get(HOME).status_code == 200
    assert is_signed_out(elsewhere)
    assert not Session.objects.filter(session_key=other_key).exists()
    assert list(StaffSession.objects.filter(user=rita).values_list("session_key", flat=True)) == [
        here.session.session_key
    ]


def test_other_peoples_sessions_are_neither_listed_nor_ended(rita):
    someone = UserFactory(roles=[RECEPTIONIST])
    theirs = signed_in_client(someone, HTTP_USER_AGENT=SAFARI_PHONE)
    here = signed_in_client(rita, HTTP_USER_AGENT=FIREFOX)

    assert [row.device for row in here.get(SESSIONS).context["sessions"]] == ["Firefox on Windows"]
    here.post(reverse("staff:sign_out_others"))
    assert theirs.get(HOME).status_code == 200


def test_expired_sessions_are_not_listed(rita, settings):
    here = signed_in_client(rita)
    signed_in_client(rita)
    StaffSession.objects.exclude(session_key=here.session.session_key).update(
        last_seen=timezone.now() - timedelta(seconds=settings.SESSION_COOKIE_AGE + 120)
    )
    assert len(here.get(SESSIONS).context["sessions"]) == 1


def test_last_seen_is_written_at_most_once_a_minute(rita, later):
    client = signed_in_client(rita)
    row = StaffSession.objects.get(user=rita)
    long_ago = timezone.now() - timedelta(minutes=5)
    StaffSession.objects.filter(pk=row.pk).update(last_seen=long_ago)

    client.get(HOME)
    assert StaffSession.objects.get(pk=row.pk).last_seen == long_ago, "not within the minute after the last write"

    later(seconds=61)
    client.get(HOME)
    assert StaffSession.objects.get(pk=row.pk).last_seen > long_ago


def test_a_session_from_before_the_sessions_list_gets_a_row(rita, later):
    client = signed_in_client(rita)
    StaffSession.objects.all().delete()
    later(seconds=61)
    client.get(HOME)
    assert StaffSession.objects.filter(user=rita, session_key=client.session.session_key).exists()


def _sessions_page_queries(user, count):
    clients = [signed_in_client(user, HTTP_USER_AGENT=FIREFOX) for _ in range(count)]
    with CaptureQueriesContext(connection) as queries:
        assert clients[0].get(SESSIONS).status_code == 200
    return len(queries.captured_queries)


def test_sessions_page_queries_do_not_grow_with_sessions():
    few = _sessions_page_queries(UserFactory(roles=[RECEPTIONIST]), 2)
    many = _sessions_page_queries(UserFactory(roles=[RECEPTIONIST]), 12)
    assert few == many
    # The session, the user, the sessions list, the menu's permissions (2), the session's save (3).
    assert many <= 8


# --- administrators sign someone out everywhere ------------------------------------------------------


def test_an_administrator_signs_someone_out_everywhere(administrator, rita):
    first, second = signed_in_client(rita), signed_in_client(rita)
    page = administrator.get(reverse("staff:security", args=[rita.pk]))
    assert len(page.context["sessions"]) == 2

    response = administrator.post(reverse("staff:sign_out_everywhere", args=[rita.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("staff:security", args=[rita.pk])
    assert is_signed_out(first) and is_signed_out(second)
    assert not StaffSession.objects.filter(user=rita).exists()
    entry = AuditEntry.objects.get(summary__endswith="signed out everywhere")
    assert entry.user == administrator.user and entry.object_id == str(rita.pk)
    assert administrator.get(HOME).status_code == 200


def test_an_administrator_signs_themself_out_from_their_own_sessions_page(administrator):
    response = administrator.post(reverse("staff:sign_out_everywhere", args=[administrator.user.pk]))
    assert response.status_code == 302 and response["Location"] == SESSIONS
    assert administrator.get(HOME).status_code == 200


@pytest.mark.parametrize("role", [RECEPTIONIST, DOCTOR, NURSE, MANAGER, None])
def test_only_administrators_sign_someone_out_everywhere(client_for, role, rita):
    theirs = signed_in_client(rita)
    client = client_for(role)
    assert client.post(reverse("staff:sign_out_everywhere", args=[rita.pk])).status_code == 403
    assert theirs.get(HOME).status_code == 200


# --- describing a device ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "agent, described",
    [
        (FIREFOX, "Firefox on Windows"),
        (SAFARI_PHONE, "Safari on iPhone"),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
            "Edge on macOS",
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
            "Chrome on Linux",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36",
            "Chrome on Android",
        ),
        ("", "Unknown device"),
        ("something else", "Another browser"),
    ],
)
def test_user_agents_are_described_in_a_few_words(agent, described):
    assert describe_user_agent(agent) == described
