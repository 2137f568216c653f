from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect

from clinic.admin import ClinicModelAdmin, NoDeleteAdmin, RecordsAdminAccess, month_filter, related_filter
from clinic.forms import add_service_errors

from . import services
from .models import Appointment

RESCHEDULE_FIELDS = ("doctor", "start", "end")


@admin.register(Appointment)
class AppointmentAdmin(RecordsAdminAccess, NoDeleteAdmin, ClinicModelAdmin):
    """Booking, rescheduling and the reason for visit go through scheduling/services.py, as on the
    appointment pages: what the services refuse (a day that has passed, a taken time, moving a
    visit that has begun or ended) is refused here with the same message."""

    list_display = ["start", "end", "patient", "doctor", "status", "reason", "booked_by"]
    list_filter = [
        "status",
        ("doctor", related_filter("user")),
        "doctor__specialty",
        ("start", admin.DateFieldListFilter),
        month_filter("start", months_ahead=6),
    ]
    search_fields = ["patient__last_name", "patient__first_name", "patient__mrn", "reason"]
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
        # Booked in a series (scheduling/series.py): changed with the others from the appointment's page.
        "series",
    ]

    def get_readonly_fields(self, request, obj=None):
        # An appointment is never moved to another patient: their record and payments hang off it.
        return [*super().get_readonly_fields(request, obj), *(["patient"] if obj else [])]

    def has_change_permission(self, request, obj=None):
        # A visit that has begun, ended or was called off is history: its page opens read-only.
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or obj.status in Appointment.RESCHEDULABLE)

    # --- saving through the services -------------------------------------------------------
    def save_form(self, request, form, change):
        """Book, reschedule or change the reason through the services; returns what they saved."""
        data = form.cleaned_data
        if not change:
            return services.book_appointment(
                patient=data["patient"],
                doctor=data["doctor"],
                start=data["start"],
                end=data["end"],
                reason=data["reason"],
                booked_by=request.user,
            )
        appointment = form.instance
        if any(name in form.changed_data for name in RESCHEDULE_FIELDS):
            appointment = services.reschedule_appointment(
                appointment=appointment, doctor=data["doctor"], start=data["start"], end=data["end"], by=request.user
            )
        if "reason" in form.changed_data:
            appointment = services.update_appointment_details(
                appointment=appointment, reason=data["reason"], by=request.user
            )
        return appointment

    def save_model(self, request, obj, form, change):
        pass  # save_form has saved it through the services

    def save_related(self, request, form, formsets, change):
        pass  # no many-to-many fields or inlines; form.save() is never called (see save_form)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method == "POST" and object_id is not None:
            obj = self.get_object(request, unquote(object_id))
            if obj is not None and obj.status not in Appointment.RESCHEDULABLE and self.has_change_permission(request):
                # Posted to a page that was editable when it was opened (or crafted): say why
                # nothing was saved, rather than Django's bare 403 for a read-only object.
                status = obj.get_status_display().lower()
                self.message_user(request, f"A {status} appointment cannot be changed.", messages.ERROR)
                return HttpResponseRedirect(request.path)
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as error:
            if request.method != "POST" or hasattr(request, "appointment_not_saved"):
                raise
            # A service refused a form that was valid (a day that has passed, a time another
            # booking took a moment ago): the admin's transaction is rolled back; show the same
            # form again with the reason next to the field it is about.
            request.appointment_not_saved = error
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        error = getattr(request, "appointment_not_saved", None)
        if error is None:
            return form

        class NotSaved(form):
            def clean(self):
                cleaned = super().clean()
                add_service_errors(self, error)
                return cleaned

        return NotSaved
