"""Searching the audit trail (Managers, Administrators); a patient's "who accessed" page is in patients.views."""

from datetime import datetime, time, timedelta

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.views.generic import ListView

from .models import AuditEntry
from .paginators import BoundedCountPaginator
from .permissions import Permitted

# Newest first, in the order written (seq is given a moment later, at sealing). Each filter of the
# search has an index that ends in id (audit_patient_id, audit_user_id, audit_action_id).
ENTRIES = AuditEntry.objects.select_related("user", "patient").order_by("-id")


def _start_of(day):
    """The UTC instant a day begins in the clinic's time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user):
        return f"{user.get_full_name() or user.username} ({user.username})"


class AuditSearchForm(forms.Form):
    patient = forms.CharField(label="Patient MRN", required=False, max_length=12)
    user = StaffChoiceField(
        label="Staff member",
        queryset=get_user_model().objects.order_by("username"),
        required=False,
        empty_label="Anyone",
    )
    action = forms.ChoiceField(choices=[("", "Any action"), *AuditEntry.Action.choices], required=False)
    date_from = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean_patient(self):
        mrn = self.cleaned_data["patient"].strip()
        if not mrn:
            return None
        # The trail's own link to patients (a foreign key declared by name): the base imports no app.
        patient = AuditEntry.patient.field.related_model.objects.filter(mrn=mrn).first()
        if patient is None:
            raise forms.ValidationError(f"No patient has the MRN {mrn}.")
        return patient

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The end date is before the start date.")
        return cleaned

    def filter(self, entries):
        data = self.cleaned_data
        if data["patient"]:
            entries = entries.filter(patient=data["patient"])
        if data["user"]:
            entries = entries.filter(user=data["user"])
        if data["action"]:
            entries = entries.filter(action=data["action"])
        if data["date_from"]:
            entries = entries.filter(at__gte=_start_of(data["date_from"]))
        if data["date_to"]:
            entries = entries.filter(at__lt=_start_of(data["date_to"] + timedelta(days=1)))
        if (data["date_from"] or data["date_to"]) and not (data["patient"] or data["user"] or data["action"]):
            # Dates alone: newest first by time, read in that order from (at, id); sorting the days'
            # entries by id made SQLite sort every entry of the range (thousands a day) for each page.
            entries = entries.order_by("-at", "-id")
        return entries


class EntriesView(Permitted, ListView):
    """A page of audit entries, for those who may read the trail."""

    permission_required = "clinic.view_auditentry"
    context_object_name = "entries"
    paginate_by = 50


class AuditSearchView(EntriesView):
    template_name = "clinic/audit_list.html"
    # The whole trail is a million entries and more: count a few pages ahead, not every entry.
    paginator_class = BoundedCountPaginator

    def get_queryset(self):
        self.form = AuditSearchForm(self.request.GET)
        if not self.form.is_valid():
            return AuditEntry.objects.none()
        return self.form.filter(ENTRIES)

    def get_context_data(self, **kwargs):
        return super().get_context_data(form=self.form, **kwargs)
