"""Sign-in security pages: a member of staff's own two-factor sign-in and sessions, the code step
at sign-in, and what administrators do for someone else (reset two-factor, sign out everywhere).

A person's own pages need no role, only a signed-in session (clinic.permissions.SignedIn, said
explicitly though LoginRequiredMiddleware already demands it): each acts on request.user and nobody else.
"""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.generic import DetailView, FormView, TemplateView, View
from django_otp.plugins.otp_static.models import StaticDevice

from clinic.permissions import Permitted, SignedIn

from . import sessions, twofactor
from .forms import CodeForm, OwnPasswordChangeForm, SignInCodeForm, TurnOffTwoFactorForm
from .landing import landing_url
from .models import User


class OwnAccountMixin(SignedIn):
    """Any signed-in member of staff, about their own account only."""


def _redirect(name, *args):
    return HttpResponseRedirect(reverse(name, args=args))


# --- the member's own two-factor sign-in ----------------------------------------------------------


def _two_factor_page(request, *, codes_form=None, off_form=None, status=200):
    user = request.user
    context = {
        "enabled": twofactor.is_enabled(user),
        "required": twofactor.is_required(user),
        "codes_left": twofactor.backup_codes_left(user),
        "codes_form": codes_form or CodeForm(prefix="codes"),
        "off_form": off_form or TurnOffTwoFactorForm(user=user, prefix="off"),
    }
    return TemplateResponse(request, "staff/two_factor.html", context, status=status)


class TwoFactorView(OwnAccountMixin, View):
    """Whether two-factor sign-in is on; set it up, get new backup codes, or turn it off."""

    http_method_names = ["get"]

    def get(self, request):
        return _two_factor_page(request)


class TwoFactorSetupView(OwnAccountMixin, FormView):
    """The QR code and the secret as text; a code from the app confirms it before it is turned on."""

    form_class = CodeForm
    template_name = "staff/two_factor_setup.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and twofactor.is_enabled(request.user):
            messages.info(request, "Two-factor sign-in is already on.")
            return _redirect("staff:two_factor")
        return super().dispatch(request, *args, **kwargs)

    @cached_property
    def device(self):
        return twofactor.pending_authenticator(self.request.user)

    def get_context_data(self, **kwargs):
        user = self.request.user
        return super().get_context_data(
            qr_code=twofactor.qr_code_data_uri(self.device, user),
            secret=twofactor.secret_text(self.device),
            required=twofactor.is_required(user),
            **kwargs,
        )

    def form_valid(self, form):
        try:
            codes = twofactor.confirm_set_up(self.request, device=self.device, code=form.cleaned_data["code"])
        except twofactor.CodeRefused as refusal:
            form.add_error("code", str(refusal))
            return self.form_invalid(form)
        self.request.session[twofactor.SHOWN_CODES] = codes
        messages.success(self.request, "Two-factor sign-in is on. Your other sessions were signed out.")
        return _redirect("staff:backup_codes")


class BackupCodesView(OwnAccountMixin, TemplateView):
    """New backup codes, shown once: they are kept nowhere the person can see them again."""

    template_name = "staff/backup_codes.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        return super().get_context_data(
            codes=self.request.session.pop(twofactor.SHOWN_CODES, None),
            enabled=twofactor.is_enabled(user),
            codes_left=twofactor.backup_codes_left(user),
            **kwargs,
        )


class NewBackupCodesView(OwnAccountMixin, View):
    http_method_names = ["post"]

    def post(self, request):
        if not twofactor.is_enabled(request.user):
            messages.error(request, "Two-factor sign-in is off: there are no backup codes to replace.")
            return _redirect("staff:two_factor")
        form = CodeForm(request.POST, prefix="codes")
        if form.is_valid():
            try:
                codes = twofactor.replace_backup_codes(request, code=form.cleaned_data["code"])
            except twofactor.CodeRefused as refusal:
                form.add_error("code", str(refusal))
            else:
                request.session[twofactor.SHOWN_CODES] = codes
                messages.success(request, "New backup codes made; the old ones no longer work.")
                return _redirect("staff:backup_codes")
        return _two_factor_page(request, codes_form=form)


class TurnOffTwoFactorView(OwnAccountMixin, View):
    http_method_names = ["post"]

    def post(self, request):
        user = request.user
        if not twofactor.is_enabled(user):
            messages.info(request, "Two-factor sign-in is already off.")
            return _redirect("staff:two_factor")
        if twofactor.is_required(user):
            messages.error(request, "Two-factor sign-in is required for administrators; it cannot be turned off.")
            return _redirect("staff:two_factor")
        form = TurnOffTwoFactorForm(request.POST, user=user, prefix="off")
        if form.is_valid():
            try:
                twofactor.turn_off(request, code=form.cleaned_data["code"])
            except twofactor.CodeRefused as refusal:
                form.add_error("code", str(refusal))
            else:
                messages.success(request, "Two-factor sign-in is off. Your password alone now signs you in.")
                return _redirect("staff:two_factor")
        return _two_factor_page(request, off_form=form)


# --- the code step at sign-in ---------------------------------------------------------------------


class TwoFactorVerifyView(OwnAccountMixin, FormView):
    """After a correct password, the code; until then TwoFactorMiddleware opens nothing else."""

    form_class = SignInCodeForm
    template_name = "registration/two_factor_verify.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and twofactor.step_owed(request) != twofactor.VERIFY:
            return HttpResponseRedirect(self.get_success_url())
        return super().dispatch(request, *args, **kwargs)

    def get_success_url(self):
        target = self.request.POST.get("next") or self.request.GET.get("next") or ""
        safe = url_has_allowed_host_and_scheme(
            target, allowed_hosts={self.request.get_host()}, require_https=self.request.is_secure()
        )
        return target if safe and target else landing_url(self.request.user)

    def get_context_data(self, **kwargs):
        return super().get_context_data(next=self.request.GET.get("next", ""), **kwargs)

    def form_valid(self, form):
        user = self.request.user
        try:
            device = twofactor.check_code(user, form.cleaned_data["code"])
        except twofactor.CodeRefused as refusal:
            form.add_error("code", str(refusal))
            return self.form_invalid(form)
        twofactor.pass_code_step(self.request, device)
        if isinstance(device, StaticDevice):
            left = twofactor.backup_codes_left(user)
            messages.warning(
                self.request,
                f"You signed in with a backup code; {left} left. Make new ones from your two-factor page.",
            )
        return HttpResponseRedirect(self.get_success_url())


# --- the member's own sessions --------------------------------------------------------------------


class SessionsView(OwnAccountMixin, TemplateView):
    """The member's signed-in sessions: where, since when, last seen; this one marked."""

    template_name = "staff/sessions.html"

    def get_context_data(self, **kwargs):
        current = self.request.session.session_key
        rows = list(sessions.active_sessions(self.request.user))
        for row in rows:
            row.is_current = row.session_key == current
        others = sum(not row.is_current for row in rows)
        return super().get_context_data(sessions=rows, others=others, **kwargs)


class SignOutOtherSessionsView(OwnAccountMixin, View):
    http_method_names = ["post"]

    def post(self, request):
        ended = sessions.end_sessions(request.user, keep=request.session.session_key)
        if ended:
            messages.success(request, f"Signed out of {ended} other session{'s' if ended != 1 else ''}.")
        else:
            messages.info(request, "You had no other sessions.")
        return _redirect("staff:sessions")


# --- the member's own password, and signing out ---------------------------------------------------


class OwnPasswordChangeView(OwnAccountMixin, auth_views.PasswordChangeView):
    form_class = OwnPasswordChangeForm


class OwnPasswordChangeDoneView(OwnAccountMixin, auth_views.PasswordChangeDoneView):
    pass


class SignOutView(OwnAccountMixin, auth_views.LogoutView):
    pass


# --- administrators, for someone else -------------------------------------------------------------


class StaffSecurityView(Permitted, DetailView):
    """Someone's sign-in security: two-factor on or off, their sessions, and the two actions."""

    permission_required = "staff.change_user"
    context_object_name = "member"
    template_name = "staff/staff_security.html"

    def load(self, *, pk, **kwargs):
        self.member = get_object_or_404(User, pk=pk)

    def get_object(self, queryset=None):
        return self.member

    def get_context_data(self, **kwargs):
        member = self.object
        return super().get_context_data(
            enabled=twofactor.is_enabled(member),
            required=twofactor.is_required(member),
            sessions=list(sessions.active_sessions(member)),
            is_self=member == self.request.user,
            **kwargs,
        )


class _ForSomeoneElseView(Permitted, View):
    permission_required = "staff.change_user"
    http_method_names = ["post"]
    own_page = "staff:two_factor"

    def load(self, *, pk, **kwargs):
        self.member = get_object_or_404(User, pk=pk)

    def post(self, request, pk):
        member = self.member
        if member == request.user:
            messages.error(request, "For your own account, use your own page.")
            return _redirect(self.own_page)
        self.act(member)
        return _redirect("staff:security", member.pk)


class ResetTwoFactorView(_ForSomeoneElseView):
    def act(self, member):
        ended = twofactor.reset(user=member, by=self.request.user)
        messages.success(self.request, f"{member}'s two-factor sign-in was reset and {ended} session(s) signed out.")


class SignOutEverywhereView(_ForSomeoneElseView):
    own_page = "staff:sessions"

    def act(self, member):
        ended = sessions.sign_out_everywhere(user=member, by=self.request.user)
        messages.success(self.request, f"{member} was signed out of {ended} session(s).")
