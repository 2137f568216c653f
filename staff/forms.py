from django import forms
from django.contrib.auth.forms import SetPasswordMixin
from django.contrib.auth.models import Group
from django.forms import inlineformset_factory

from clinic.forms import TimeInput

from .models import Doctor, User, WorkingHours
from .roles import ALL_ROLES


class RolesField(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs):
        super().__init__(queryset=Group.objects.filter(name__in=ALL_ROLES).order_by("name"), **kwargs)


class StaffSearchForm(forms.Form):
    q = forms.CharField(label="Search staff", required=False, max_length=100, widget=forms.TextInput(attrs={"type": "search"}))
    role = forms.ModelChoiceField(
        queryset=Group.objects.filter(name__in=ALL_ROLES).order_by("name"), required=False, empty_label="Any role"
    )
    inactive = forms.BooleanField(label="Include deactivated accounts", required=False)


class StaffUserForm(forms.ModelForm):
    roles = RolesField(required=False, help_text="What this person may do. A doctor also needs a doctor profile.")

    class Meta:
        model = User
        fields = ["username", "first_name", "last_name", "email"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("first_name", "last_name"):
            self.fields[name].required = True
        if self.instance.pk:
            self.fields["roles"].initial = self.instance.groups.filter(name__in=ALL_ROLES)

    def save(self, commit=True):
        user = super().save(commit=commit)
        if commit:
            self.save_roles(user)
        return user

    def save_roles(self, user):
        roles = self.cleaned_data["roles"]
        kept = user.groups.exclude(name__in=ALL_ROLES)
        user.groups.set([*kept, *roles])
        # The admin site is for managers' and administrators' work.
        from .roles import ADMIN_SITE_ROLES

        user.is_staff = any(r.name in ADMIN_SITE_ROLES for r in roles)
        user.save(update_fields=["is_staff"])


class StaffUserCreateForm(SetPasswordMixin, StaffUserForm):
    """A new account with a first password, checked by Django's password validators."""

    password1, password2 = SetPasswordMixin.create_password_fields()

    def clean(self):
        self.validate_passwords()
        return super().clean()

    def _post_clean(self):
        super()._post_clean()
        self.validate_password_for_user(self.instance)

    def save(self, commit=True):
        user = super(StaffUserForm, self).save(commit=False)
        user = self.set_password_and_save(user, commit=True)
        self.save_roles(user)
        return user


class DoctorForm(forms.ModelForm):
    class Meta:
        model = Doctor
        fields = ["specialty", "licence_number", "phone", "consultation_minutes", "is_active"]


WorkingHoursFormSet = inlineformset_factory(
    Doctor,
    WorkingHours,
    fields=["weekday", "start_time", "end_time"],
    widgets={"start_time": TimeInput(), "end_time": TimeInput()},
    extra=3,
    can_delete=True,
)


class DoctorSearchForm(forms.Form):
    q = forms.CharField(
        label="Name or specialty", required=False, max_length=100, widget=forms.TextInput(attrs={"type": "search"})
    )
