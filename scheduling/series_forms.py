"""The forms of a series: the rule to book, the change to make from one occurrence, and the choices made
on the list of occurrences (book, skip, or another time that day)."""

from datetime import datetime

from django import forms
from django.utils import timezone
from django.utils.formats import date_format

from clinic.forms import BoundedDateField, TimeInput
from staff.models import Doctor

from .forms import BOOKING_HORIZON, AppointmentTimeForm, DoctorChoiceField, _doctor_choices
from .models import SERIES_MAX_COUNT, SERIES_MAX_INTERVAL, SERIES_MAX_SPAN, Series
from .series import SCOPES, Rule

# Monday first, named by a Monday's date (1 Jan 2024) so the names follow the active language.
WEEKDAYS = [(str(day), date_format(datetime(2024, 1, 1 + day), "l")) for day in range(7)]


class SeriesForm(AppointmentTimeForm):
    """Patient aside (chosen first, in the address): doctor, first day and time, length, the rule, the reason."""

    unit = forms.ChoiceField(label="Repeat every", choices=Series.Unit.choices, initial=Series.Unit.WEEKS)
    interval = forms.IntegerField(
        label="How many days or weeks apart", min_value=1, max_value=SERIES_MAX_INTERVAL, initial=1
    )
    weekdays = forms.MultipleChoiceField(
        label="On",
        choices=WEEKDAYS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Weekly series only. None ticked: the first appointment's weekday.",
    )
    count = forms.IntegerField(
        label="Number of appointments",
        min_value=1,
        max_value=SERIES_MAX_COUNT,
        required=False,
        help_text=f"Up to {SERIES_MAX_COUNT}. Or give an end date instead.",
    )
    until = BoundedDateField(
        label="Until",
        required=False,
        help_text=f"The last day (up to {SERIES_MAX_SPAN.days // 30} months after the first appointment).",
    )
    reason = forms.CharField(label="Reason for visit", max_length=255, required=False)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        count, until = data.get("count"), data.get("until")
        if count is None and until is None:
            self.add_error("count", "Give the number of appointments, or an end date.")
        elif count is not None and until is not None:
            self.add_error("until", "Give the number of appointments or an end date, not both.")
        elif until is not None and until < data["date"]:
            self.add_error("until", "The end date is before the first appointment.")
        elif until is not None and until >= data["date"] + SERIES_MAX_SPAN:
            self.add_error("until", f"A series can span up to {SERIES_MAX_SPAN.days} days; choose an earlier date.")
        weekly = data["unit"] == Series.Unit.WEEKS
        weekdays = tuple(sorted(int(day) for day in data.get("weekdays") or ()))
        if weekly and weekdays and data["date"].weekday() not in weekdays:
            first = date_format(data["date"], "l")
            self.add_error("weekdays", f"The first appointment is on a {first}: tick {first} too, or change the date.")
        if not self.errors:
            # None ticked: the first appointment's weekday, kept on the series so its page names the day.
            weekdays = (weekdays or (data["date"].weekday(),)) if weekly else ()
            data["rule"] = Rule(data["unit"], data["interval"], weekdays, until, count)
            data["length"] = data["end"] - data["start"]
        return data


class ScopeForm(forms.Form):
    scope = forms.ChoiceField(label="Which appointments", choices=SCOPES, widget=forms.RadioSelect, initial="this")

    def __init__(self, *args, counts=None, **kwargs):
        super().__init__(*args, **kwargs)
        if counts:
            self.fields["scope"].choices = [
                (value, f"{label} ({counts[value]} to change)") for value, label in SCOPES if value in counts
            ]


class SeriesMoveForm(ScopeForm):
    doctor = DoctorChoiceField(queryset=Doctor.objects.none())
    date = BoundedDateField(label="New date of this appointment")
    time = forms.TimeField(label="New time", widget=TimeInput())

    field_order = ["scope", "doctor", "date", "time"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["doctor"].queryset = _doctor_choices()
        self.fields["doctor"].help_text = "Another doctor takes every appointment moved."

    def clean(self):
        data = super().clean()
        if not self.errors and data["date"] > timezone.localdate() + BOOKING_HORIZON:
            # The same horizon as booking and rescheduling one appointment (AppointmentTimeForm).
            self.add_error("date", f"Appointments can be booked up to {BOOKING_HORIZON.days // 365} years ahead.")
        if not self.errors:
            data["start"] = timezone.make_aware(datetime.combine(data["date"], data["time"]))
        return data


class SeriesCancelForm(ScopeForm):
    reason = forms.CharField(label="Reason for cancelling", max_length=255)


class ChoicesForm(forms.Form):
    """On the list of occurrences: for each, book it as listed ("keep"), skip it, or another time that day (an
    ISO time with its offset, one of those offered). One radio group per occurrence, named by its key."""

    KEEP, SKIP = "keep", "skip"

    def __init__(self, *args, occurrences, **kwargs):
        super().__init__(*args, **kwargs)
        self.occurrences = occurrences
        for occurrence in occurrences:
            choices = [] if occurrence.problem else [(self.KEEP, f"At {occurrence.local_start:%H:%M}")]
            choices.append((self.SKIP, "Skip"))
            choices += [(slot.start.isoformat(), f"At {slot.local_start:%H:%M}") for slot in occurrence.free]
            # A choice no longer offered: the time was taken (or the hours changed) since the list was shown.
            taken = f"No longer free: {occurrence.problem or 'taken since the list was shown'} Choose again."
            self.fields[occurrence.key] = forms.ChoiceField(
                label=f"{occurrence.number}. {date_format(occurrence.local_start, 'l j F Y')}",
                choices=choices,
                initial=choices[0][0],
                widget=forms.RadioSelect,
                error_messages={"invalid_choice": taken, "required": "Choose one."},
            )

    def rows(self):
        return [(occurrence, self[occurrence.key]) for occurrence in self.occurrences]

    def chosen(self):
        """The occurrences to save, each with the start chosen; skipped ones left out."""
        picked = []
        for occurrence in self.occurrences:
            value = self.cleaned_data[occurrence.key]
            if value == self.SKIP:
                continue
            if value != self.KEEP:  # one of the free times offered (the field allows no other)
                length = occurrence.end - occurrence.start
                occurrence.start = datetime.fromisoformat(value)
                occurrence.end = occurrence.start + length
            picked.append(occurrence)
        return picked

    def count(self):
        """How many the list would save as it stands (the button says it)."""
        return sum(1 for _, field in self.rows() if field.value() not in (self.SKIP, None))
