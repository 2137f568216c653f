"""Two-factor sign-in: set-up, the code step at sign-in, backup codes, turning off, resets, and
REQUIRE_2FA_FOR_ADMINS."""

import base64
import re
from datetime import timedelta
from urllib.parse import unquote

import pytest
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.models import AuditEntry
from staff import twofactor
from staff.models import StaffSession, User
from staff.roles import ADMINISTRATOR, DOCTOR, MANAGER, NURSE, RECEPTIONIST
from staff.tests.factories import UserFactory, code_for, two_factor_for

pytestmark = pytest.mark.django_db

PASSWORD = "clinic-demo-pw"  # what UserFactory sets
HOME = reverse("home")
LOGIN = reverse("login")
LOGOUT = reverse("logout")
VERIFY = reverse("staff:two_factor_verify")
SETUP = reverse("staff:two_factor_setup")
TWO_FACTOR = reverse("staff:two_factor")
BACKUP_CODES = reverse("staff:backup_codes")


def sign_in(client, user, next_url=None):
    """The password step, through the real sign-in page."""
    data = {"username": user.username, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    return client.post(LOGIN, data)


def enter_code(client, code, next_url=""):
    return client.post(VERIFY, {"code": code, "next": next_url})


def wrong_code(device):
    """A 6-digit code far from the app's current ones."""
    return f"{(int(code_for(device)) + 500_000) % 1_000_000:06d}"


def unthrottle(device):
    """As if the wait after a wrong code had passed."""
    type(device).objects.filter(pk=device.pk).update(throttling_failure_timestamp=timezone.now() - timedelta(hours=1))


@pytest.fixture
def rita():
    return UserFactory(username="rita", roles=[RECEPTIONIST])


@pytest.fixture
def rita_2fa(rita):
    return two_factor_for(rita)


# --- set-up -----------------------------------------------------------------------------------------


def test_set_up_page_shows_a_qr_code_and_the_secret_as_text(reception):
    page = reception.get(SETUP)
    assert page.status_code == 200
    device = TOTPDevice.objects.get(user=reception.user)
    assert not device.confirmed, "nothing is on until a code confirms it"
    body = page.content.decode()

    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    assert " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)) in body

    # The QR code is an <img> with an SVG data: URI (img-src allows data:); nothing inline for the CSP.
    match = re.search(r'<img src="(data:image/svg\+xml[^"]+)"', body)
    assert match
    svg = unquote(match.group(1).replace("&#x27;", "'"))
    assert "<svg" in svg and "style" not in svg and "<script" not in svg
    # No inline script or style (the page's own script files, loaded by src, are allowed by the CSP).
    assert not re.search(r"<script(?![^>]*\bsrc=)", body) and " style=" not in body

    # Reloading keeps the same secret (the app may already have it).
    reception.get(SETUP)
    assert TOTPDevice.objects.get(user=reception.user).key == device.key


def test_otpauth_url_names_the_clinic_and_the_user(reception, settings):
    settings.CLINIC_NAME = "Riverside Clinic"
    device = twofactor.pending_authenticator(reception.user)
    url = twofactor.otpauth_url(device, reception.user)
    assert url.startswith(f"otpauth://totp/Riverside%20Clinic%3A{reception.user.username}?secret=")
    assert "issuer=Riverside%20Clinic" in url and "digits=6" in url and "period=30" in url


def test_a_right_code_turns_it_on_and_shows_the_backup_codes_once(reception):
    reception.get(SETUP)
    device = TOTPDevice.objects.get(user=reception.user)

    response = reception.post(SETUP, {"code": code_for(device)})
    assert response.status_code == 302
    assert response["Location"] == BACKUP_CODES
    device.refresh_from_db()
    assert device.confirmed
    codes = list(StaticToken.objects.filter(device__user=reception.user).values_list("token", flat=True))
    assert len(codes) == twofactor.BACKUP_CODE_COUNT

    first = reception.get(BACKUP_CODES).content.decode()
    assert all(code in first for code in codes)
    again = reception.get(BACKUP_CODES).content.decode()
    assert not any(code in again for code in codes), "backup codes are shown once"
    assert "not shown again" in again

    # This session passed a code: it reaches everything.
    assert reception.get(HOME).status_code == 200
    assert AuditEntry.objects.filter(user=reception.user, summary="two-factor sign-in turned on").exists()


def test_a_wrong_code_is_refused_with_a_message_and_nothing_is_turned_on(reception):
    reception.get(SETUP)
    device = TOTPDevice.objects.get(user=reception.user)
    response = reception.post(SETUP, {"code": wrong_code(device)})
    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    assert not StaticDevice.objects.filter(user=reception.user).exists()


def test_turning_it_on_signs_out_the_other_sessions(rita):
    here, elsewhere = Client(), Client()
    sign_in(here, rita)
    sign_in(elsewhere, rita)
    here.get(SETUP)
    device = TOTPDevice.objects.get(user=rita)

    here.post(SETUP, {"code": code_for(device)})

    assert here.get(HOME).status_code == 200
    response = elsewhere.get(HOME)
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


def test_set_up_page_sends_someone_who_has_it_on_to_their_two_factor_page(reception):
    two_factor_for(reception.user)
    # force_login made the session before the device existed, and counts as verified for this test.
    response = reception.get(SETUP)
    assert response.status_code == 302 and response["Location"] == TWO_FACTOR


# --- signing in with a code -------------------------------------------------------------------------


def test_password_alone_reaches_nothing_but_the_code_page_and_sign_out(rita, rita_2fa):
    client = Client()
    response = sign_in(client, rita)
    assert response.status_code == 302

    for url in (HOME, reverse("patients:list"), reverse("staff:sessions"), TWO_FACTOR, reverse("admin:index")):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(VERIFY), url
    # A form post elsewhere is turned back too.
    response = client.post(reverse("staff:sign_out_others"))
    assert response.status_code == 302 and response["Location"].startswith(VERIFY)
    assert client.get(VERIFY).status_code == 200

    assert client.post(LOGOUT).status_code == 302
    assert client.get(HOME)["Location"].startswith(LOGIN)


def test_with_the_code_the_sign_in_reaches_home(rita, rita_2fa):
    client = Client()
    sign_in(client, rita)
    key_before_code = client.session.session_key

    response = enter_code(client, code_for(rita_2fa))
    assert response.status_code == 302
    assert response["Location"] == HOME
    assert client.get(HOME).status_code == 200
    # The verified session has a new key; its row in "Your sessions" followed it.
    assert client.session.session_key != key_before_code
    assert StaffSession.objects.filter(session_key=client.session.session_key, user=rita).exists()
    assert not Session.objects.filter(session_key=key_before_code).exists()


def test_the_code_step_keeps_where_the_person_was_going(rita, rita_2fa):
    client = Client()
    response = sign_in(client, rita, next_url="/patients/")
    assert response["Location"] == "/patients/"
    response = client.get("/patients/")
    assert response["Location"] == f"{VERIFY}?next=%2Fpatients%2F"

    page = client.get(response["Location"])
    assert 'name="next" value="/patients/"' in page.content.decode()
    response = enter_code(client, code_for(rita_2fa), next_url="/patients/")
    assert response["Location"] == "/patients/"


def test_the_code_step_ignores_a_next_on_another_site(rita, rita_2fa):
    client = Client()
    sign_in(client, rita)
    response = enter_code(client, code_for(rita_2fa), next_url="https://evil.example/")
    assert response["Location"] == HOME


def test_a_wrong_code_at_sign_in_is_refused_and_the_wait_grows(rita, rita_2fa):
    client = Client()
    sign_in(client, rita)
    right = code_for(rita_2fa)

    response = enter_code(client, wrong_code(rita_2fa))
    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()
    # Throttled: straight after a wrong code even the right one waits (django-otp's back-off).
    response = enter_code(client, right)
    assert response.status_code == 200
    assert "Too many wrong codes" in response.content.decode()
    assert client.get(HOME)["Location"].startswith(VERIFY)

    unthrottle(rita_2fa)
    assert enter_code(client, right)["Location"] == HOME


def test_a_code_is_accepted_only_once(rita, rita_2fa):
    code = code_for(rita_2fa)
    first = Client()
    sign_in(first, rita)
    assert enter_code(first, code)["Location"] == HOME

    replay = Client()
    sign_in(replay, rita)
    response = enter_code(replay, code)
    assert response.status_code == 200
    assert "already used" in response.content.decode()
    assert replay.get(HOME)["Location"].startswith(VERIFY)

    # The app's next code is accepted.
    unthrottle(rita_2fa)
    assert enter_code(replay, code_for(rita_2fa, steps_ahead=1))["Location"] == HOME


def test_a_backup_code_works_once(rita, rita_2fa):
    client = Client()
    sign_in(client, rita)
    response = enter_code(client, "AAAA 2222")  # as printed, typed with a space and in capitals
    assert response["Location"] == HOME
    assert "backup code; 1 left" in client.get(HOME).content.decode()
    client.post(LOGOUT)

    sign_in(client, rita)
    response = enter_code(client, "aaaa2222")
    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()
    assert StaticToken.objects.filter(device__user=rita).count() == 1


def test_the_code_page_sends_someone_who_owes_no_code_home(reception):
    response = reception.get(VERIFY)
    assert response.status_code == 302 and response["Location"] == HOME


def test_someone_elses_code_does_not_verify(rita, rita_2fa):
    other = UserFactory(roles=[RECEPTIONIST])
    other_device = two_factor_for(other, backup_codes=("cccc4444",))
    client = Client()
    sign_in(client, rita)
    assert enter_code(client, code_for(other_device)).status_code == 200
    assert enter_code(client, "cccc4444").status_code == 200
    assert client.get(HOME)["Location"].startswith(VERIFY)


# --- the admin site -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [MANAGER, ADMINISTRATOR])
def test_the_admin_site_needs_the_code_step(role):
    user = UserFactory(roles=[role], is_staff=True)
    device = two_factor_for(user)
    client = Client()
    sign_in(client, user)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(VERIFY)
    # Its own sign-in page does not open a way round either.
    assert client.get(reverse("admin:login"))["Location"].startswith(VERIFY)

    enter_code(client, code_for(device))
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert "Site administration" in response.content.decode()


def test_the_admin_sign_in_page_also_leads_to_the_code_step():
    user = UserFactory(roles=[ADMINISTRATOR], is_staff=True)
    device = two_factor_for(user)
    client = Client()
    response = client.post(
        reverse("admin:login"), {"username": user.username, "password": PASSWORD, "next": reverse("admin:index")}
    )
    assert response.status_code == 302
    assert client.get(reverse("admin:index"))["Location"].startswith(VERIFY)
    enter_code(client, code_for(device))
    assert client.get(reverse("admin:index")).status_code == 200


def test_the_otp_devices_are_not_in_the_admin():
    from django.contrib import admin

    assert not admin.site.is_registered(TOTPDevice)
    assert not admin.site.is_registered(StaticDevice)


# --- REQUIRE_2FA_FOR_ADMINS ---------------------------------------------------------------------------


def test_when_required_an_administrator_without_it_must_set_it_up_first(settings):
    settings.REQUIRE_2FA_FOR_ADMINS = True
    admin_user = UserFactory(roles=[ADMINISTRATOR], is_staff=True)
    client = Client()
    sign_in(client, admin_user)

    for url in (HOME, reverse("staff:list"), reverse("admin:index"), TWO_FACTOR, VERIFY):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(SETUP), url
    page = client.get(SETUP)
    assert page.status_code == 200
    assert "required for administrators" in page.content.decode()

    device = TOTPDevice.objects.get(user=admin_user)
    client.post(SETUP, {"code": code_for(device)})
    assert client.get(HOME).status_code == 200
    assert client.get(reverse("admin:index")).status_code == 200


def test_when_required_a_superuser_without_it_must_set_it_up_first(settings):
    settings.REQUIRE_2FA_FOR_ADMINS = True
    root = UserFactory(is_superuser=True, is_staff=True)
    client = Client()
    sign_in(client, root)
    assert client.get(reverse("admin:index"))["Location"].startswith(SETUP)


def test_when_required_an_administrator_with_it_still_gives_the_code(settings):
    settings.REQUIRE_2FA_FOR_ADMINS = True
    admin_user = UserFactory(roles=[ADMINISTRATOR], is_staff=True)
    device = two_factor_for(admin_user)
    client = Client()
    sign_in(client, admin_user)
    assert client.get(HOME)["Location"].startswith(VERIFY)
    enter_code(client, code_for(device))
    assert client.get(HOME).status_code == 200


@pytest.mark.parametrize("required", [True, False])
def test_a_receptionist_is_never_made_to_set_it_up(settings, rita, required):
    settings.REQUIRE_2FA_FOR_ADMINS = required
    client = Client()
    sign_in(client, rita)
    assert client.get(HOME).status_code == 200


def test_when_not_required_an_administrator_signs_in_with_a_password(settings):
    settings.REQUIRE_2FA_FOR_ADMINS = False
    admin_user = UserFactory(roles=[ADMINISTRATOR], is_staff=True)
    client = Client()
    sign_in(client, admin_user)
    assert client.get(HOME).status_code == 200
    assert client.get(reverse("admin:index")).status_code == 200


# --- the member's own page: new backup codes, turning off ----------------------------------------------


def _verified_client(user, device):
    client = Client()
    sign_in(client, user)
    enter_code(client, code_for(device))
    return client


def test_new_backup_codes_replace_the_old_ones(rita, rita_2fa):
    client = _verified_client(rita, rita_2fa)
    response = client.post(reverse("staff:new_backup_codes"), {"codes-code": code_for(rita_2fa, steps_ahead=1)})
    assert response.status_code == 302 and response["Location"] == BACKUP_CODES
    codes = set(StaticToken.objects.filter(device__user=rita).values_list("token", flat=True))
    assert len(codes) == twofactor.BACKUP_CODE_COUNT and "aaaa2222" not in codes
    page = client.get(BACKUP_CODES).content.decode()
    assert all(code in page for code in codes)


def test_new_backup_codes_need_a_right_code(rita, rita_2fa):
    client = _verified_client(rita, rita_2fa)
    response = client.post(reverse("staff:new_backup_codes"), {"codes-code": "123"})
    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()
    assert StaticToken.objects.filter(device__user=rita, token="aaaa2222").exists()


def test_turning_it_off_needs_the_password_and_a_code(rita, rita_2fa):
    client = _verified_client(rita, rita_2fa)
    url = reverse("staff:two_factor_disable")

    response = client.post(url, {"off-password": "not-my-password", "off-code": code_for(rita_2fa, steps_ahead=1)})
    assert response.status_code == 200
    assert "That is not your password" in response.content.decode()
    response = client.post(url, {"off-password": PASSWORD, "off-code": wrong_code(rita_2fa)})
    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()
    assert twofactor.is_enabled(rita)

    unthrottle(rita_2fa)
    response = client.post(url, {"off-password": PASSWORD, "off-code": code_for(rita_2fa, steps_ahead=1)})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=rita).exists()
    assert not StaticDevice.objects.filter(user=rita).exists()
    assert client.get(HOME).status_code == 200

    # The next sign-in is the password alone.
    fresh = Client()
    sign_in(fresh, rita)
    assert fresh.get(HOME).status_code == 200


def test_an_administrator_cannot_turn_it_off_when_it_is_required(settings):
    settings.REQUIRE_2FA_FOR_ADMINS = True
    admin_user = UserFactory(roles=[ADMINISTRATOR], is_staff=True)
    device = two_factor_for(admin_user)
    client = _verified_client(admin_user, device)
    assert "cannot be turned off" in client.get(TWO_FACTOR).content.decode()
    response = client.post(
        reverse("staff:two_factor_disable"), {"off-password": PASSWORD, "off-code": code_for(device, steps_ahead=1)}
    )
    assert response.status_code == 302
    assert twofactor.is_enabled(admin_user)


def test_two_factor_page_says_whether_it_is_on(reception):
    assert "Off." in reception.get(TWO_FACTOR).content.decode()


# --- administrators reset someone else's -------------------------------------------------------------


def test_an_administrator_resets_someones_two_factor_and_signs_them_out(administrator, rita, rita_2fa):
    rita_client = _verified_client(rita, rita_2fa)
    page = administrator.get(reverse("staff:security", args=[rita.pk]))
    assert page.status_code == 200
    assert "Reset two-factor sign-in" in page.content.decode()

    response = administrator.post(reverse("staff:reset_two_factor", args=[rita.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("staff:security", args=[rita.pk])
    assert not twofactor.is_enabled(rita)
    assert not StaticDevice.objects.filter(user=rita).exists()
    assert rita_client.get(HOME)["Location"].startswith(LOGIN)
    entry = AuditEntry.objects.get(summary=f"two-factor sign-in of {rita.audit_label} reset")
    assert entry.user == administrator.user and entry.object_id == str(rita.pk)

    # Rita signs in with her password alone (and may set it up again).
    fresh = Client()
    sign_in(fresh, rita)
    assert fresh.get(HOME).status_code == 200


def test_an_administrator_does_not_reset_their_own_from_the_staff_pages(administrator):
    two_factor_for(administrator.user)
    response = administrator.post(reverse("staff:reset_two_factor", args=[administrator.user.pk]))
    assert response.status_code == 302 and response["Location"] == TWO_FACTOR
    assert twofactor.is_enabled(administrator.user)


@pytest.mark.parametrize("role", [RECEPTIONIST, DOCTOR, NURSE, MANAGER, None])
def test_only_administrators_reset_someone_elses(client_for, role, rita, rita_2fa):
    client = client_for(role)
    assert client.post(reverse("staff:reset_two_factor", args=[rita.pk])).status_code == 403
    assert client.get(reverse("staff:security", args=[rita.pk])).status_code == 403
    assert twofactor.is_enabled(rita)


def test_a_session_owing_a_code_is_let_go_when_two_factor_was_turned_off_meanwhile(rita, rita_2fa):
    client = Client()
    sign_in(client, rita)
    assert client.get(HOME)["Location"].startswith(VERIFY)
    TOTPDevice.objects.filter(user=rita).delete()  # turned off in another session
    assert client.get(HOME).status_code == 200


# --- what a session owes can change after sign-in -------------------------------------------------------


def _make_administrator(user):
    user.groups.add(Group.objects.get(name=ADMINISTRATOR))
    User.objects.filter(pk=user.pk).update(is_staff=True)


def _make_superuser(user):
    User.objects.filter(pk=user.pk).update(is_superuser=True, is_staff=True)


@pytest.mark.parametrize("promote", [_make_administrator, _make_superuser], ids=["administrator", "superuser"])
def test_when_required_a_receptionist_promoted_mid_session_must_set_it_up_first(settings, rita, promote):
    settings.REQUIRE_2FA_FOR_ADMINS = True
    client = Client()
    sign_in(client, rita)
    assert client.get(HOME).status_code == 200, "a receptionist owes nothing"

    promote(rita)  # by an administrator, in another session

    for url in (HOME, reverse("staff:list"), reverse("admin:index"), TWO_FACTOR):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(SETUP), url
    assert client.get(SETUP).status_code == 200


def test_when_not_required_a_promoted_session_goes_on_with_its_password(settings, rita):
    settings.REQUIRE_2FA_FOR_ADMINS = False
    client = Client()
    sign_in(client, rita)
    _make_administrator(rita)
    assert client.get(reverse("admin:index")).status_code == 200


def test_when_required_an_administrator_made_receptionist_is_no_longer_held_at_set_up(settings):
    settings.REQUIRE_2FA_FOR_ADMINS = True
    user = UserFactory(roles=[ADMINISTRATOR], is_staff=True)
    client = Client()
    sign_in(client, user)
    assert client.get(HOME)["Location"].startswith(SETUP)

    user.groups.set([Group.objects.get(name=RECEPTIONIST)])
    User.objects.filter(pk=user.pk).update(is_staff=False)
    assert client.get(HOME).status_code == 200


@pytest.mark.parametrize("required", [True, False])
def test_a_password_only_session_owes_the_code_once_an_authenticator_is_set_up_elsewhere(settings, rita, required):
    settings.REQUIRE_2FA_FOR_ADMINS = required
    here, elsewhere = Client(), Client()
    sign_in(here, rita)
    sign_in(elsewhere, rita)
    assert here.get(HOME).status_code == 200

    elsewhere.get(SETUP)
    elsewhere.post(SETUP, {"code": code_for(TOTPDevice.objects.get(user=rita))})
    # Turning it on ends the other sessions (they never passed a code), whatever the setting.
    assert here.get(HOME)["Location"].startswith(LOGIN)


def test_when_required_a_surviving_password_only_session_owes_the_code_once_a_device_exists(settings, rita):
    # A session that setting it up did not end (no row in "Your sessions", say) still owes the code.
    settings.REQUIRE_2FA_FOR_ADMINS = True
    client = Client()
    sign_in(client, rita)
    assert client.get(HOME).status_code == 200
    two_factor_for(rita)
    assert client.get(HOME)["Location"].startswith(VERIFY)


def _home_queries(client):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(HOME).status_code == 200
    return len(queries.captured_queries)


def test_when_required_the_re_check_costs_at_most_one_query_a_request(settings, rita):
    client = Client()
    sign_in(client, rita)
    settings.REQUIRE_2FA_FOR_ADMINS = False
    _home_queries(client)  # once, so both counts below are of an ordinary request
    without = _home_queries(client)
    settings.REQUIRE_2FA_FOR_ADMINS = True
    assert _home_queries(client) <= without + 1


def test_a_verified_session_pays_nothing_for_the_re_check(settings, rita, rita_2fa):
    client = _verified_client(rita, rita_2fa)
    settings.REQUIRE_2FA_FOR_ADMINS = False
    _home_queries(client)
    without = _home_queries(client)
    settings.REQUIRE_2FA_FOR_ADMINS = True
    assert _home_queries(client) == without
