"""Sign-in security on every request: the absolute session lifetime, the sessions list's
bookkeeping, and the two-factor step. Both sit after AuthenticationMiddleware and OTPMiddleware and
act in process_view, where messages work and the resolved view is known."""

from django.contrib import messages
from django.contrib.auth import HASH_SESSION_KEY, logout
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.deprecation import MiddlewareMixin
from django.utils.http import urlencode

from . import sessions, twofactor


def _signed_in(request):
    user = getattr(request, "user", None)
    return user is not None and user.is_authenticated


class SessionLifetimeMiddleware(MiddlewareMixin):
    """Ends a session SESSION_ABSOLUTE_TIMEOUT hours after sign-in, however active; after each
    signed-in request, keeps the session's StaffSession row up to date (see staff.sessions)."""

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not _signed_in(request):
            return None
        # The key and password hash before the view, to notice a sign-in step or a password change.
        request._staff_session_before = (request.session.session_key, request.session.get(HASH_SESSION_KEY))
        if sessions.has_outlived_its_lifetime(request):
            logout(request)
            messages.info(
                request, "For patients' privacy you are signed out after a long session. Please sign in again."
            )
            # LoginRequiredMiddleware, next, sends the now anonymous visitor to the sign-in page.
        return None

    def process_response(self, request, response):
        before = getattr(request, "_staff_session_before", None)
        if before is not None and _signed_in(request):
            sessions.note_request(request, key_before=before[0], hash_before=before[1])
        return response


class TwoFactorMiddleware(MiddlewareMixin):
    """A signed-in session that owes the code step (or, for administrators when required, the
    set-up) reaches only the page for it and sign-out; everything else, the admin site included,
    sends it there."""

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not _signed_in(request):
            return None
        step = twofactor.step_owed(request)
        if step is None or request.resolver_match.view_name in twofactor.OPEN_DURING[step]:
            return None
        target = reverse("staff:two_factor_verify" if step == twofactor.VERIFY else "staff:two_factor_setup")
        if request.method == "GET":
            target = f"{target}?{urlencode({'next': request.get_full_path()})}"
        return HttpResponseRedirect(target)


class PasswordChangeRequiredMiddleware(MiddlewareMixin):
    """A user whose password was set by someone else (staff.services) reaches only the page where
    they choose their own, and sign-out; everything else, the admin site included, sends them there."""

    OPEN = {"password_change", "password_change_done", "logout"}

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not _signed_in(request) or not request.user.must_change_password:
            return None
        if request.resolver_match.view_name in self.OPEN:
            return None
        return HttpResponseRedirect(reverse("password_change"))
