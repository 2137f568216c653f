from django import forms
from django.core.exceptions import ValidationError

from clinic.forms import BoundedDateField, TimeInput, as_lookup_value
from staff.models import Doctor, Specialty

from .models import DAY_PARTS, WEEKDAY_NAMES, Urgency, WaitlistEntry


class _SafeChoice(forms.ModelChoiceField):
    """A chosen id checked before it is queried with (no 500 on "1e99" or a NUL byte)."""

    def to_python(self, value):
        if value not in self.empty_values and as_lookup_value(self.queryset.model._meta.pk, value) is None:
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class DoctorField(_SafeChoice):
    def label_from_instance(self, doctor):
        return f"{doctor} — {doctor.specialty}"


TIME_OF_DAY = [
    ("", "Any time"),
    ("mornings", "Mornings (08:00–12:00)"),
    ("afternoons", "Afternoons (12:00–17:00)"),
    ("evenings", "Evenings (17:00–21:00)"),
    ("custom", "Between the times below"),
]


class EntryForm(forms.Form):
    doctor = DoctorField(
        queryset=Doctor.objects.none(),
        required=False,
        empty_label="Any doctor of the specialty",
        help_text="A named doctor, or leave empty and choose a specialty.",
    )
    specialty = _SafeChoice(queryset=Specialty.objects.all(), required=False, empty_label="—")
    urgency = forms.TypedChoiceField(choices=Urgency.choices, coerce=int, initial=Urgency.ROUTINE)
    weekdays = forms.MultipleChoiceField(
        label="Preferred days",
        choices=[(str(i), name) for i, name in enumerate(WEEKDAY_NAMES)],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: any day.",
    )
    time_of_day = forms.ChoiceField(label="Preferred time of day", choices=TIME_OF_DAY, required=False)
    time_from = forms.TimeField(label="From", required=False, widget=TimeInput())
    time_to = forms.TimeField(label="Until", required=False, widget=TimeInput())
    not_before = BoundedDateField(label="Not before", required=False, help_text="Leave empty: as soon as possible.")
    note = forms.CharField(max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["doctor"].queryset = Doctor.objects.active().select_related("user", "specialty")

    @classmethod
    def initial_for(cls, entry: WaitlistEntry):
        named = next((name for name, span in DAY_PARTS.items() if span == (entry.time_from, entry.time_to)), None)
        custom = entry.time_from or entry.time_to
        return {
            "doctor": entry.doctor_id,
            "specialty": entry.specialty_id,
            "urgency": entry.urgency,
            "weekdays": list(entry.weekdays),
            "time_of_day": named or ("custom" if custom else ""),
            "time_from": entry.time_from if not named else None,
            "time_to": entry.time_to if not named else None,
            "not_before": entry.not_before,
            "note": entry.note,
        }

    def clean(self):
        data = super().clean()
        if not data.get("doctor") and not data.get("specialty") and "doctor" not in self.errors:
            self.add_error("doctor", "Choose a doctor or a specialty.")
        part = data.get("time_of_day")
        if part in DAY_PARTS:
            data["time_from"], data["time_to"] = DAY_PARTS[part]
        elif part == "custom":
            if not data.get("time_from") and not data.get("time_to") and "time_from" not in self.errors:
                self.add_error("time_from", "Give a time, or choose “Any time”.")
            elif data.get("time_from") and data.get("time_to") and data["time_to"] <= data["time_from"]:
                self.add_error("time_to", "The end must be after the start.")
        else:
            data["time_from"] = data["time_to"] = None
        return data

    def entry_fields(self):
        data = self.cleaned_data
        return {
            "doctor": data["doctor"],
            "specialty": data["specialty"],
            "urgency": data["urgency"],
            "weekdays": "".join(data["weekdays"]),
            "time_from": data.get("time_from"),
            "time_to": data.get("time_to"),
            "not_before": data["not_before"],
            "note": data["note"],
        }


class RemoveForm(forms.Form):
    reason = forms.CharField(
        label="Why does the patient leave the waitlist?",
        max_length=255,
        widget=forms.TextInput(attrs={"autofocus": True}),
        help_text="For example: booked elsewhere, no longer needed, could not be reached.",
    )


class FilterForm(forms.Form):
    doctor = DoctorField(queryset=Doctor.objects.none(), required=False, empty_label="Every doctor")
    specialty = _SafeChoice(queryset=Specialty.objects.all(), required=False, empty_label="Every specialty")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["doctor"].queryset = Doctor.objects.active().select_related("user", "specialty")


class OfferForm(forms.Form):
    count = forms.TypedChoiceField(
        label="Offer to the top", choices=[(n, str(n)) for n in range(1, 6)], coerce=int, initial=3, required=False
    )
