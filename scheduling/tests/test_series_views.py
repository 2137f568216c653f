"""The series pages through the test client: the form's errors by their fields, the list of occurrences with
its clashes and choices, saving once however often it is sent, a time taken between the list and the save,
the appointment page's series section, and moving and cancelling from one occurrence."""

import re
import uuid
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic.idempotency import ALREADY_SAVED
from clinic.models import AuditEntry
from patients.tests.factories import PatientFactory
from scheduling import services
from scheduling.models import Appointment, Series
from scheduling.tests.factories import AppointmentFactory, local
from scheduling.tests.series_access_rules import IDEMPOTENCY_WRITES, series_appointments
from staff.tests.factories import DoctorFactory

pytestmark = pytest.mark.django_db

URL = reverse("scheduling:series_book")


def next_monday(weeks_ahead=1):
    today = timezone.localdate()
    return today + timedelta(days=7 * weeks_ahead - today.weekday())


@pytest.fixture
def setting():
    return DoctorFactory(user__last_name="Osei"), PatientFactory(first_name="Zoë", last_name="Łukasiewicz")


def rule(doctor, patient, first=None, **changes):
    first = first or next_monday()
    data = {
        "patient": patient.pk,
        "doctor": doctor.pk,
        "date": first.isoformat(),
        "time": "09:00",
        "minutes": "30",
        "unit": "weeks",
        "interval": "1",
        "weekdays": [str(first.weekday())],
        "count": "6",
        "until": "",
        "reason": "Physiotherapy",
        "step": "preview",
    }
    data.update(changes)
    return data


def choices_of(response):
    """The radio choices as the list shows them checked: {name: value}."""
    pattern = r'<input type="radio" name="(o\d+|a\d+)" value="([^"]+)"[^>]*checked'
    return dict(re.findall(pattern, response.content.decode()))


def text_of(html):
    return re.sub(r"<[^>]+>", "", html)


def offered(response, name):
    """The other times the list offers for one occurrence, in order."""
    pattern = rf'<input type="radio" name="{name}" value="([^"]+)"'
    return [value for value in re.findall(pattern, response.content.decode()) if value not in ("keep", "skip")]


def test_the_page_finds_the_patient_first(reception, setting):
    _, patient = setting
    page = reception.get(URL, {"q": "Łukasiewicz"})
    assert page.status_code == 200
    assert f"?patient={patient.pk}" in page.content.decode()


@pytest.mark.parametrize(
    ("changes", "field", "text"),
    [
        ({"count": ""}, "count", "Give the number of appointments, or an end date."),
        ({"until": "2099-01-01"}, "until", "not both"),
        ({"count": "53"}, "count", "less than or equal to 52"),
        ({"interval": "0"}, "interval", "greater than or equal to 1"),
        ({"weekdays": ["6"]}, "weekdays", "tick"),
        ({"time": "nine"}, "time", "Enter a valid time."),
    ],
)
def test_form_errors_stand_by_their_fields(reception, setting, changes, field, text):
    doctor, patient = setting
    response = reception.post(URL, rule(doctor, patient, **changes))
    assert response.status_code == 200
    assert text in " ".join(response.context["form"].errors[field])
    html = response.content.decode()
    shown = html.index(text)  # the message, inside the field's own block, after its input
    block = html[html.rindex('<div class="field has-error', 0, shown) : shown]
    assert f'id="id_{field}' in block
    assert not Appointment.objects.exists()


def test_until_beyond_a_year_is_refused(reception, setting):
    doctor, patient = setting
    first = next_monday()
    response = reception.post(URL, rule(doctor, patient, count="", until=(first + timedelta(days=400)).isoformat()))
    assert "up to 366 days" in " ".join(response.context["form"].errors["until"])


def test_the_list_names_clashes_and_offers_skip_or_other_times(reception, setting):
    doctor, patient = setting
    first = next_monday()
    AppointmentFactory(
        doctor=doctor, start=local(first + timedelta(weeks=2), 9), patient=PatientFactory(last_name="Busy")
    )
    response = reception.post(URL, rule(doctor, patient))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Clash:" in html and "Osei already has an appointment" in html
    assert "Book 5 appointments" in text_of(html)
    checked = choices_of(response)
    assert checked["o3"] == "skip" and checked["o1"] == "keep"
    assert 'value="' + local(first + timedelta(weeks=2), 9, 20).isoformat() + '"' in html  # right after the clash
    assert not Appointment.objects.filter(patient=patient).exists()


def test_the_list_takes_the_same_queries_for_a_few_or_many(reception, setting):
    doctor, patient = setting
    first = next_monday()
    for week in range(0, 30, 2):
        AppointmentFactory(doctor=doctor, start=local(first + timedelta(weeks=week), 9))
    counts = []
    for count in ("3", "30"):
        with CaptureQueriesContext(connection) as queries:
            assert reception.post(URL, rule(doctor, patient, count=count)).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def save(reception, doctor, patient, picks=None, token=None, **changes):
    listed = reception.post(URL, rule(doctor, patient, **changes))
    data = {**rule(doctor, patient, **changes), **choices_of(listed), **(picks or {}), "step": "save"}
    data["client_token"] = token or str(uuid.uuid4())
    return listed, data


def test_booking_skips_and_moves_then_saves_once_however_often_sent(reception, setting):
    doctor, patient = setting
    first = next_monday()
    AppointmentFactory(doctor=doctor, start=local(first + timedelta(weeks=2), 9))
    AppointmentFactory(doctor=doctor, start=local(first + timedelta(weeks=4), 9))
    listed, data = save(reception, doctor, patient)
    moved_to = offered(listed, "o5")[-1]  # the latest offered that day
    data["o5"] = moved_to

    first_send = reception.post(URL, data)
    second_send = reception.post(URL, data)

    booked = list(Appointment.objects.filter(patient=patient).order_by("start"))
    assert first_send.status_code == 302 and first_send["Location"] == booked[0].get_absolute_url()
    assert len(booked) == 5 and Series.objects.count() == 1
    picked = timezone.localtime(datetime.fromisoformat(moved_to)).strftime("%H:%M")
    assert [a.local_start.strftime("%H:%M") for a in booked] == ["09:00", "09:00", "09:00", picked, "09:00"]
    assert booked[3].start != local(first + timedelta(weeks=4), 9)
    assert second_send.status_code == 302 and second_send["Location"] == first_send["Location"]
    assert ALREADY_SAVED in [str(m) for m in second_send.wsgi_request._messages]


def test_a_time_taken_after_the_list_books_nothing_and_names_it(reception, setting):
    doctor, patient = setting
    first = next_monday()
    _, data = save(reception, doctor, patient)
    services.book_appointment(
        patient=PatientFactory(), doctor=doctor, start=local(first + timedelta(weeks=3), 9), booked_by=reception.user
    )

    response = reception.post(URL, data)

    assert response.status_code == 200
    assert not Appointment.objects.filter(patient=patient).exists() and not Series.objects.exists()
    html = response.content.decode()
    # By the 4th, which now offers skip or other times, none chosen for her.
    fourth = html[html.index("<legend>4. ") :]
    assert "No longer free" in fourth[: fourth.index("</fieldset>")]
    assert "o4" not in choices_of(response) and offered(response, "o4")


def test_a_race_inside_the_save_is_named_and_books_nothing(reception, setting, monkeypatch):
    doctor, patient = setting
    _, data = save(reception, doctor, patient)
    from scheduling import series as series_module

    real = series_module.services.book_appointment
    calls = []

    def taken_on_the_third(**kwargs):
        calls.append(kwargs)
        if len(calls) == 3:  # someone else's booking committed just before this one
            real(patient=PatientFactory(), doctor=doctor, start=kwargs["start"], booked_by=reception.user)
        return real(**kwargs)

    monkeypatch.setattr(series_module.services, "book_appointment", taken_on_the_third)
    response = reception.post(URL, data)
    assert response.status_code == 200
    assert "Nothing was saved: number 3" in response.content.decode()
    assert not Appointment.objects.filter(patient=patient).exists() and not Series.objects.exists()


def test_the_appointment_page_shows_its_series_in_bounded_queries(reception):
    counts = []
    for size in (3, 12):
        appointments = series_appointments(size)
        with CaptureQueriesContext(connection) as queries:
            page = reception.get(appointments[1].get_absolute_url())
        counts.append(len(queries))
        html = page.content.decode()
        assert f"Part of a weekly series (2 of {size})" in html
        for other in appointments[2:]:
            assert other.get_absolute_url() in html
        assert reverse("scheduling:series_cancel", args=[appointments[1].pk]) in html
    assert counts[0] == counts[1], counts


def test_an_appointment_on_its_own_offers_to_repeat(reception):
    appointment = AppointmentFactory()
    html = reception.get(appointment.get_absolute_url()).content.decode()
    assert "Repeat as a series" in html and reverse("scheduling:series_book") in html
    assert reception.get(reverse("scheduling:series_move", args=[appointment.pk])).status_code == 404


def test_moving_this_and_following_from_one_occurrence(reception):
    appointments = series_appointments(4)
    third = appointments[2]
    url = reverse("scheduling:series_move", args=[third.pk])
    assert "This and the following ones (2 to change)" in reception.get(url).content.decode()
    new = third.local_start + timedelta(hours=2)
    data = {
        "scope": "following",
        "doctor": third.doctor_id,
        "date": new.date().isoformat(),
        "time": new.strftime("%H:%M"),
        "step": "preview",
    }
    listed = reception.post(url, data)
    assert "Move 2 appointments" in text_of(listed.content.decode())
    response = reception.post(url, {**data, **choices_of(listed), "step": "save", "client_token": str(uuid.uuid4())})
    assert response.status_code == 302
    hours = [a.local_start.hour for a in Appointment.objects.order_by("start")]
    assert hours == [10, 10, 12, 12]


def test_cancelling_needs_a_reason_by_its_field_then_cancels_following(reception):
    appointments = series_appointments(4)
    url = reverse("scheduling:series_cancel", args=[appointments[1].pk])
    refused = reception.post(url, {"scope": "following", "reason": ""})
    assert refused.status_code == 200 and "reason" in refused.context["form"].errors
    done = reception.post(url, {"scope": "following", "reason": "Discharged", "client_token": str(uuid.uuid4())})
    assert done.status_code == 302
    statuses = list(Appointment.objects.order_by("start").values_list("status", flat=True))
    assert statuses == ["scheduled", "cancelled", "cancelled", "cancelled"]


@pytest.mark.parametrize("name", sorted(IDEMPOTENCY_WRITES))
def test_each_series_form_sent_twice_is_saved_once(name, client_for):
    client, url, data = IDEMPOTENCY_WRITES[name](client_for)
    token = str(uuid.uuid4())
    first = client.post(url, {**data(), "client_token": token})
    assert first.status_code == 302, first.content.decode()[:3000]
    saved = sorted(Appointment.objects.values_list("pk", "start", "status", "series_id"))
    entries = AuditEntry.objects.count()

    second = client.post(url, {**data(), "client_token": token})

    assert second.status_code == 302 and second["Location"] == first["Location"]
    assert sorted(Appointment.objects.values_list("pk", "start", "status", "series_id")) == saved
    assert AuditEntry.objects.count() == entries
    assert Series.objects.count() == 1


def test_the_move_list_takes_the_same_queries_for_a_short_or_long_series(reception):
    counts = []
    for size in (3, 12):
        appointment = series_appointments(size)[0]
        url = reverse("scheduling:series_move", args=[appointment.pk])
        data = {
            "scope": "all",
            "doctor": appointment.doctor_id,
            "date": appointment.local_start.date().isoformat(),
            "time": "11:00",
            "step": "preview",
        }
        with CaptureQueriesContext(connection) as queries:
            listed = reception.post(url, data)
        assert f"Move {size} appointments" in text_of(listed.content.decode())
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_change_the_series_goes_back_to_the_form_as_filled(reception, setting):
    doctor, patient = setting
    response = reception.post(URL, rule(doctor, patient, count="9", step="edit"))
    assert response.status_code == 200 and "choices" not in response.context
    html = response.content.decode()
    assert 'name="count" value="9"' in html and "List the appointments" in html
    assert not Series.objects.exists()
