"""Small pieces shared by every app's forms."""

from datetime import date

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import connection


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


def as_lookup_value(model_field, value):
    """`value` as `model_field` takes it in a query, or None where the database would fail on it.

    Django validates a chosen id by querying with it; a value that is not a number, an integer
    beyond the column's range (SQLite cannot even bind one past 64 bits) or text holding a NUL
    byte (PostgreSQL refuses it) would end that query in a 500 instead of a message.
    """
    try:
        python = model_field.to_python(value)
        model_field.get_prep_value(python)
    except (ValidationError, ValueError, TypeError, OverflowError):
        return None
    if isinstance(python, str) and "\x00" in python:
        return None
    if isinstance(python, int):
        target = getattr(model_field, "target_field", model_field)
        low, high = connection.ops.integer_field_ranges.get(target.get_internal_type(), (None, None))
        if (low is not None and python < low) or (high is not None and python > high):
            return None
    return python


class ModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Django's, with every chosen value checked before it is queried with (see as_lookup_value)."""

    def _check_values(self, value):
        key_field = self.queryset.model._meta.get_field(self.to_field_name or self.queryset.model._meta.pk.name)
        for chosen in value if isinstance(value, list | tuple) else []:
            if isinstance(chosen, str) and as_lookup_value(key_field, chosen) is None:
                raise ValidationError(
                    self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": chosen}
                )
        return super()._check_values(value)


class _BoundedUsername:
    # Django's sign-in forms set the username's max_length after the field is built, so the length
    # is never checked: a 10,000-character name went on to authenticate() and into django-axes'
    # 255-character column of failed attempts (a 500 on PostgreSQL).
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        username = self.fields["username"]
        username.validators.append(MaxLengthValidator(username.max_length))


class SignInForm(_BoundedUsername, AuthenticationForm):
    pass


class AdminSignInForm(_BoundedUsername, AdminAuthenticationForm):
    pass
