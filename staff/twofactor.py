"""Two-factor sign-in: an authenticator app (TOTP) and one-time backup codes, with django-otp.

A member of staff turns it on from their own page (scan the QR code, confirm with a code) and gets
a handful of backup codes, shown once. From then on a correct password is only the first step:
until the session has passed the code step (OTPMiddleware's `user.is_verified()`), the user reaches
the code page and sign-out, nothing else (TwoFactorMiddleware). django-otp keeps the rules for
codes: a TOTP code is accepted once (`last_t`), within one time step either way of the clock, and
wrong codes slow the next try exponentially (throttling, per device).

With REQUIRE_2FA_FOR_ADMINS, Administrators and superusers without it are sent to set it up
before anything else. What a session owes is worked out at sign-in and kept in the session. It is
looked up again (one query) on each request of a session that has not passed a code when it may
have changed since: while a code is owed (the authenticator may have been turned off or reset), and
while REQUIRE_2FA_FOR_ADMINS is on (the user may have been made an Administrator or superuser, or set
up an authenticator in another session, since). A session that passed the code step costs no query.
Turning two-factor sign-in on also ends the user's other sessions, which never passed a code.

Every sign-in with a password owes the code again (start_sign_in): Django's login() keeps the
session's data when the same user signs in again, django-otp's verified device included, so without
this, giving the password again would keep the code step passed under a fresh session lifetime.
"""

import math
from base64 import b32encode
from urllib.parse import quote, urlencode

import segno
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic import audit

from . import sessions
from .models import User
from .roles import ADMINISTRATOR

# What the session owes, decided at sign-in and kept in the session.
STATE = "staff_2fa"
HAS_DEVICE = "device"  # the user has an authenticator: the code step is owed until passed
ADMIN_WITHOUT = "admin"  # an administrator without one: set-up is owed when REQUIRE_2FA_FOR_ADMINS
NOTHING = "none"

# The steps a session may owe, and the only pages (URL names) it may reach until then.
VERIFY = "verify"
SETUP = "setup"
OPEN_DURING = {
    VERIFY: {"staff:two_factor_verify", "logout", "favicon"},
    SETUP: {"staff:two_factor_setup", "logout", "favicon"},
}

BACKUP_CODE_COUNT = 8
SHOWN_CODES = "staff_backup_codes"  # new backup codes, kept in the session until shown once

WRONG_CODE = "That code is not right, or it was already used. Enter the newest code from your app."
WRONG_CODE_OR_BACKUP = (
    "That code is not right, or it was already used. Enter the newest code from your app, or an unused backup code."
)


class CodeRefused(Exception):
    """A code was not accepted; str() is the message for the person."""


# --- who needs what -------------------------------------------------------------------------------


def authenticator(user, *, confirmed=True):
    return TOTPDevice.objects.filter(user=user, confirmed=confirmed).order_by("pk").first()


def is_enabled(user):
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def is_administrator(user):
    return user.is_superuser or user.groups.filter(name=ADMINISTRATOR).exists()


def is_required(user):
    return settings.REQUIRE_2FA_FOR_ADMINS and is_administrator(user)


def _current_state(user):
    """HAS_DEVICE, ADMIN_WITHOUT or NOTHING for `user` as the database has it now, in one query."""
    devices = TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
    administrator = User.groups.through.objects.filter(user=OuterRef("pk"), group__name=ADMINISTRATOR)
    row = (
        User.objects.filter(pk=user.pk)
        .annotate(has_device=Exists(devices), in_administrators=Exists(administrator))
        .values_list("has_device", "in_administrators")
        .first()
    )
    has_device, in_administrators = row or (False, False)
    if has_device:
        return HAS_DEVICE
    # is_superuser is read from the user row loaded for this request, so it is current too.
    if user.is_superuser or in_administrators:
        return ADMIN_WITHOUT
    return NOTHING


def remember_state(request, user):
    state = _current_state(user)
    if request.session.get(STATE) != state:
        request.session[STATE] = state
    return state


def start_sign_in(request, user):
    """At every sign-in with a password: a code step passed before no longer counts (Django's
    login() keeps the session's data for the same user, django-otp's verified device included), and
    what the session owes is worked out afresh."""
    request.session.pop(DEVICE_ID_SESSION_KEY, None)
    if hasattr(user, "otp_device"):
        # So django-otp's own user_logged_in receiver, whichever runs last, has no device to keep.
        user.otp_device = None
    return remember_state(request, user)


def step_owed(request):
    """VERIFY, SETUP or None: what this signed-in session must do before anything else."""
    if request.user.is_verified():
        return None
    state = request.session.get(STATE)
    if state in (None, HAS_DEVICE) or settings.REQUIRE_2FA_FOR_ADMINS:
        # Looked up again rather than trusted from sign-in, one query: while a code is owed, the
        # authenticator may have been turned off (in another session) or reset since, and then
        # there is no code to give; while administrators must have it, the user may have been made
        # an Administrator or superuser since (set-up owed), set one up in a session that survived
        # (the code owed), or stopped being an administrator (set-up no longer owed).
        state = remember_state(request, request.user)
    if state == HAS_DEVICE:
        return VERIFY
    if state == ADMIN_WITHOUT and settings.REQUIRE_2FA_FOR_ADMINS:
        return SETUP
    return None


# --- codes ----------------------------------------------------------------------------------------


def _normalise(code):
    return "".join((code or "").split()).replace("-", "").lower()


def _throttled_message(data):
    wait = math.ceil(((data or {}).get("locked_until", timezone.now()) - timezone.now()).total_seconds())
    wait = max(wait, 1)
    return f"Too many wrong codes. Wait {wait} second{'s' if wait > 1 else ''}, then try the newest code."


def check_code(user, code, *, device=None, backup=True):
    """The device that accepts `code` (the authenticator, or a backup code when `backup`), or
    CodeRefused. Each device row is locked while it checks, so one code cannot pass twice at once;
    a wrong code's throttling is committed even though the caller sees a refusal."""
    code = _normalise(code)
    refusal = WRONG_CODE_OR_BACKUP if backup else WRONG_CODE
    with transaction.atomic():
        if code.isdigit():
            candidates = TOTPDevice.objects.filter(user=user).select_for_update()
            candidates = candidates.filter(pk=device.pk) if device else candidates.filter(confirmed=True)
        elif backup and code:
            candidates = StaticDevice.objects.filter(user=user, confirmed=True).select_for_update()
        else:
            candidates = []
        for candidate in candidates:
            allowed, data = candidate.verify_is_allowed()
            if not allowed:
                refusal = _throttled_message(data)
            elif candidate.verify_token(code):
                return candidate
    raise CodeRefused(refusal)


def pass_code_step(request, device):
    """The session has passed the code step with `device`: it is verified from now on, under a new
    session key (a key seen before the step never carries the verified session)."""
    otp_login(request, device)
    request.session.cycle_key()
    request.session[STATE] = HAS_DEVICE


# --- set-up, backup codes, turning off ------------------------------------------------------------


def pending_authenticator(user):
    """The authenticator being set up: the same secret on every visit until it is confirmed."""
    return authenticator(user, confirmed=False) or TOTPDevice.objects.create(
        user=user, name="Authenticator app", confirmed=False
    )


def otpauth_url(device, user):
    """The key URI authenticator apps read from the QR code."""
    issuer = settings.CLINIC_NAME.replace(":", "")
    label = quote(f"{issuer}:{user.get_username()}")
    params = {"secret": secret_text(device, grouped=False), "issuer": issuer, "algorithm": "SHA1"}
    params |= {"digits": device.digits, "period": device.step}
    return f"otpauth://totp/{label}?{urlencode(params, quote_via=quote)}"


def secret_text(device, *, grouped=True):
    """The secret in base32, as typed into an app that cannot scan (in groups of four for reading)."""
    secret = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)) if grouped else secret


def qr_code_data_uri(device, user):
    """The QR code as an SVG data: URI for an <img> (no inline markup, so the CSP is untouched)."""
    return segno.make(otpauth_url(device, user), error="m").svg_data_uri(scale=5, border=4, dark="#000", light="#fff")


def _new_backup_codes(user):
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="Backup codes", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def backup_codes_left(user):
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def confirm_set_up(request, *, device, code):
    """Turn two-factor sign-in on once `code` proves the app holds the secret. The user's other
    sessions end (they never passed a code); this one is verified. Returns the backup codes."""
    user = request.user
    check_code(user, code, device=device, backup=False)
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        codes = _new_backup_codes(user)
        audit.record(audit.Action.CHANGE, user, summary="two-factor sign-in turned on")
    sessions.end_sessions(user, keep=request.session.session_key)
    pass_code_step(request, device)
    return codes


def replace_backup_codes(request, *, code):
    """New backup codes (the old ones stop working), after a code from the app."""
    user = request.user
    check_code(user, code, backup=False)
    with transaction.atomic():
        codes = _new_backup_codes(user)
        audit.record(audit.Action.CHANGE, user, summary="new two-factor backup codes")
    return codes


def _remove_devices(user):
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()


def turn_off(request, *, code):
    """The user turns it off themselves, with a code (their password is checked by the form)."""
    user = request.user
    check_code(user, code)
    with transaction.atomic():
        _remove_devices(user)
        audit.record(audit.Action.CHANGE, user, summary="two-factor sign-in turned off")
    request.session.pop(DEVICE_ID_SESSION_KEY, None)
    remember_state(request, user)


def reset(*, user, by):
    """An administrator clears someone's two-factor sign-in (a lost phone) and signs them out
    everywhere; they set it up again at their next sign-in (if it is required of them) or when they choose."""
    with transaction.atomic():
        _remove_devices(user)
        audit.record(audit.Action.CHANGE, user, summary=f"two-factor sign-in of {user.audit_label} reset")
    return sessions.end_sessions(user)
