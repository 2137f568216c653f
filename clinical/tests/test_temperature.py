"""A nurse's temperature: what was meant is suggested ("379" -> "Did you mean 37.9 °C?"), a °F reading
is recognised, every plausible reading is accepted, and nothing typed yields a 500."""

from decimal import Decimal

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinical.forms import TEMPERATURE_RANGE, MedicalRecordForm, VitalsForm, parse_temperature
from clinical.models import MedicalRecord
from clinical.tests.factories import MedicalRecordFactory
from clinical.tests.pages import Status, field_errors, record_form, text, visit
from staff.tests.factories import DoctorFactory

PLAUSIBLE = st.decimals(min_value=Decimal("30.0"), max_value=Decimal("45.0"), places=1)
IMPLAUSIBLE = st.one_of(
    st.decimals(max_value=Decimal("29.9"), places=2, allow_nan=False, allow_infinity=False),
    st.decimals(min_value=Decimal("45.1"), places=2, allow_nan=False, allow_infinity=False),
)


@pytest.mark.parametrize(
    "typed, message",
    [
        ("379", "Did you mean 37.9 °C?"),
        ("3790", "Did you mean 37.9 °C?"),
        ("3.79", "Did you mean 37.9 °C?"),
        ("365", "Did you mean 36.5 °C?"),
        ("98.6", "That looks like °F: did you mean 37.0 °C?"),
        ("100.4", "That looks like °F: did you mean 38.0 °C?"),
        ("47.5", TEMPERATURE_RANGE),
        ("-37", TEMPERATURE_RANGE),
        ("1e5", TEMPERATURE_RANGE),
        ("NaN", "Enter the temperature in °C as a number, such as 37.2."),
        ("thirty-seven", "Enter the temperature in °C as a number, such as 37.2."),
        ("°", "Enter the temperature in °C as a number, such as 37.2."),
    ],
)
def test_an_implausible_reading_gets_the_likely_one(typed, message):
    assert parse_temperature(typed) == (None, message)


@pytest.mark.parametrize("typed", ["37.9", "37,9", "37.9 °C", " 37.9°c ", "37.94"])
def test_the_ways_a_reading_is_written(typed):
    assert parse_temperature(typed) == (Decimal("37.9"), None)


@settings(max_examples=300)
@given(st.text(max_size=40))
def test_any_text_is_a_value_or_a_message_never_an_exception(typed):
    value, message = parse_temperature(typed)
    assert (value is None) or (Decimal("30.0") <= value <= Decimal("45.0"))
    assert value is None or message is None
    if typed.strip() and value is None:
        assert message


@given(PLAUSIBLE, st.sampled_from(["{}", "{} °C", " {}", "{}".replace(".", ",")]))
def test_every_plausible_reading_is_accepted_as_typed(value, pattern):
    typed = pattern.format(value)
    assert parse_temperature(typed) == (value, None)
    form = VitalsForm(data={"temperature": typed})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["temperature"] == value


@given(IMPLAUSIBLE)
def test_every_implausible_reading_gets_a_message_next_to_the_field(value):
    form = VitalsForm(data={"temperature": str(value)})
    assert not form.is_valid()
    [message] = form.errors["temperature"]
    assert message.startswith(("Did you mean", "That looks like °F", "Enter a value between"))
    assert "digits" not in message
    # Only the temperature is said to be wrong: no "enter at least one vital sign" on top.
    assert not form.non_field_errors()


@given(st.integers(min_value=300, max_value=450))
def test_a_reading_without_its_decimal_point_is_recognised(tenths):
    value, message = parse_temperature(str(tenths))
    assert value is None
    assert message == f"Did you mean {Decimal(tenths) / 10:.1f} °C?"


@pytest.mark.django_db
def test_the_record_form_has_the_same_temperature_field():
    record = MedicalRecordFactory()
    form = MedicalRecordForm(data={**record_form(record), "temperature": "379"}, instance=record)
    assert not form.is_valid()
    assert form.errors["temperature"] == ["Did you mean 37.9 °C?"]


@pytest.mark.django_db
def test_a_nurse_who_types_379_sees_the_question_next_to_the_field_and_nothing_is_saved(doctor, nurse):
    appointment = visit(doctor, status=Status.CHECKED_IN)
    response = nurse.post(reverse("clinical:vitals", args=[appointment.pk]), {"pulse": "72", "temperature": "379"})
    assert response.status_code == 200
    assert field_errors(response, "temperature") == ["Did you mean 37.9 °C?"]
    assert "Did you mean 37.9 °C?" in text(response)
    assert "no more than" not in text(response)
    assert not MedicalRecord.objects.exists()


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(typed=st.one_of(st.text(max_size=30), st.decimals(allow_nan=True, allow_infinity=True).map(str)))
def test_whatever_is_typed_into_the_vitals_page_is_a_page_not_a_500(typed, nurse):
    appointment = visit(DoctorFactory(), status=Status.CHECKED_IN)  # one each: the same hour would overlap
    typed = typed.replace("\x00", "")  # a NUL never reaches a form from a browser
    response = nurse.post(reverse("clinical:vitals", args=[appointment.pk]), {"pulse": "72", "temperature": typed})
    assert response.status_code in (200, 302)
    if response.status_code == 200:
        assert field_errors(response, "temperature")
