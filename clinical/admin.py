"""Clinical data in the admin: visible only to roles holding the clinical view permissions
(receptionists and managers hold none). Signed records and amendments are read-only here too."""

from django.contrib import admin

from clinic.admin import ClinicModelAdmin, ClinicTabularInline, NoDeleteAdmin, RecordsAdminAccess

from .models import Amendment, MedicalRecord, Medication, Procedure, TreatmentPlan


class MedicationInline(ClinicTabularInline):
    model = Medication
    extra = 0

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not (obj and obj.is_signed)

    has_add_permission = has_change_permission

    def has_delete_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)


class AmendmentInline(ClinicTabularInline):
    model = Amendment
    extra = 0
    fields = ["created_at", "author", "section", "text", "reason"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(MedicalRecord)
class MedicalRecordAdmin(RecordsAdminAccess, NoDeleteAdmin, ClinicModelAdmin):
    list_display = ["created_at", "patient", "author", "status", "diagnosis", "signed_at"]
    list_filter = ["status", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["patient__last_name", "patient__mrn", "diagnosis", "icd10_codes"]
    date_hierarchy = "created_at"
    list_select_related = ["patient", "author"]
    raw_id_fields = ["patient", "appointment"]
    readonly_fields = [
        "author",
        "status",
        "signed_at",
        "signed_by",
        "vitals_recorded_by",
        "allergy_conflicts_acknowledged",
        "created_at",
        "updated_at",
    ]
    inlines = [MedicationInline, AmendmentInline]

    def has_change_permission(self, request, obj=None):
        # A signed record opens read-only: the change is an amendment, made on the record's page.
        # A draft is its author's alone, here as on the record's own page.
        if obj is not None and (obj.is_signed or obj.author_id != request.user.pk):
            return False
        return super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.author = request.user
        super().save_model(request, obj, form, change)


@admin.register(Amendment)
class AmendmentAdmin(RecordsAdminAccess, NoDeleteAdmin, ClinicModelAdmin):
    list_display = ["created_at", "record", "section", "author", "reason"]
    list_filter = ["section"]
    search_fields = ["record__patient__last_name", "reason", "text"]
    list_select_related = ["record__patient", "author"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ProcedureInline(ClinicTabularInline):
    model = Procedure
    fk_name = "plan"
    extra = 0
    fields = ["name", "code", "status", "scheduled_date", "performed_date", "fee"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(TreatmentPlan)
class TreatmentPlanAdmin(RecordsAdminAccess, NoDeleteAdmin, ClinicModelAdmin):
    list_display = ["created_at", "patient", "doctor", "status", "start_date", "expected_end_date"]
    list_filter = ["status", "doctor"]
    search_fields = ["patient__last_name", "patient__mrn", "diagnosis_summary"]
    list_select_related = ["patient", "doctor__user"]
    raw_id_fields = ["patient"]
    # Status moves along its transitions on the plan's page, not by editing the field.
    readonly_fields = ["status", "created_by", "created_at", "updated_at"]
    inlines = [ProcedureInline]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Procedure)
class ProcedureAdmin(RecordsAdminAccess, NoDeleteAdmin, ClinicModelAdmin):
    list_display = ["name", "code", "patient", "status", "scheduled_date", "performed_date", "fee"]
    list_filter = ["status", ("performed_date", admin.DateFieldListFilter)]
    search_fields = ["name", "code", "patient__last_name", "patient__mrn"]
    list_select_related = ["patient"]
    raw_id_fields = ["patient", "plan", "appointment"]
    readonly_fields = ["created_by", "created_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
