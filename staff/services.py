"""Changes to staff accounts: who a person is, what they may do, and their password.

The staff pages, the admin and commands all go through these. The rules a privacy officer relies on:
- nobody changes their own roles (nor, in the admin, their own superuser or permission flags);
- every change of roles, every password set for someone else, every rename and every
  (de)activation is an audit entry naming who did it, to whom, and what changed;
- a password chosen by someone other than its owner must be replaced by the owner at their next
  sign-in, and setting it ends the owner's sessions;
- a username that appears in the audit trail is never given to another account, so one person's
  entries can never be read as another's.
"""

import hashlib
import secrets
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from clinic import audit
from clinic.models import AuditEntry

from . import sessions
from .models import APIToken, CalendarFeed, Doctor, Specialty, User
from .roles import ADMIN_SITE_ROLES, CLINICAL_ROLES

OWN_ROLES_REFUSED = "Nobody can change their own roles; ask another administrator."
_NAME_FIELDS = ("username", "first_name", "last_name")
_RIGHTS_FIELDS = ("is_superuser", "is_staff")


def username_taken(username, *, account=None):
    """Why `username` cannot be given to `account` (None: a new account), or "" when it can."""
    others = User.objects.filter(username__iexact=username)
    if account is not None and account.pk:
        others = others.exclude(pk=account.pk)
    if others.exists():
        return "A staff account with this username already exists."
    used = AuditEntry.objects.filter(username__iexact=username)
    if account is not None and account.pk:
        used = used.exclude(user_id=account.pk)
    if used.exists():
        return "Another account used this username before; the audit trail keeps it, so choose another."
    return ""


def _role_summary(user, added, removed):
    parts = [f"+{name}{' (clinical)' if name in CLINICAL_ROLES else ''}" for name in sorted(added)]
    parts += [f"−{name}" for name in sorted(removed)]
    return f"roles of {user.audit_label}: {', '.join(parts)}"


@transaction.atomic
def set_roles(user, roles, *, by):
    """Give `user` exactly these groups (roles); audited when anything changes."""
    wanted = {group.name: group for group in roles}
    current = {group.name: group for group in user.groups.all()}
    added, removed = set(wanted) - set(current), set(current) - set(wanted)
    if not added and not removed:
        return
    if by is not None and user.pk == by.pk:
        raise PermissionDenied(OWN_ROLES_REFUSED)
    if added:
        user.groups.add(*(wanted[name] for name in added))
    if removed:
        user.groups.remove(*(current[name] for name in removed))
    # The admin site is for managers' and administrators' work.
    user.is_staff = user.is_superuser or any(name in ADMIN_SITE_ROLES for name in wanted)
    user.save(update_fields=["is_staff"])
    audit.record(audit.Action.ROLES, user, summary=_role_summary(user, added, removed))


def _stored(user):
    return User.objects.filter(pk=user.pk).values(*_NAME_FIELDS, *_RIGHTS_FIELDS, "is_active").first() or {}


def _changes(before, user, fields):
    return "; ".join(
        f"{field.replace('_', ' ')} {before[field]!s} → {getattr(user, field)!s}"
        for field in fields
        if before.get(field) != getattr(user, field)
    )


@transaction.atomic
def save_account(user, *, by, roles=None):
    """Save an existing account's details (and roles, when given). A rename, a change of the
    superuser or admin-site flags and a (de)activation are audited; none on one's own account."""
    before = _stored(user)
    problem = username_taken(user.username, account=user)
    if problem:
        raise ValidationError({"username": problem})
    rights = _changes(before, user, _RIGHTS_FIELDS)
    if by is not None and user.pk == by.pk and (rights or before.get("is_active") != user.is_active):
        raise PermissionDenied(OWN_ROLES_REFUSED)
    user.save()
    renamed = _changes(before, user, _NAME_FIELDS)
    if renamed:
        audit.record(audit.Action.RENAME, user, summary=f"renamed: {renamed}")
    if rights:
        audit.record(audit.Action.ROLES, user, summary=f"rights of {user.audit_label}: {rights}")
    if before.get("is_active") != user.is_active:
        _activation_changed(user)
    if roles is not None:
        set_roles(user, roles, by=by)
    return user


@transaction.atomic
def set_permissions(user, permissions, *, by):
    """Permissions outside the roles (a superuser's exception, in the admin): audited like roles."""
    wanted, current = set(permissions), set(user.user_permissions.all())
    if wanted == current:
        return
    if by is not None and user.pk == by.pk:
        raise PermissionDenied(OWN_ROLES_REFUSED)
    user.user_permissions.set(wanted)
    parts = [f"+{p.content_type.app_label}.{p.codename}" for p in wanted - current]
    parts += [f"−{p.content_type.app_label}.{p.codename}" for p in current - wanted]
    audit.record(audit.Action.ROLES, user, summary=f"permissions of {user.audit_label}: {', '.join(sorted(parts))}")


@transaction.atomic
def create_account(user, *, roles, by):
    """Save a new account (its first password already set on it, chosen by `by`): its owner
    replaces that password at their first sign-in."""
    problem = username_taken(user.username)
    if problem:
        raise ValidationError({"username": problem})
    user.must_change_password = True
    user.save()
    audit.record(audit.Action.CREATE, user, summary=f"account {user.audit_label} created")
    set_roles(user, roles, by=by)
    return user


@transaction.atomic
def set_password_for(user, password, *, by):
    """An administrator sets (or, with None, disables) someone else's password: audited, the owner's
    sessions end, and the owner must choose their own at the next sign-in."""
    if by is not None and user.pk == by.pk:
        raise PermissionDenied("Change your own password on your own password page.")
    if password:
        user.set_password(password)
        user.must_change_password = True
        summary = f"password of {user.audit_label} set; to be changed at next sign-in"
    else:
        user.set_unusable_password()
        summary = f"password sign-in of {user.audit_label} turned off"
    user.save(update_fields=["password", "must_change_password"])
    audit.record(audit.Action.PASSWORD, user, summary=summary)
    sessions.end_sessions(user)
    return user


@transaction.atomic
def change_own_password(user, password):
    """The owner sets their own password (their current one was checked by the form)."""
    user.set_password(password)
    user.save()
    password_changed_by_owner(user)
    return user


def password_changed_by_owner(user):
    """The owner chose their own password: what an administrator set is no longer in use."""
    if user.must_change_password:
        user.must_change_password = False
        user.save(update_fields=["must_change_password"])


def _activation_changed(user):
    audit.record(
        audit.Action.CHANGE,
        user,
        summary=f"{user.audit_label} {'reactivated' if user.is_active else 'deactivated'}",
    )
    if not user.is_active:
        sessions.end_sessions(user)


@transaction.atomic
def set_active(user, active, *, by):
    """Deactivate or reactivate an account (never one's own); deactivation ends its sessions."""
    if by is not None and user.pk == by.pk:
        raise PermissionDenied("You cannot deactivate your own account.")
    if user.is_active == active:
        return user
    user.is_active = active
    user.save(update_fields=["is_active"])
    _activation_changed(user)
    return user


# --- doctors ---------------------------------------------------------------------------------------


@transaction.atomic
def save_doctor_profile(*, doctor: Doctor, hours=(), removed_hours=()) -> Doctor:
    """A doctor's profile with the working hours added or changed and those removed, together."""
    doctor.save()
    save_working_hours(doctor=doctor, hours=hours, removed=removed_hours)
    return doctor


@transaction.atomic
def save_working_hours(*, doctor: Doctor, hours=(), removed=()):
    for interval in removed:
        interval.delete()
    for interval in hours:
        interval.doctor = doctor
        interval.save()


@transaction.atomic
def save_specialty(*, specialty: Specialty) -> Specialty:
    specialty.save()
    return specialty


@transaction.atomic
def remove_specialty(*, specialty: Specialty):
    """Only a specialty no doctor has (the database refuses the others)."""
    specialty.delete()


# --- API tokens (staff/api_tokens.py checks them on each call) --------------------------------------
# A key is `clinic_` + 40 random URL-safe characters (240 bits); only its SHA-256 is kept: a key has far
# too much entropy to be guessed from its hash, so no slow hash is needed, and a lookup is one index probe.

KEY_PREFIX = "clinic_"
LIFETIMES = {30: "30 days", 90: "90 days", 365: "a year"}
MAX_USABLE_TOKENS = 20


def key_hash(key):
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def create_api_token(*, user, name, days) -> tuple[APIToken, str]:
    """(the token, its key): the key is shown to its owner once and never stored."""
    name = " ".join(name.split())
    if not name:
        raise ValidationError({"name": "Say what will use this token."})
    if days not in LIFETIMES:
        raise ValidationError({"days": "Choose how long the token lasts."})
    if APIToken.objects.usable().filter(user=user).count() >= MAX_USABLE_TOKENS:
        raise ValidationError({"name": f"You have {MAX_USABLE_TOKENS} tokens in use; revoke one first."})
    key = KEY_PREFIX + secrets.token_urlsafe(30)
    token = APIToken.objects.create(
        user=user,
        name=name,
        prefix=key[: len(KEY_PREFIX) + 6],
        key_hash=key_hash(key),
        expires_at=timezone.now() + timedelta(days=days),
    )
    audit.record(AuditEntry.Action.CREATE, token, summary=f"API token “{name}”, for {LIFETIMES[days]}")
    return token, key


@transaction.atomic
def revoke_api_token(*, token, by) -> APIToken:
    """Revoke one's own token (administrators may revoke anyone's); revoking twice changes nothing."""
    token = audit.lock_rows(APIToken.objects.filter(pk=token.pk)).get()
    if token.user_id != by.pk and not by.has_perm("staff.change_user"):
        raise PermissionDenied("This is someone else's token.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record(AuditEntry.Action.STATUS, token, summary=f"API token “{token.name}” revoked")
    return token


def record_token_use(token, when):
    """When the token was last used (the authentication calls this at most once a minute per token)."""
    APIToken.objects.filter(pk=token.pk).update(last_used_at=when)


# --- Calendar feeds (scheduling/feeds.py serves them) ----------------------------------------------
# A feed's secret is 32 random bytes (secrets.token_urlsafe: 43 URL-safe characters) in the feed's
# address; only its SHA-256 is kept, for the same reasons as an API key's, and a lookup is one index probe.

FEED_SECRET_BYTES = 32
NOT_A_DOCTOR = "Your account has no doctor's diary, so there is no calendar feed to make; ask an administrator."


@transaction.atomic
def create_calendar_feed(*, doctor, by) -> tuple[CalendarFeed, str]:
    """(the feed, its secret): a doctor makes their own; the feed in use, if any, is revoked first, so
    "make a new link" is also how a doctor replaces a link they shared by mistake."""
    if by.pk != doctor.user_id:
        # Only the doctor ever sees the secret: an administrator revokes, never makes one for someone.
        raise PermissionDenied("A calendar feed is made by its own doctor.")
    # Two requests at once wait for each other here (the constraint would refuse the second anyway).
    doctor = audit.lock_rows(Doctor.objects.filter(pk=doctor.pk).select_related("user")).get()
    if not (doctor.is_active and doctor.user.is_active):
        raise ValidationError(NOT_A_DOCTOR)
    for feed in CalendarFeed.objects.filter(doctor=doctor, revoked_at__isnull=True):
        _revoke_feed(feed, by=by, why="replaced by a new link")
    secret = secrets.token_urlsafe(FEED_SECRET_BYTES)
    feed = CalendarFeed.objects.create(doctor=doctor, secret_hash=key_hash(secret), created_by=by)
    audit.record(AuditEntry.Action.CREATE, feed, summary=f"Calendar feed link of {doctor}")
    return feed, secret


def _revoke_feed(feed, *, by, why):
    feed.revoked_at = timezone.now()
    feed.revoked_by = by
    feed.save(update_fields=["revoked_at", "revoked_by"])
    audit.record(AuditEntry.Action.STATUS, feed, summary=f"Calendar feed link of {feed.doctor} revoked ({why})")


@transaction.atomic
def revoke_calendar_feed(*, feed, by) -> CalendarFeed:
    """A doctor revokes their own feed, an administrator anyone's; revoking twice changes nothing."""
    feed = audit.lock_rows(CalendarFeed.objects.filter(pk=feed.pk).select_related("doctor__user")).get()
    own = feed.doctor.user_id == by.pk
    if not own and not by.has_perm("staff.change_user"):
        raise PermissionDenied("This is someone else's calendar feed.")
    if feed.revoked_at is None:
        _revoke_feed(feed, by=by, why="by the doctor" if own else f"by {by.audit_label}")
    return feed


def calendar_feed_for_secret(secret):
    """The usable feed with this secret (its doctor and user with it), or None: unknown, revoked and a
    deactivated doctor's all look alike. Looked up by the secret's hash, so the time taken says nothing
    about how much of a guess was right."""
    return CalendarFeed.objects.usable().select_related("doctor__user").filter(secret_hash=key_hash(secret)).first()


def record_feed_use(feed, when):
    """When a calendar app last fetched the feed (scheduling/feeds.py calls this at most every few minutes)."""
    CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=when)
