"""Small pieces shared by every app's forms."""

from datetime import date

from django import forms
from django.core.exceptions import ValidationError


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs=None):
        super().__init__({"step": 300, **(attrs or {})}, format="%H:%M")


class BoundedDateField(forms.DateField):
    """A date within years Python and the calendars can do arithmetic on (no 500 on 9999-12-31)."""

    widget = DateInput
    earliest = date(1900, 1, 1)
    latest = date(2200, 12, 31)

    def validate(self, value):
        super().validate(value)
        if value and not (self.earliest <= value <= self.latest):
            raise ValidationError(f"Enter a date between {self.earliest:%Y} and {self.latest:%Y}.", code="out_of_range")


def add_service_errors(form, error: ValidationError, field_map=None):
    """Put a model/service ValidationError next to the form field it is about."""
    field_map = field_map or {}
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            target = field_map.get(field, field)
            form.add_error(target if target in form.fields else None, errors)
    else:
        form.add_error(None, error)
