from django import forms
from django.contrib.auth.forms import AdminPasswordChangeForm, PasswordChangeForm, SetPasswordMixin
from django.contrib.auth.models import Group
from django.forms import BaseInlineFormSet, inlineformset_factory

from clinic.forms import ModelMultipleChoiceField, TimeInput

from . import services
from .models import Doctor, User, WorkingHours
from .roles import ALL_ROLES
from .services import LIFETIMES, OWN_ROLES_REFUSED, username_taken


class RolesField(ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs):
        super().__init__(queryset=Group.objects.filter(name__in=ALL_ROLES).order_by("name"), **kwargs)


class StaffSearchForm(forms.Form):
    q = forms.CharField(
        label="Search staff", required=False, max_length=100, widget=forms.TextInput(attrs={"type": "search"})
    )
    role = forms.ModelChoiceField(
        queryset=Group.objects.filter(name__in=ALL_ROLES).order_by("name"), required=False, empty_label="Any role"
    )
    inactive = forms.BooleanField(label="Include deactivated accounts", required=False)


class StaffUserForm(forms.ModelForm):
    """An account's details and roles; saved by the view through staff.services."""

    roles = RolesField(required=False, help_text="What this person may do. A doctor also needs a doctor profile.")

    class Meta:
        model = User
        fields = ["username", "first_name", "last_name", "email"]

    def __init__(self, *args, editor=None, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("first_name", "last_name"):
            self.fields[name].required = True
        if self.instance.pk:
            self.fields["roles"].initial = self.instance.groups.filter(name__in=ALL_ROLES)
        if editor is not None and self.instance.pk == editor.pk:
            # Shown, not editable: a posted value is ignored (staff.services refuses it too).
            self.fields["roles"].disabled = True
            self.fields["roles"].help_text = OWN_ROLES_REFUSED

    def chosen_groups(self):
        """The roles ticked, plus the account's groups that are not roles (kept as they are)."""
        kept = self.instance.groups.exclude(name__in=ALL_ROLES) if self.instance.pk else []
        return [*kept, *self.cleaned_data["roles"]]

    def clean_username(self):
        username = self.cleaned_data["username"]
        problem = username_taken(username, account=self.instance)
        if problem:
            raise forms.ValidationError(problem)
        return username


class StaffUserCreateForm(SetPasswordMixin, StaffUserForm):
    """A new account with a first password, checked by Django's password validators."""

    password1, password2 = SetPasswordMixin.create_password_fields()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["password1"].help_text = "Its owner must replace it with their own at their first sign-in."

    def clean(self):
        self.validate_passwords()
        return super().clean()

    def _post_clean(self):
        super()._post_clean()
        self.validate_password_for_user(self.instance)

    def save(self, commit=False):
        """The unsaved account with its password set: staff.services.create_account saves it."""
        return self.set_password_and_save(super().save(commit=False), commit=False)


class OwnPasswordChangeForm(PasswordChangeForm):
    """Changing one's own password (the current one is asked for). A password someone else set
    must be replaced by a different one."""

    def clean_new_password1(self):
        password = self.cleaned_data["new_password1"]
        if self.user.must_change_password and self.user.check_password(password):
            raise forms.ValidationError("Choose a new password, not the one you were given.")
        return password

    def save(self, commit=True):
        if not commit:
            return super().save(commit=False)
        return services.change_own_password(self.user, self.cleaned_data["new_password1"])


class SetPasswordForSomeoneForm(AdminPasswordChangeForm):
    """The admin's "set password" page, for someone else only: saved through staff.services (audited,
    their sessions end, they choose their own at the next sign-in)."""

    def __init__(self, user, *args, by, **kwargs):
        self.by = by
        super().__init__(user, *args, **kwargs)

    def clean(self):
        if self.user.pk == self.by.pk:
            # On a field: the admin's page shows no form-wide errors.
            raise forms.ValidationError(
                {"password1": "Change your own password on your password page, which asks for your current one."}
            )
        return super().clean()

    def save(self, commit=True):
        usable = self.cleaned_data.get("set_usable_password", True)
        return services.set_password_for(self.user, self.cleaned_data["password1"] if usable else None, by=self.by)


class DoctorForm(forms.ModelForm):
    class Meta:
        model = Doctor
        fields = ["specialty", "licence_number", "phone", "consultation_minutes", "consultation_fee", "is_active"]


class BaseWorkingHoursFormSet(BaseInlineFormSet):
    def clean(self):
        """Refuse two rows of one submission that overlap on the same day.

        Each row's model clean() compares it only with the hours already saved, so two new
        overlapping rows posted together would otherwise both be saved.
        """
        super().clean()
        seen = []
        for form in self.forms:
            if self._should_delete_form(form) or not getattr(form, "cleaned_data", None):
                continue
            day, start, end = (form.cleaned_data.get(k) for k in ("weekday", "start_time", "end_time"))
            if None in (day, start, end):
                continue
            for other_day, other_start, other_end in seen:
                if day == other_day and start < other_end and other_start < end:
                    raise forms.ValidationError("These hours overlap another interval on the same day.")
            seen.append((day, start, end))


WorkingHoursFormSet = inlineformset_factory(
    Doctor,
    WorkingHours,
    formset=BaseWorkingHoursFormSet,
    fields=["weekday", "start_time", "end_time"],
    widgets={"start_time": TimeInput(), "end_time": TimeInput()},
    extra=3,
    can_delete=True,
)


class DoctorSearchForm(forms.Form):
    q = forms.CharField(
        label="Name or specialty", required=False, max_length=100, widget=forms.TextInput(attrs={"type": "search"})
    )


# --- two-factor sign-in ---------------------------------------------------------------------------


def _code_field(label, help_text=""):
    return forms.CharField(
        label=label,
        max_length=20,
        help_text=help_text,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false"}),
    )


class CodeForm(forms.Form):
    """A code from the app (or, where `backup`, a backup code), checked by staff.twofactor."""

    code = _code_field("Code from your authenticator app")


class SignInCodeForm(forms.Form):
    code = _code_field(
        "Code", "The 6-digit code your authenticator app shows now, or one of your backup codes if you have no phone."
    )


class TurnOffTwoFactorForm(forms.Form):
    password = forms.CharField(
        label="Your password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    code = _code_field("Code from your authenticator app", "Or one of your backup codes.")

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("That is not your password.")
        return password


class APITokenForm(forms.Form):
    name = forms.CharField(
        max_length=80,
        label="What will use it",
        help_text="For example “Website booking widget” or “Lab results import”. The audit trail names it.",
    )
    days = forms.TypedChoiceField(label="Lasts", coerce=int, choices=list(LIFETIMES.items()), initial=90)
