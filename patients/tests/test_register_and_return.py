"""Registering a patient from elsewhere (the booking page) goes back there with the patient chosen."""

from urllib.parse import parse_qsl, urlsplit

import pytest
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from clinic.tests.submissions import token_on
from patients.models import Patient
from patients.tests.test_views import patient_form
from patients.views import with_patient

pytestmark = pytest.mark.django_db

CREATE = reverse("patients:create")
BOOKING = "/appointments/book/?doctor=7&date=2027-01-05&time=10%3A00"


def query_of(url):
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


def test_the_form_page_says_it_will_go_back_and_carries_the_address(reception):
    page = reception.get(CREATE, {"next": BOOKING})

    assert "After registering you will go back to where you were" in page.text
    assert '<input type="hidden" name="next" value="/appointments/book/?doctor=7&amp;date=2027-01-05' in page.text
    # Cancel goes back there too.
    assert 'href="/appointments/book/?doctor=7&amp;date=2027-01-05&amp;time=10%3A00">Cancel</a>' in page.text


def test_after_registering_it_goes_back_with_the_patient_chosen_and_the_rest_kept(reception):
    response = reception.post(CREATE, {**patient_form(), "next": BOOKING})

    patient = Patient.objects.get()
    assert response.status_code == 302
    location = response["Location"]
    assert urlsplit(location).path == "/appointments/book/"
    kept = [("doctor", "7"), ("date", "2027-01-05"), ("time", "10:00")]
    assert query_of(location) == [*kept, ("patient", str(patient.pk))]


def test_a_patient_already_in_the_address_is_replaced_by_the_new_one(reception):
    response = reception.post(CREATE, {**patient_form(), "next": "/appointments/book/?patient=99&patient=98&doctor=3"})

    patient = Patient.objects.get()
    assert query_of(response["Location"]) == [("doctor", "3"), ("patient", str(patient.pk))]


def test_a_form_shown_again_with_its_errors_still_carries_the_address(reception):
    page = reception.post(CREATE, {**patient_form(first_name=""), "next": BOOKING})

    assert page.status_code == 200
    assert not Patient.objects.exists()
    assert 'name="next" value="/appointments/book/?doctor=7&amp;' in page.text
    assert "After registering you will go back to where you were" in page.text


@pytest.mark.parametrize(
    "forged",
    [
        "https://evil.example/appointments/book/",
        "//evil.example/appointments/book/",
        "/\\evil.example/",
        "/\t/evil.example/",  # a browser drops the tab: //evil.example/
        "http://testserver/appointments/book/",  # even this site, given whole: only paths are taken
        "javascript:alert(1)",
        "appointments/book/",
        " https://evil.example/",
        "/" + "a" * 2100,
    ],
)
def test_a_forged_or_absolute_address_is_ignored(reception, forged):
    page = reception.get(CREATE, {"next": forged})
    assert "After registering you will go back" not in page.text
    assert 'name="next"' not in page.text

    response = reception.post(CREATE, {**patient_form(), "next": forged})

    patient = Patient.objects.get()
    assert response["Location"] == patient.get_absolute_url()


def test_without_an_address_it_is_as_before(reception):
    assert "After registering you will go back" not in reception.get(CREATE).text
    response = reception.post(CREATE, patient_form())

    assert response["Location"] == Patient.objects.get().get_absolute_url()


def test_a_double_submit_registers_once_and_both_go_to_the_same_place(reception):
    page = reception.get(CREATE, {"next": BOOKING})
    data = {**patient_form(), "next": BOOKING, "client_token": token_on(page)}

    first = reception.post(CREATE, data)
    second = reception.post(CREATE, data)

    patient = Patient.objects.get()
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert ("patient", str(patient.pk)) in query_of(second["Location"])


NAMES = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(NAMES, NAMES), max_size=5), st.integers(min_value=1, max_value=10**9))
def test_the_patient_is_added_and_every_other_parameter_kept(pairs, pk):
    target = "/appointments/book/?" + "&".join(
        f"{key}={value}" for key, value in ((k.replace("&", "").replace("=", "").replace("#", ""), v) for k, v in pairs)
    )
    before = [(key, value) for key, value in query_of(target) if key != "patient"]

    after = query_of(with_patient(target, pk))

    assert after == [*before, ("patient", str(pk))]
    assert urlsplit(with_patient(target, pk)).path == "/appointments/book/"
