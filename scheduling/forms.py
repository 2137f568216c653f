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
        _, offered = _offered_start(self.data)
        if offered is not None and timezone.localtime(offered).replace(tzinfo=None) == datetime.combine(
            data["date"], data["time"]
        ):
            data["start"] = offered  # the very instant offered, also in the hour the clocks repeat
        minutes = data.get("minutes")
        data["end"] = data["start"] + (timedelta(minutes=minutes) if minutes else data["doctor"].consultation_length)
        return data


def _offered_start(data):
    """The doctor's pk and the aware start of an offered free time taken: each offered time is a submit
    button whose value is "<doctor pk>@<ISO start with its UTC offset>" (scheduling.slots.Slot.choice). The
    offset tells apart the two 01:30s of the night the clocks go back."""
    doctor, _, moment = data.get("slot", "").partition("@")
    try:
        when = datetime.fromisoformat(moment)
    except ValueError:
        return None, None
    if not (doctor.isascii() and doctor.isdigit()) or when.tzinfo is None:
        return None, None
    return doctor, when


def with_offered_slot(data):
    """The form's data with an offered free time taken: it replaces the doctor, date and time typed, so
    one click books it, with the reason and length as entered. Anything else leaves the data as it is."""
    doctor, when = _offered_start(data)
    if when is None:
        return data
    local = timezone.localtime(when)
    data = data.copy()
    data["doctor"], data["date"], data["time"] = doctor, local.date().isoformat(), local.strftime("%H:%M")
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
    DAYS = 14  # how far one search looks
    MAX_PAGES = 10  # of 20 slots: "Show more" stops at 200, then "Later days" goes on

    doctor = DoctorChoiceField(queryset=Doctor.objects.none(), required=False, empty_label="Any doctor")
    specialty = forms.ModelChoiceField(queryset=Specialty.objects.all(), required=False, empty_label="Any specialty")
    date = BoundedDateField(label="From", required=False)
    minutes = forms.IntegerField(label="Length (minutes)", min_value=MIN_MINUTES, max_value=MAX_MINUTES, required=False)
    pages = forms.IntegerField(required=False, min_value=1, max_value=MAX_PAGES, widget=forms.HiddenInput)

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
