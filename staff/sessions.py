"""Staff sessions: when each began, where it is, and ending them.

Django keeps the session itself (idle sign-out: SESSION_COOKIE_AGE renewed on every request).
On top of it:
- the time of sign-in is kept in the session, and SessionLifetimeMiddleware ends a session
  SESSION_ABSOLUTE_TIMEOUT hours after it, however active it has been. "Signed in at" is when the
  password was last given: every sign-in with a password (a second one in the same session
  included) restarts the clock, and owes the code step again for a user with two-factor sign-in
  (staff.twofactor.start_sign_in), so a restarted lifetime is never one that skipped the code.
  Passing the code step does not restart it (time spent on the code page counts);
- a StaffSession row per signed-in session (written at sign-in, last_seen refreshed at most once a
  minute, removed at sign-out) is what "Your sessions" lists and what signing out others ends.
"""

import time
from datetime import UTC, datetime, timedelta
from importlib import import_module

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY
from django.db import transaction
from django.utils import timezone

from clinic import audit
from clinic.background import in_background
from clinic.context import client_address

from .models import StaffSession

SIGNED_IN_AT = "staff_signed_in_at"  # Unix time of the sign-in
SEEN_AT = "staff_seen_at"  # Unix time of the last refresh of the StaffSession row
SEEN_EVERY = 60  # seconds: last_seen is written at most this often


def _store():
    # Through the configured session engine, so a cached session (cache, cached_db) ends too.
    return import_module(settings.SESSION_ENGINE).SessionStore()


def _user_agent(request):
    return request.META.get("HTTP_USER_AGENT", "")[: StaffSession._meta.get_field("user_agent").max_length]


def _address(request):
    return client_address(request) or None


def idle_cutoff():
    """Sessions not seen since then have expired (the idle timeout, plus the refresh's minute)."""
    return timezone.now() - timedelta(seconds=settings.SESSION_COOKIE_AGE + SEEN_EVERY)


def absolute_limit():
    return timedelta(hours=settings.SESSION_ABSOLUTE_TIMEOUT)


def record_sign_in(request, user):
    """At sign-in: note the time in the session and write the session's row."""
    now = time.time()
    request.session[SIGNED_IN_AT] = now
    request.session[SEEN_AT] = now
    if request.session.session_key is None:
        request.session.save()
    with transaction.atomic():
        # Rows of sessions that ended without a sign-out (idle, browser closed) go now.
        StaffSession.objects.filter(user=user, last_seen__lt=idle_cutoff()).delete()
        StaffSession.objects.update_or_create(
            session_key=request.session.session_key,
            defaults={
                "user": user,
                "created": timezone.now(),
                "last_seen": timezone.now(),
                "user_agent": _user_agent(request),
                "ip": _address(request),
            },
        )


def record_sign_out(request):
    key = getattr(request, "session", None) and request.session.session_key
    if key:
        StaffSession.objects.filter(session_key=key).delete()


def has_outlived_its_lifetime(request):
    """True when the session began more than SESSION_ABSOLUTE_TIMEOUT hours ago. A session from
    before this rule has no sign-in time: its clock starts now."""
    signed_in_at = request.session.get(SIGNED_IN_AT)
    if signed_in_at is None:
        request.session[SIGNED_IN_AT] = time.time()
        return False
    return time.time() - signed_in_at > absolute_limit().total_seconds()


def note_request(request, *, key_before, hash_before):
    """After a signed-in request: follow a new session key (sign-in step, password change), end the
    user's other sessions when their password changed here, and refresh last_seen once a minute."""
    session = request.session
    key = session.session_key
    if key is None:
        return
    if key_before and key_before != key:
        StaffSession.objects.filter(session_key=key_before).update(session_key=key)
        new_hash = session.get(HASH_SESSION_KEY)
        if hash_before and new_hash and new_hash != hash_before:
            # The password changed (update_session_auth_hash kept this session): Django refuses the
            # other sessions from their next request; end them now so the list says so too.
            end_sessions(request.user, keep=key)
    if in_background(request):
        return  # a page's own read is not the person seen, and must not write the session (clinic/background.py)
    now = time.time()
    if now - session.get(SEEN_AT, 0) < SEEN_EVERY:
        return
    session[SEEN_AT] = now
    updated = StaffSession.objects.filter(session_key=key).update(last_seen=timezone.now())
    if not updated:
        # A session from before this bookkeeping, or one whose row was lost: list it from now on.
        # (get_or_create: two requests of one session may arrive together.)
        started = session.get(SIGNED_IN_AT, now)
        StaffSession.objects.get_or_create(
            session_key=key,
            defaults={
                "user_id": request.user.pk,
                "created": datetime.fromtimestamp(started, tz=UTC),
                "user_agent": _user_agent(request),
                "ip": _address(request),
            },
        )


def active_sessions(user):
    """The user's sessions that have not expired, most recently seen first."""
    return StaffSession.objects.filter(
        user=user,
        last_seen__gte=idle_cutoff(),
        created__gte=timezone.now() - absolute_limit(),
    ).order_by("-last_seen", "-created")


def end_sessions(user, *, keep=None):
    """Sign the user out of every session but `keep` (a session key); how many were still active."""
    rows = StaffSession.objects.filter(user=user)
    if keep:
        rows = rows.exclude(session_key=keep)
    keys, active = [], 0
    cutoff = idle_cutoff()
    for key, last_seen in rows.values_list("session_key", "last_seen"):
        keys.append(key)
        active += last_seen >= cutoff
    store = _store()
    for key in keys:
        store.delete(key)
    StaffSession.objects.filter(session_key__in=keys).delete()
    return active


def sign_out_everywhere(*, user, by):
    """An administrator ends every session of someone (a lost laptop, a leaver); audited."""
    with transaction.atomic():
        audit.record(audit.Action.CHANGE, user, summary=f"{user.audit_label} signed out everywhere")
    return end_sessions(user)
