from datetime import datetime, timedelta

from django import forms
from django.utils import timezone

from clinic.forms import BoundedDateField, TimeInput
from staff.models import Doctor, Specialty

from .models import MAX_MINUTES, MIN_MINUTES

# Service errors about `start`/`end` belong next to the time the user typed.
FIELD_MAP = {"start": "time", "end": "minutes", "patient": None}
BOOKING_HORIZON = timedelta(days=2 * 365)


def _doctor_choices():
    return Doctor.objects.active().select_related("user", "specialty")


class DoctorChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, doctor):
        return f"{doctor} — {doctor.specialty}"


class AppointmentTimeForm(forms.Form):
    """Doctor, day, time and length, in the clinic's time zone."""

    doctor = DoctorChoiceField(queryset=Doctor.objects.none())
    date = BoundedDateField()
    time = forms.TimeField(widget=TimeInput())
    minutes = forms.IntegerField(
        label="Length (minutes)",
        min_value=MIN_MINUTES,
        max_value=MAX_MINUTES,
        required=False,
        help_text="Leave empty for the doctor's usual consultation length.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["doctor"].queryset = _doctor_choices()

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        if data["date"] > timezone.localdate() + BOOKING_HORIZON:
            self.add_error("date", f"Appointments can be booked up to {BOOKING_HORIZON.days // 365} years ahead.")
            return data
        data["start"] = timezone.make_aware(datetime.combine(data["date"], data["time"]))
        minutes = data.get("minutes")
        data["end"] = data["start"] + (timedelta(minutes=minutes) if minutes else data["doctor"].consultation_length)
        return data


class BookingForm(AppointmentTimeForm):
    reason = forms.CharField(label="Reason for visit", max_length=255, required=False)


class RescheduleForm(AppointmentTimeForm):
    pass


class CancelForm(forms.Form):
    reason = forms.CharField(
        label="Reason for cancelling", max_length=255, widget=forms.TextInput(attrs={"autofocus": True})
    )


class DayForm(forms.Form):
    """The ?date= of calendar pages; a bad value is a form error, not a crash."""

    date = BoundedDateField(required=False)

    def day(self):
        if self.is_valid() and self.cleaned_data.get("date"):
            return self.cleaned_data["date"]
        return timezone.localdate()


class SlotSearchForm(forms.Form):
    doctor = DoctorChoiceField(queryset=Doctor.objects.none(), required=False, empty_label="Any doctor")
    specialty = forms.ModelChoiceField(queryset=Specialty.objects.all(), required=False, empty_label="Any specialty")
    date = BoundedDateField(label="From", required=False)
    minutes = forms.IntegerField(label="Length (minutes)", min_value=MIN_MINUTES, max_value=MAX_MINUTES, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["doctor"].queryset = _doctor_choices()

    def clean(self):
        data = super().clean()
        if not self.errors and not data.get("doctor") and not data.get("specialty"):
            raise forms.ValidationError("Choose a doctor or a specialty.")
        return data

    def start_from(self):
        day = self.cleaned_data.get("date")
        if not day or day <= timezone.localdate():
            return timezone.now()
        return timezone.make_aware(datetime.combine(day, datetime.min.time()))
