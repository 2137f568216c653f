from django import forms
from django.conf import settings
from django.utils import timezone

from clinic.forms import BoundedDateField
from clinical.models import MedicalRecord
from scheduling.models import Appointment

from .models import ClinicalDocument


def _file_help(kinds):
    return f"{kinds}, up to {settings.UPLOAD_MAX_MB} MB."


class VisitChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{timezone.localtime(obj.start):%d %b %Y %H:%M} with {obj.doctor}"


class RecordChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.created_at:%d %b %Y}: {obj.diagnosis or obj.chief_complaint or 'draft'}"[:120]


class DocumentUploadForm(forms.Form):
    doc_type = forms.ChoiceField(label="Type")
    title = forms.CharField(max_length=200)
    document_date = BoundedDateField(label="Date of the document", initial=timezone.localdate)
    appointment = VisitChoiceField(label="Visit", queryset=Appointment.objects.none(), required=False)
    medical_record = RecordChoiceField(label="Medical record", queryset=MedicalRecord.objects.none(), required=False)
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    file = forms.FileField(help_text=_file_help("PDF, JPEG, PNG or WebP"))

    def __init__(self, *args, patient, types, clinical, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["doc_type"].choices = [
            (value, label) for value, label in ClinicalDocument.Type.choices if value in types
        ]
        self.fields["appointment"].queryset = (
            Appointment.objects.filter(patient=patient).select_related("doctor__user").order_by("-start")
        )
        if clinical:
            self.fields["medical_record"].queryset = MedicalRecord.objects.filter(patient=patient).order_by(
                "-created_at"
            )
        else:
            # Reception files referrals and consents; linking to a medical record is clinical.
            del self.fields["medical_record"]


class ReplaceFileForm(forms.Form):
    file = forms.FileField(label="Corrected file", help_text=_file_help("PDF, JPEG, PNG or WebP"))
    note = forms.CharField(label="What changed", max_length=300, help_text="Kept with the new version.")


class ArchiveForm(forms.Form):
    reason = forms.CharField(max_length=300, widget=forms.Textarea(attrs={"rows": 2}))


class ImageUploadForm(forms.Form):
    body_site = forms.CharField(
        label="Body site or tag",
        max_length=100,
        help_text="Use the same words each time ('left shin') so the photos line up in the gallery.",
        widget=forms.TextInput(attrs={"list": "body-sites", "autocomplete": "off"}),
    )
    taken_on = BoundedDateField(label="Date taken", initial=timezone.localdate)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    appointment = VisitChoiceField(label="Visit", queryset=Appointment.objects.none(), required=False)
    file = forms.FileField(label="Photo", help_text=_file_help("JPEG, PNG or WebP"))

    def __init__(self, *args, patient, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["appointment"].queryset = (
            Appointment.objects.filter(patient=patient).select_related("doctor__user").order_by("-start")
        )
