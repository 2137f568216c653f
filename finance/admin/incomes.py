"""Other incomes: lab shares, donations, services outside a visit."""

from django import forms
from django.contrib import admin

from clinic.admin import RecordsAdminAccess

from ..models import OtherIncome
from .entries import _ENTRY_TAIL, MoneyEntryAdmin, RecordedByFilter, ReversalFilter


class OtherIncomeAdminForm(forms.ModelForm):
    class Meta:
        model = OtherIncome
        fields = ["date", "amount", "source", "description", "payer", "patient", "notes"]


@admin.register(OtherIncome)
class OtherIncomeAdmin(RecordsAdminAccess, MoneyEntryAdmin):
    form = OtherIncomeAdminForm
    list_display = ["date", "source", "description", "payer", "patient", "amount_column", "recorded_by", "state"]
    list_display_links = ["date", "description"]
    list_filter = ["date", "source", ("recorded_by", RecordedByFilter), ReversalFilter]
    list_select_related = ["patient", "recorded_by"]
    search_fields = ["description", "payer", "notes", "patient__last_name", "patient__first_name", "patient__mrn"]
    autocomplete_fields = ["patient"]
    readonly_fields = ["recorded_by", "recorded_at", "reverses", "reversal_reason"]
    export_name = "other-incomes"
    export_columns = [
        ("Date", lambda o: o.date.isoformat()),
        ("Source", lambda o: o.get_source_display()),
        ("Description", lambda o: o.description),
        ("Payer", lambda o: o.payer),
        ("Patient MRN", lambda o: o.patient.mrn if o.patient else ""),
        ("Patient", lambda o: o.patient.full_name if o.patient else ""),
        ("Amount", lambda o: o.amount),
        *_ENTRY_TAIL,
    ]

    def get_fields(self, request, obj=None):
        fields = ["date", "amount", "source", "description", "payer", "patient", "notes"]
        if obj is not None:
            fields += ["recorded_by", "recorded_at"]
            if obj.reverses_id:
                fields += ["reverses", "reversal_reason"]
        return fields
