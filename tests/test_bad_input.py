"""Whatever is typed into an address or a form, the answer is a page or a 404, never a 500."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format

from patients.tests.factories import AllergyFactory, PatientFactory
from scheduling.models import Appointment
from scheduling.tests.factories import AppointmentFactory
from staff.tests.factories import DoctorFactory

pytestmark = pytest.mark.django_db

BOOK = reverse("scheduling:book")
SLOTS = reverse("scheduling:slots")
UNKNOWN = 987654

MALFORMED_DATES = [
    "2024-13-45",
    "2024-02-30",
    "yesterday",
    "31/31/2024",
    "2024-1-1-1",
    "\u0661\u0662",
    pytest.param("x" * 2000, id="very-long"),
    "9999-12-31",  # a real date, but the calendar cannot show the day after it
    "0001-01-01",  # nor the day before this one
]
# "²" passes str.isdigit() but not int(): a digit test has to be about ASCII digits.
NOT_AN_ID = ["abc", "1.5", "-1", "1e3", "0x10", " 7", pytest.param("²", id="superscript-two")]


def calendar_urls():
    doctor = DoctorFactory()
    return [reverse("scheduling:day"), reverse("scheduling:week", args=[doctor.pk])]


@pytest.mark.parametrize("value", MALFORMED_DATES)
def test_malformed_calendar_date_shows_a_page(reception, value):
    for url in calendar_urls():
        response = reception.get(url, {"date": value})
        assert response.status_code == 200, url
        body = response.content.decode()
        assert "Previous" in body and "Next" in body


@pytest.mark.parametrize("value", ["2024-13-45", "yesterday"])
def test_malformed_calendar_date_falls_back_to_today_and_says_why(reception, value):
    response = reception.get(reverse("scheduling:day"), {"date": value})
    body = response.content.decode()
    assert "Enter a valid date." in body
    assert date_format(timezone.localdate(), "l j F Y") in body


@pytest.mark.parametrize("value", NOT_AN_ID)
@pytest.mark.parametrize("url", [BOOK, SLOTS])
def test_non_numeric_patient_in_the_address_is_a_404(reception, url, value):
    PatientFactory()
    assert reception.get(url, {"patient": value}).status_code == 404


@pytest.mark.parametrize("value", NOT_AN_ID)
def test_non_numeric_patient_in_a_booking_post_is_a_404(reception, value):
    doctor = DoctorFactory()
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    response = reception.post(BOOK, {"patient": value, "doctor": doctor.pk, "date": tomorrow, "time": "10:00"})
    assert response.status_code == 404
    assert not Appointment.objects.exists()


@pytest.mark.parametrize("url", [BOOK, SLOTS])
def test_unknown_or_archived_patient_in_the_address_is_a_404(reception, url):
    archived = PatientFactory(is_archived=True)
    assert reception.get(url, {"patient": UNKNOWN}).status_code == 404
    assert reception.get(url, {"patient": archived.pk}).status_code == 404
    assert reception.get(url, {"patient": "99999999999999999999999"}).status_code == 404


def test_booking_post_without_a_patient_is_a_404(reception):
    assert reception.post(BOOK, {"doctor": DoctorFactory().pk}).status_code == 404


@pytest.mark.parametrize(
    ("method", "name", "kwargs"),
    [
        ("get", "patients:detail", {"pk": UNKNOWN}),
        ("get", "patients:edit", {"pk": UNKNOWN}),
        ("post", "patients:archive", {"pk": UNKNOWN}),
        ("post", "patients:restore", {"pk": UNKNOWN}),
        ("get", "scheduling:detail", {"pk": UNKNOWN}),
        ("get", "scheduling:detail", {"pk": 99999999999999999999999}),
        ("get", "scheduling:reschedule", {"pk": UNKNOWN}),
        ("get", "scheduling:cancel", {"pk": UNKNOWN}),
        ("post", "scheduling:cancel", {"pk": UNKNOWN}),
        ("post", "scheduling:confirm", {"pk": UNKNOWN}),
        ("post", "scheduling:check_in", {"pk": UNKNOWN}),
        ("post", "scheduling:no_show", {"pk": UNKNOWN}),
        ("get", "scheduling:week", {"doctor_pk": UNKNOWN}),
    ],
)
def test_unknown_ids_are_a_404(administrator, method, name, kwargs):
    response = getattr(administrator, method)(reverse(name, kwargs=kwargs))
    assert response.status_code == 404
    assert "There is nothing at this address." in response.content.decode()


@pytest.mark.parametrize("name", ["scheduling:start", "scheduling:complete"])
def test_unknown_appointment_for_a_doctor_is_a_404(doctor_client, name):
    assert doctor_client.post(reverse(name, args=[UNKNOWN])).status_code == 404


@pytest.mark.parametrize("name", ["staff:edit", "staff:deactivate", "staff:reactivate", "staff:doctor_profile"])
def test_unknown_staff_member_is_a_404(administrator, name):
    method = "get" if name in ("staff:edit", "staff:doctor_profile") else "post"
    assert getattr(administrator, method)(reverse(name, args=[UNKNOWN])).status_code == 404


def test_an_allergy_under_another_patients_address_is_a_404(doctor_client):
    allergy = AllergyFactory()
    other = PatientFactory()
    url = reverse("patients:allergy_edit", kwargs={"patient_pk": other.pk, "pk": allergy.pk})
    assert doctor_client.get(url).status_code == 404
    url = reverse("patients:allergy_create", kwargs={"patient_pk": UNKNOWN})
    assert doctor_client.get(url).status_code == 404


def _book(client, **fields):
    patient, doctor = PatientFactory(), DoctorFactory()
    data = {
        "patient": patient.pk,
        "doctor": doctor.pk,
        "date": (timezone.localdate() + timedelta(days=1)).isoformat(),
        "time": "10:00",
        "minutes": "20",
        **fields,
    }
    return client.post(BOOK, data)


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"date": "2025-02-30"}, {"date": ["Enter a valid date."]}),
        ({"date": "tomorrow"}, {"date": ["Enter a valid date."]}),
        ({"date": ""}, {"date": ["This field is required."]}),
        ({"time": "25:00"}, {"time": ["Enter a valid time."]}),
        ({"time": "noon"}, {"time": ["Enter a valid time."]}),
        ({"date": "yesterday", "time": "99:99"}, {"date": ["Enter a valid date."], "time": ["Enter a valid time."]}),
        ({"minutes": "abc"}, {"minutes": ["Enter a whole number."]}),
        ({"minutes": "1"}, {"minutes": ["Ensure this value is greater than or equal to 5."]}),
        ({"minutes": "100000"}, {"minutes": ["Ensure this value is less than or equal to 480."]}),
        ({"doctor": "abc"}, {"doctor": ["Select a valid choice. That choice is not one of the available choices."]}),
        (
            {"doctor": str(UNKNOWN)},
            {"doctor": ["Select a valid choice. That choice is not one of the available choices."]},
        ),
    ],
)
def test_malformed_booking_fields_are_field_errors(reception, fields, errors):
    response = _book(reception, **fields)
    assert response.status_code == 200
    assert response.context["form"].errors == errors
    body = response.content.decode()
    for messages in errors.values():
        for message in messages:
            assert message.replace("'", "&#x27;") in body
    assert not Appointment.objects.exists()


@pytest.mark.parametrize("time", ["10:00", "23:59"])
def test_booking_on_the_last_day_of_the_calendar_is_not_a_crash(reception, time):
    # 31 Dec 9999 is a valid date; an appointment running past midnight cannot be represented.
    response = _book(reception, date="9999-12-31", time=time, minutes="480")
    assert response.status_code in (200, 302)
    if response.status_code == 200:
        assert response.context["form"].errors


def test_slot_search_needs_a_doctor_or_a_specialty(reception):
    for query in ({"minutes": "30"}, {"doctor": "", "specialty": ""}, {"date": timezone.localdate().isoformat()}):
        response = reception.get(SLOTS, query)
        assert response.status_code == 200
        assert response.context["form"].non_field_errors() == ["Choose a doctor or a specialty."]
        assert "Choose a doctor or a specialty." in response.content.decode()
        assert response.context["slots"] is None


@pytest.mark.parametrize(
    "query",
    [
        {"doctor": "abc"},
        {"doctor": str(UNKNOWN)},
        {"doctor": "²"},
        {"specialty": "abc"},
        {"specialty": "1", "minutes": "abc"},
        {"specialty": "1", "minutes": "2"},
        {"specialty": "1", "date": "2024-13-45"},
    ],
)
def test_malformed_slot_search_is_a_form_error(reception, query):
    response = reception.get(SLOTS, query)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert response.context["slots"] is None


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_slot_search_from_the_ends_of_the_calendar_is_not_a_crash(reception, day):
    doctor = DoctorFactory()
    response = reception.get(SLOTS, {"doctor": doctor.pk, "date": day})
    assert response.status_code == 200


def test_cancel_with_an_overlong_reason_is_a_field_error(reception):
    appointment = AppointmentFactory()
    response = reception.post(reverse("scheduling:cancel", args=[appointment.pk]), {"reason": "x" * 300})
    assert response.status_code == 200
    assert "reason" in response.context["form"].errors
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.SCHEDULED
