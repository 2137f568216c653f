"""Clinical data in the admin: visible only to roles holding the clinical view permissions
(receptionists and managers hold none). Signed records and amendments are read-only here too."""

from django import forms
from django.contrib import admin

from clinic.admin import (
    ClinicModelAdmin,
    ClinicTabularInline,
    NoDeleteAdmin,
    RecordsAdminAccess,
    month_filter,
    related_filter,
)
from clinic.lifecycle import allowed_next

from . import formulary, services
from .models import Amendment, FormularyDrug, MedicalRecord, Medication, Procedure, TreatmentPlan
from .models.formulary import search_key


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
    list_filter = ["status", ("created_at", admin.DateFieldListFilter), month_filter("created_at")]
    search_fields = ["patient__last_name", "patient__mrn", "diagnosis", "icd10_codes"]
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
        if change:
            services.save_draft(record=obj, by=request.user)
        else:
            services.new_record(patient=obj.patient, by=request.user, record=obj)

    def save_formset(self, request, form, formset, change):
        # The medications are the draft's, saved through the service; amendments are read-only here.
        if formset.model is Medication:
            services.save_medications(record=form.instance, by=request.user, medications=formset)
        else:
            super().save_formset(request, form, formset, change)


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

    # A list to read: procedures are added and changed on their own pages, and never deleted.
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TreatmentPlan)
class TreatmentPlanAdmin(RecordsAdminAccess, NoDeleteAdmin, ClinicModelAdmin):
    list_display = ["created_at", "patient", "doctor", "status", "start_date", "expected_end_date"]
    list_filter = ["status", ("doctor", related_filter("user"))]
    search_fields = ["patient__last_name", "patient__mrn", "diagnosis_summary"]
    list_select_related = ["patient", "doctor__user"]
    raw_id_fields = ["patient"]
    # Status moves along its transitions on the plan's page, not by editing the field.
    readonly_fields = ["status", "created_by", "created_at", "updated_at"]
    inlines = [ProcedureInline]

    def has_change_permission(self, request, obj=None):
        # A completed or cancelled plan is history: its page opens read-only, as on the plan's page.
        return super().has_change_permission(request, obj) and (obj is None or obj.is_open)

    def save_model(self, request, obj, form, change):
        if change:
            services.update_plan(plan=obj, by=request.user)
        else:
            services.create_plan(plan=obj, patient=obj.patient, by=request.user)


@admin.register(Procedure)
class ProcedureAdmin(RecordsAdminAccess, NoDeleteAdmin, ClinicModelAdmin):
    list_display = ["name", "code", "patient", "status", "scheduled_date", "performed_date", "fee"]
    list_filter = ["status", ("performed_date", admin.DateFieldListFilter)]
    search_fields = ["name", "code", "patient__last_name", "patient__mrn"]
    list_select_related = ["patient"]
    raw_id_fields = ["patient", "plan", "appointment"]
    readonly_fields = ["created_by", "created_at"]

    def has_change_permission(self, request, obj=None):
        # A cancelled procedure is history (it is not offered for editing on the plan's page either).
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or obj.status != Procedure.Status.CANCELLED)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if obj is not None and "status" in form.base_fields:
            # Only the statuses its lifecycle allows next: a done procedure stays done.
            offered = {obj.status} | allowed_next(obj)
            status = form.base_fields["status"]
            status.choices = [(v, label) for v, label in status.choices if v in offered]
        return form

    def save_model(self, request, obj, form, change):
        services.save_procedure(procedure=obj, by=request.user)


class FormularyDrugForm(forms.ModelForm):
    class Meta:
        model = FormularyDrug
        fields = ["name", "strengths", "forms", "active"]

    def clean_name(self):
        # The service's duplicate check, shown next to the name before saving.
        name = " ".join(self.cleaned_data["name"].split())
        same = FormularyDrug.objects.filter(name_key=search_key(name)).exclude(pk=self.instance.pk).first()
        if same is not None:
            raise forms.ValidationError(f"The formulary already has this drug as {same.name}.")
        return name


@admin.register(FormularyDrug)
class FormularyDrugAdmin(NoDeleteAdmin, ClinicModelAdmin):
    """The clinic extends its formulary here; a drug is retired (no longer suggested), not deleted,
    and every change goes through clinical.formulary."""

    list_display = ["name", "strengths", "forms", "active", "updated_at"]
    list_filter = ["active"]
    search_fields = ["name", "name_key"]
    fields = ["name", "strengths", "forms", "active", "updated_at", "updated_by"]
    readonly_fields = ["updated_at", "updated_by"]
    list_select_related = ["updated_by"]
    actions = ["retire", "bring_back"]
    form = FormularyDrugForm

    def save_model(self, request, obj, form, change):
        formulary.save_drug(drug=obj, by=request.user)

    @admin.action(description="Retire the selected drugs (no longer suggested)", permissions=["change"])
    def retire(self, request, queryset):
        changed = formulary.set_active(drugs_to_change=queryset, active=False, by=request.user)
        self.message_user(request, f"{changed} drug(s) retired.")

    @admin.action(description="Suggest the selected drugs again", permissions=["change"])
    def bring_back(self, request, queryset):
        changed = formulary.set_active(drugs_to_change=queryset, active=True, by=request.user)
        self.message_user(request, f"{changed} drug(s) suggested again.")
