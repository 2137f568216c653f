"""Managers' side of reminders: the settings (one row, with a preview of the messages) and the reminders
that failed or whose fate is unknown, with an action to send one again (through the service)."""

from datetime import timedelta

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from clinic.admin import ClinicModelAdmin, NoDeleteAdmin, RecordsAdminAccess
from patients.models import Patient
from scheduling.models import Appointment
from staff.models import Doctor, User

from . import services
from .models import Reminder, ReminderSettings


def _sample_reminder():
    """A made-up appointment (never saved) to preview the wording with."""
    patient = Patient(first_name="Zoë", last_name="Łukasiewicz-Nakamura")
    doctor = Doctor(user=User(first_name="Amara", last_name="Okafor"))
    start = timezone.localtime().replace(hour=9, minute=30, second=0, microsecond=0) + timedelta(days=2)
    appointment = Appointment(patient=patient, doctor=doctor, start=start)
    return Reminder(pk=0, appointment=appointment, channel=Reminder.Channel.EMAIL, hours_before=48, starts_at=start)


@admin.register(ReminderSettings)
class ReminderSettingsAdmin(NoDeleteAdmin, ClinicModelAdmin):
    fieldsets = [
        ("The clinic, as messages name it", {"fields": ["clinic_name", "clinic_address", "clinic_phone"]}),
        ("When and how", {"fields": ["hours_before", "send_email", "send_sms"]}),
        ("Wording", {"fields": ["email_subject", "email_body", "sms_text"]}),
        ("Preview (as saved, with a made-up patient)", {"fields": ["preview"]}),
    ]
    readonly_fields = ["preview"]
    list_display = ["__str__", "hours_before", "send_email", "send_sms", "updated_at"]

    def has_add_permission(self, request):
        # One row, made by the data migration.
        return False

    def save_model(self, request, obj, form, change):
        services.save_reminder_settings(config=obj, by=request.user)

    @admin.display(description="Preview")
    def preview(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        # As saved: a form shown again with errors has put its refused values on `obj`.
        obj = ReminderSettings.objects.get(pk=obj.pk)
        sample = _sample_reminder()
        subject, body = services.email_message(sample, obj)
        text = services.sms_message(sample, obj)
        parts = [
            ("E-mail subject", subject),
            ("E-mail", body),
            (f"Text message ({len(text)} characters)", text),
        ]
        return format_html(
            '<div class="reminder-preview">{}</div>',
            format_html_join("", "<h4>{}</h4><pre>{}</pre>", parts),
        )


class NeedsAttention(admin.SimpleListFilter):
    """Failed and unknown first: what a manager comes here for (the default), or any status."""

    title = "status"
    parameter_name = "state"
    ATTENTION = (Reminder.Status.FAILED, Reminder.Status.UNKNOWN)

    def lookups(self, request, model_admin):
        return [("all", "All"), *Reminder.Status.choices]

    def choices(self, changelist):
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": "Failed or unknown",
        }
        for value, label in self.lookup_choices:
            yield {
                "selected": self.value() == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request, queryset):
        value = self.value()
        if value == "all":
            return queryset
        if value in Reminder.Status.values:
            return queryset.filter(status=value)
        return queryset.filter(status__in=self.ATTENTION)


@admin.register(Reminder)
class ReminderAdmin(RecordsAdminAccess, NoDeleteAdmin, ClinicModelAdmin):
    list_display = [
        "appointment_time",
        "patient",
        "channel",
        "hours_before",
        "status",
        "attempts",
        "last_error",
        "sent_at",
    ]
    list_filter = [NeedsAttention, "channel"]
    list_select_related = ["appointment__patient", "appointment__doctor__user"]
    actions = ["send_again"]
    fields = [
        "appointment",
        "channel",
        "hours_before",
        "starts_at",
        "status",
        "attempts",
        "next_attempt_at",
        "claimed_at",
        "last_error",
        "recipient",
        "message_id",
        "created_at",
        "sent_at",
    ]
    readonly_fields = fields
    ordering = ["-created_at", "-pk"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("appointment__patient", "appointment__doctor__user")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # made and moved by the sender; "send again" is the one change, through the service

    def has_retry_permission(self, request):
        return request.user.has_perm("reminders.retry_reminder")

    @admin.display(description="appointment", ordering="starts_at")
    def appointment_time(self, reminder):
        return services.when_text(reminder.starts_at)

    @admin.display(description="patient")
    def patient(self, reminder):
        return reminder.appointment.patient.full_name

    @admin.action(description="Send the selected reminders again", permissions=["retry"])
    def send_again(self, request, queryset):
        queued, refused = 0, []
        for reminder in queryset[:100]:
            try:
                services.retry_reminder(reminder=reminder, by=request.user)
                queued += 1
            except ValidationError as exc:
                refused.append(f"#{reminder.pk}: {' '.join(exc.messages)}")
        if queued:
            self.message_user(request, f"{queued} reminder(s) will be sent at the next run (within a minute).")
        for message in refused[:10]:
            self.message_user(request, message, messages.WARNING)
