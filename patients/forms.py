from django import forms
from django.http import QueryDict

from clinic.forms import DateInput

from .models import Allergy, Condition, Patient
from .search import TOO_SHORT, too_short


class PatientSearchForm(forms.Form):
    q = forms.CharField(
        label="Find a patient",
        required=False,
        max_length=100,
        help_text="Name, MRN, phone or date of birth (e.g. 1984-03-12 or 12/03/1984).",
        widget=forms.TextInput(attrs={"type": "search", "autofocus": True, "autocomplete": "off"}),
    )
    archived = forms.BooleanField(label="Show archived records only", required=False)

    def clean_q(self):
        # Only single letters ("a", "j s"): a word start shared by a tenth of the clinic; ask for more.
        if too_short(self.cleaned_data["q"]):
            raise forms.ValidationError(TOO_SHORT)
        return self.cleaned_data["q"]


class PatientArchiveForm(forms.Form):
    """Archiving asks first; the reason is required when archiving cancels appointments (the view says)."""

    reason = forms.CharField(
        label="Reason for cancelling their appointments",
        required=False,
        max_length=255,
        help_text='Recorded on each cancelled appointment, e.g. "Moved away" or "Deceased".',
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        error_messages={"required": "Say why: their appointments still to come are cancelled with this reason."},
    )

    def clean_reason(self):
        return self.cleaned_data["reason"].strip()


class PatientForm(forms.ModelForm):
    class Meta:
        model = Patient
        fields = [
            "first_name",
            "last_name",
            "date_of_birth",
            "sex",
            "phone",
            "email",
            "address",
            "emergency_contact_name",
            "emergency_contact_relationship",
            "emergency_contact_phone",
            "notes",
            "reminders_by_email",
            "reminders_by_sms",
        ]
        widgets = {
            "date_of_birth": DateInput(),
            "address": forms.Textarea(attrs={"rows": 3}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    # Reminders' opt-outs: a box left unticked on the page is "no"; the API (JSON, not a page's form) that
    # leaves one out keeps what the patient has (a new patient: reminders on).
    OPT_OUTS = ("reminders_by_email", "reminders_by_sms")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.is_bound and not isinstance(self.data, QueryDict):
            missing = {name: getattr(self.instance, name) for name in self.OPT_OUTS if name not in self.data}
            if missing:
                self.data = {**self.data, **missing}

    def clean_first_name(self):
        return self.cleaned_data["first_name"].strip()

    def clean_last_name(self):
        return self.cleaned_data["last_name"].strip()


class PatientCreateForm(PatientForm):
    """On create, a likely duplicate must be looked at and confirmed before saving."""

    confirm_not_duplicate = forms.BooleanField(label="I have checked: this is a different person", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.duplicates = []

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        self.duplicates = list(
            Patient.objects.likely_duplicates(
                first_name=data.get("first_name", ""),
                last_name=data.get("last_name", ""),
                date_of_birth=data.get("date_of_birth"),
                phone=data.get("phone", ""),
            )[:5]
        )
        if self.duplicates and not data.get("confirm_not_duplicate"):
            self.add_error(
                "confirm_not_duplicate",
                "A patient with the same name and date of birth, or the same phone, is already registered "
                "(listed above). Open that record, or tick this box if this is a different person.",
            )
        return data


class AllergyForm(forms.ModelForm):
    class Meta:
        model = Allergy
        fields = ["substance", "reaction", "severity", "is_active"]


class ConditionForm(forms.ModelForm):
    class Meta:
        model = Condition
        fields = ["name", "icd10_code", "onset_date", "status", "resolved_date", "notes"]
        widgets = {
            "onset_date": DateInput(),
            "resolved_date": DateInput(),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }
