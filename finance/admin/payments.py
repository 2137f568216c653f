"""Payments are taken at the front desk; here they are found, exported and refunded."""

from django.contrib import admin
from django.utils import timezone

from clinic.admin import RecordsAdminAccess

from ..models import Payment
from ..money import format_money
from .entries import _ENTRY_TAIL, MoneyEntryAdmin, RecordedByFilter, ReversalFilter


def _paid_for(obj):
    if obj.procedure_id:
        return f"Procedure: {obj.procedure.name}"
    visit = obj.appointment
    return f"Visit {timezone.localtime(visit.start):%d %b %Y %H:%M} with {visit.doctor}"


@admin.register(Payment)
class PaymentAdmin(RecordsAdminAccess, MoneyEntryAdmin):
    """Payments are taken at the front desk (Payments due); here they are found, exported and refunded."""

    list_display = [
        "date",
        "receipt_number",
        "patient",
        "paid_for",
        "amount_column",
        "fee_column",
        "method",
        "recorded_by",
        "state",
    ]
    list_display_links = ["date", "receipt_number"]
    list_filter = ["date", "method", ("recorded_by", RecordedByFilter), ReversalFilter]
    list_select_related = ["patient", "recorded_by", "procedure", "appointment__doctor__user"]
    search_fields = ["receipt_number", "patient__last_name", "patient__first_name", "patient__mrn"]
    fields = [
        "receipt_number",
        "date",
        "patient",
        "paid_for",
        "fee",
        "amount",
        "fee_override_reason",
        "method",
        "notes",
        "recorded_by",
        "recorded_at",
        "reverses",
        "reversal_reason",
    ]
    readonly_fields = fields
    export_name = "payments"
    export_columns = [
        ("Date", lambda o: o.date.isoformat()),
        ("Receipt", lambda o: o.receipt_number),
        ("Patient MRN", lambda o: o.patient.mrn),
        ("Patient", lambda o: o.patient.full_name),
        ("For", _paid_for),
        ("Standard fee", lambda o: o.fee),
        ("Amount", lambda o: o.amount),
        ("Reason for a different amount", lambda o: o.fee_override_reason),
        ("Method", lambda o: o.get_method_display()),
        *_ENTRY_TAIL,
    ]

    @admin.display(description="for")
    def paid_for(self, obj):
        return _paid_for(obj)

    @admin.display(description="standard fee")
    def fee_column(self, obj):
        return format_money(obj.fee) + (" (changed)" if obj.fee_overridden else "")

    def has_add_permission(self, request):
        return False  # taken from the visit or procedure at the front desk: finance:due

    def has_change_permission(self, request, obj=None):
        return False  # a receipt given to a patient never changes; it is refunded by a reversal
