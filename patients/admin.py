from django.contrib import admin

from clinic.admin import ClinicModelAdmin, ClinicTabularInline, NoDeleteAdmin, RecordsAdminAccess, month_filter

from . import services
from .models import Allergy, Condition, Patient


class HistoryItemAdmin(RecordsAdminAccess, NoDeleteAdmin, ClinicModelAdmin):
    """Allergies and conditions are saved through patients.services, like the app's own forms."""

    def save_model(self, request, obj, form, change):
        services.save_history_item(obj, patient=obj.patient, by=request.user)


class AllergyInline(NoDeleteAdmin, ClinicTabularInline):
    model = Allergy
    extra = 0
    fields = ["substance", "reaction", "severity", "is_active"]


class ConditionInline(NoDeleteAdmin, ClinicTabularInline):
    model = Condition
    extra = 0
    fields = ["name", "icd10_code", "onset_date", "status", "resolved_date"]


@admin.register(Patient)
class PatientAdmin(RecordsAdminAccess, NoDeleteAdmin, ClinicModelAdmin):
    list_display = ["mrn", "last_name", "first_name", "date_of_birth", "sex", "phone", "is_archived", "created_at"]
    list_filter = ["is_archived", "sex", "created_at", month_filter("created_at")]
    # Searched as the patient list searches (Patient.objects.search, through an index): the admin's own
    # search, a case-insensitive LIKE over six columns, read all 100,000 patients for every query.
    search_fields = ["search_text"]  # any: get_search_results below decides
    search_help_text = "Name, MRN, phone number or date of birth; an e-mail address as a whole."
    readonly_fields = ["mrn", "created_at", "updated_at", "archived_at", "archived_by"]
    inlines = [AllergyInline, ConditionInline]

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        if "@" in search_term:
            return queryset.filter(email__iexact=search_term.strip()), False
        return queryset.search(search_term), False

    def save_model(self, request, obj, form, change):
        if change:
            services.save_patient(patient=obj)
        else:
            services.register_patient(patient=obj)

    def save_formset(self, request, form, formset, change):
        # The inlines cannot delete (NoDeleteAdmin's rule for records with history); new and changed
        # allergies and conditions go through the same service as the patient page's forms.
        for item in formset.save(commit=False):
            services.save_history_item(item, patient=form.instance, by=request.user)


@admin.register(Allergy)
class AllergyAdmin(HistoryItemAdmin):
    list_display = ["substance", "patient", "severity", "reaction", "is_active", "recorded_at"]
    list_filter = ["severity", "is_active"]
    search_fields = ["substance", "patient__last_name", "patient__mrn"]
    list_select_related = ["patient"]
    raw_id_fields = ["patient"]
    readonly_fields = ["recorded_by", "recorded_at"]


@admin.register(Condition)
class ConditionAdmin(HistoryItemAdmin):
    list_display = ["name", "icd10_code", "patient", "status", "onset_date"]
    list_filter = ["status"]
    search_fields = ["name", "icd10_code", "patient__last_name", "patient__mrn"]
    list_select_related = ["patient"]
    raw_id_fields = ["patient"]
    readonly_fields = ["recorded_by", "recorded_at"]
