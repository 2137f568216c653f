from django.contrib import admin

from clinic.admin import ClinicModelAdmin, ClinicTabularInline, NoDeleteAdmin, RecordsAdminAccess

from .models import Allergy, Condition, Patient


class AllergyInline(ClinicTabularInline):
    model = Allergy
    extra = 0
    fields = ["substance", "reaction", "severity", "is_active"]


class ConditionInline(ClinicTabularInline):
    model = Condition
    extra = 0
    fields = ["name", "icd10_code", "onset_date", "status", "resolved_date"]


@admin.register(Patient)
class PatientAdmin(RecordsAdminAccess, NoDeleteAdmin, ClinicModelAdmin):
    list_display = ["mrn", "last_name", "first_name", "date_of_birth", "sex", "phone", "is_archived", "created_at"]
    list_filter = ["is_archived", "sex", "created_at"]
    search_fields = ["mrn", "last_name", "first_name", "phone_digits", "email", "search_text"]
    readonly_fields = ["mrn", "created_at", "updated_at", "archived_at", "archived_by"]
    date_hierarchy = "created_at"
    inlines = [AllergyInline, ConditionInline]


@admin.register(Allergy)
class AllergyAdmin(RecordsAdminAccess, NoDeleteAdmin, ClinicModelAdmin):
    list_display = ["substance", "patient", "severity", "reaction", "is_active", "recorded_at"]
    list_filter = ["severity", "is_active"]
    search_fields = ["substance", "patient__last_name", "patient__mrn"]
    list_select_related = ["patient"]
    raw_id_fields = ["patient"]
    readonly_fields = ["recorded_by", "recorded_at"]


@admin.register(Condition)
class ConditionAdmin(RecordsAdminAccess, NoDeleteAdmin, ClinicModelAdmin):
    list_display = ["name", "icd10_code", "patient", "status", "onset_date"]
    list_filter = ["status"]
    search_fields = ["name", "icd10_code", "patient__last_name", "patient__mrn"]
    list_select_related = ["patient"]
    raw_id_fields = ["patient"]
    readonly_fields = ["recorded_by", "recorded_at"]
