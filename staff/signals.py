import time

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from .roles import sync_roles


@receiver(post_migrate, dispatch_uid="staff.sync_roles")
def sync_roles_after_migrate(sender, app_config=None, **kwargs):
    # Once per migrate run (for this app), after every app's permissions exist.
    if app_config is not None and app_config.label == "staff":
        sync_roles()


@receiver(user_login_failed, dispatch_uid="staff.slow_down_failed_sign_in")
def slow_down_failed_sign_in(sender, credentials, request=None, **kwargs):
    """Each failure for an account waits a little longer, before django-axes locks it for a while."""
    if not settings.LOGIN_FAILURE_DELAY or request is None:
        return
    from axes.models import AccessAttempt

    username = (credentials or {}).get("username", "")
    failures = (
        AccessAttempt.objects.filter(username=username).values_list("failures_since_start", flat=True).first() or 0
    )
    time.sleep(min(settings.LOGIN_FAILURE_DELAY * (failures + 1), 3.0))


@receiver(user_logged_in, dispatch_uid="staff.clear_own_sign_in_failures")
def clear_own_sign_in_failures(sender, request, user, **kwargs):
    """A good sign-in forgives that account's earlier failures, and only those: guesses at another
    account from the same address keep counting toward that account's (and the address's) lock."""
    from axes.utils import reset

    reset(username=user.get_username())


@receiver(user_logged_in, dispatch_uid="staff.session_signed_in")
def session_signed_in(sender, request, user, **kwargs):
    """Every sign-in with a password starts afresh: the session's clock and its row in "Your
    sessions" start now, and a code step passed before in this session no longer counts, so a user
    with two-factor sign-in owes the code again (see staff.twofactor.start_sign_in)."""
    if request is None or not hasattr(request, "session"):
        return
    from . import sessions, twofactor

    twofactor.start_sign_in(request, user)
    sessions.record_sign_in(request, user)


@receiver(user_logged_out, dispatch_uid="staff.session_signed_out")
def session_signed_out(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        from . import sessions

        sessions.record_sign_out(request)
