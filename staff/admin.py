from functools import partial

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import ValidationError
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.admin import ClinicModelAdmin, ClinicTabularInline, HostileInputAdmin, NoDeleteAdmin
from clinic.context import current_request

from . import services
from .forms import SetPasswordForSomeoneForm
from .models import Doctor, Specialty, User, WorkingHours


class StaffChangeForm(UserChangeForm):
    def clean_username(self):
        username = self.cleaned_data["username"]
        problem = services.username_taken(username, account=self.instance)
        if problem:
            raise ValidationError(problem)
        return username


class StaffCreationForm(AdminUserCreationForm):
    def clean_username(self):
        username = super().clean_username()
        problem = services.username_taken(username)
        if problem:
            raise ValidationError(problem)
        return username


@admin.register(User)
class UserAdmin(HostileInputAdmin, NoDeleteAdmin, DjangoUserAdmin):
    """Accounts in the admin follow the staff pages' rules (staff.services): renames, roles and
    passwords set for someone else are audited, and nobody changes their own roles or rights."""

    form = StaffChangeForm
    add_form = StaffCreationForm
    list_display = ["username", "first_name", "last_name", "email", "roles", "is_active", "is_staff", "last_login"]
    list_filter = ["is_active", "is_staff", "groups"]
    search_fields = ["username", "first_name", "last_name", "email"]

    # Rights come from roles (staff/roles.py): only a superuser may make another superuser, give
    # admin access by hand or grant a permission outside the roles, so an Administrator cannot
    # climb into clinical data through the user form.
    SUPERUSER_ONLY = ("is_superuser", "is_staff", "user_permissions")
    # Nobody, a superuser included, changes what they themselves may do.
    NOT_ON_OWN_ACCOUNT = ("groups", "is_active", *SUPERUSER_ONLY)

    @property
    def change_password_form(self):
        # The admin builds this form itself (form(user, data)); who is setting the password comes
        # from the request being served, which clinic.context keeps.
        return partial(SetPasswordForSomeoneForm, by=current_request().user)

    def get_readonly_fields(self, request, obj=None):
        # Sign-in and joining dates are facts, not settings: editable wall times could also not be
        # saved back when they fall in the repeated hour of the autumn clock change.
        fields = [*super().get_readonly_fields(request, obj), "last_login", "date_joined"]
        if not request.user.is_superuser:
            fields += self.SUPERUSER_ONLY
        if obj is not None and obj.pk == request.user.pk:
            fields += self.NOT_ON_OWN_ACCOUNT
        return list(dict.fromkeys(fields))

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    def save_model(self, request, obj, form, change):
        if change:
            services.save_account(obj, by=request.user)
        else:
            services.create_account(obj, roles=[], by=request.user)

    def save_related(self, request, form, formsets, change):
        # Roles and permissions go through staff.services (audited), not the form's own m2m save.
        roles = form.cleaned_data.pop("groups", None)
        permissions = form.cleaned_data.pop("user_permissions", None)
        super().save_related(request, form, formsets, change)
        if roles is not None:
            services.set_roles(form.instance, roles, by=request.user)
        if permissions is not None:
            services.set_permissions(form.instance, permissions, by=request.user)

    @admin.display(description="Roles")
    def roles(self, user):
        return ", ".join(g.name for g in user.groups.all())


class WorkingHoursInline(ClinicTabularInline):
    model = WorkingHours
    extra = 0


@admin.register(Doctor)
class DoctorAdmin(NoDeleteAdmin, ClinicModelAdmin):
    list_display = [
        "__str__",
        "specialty",
        "licence_number",
        "phone",
        "consultation_minutes",
        "consultation_fee",
        "is_active",
    ]
    list_filter = ["is_active", "specialty"]
    search_fields = ["user__first_name", "user__last_name", "licence_number", "specialty__name"]
    list_select_related = ["user", "specialty"]
    autocomplete_fields = ["user"]
    inlines = [WorkingHoursInline]

    def save_model(self, request, obj, form, change):
        services.save_doctor_profile(doctor=obj)

    def save_formset(self, request, form, formset, change):
        hours = formset.save(commit=False)
        services.save_working_hours(doctor=form.instance, hours=hours, removed=formset.deleted_objects)


@admin.register(Specialty)
class SpecialtyAdmin(ClinicModelAdmin):
    list_display = ["name"]
    search_fields = ["name"]

    def save_model(self, request, obj, form, change):
        services.save_specialty(specialty=obj)

    def delete_model(self, request, obj):
        services.remove_specialty(specialty=obj)

    def delete_queryset(self, request, queryset):
        for specialty in queryset:
            services.remove_specialty(specialty=specialty)


@admin.register(WorkingHours)
class WorkingHoursAdmin(ClinicModelAdmin):
    list_display = ["doctor", "weekday", "start_time", "end_time"]
    list_filter = ["weekday", "doctor__specialty"]
    search_fields = ["doctor__user__first_name", "doctor__user__last_name"]
    list_select_related = ["doctor__user"]

    def save_model(self, request, obj, form, change):
        services.save_working_hours(doctor=obj.doctor, hours=[obj])

    def delete_model(self, request, obj):
        services.save_working_hours(doctor=obj.doctor, removed=[obj])

    def delete_queryset(self, request, queryset):
        for interval in queryset.select_related("doctor"):
            services.save_working_hours(doctor=interval.doctor, removed=[interval])


# django-otp registers its devices in the admin, where a superuser could read anyone's TOTP secret
# (and its QR code) or backup codes. Two-factor sign-in is managed from the staff pages instead:
# each person sets up their own, administrators reset someone else's.
for _otp_model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_otp_model):
        admin.site.unregister(_otp_model)
