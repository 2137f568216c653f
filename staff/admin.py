from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.admin import ClinicModelAdmin, ClinicTabularInline, HostileInputAdmin, NoDeleteAdmin

from .models import Doctor, Specialty, User, WorkingHours


@admin.register(User)
class UserAdmin(HostileInputAdmin, NoDeleteAdmin, DjangoUserAdmin):
    list_display = ["username", "first_name", "last_name", "email", "roles", "is_active", "is_staff", "last_login"]
    list_filter = ["is_active", "is_staff", "groups"]
    search_fields = ["username", "first_name", "last_name", "email"]

    # Rights come from roles (staff/roles.py): only a superuser may make another superuser, give
    # admin access by hand or grant a permission outside the roles, so an Administrator cannot
    # climb into clinical data through the user form.
    SUPERUSER_ONLY = ("is_superuser", "is_staff", "user_permissions")

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            fields += [name for name in self.SUPERUSER_ONLY if name not in fields]
        return fields

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

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


@admin.register(Specialty)
class SpecialtyAdmin(ClinicModelAdmin):
    list_display = ["name"]
    search_fields = ["name"]


@admin.register(WorkingHours)
class WorkingHoursAdmin(ClinicModelAdmin):
    list_display = ["doctor", "weekday", "start_time", "end_time"]
    list_filter = ["weekday", "doctor__specialty"]
    search_fields = ["doctor__user__first_name", "doctor__user__last_name"]
    list_select_related = ["doctor__user"]


# django-otp registers its devices in the admin, where a superuser could read anyone's TOTP secret
# (and its QR code) or backup codes. Two-factor sign-in is managed from the staff pages instead:
# each person sets up their own, administrators reset someone else's.
for _otp_model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_otp_model):
        admin.site.unregister(_otp_model)
