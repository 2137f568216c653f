from django.contrib import admin

from clinic.admin import ClinicModelAdmin, NoDeleteAdmin, RecordsAdminAccess

from .models import Appointment


@admin.register(Appointment)
class AppointmentAdmin(RecordsAdminAccess, NoDeleteAdmin, ClinicModelAdmin):
    list_display = ["start", "end", "patient", "doctor", "status", "reason", "booked_by"]
    list_filter = ["status", "doctor", "doctor__specialty", ("start", admin.DateFieldListFilter)]
    search_fields = ["patient__last_name", "patient__first_name", "patient__mrn", "reason"]
    date_hierarchy = "start"
    list_select_related = ["patient", "doctor__user", "booked_by"]
    raw_id_fields = ["patient"]
    # The status moves only through its lifecycle (the appointment pages), never by editing the field.
    readonly_fields = [
        "status",
        "booked_by",
        "booked_at",
        "confirmed_at",
        "checked_in_at",
        "checked_in_by",
        "started_at",
        "completed_at",
        "cancelled_at",
        "cancelled_by",
        "cancellation_reason",
        "no_show_at",
    ]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.booked_by = request.user
        super().save_model(request, obj, form, change)
