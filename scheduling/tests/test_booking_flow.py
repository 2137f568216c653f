"""Booking in fewer clicks: the slot asked for survives the patient search, free times are offered on
the form, a clash offers the nearest free times, one click takes one; rescheduling the same way; free
slots page by page."""

import re
from datetime import time, timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from patients.tests.factories import PatientFactory
from scheduling.models import Appointment
from scheduling.tests.factories import AppointmentFactory, local, tomorrow_at
from staff.tests.factories import DoctorFactory, SpecialtyFactory

pytestmark = pytest.mark.django_db

S = Appointment.Status
BOOK = reverse("scheduling:book")
SLOTS = reverse("scheduling:slots")


def tomorrow():
    return timezone.localdate() + timedelta(days=1)


def offered(html):
    """The offered times on a page: the values of the buttons that take them."""
    return [unescape(value) for value in re.findall(r'name="slot" value="([^"]+)"', html)]


def flat(days):
    """The slots of offered days, in order."""
    return [slot for group in days for slot in group["slots"]]


def choice(doctor, day, hour, minute=0):
    return f"{doctor.pk}@{local(day, hour, minute).isoformat(timespec='minutes')}"


# --- the slot asked for travels with the patient search ---


def test_from_the_calendar_the_page_asks_who_without_saying_no_match_yet(reception):
    doctor = DoctorFactory(user__first_name="Ada", user__last_name="Moss")
    page = reception.get(BOOK, {"doctor": doctor.pk, "date": tomorrow().isoformat(), "time": "10:00"})
    html = page.content.decode()
    assert page.status_code == 200
    assert "No patient matches" not in html
    assert "Dr Ada Moss" in html and "10:00–10:20. Who is it for?" in html


def test_search_results_keep_the_slot_and_show_age_and_next_appointment(reception):
    doctor = DoctorFactory()
    born = timezone.localdate().replace(year=timezone.localdate().year - 40) - timedelta(days=3)
    zoe = PatientFactory(first_name="Zoë", last_name="Łukasiewicz", date_of_birth=born)
    AppointmentFactory(patient=zoe, doctor=doctor, start=tomorrow_at(15))
    slot = {"doctor": str(doctor.pk), "date": tomorrow().isoformat(), "time": "10:00"}

    html = reception.get(BOOK, {**slot, "q": "lukas"}).content.decode()

    link = re.search(rf'href="([^"]*patient={zoe.pk}[^"]*)"', html).group(1).replace("&amp;", "&")
    query = {key: values[0] for key, values in parse_qs(urlsplit(link).query).items()}
    assert query == {"patient": str(zoe.pk), **slot}
    assert "40 y" in html
    assert f"Next: {tomorrow_at(15):%a} {tomorrow().day} " in html


def test_a_search_that_finds_nobody_says_so_and_offers_registration_back_to_this_slot(reception):
    doctor = DoctorFactory()
    slot = {"doctor": str(doctor.pk), "date": tomorrow().isoformat(), "time": "10:00"}
    html = reception.get(BOOK, {**slot, "q": "nobody-by-this-name"}).content.decode()
    assert "No patient matches" in html
    register = re.search(r'href="(/patients/new/\?next=[^"]+)"', html).group(1).replace("&amp;", "&")
    back = parse_qs(urlsplit(register).query)["next"][0]
    assert urlsplit(back).path == BOOK
    assert {k: v[0] for k, v in parse_qs(urlsplit(back).query).items()} == slot


def test_a_single_letter_asks_for_another_rather_than_finding_nobody(reception):
    PatientFactory(first_name="Ann", last_name="Adams")
    content = reception.get(reverse("scheduling:book"), {"q": "a"}).content.decode()
    assert "Type at least two letters" in content and "No patient matches" not in content
    assert "ADAMS" in reception.get(reverse("scheduling:book"), {"q": "ad"}).content.decode()


def test_after_choosing_the_patient_the_form_holds_the_slot(reception):
    doctor, patient = DoctorFactory(), PatientFactory()
    page = reception.get(BOOK, {"patient": patient.pk, "doctor": doctor.pk, "date": tomorrow(), "time": "10:00"})
    form = page.context["form"]
    assert (str(form["doctor"].value()), form["date"].value(), form["time"].value()) == (
        str(doctor.pk),
        tomorrow().isoformat(),
        "10:00",
    )


# --- free times on the form; one click takes one ---


def test_the_form_offers_the_doctors_next_free_times_and_colleagues_of_the_specialty(reception):
    specialty = SpecialtyFactory(name="Dermatology")
    doctor = DoctorFactory(specialty=specialty, hours=[(tomorrow().weekday(), time(9), time(10))])
    colleague = DoctorFactory(specialty=specialty, hours=[(tomorrow().weekday(), time(14), time(15))])
    DoctorFactory(hours=[(tomorrow().weekday(), time(9), time(10))])  # another specialty: not offered
    AppointmentFactory(doctor=doctor, start=local(tomorrow(), 9, 20))
    patient = PatientFactory()

    html = reception.get(BOOK, {"patient": patient.pk, "doctor": doctor.pk, "date": tomorrow()}).content.decode()

    times = offered(html)
    day = tomorrow()
    mine = [choice(doctor, day, 9), choice(doctor, day, 9, 40)]
    assert times[:2] == mine
    assert choice(doctor, day, 9, 20) not in times
    assert choice(colleague, day, 14) in times
    assert all(value.split("@")[0] in {str(doctor.pk), str(colleague.pk)} for value in times)


def test_one_click_on_an_offered_time_books_it_with_the_reason_typed(reception):
    doctor, patient = DoctorFactory(), PatientFactory()
    response = reception.post(
        f"{BOOK}?patient={patient.pk}",
        {
            "patient": patient.pk,
            "doctor": "",
            "date": "",
            "time": "",
            "reason": "Rash",
            "slot": choice(doctor, tomorrow(), 11, 40),
        },
    )
    appointment = Appointment.objects.get()
    assert response.status_code == 302
    assert (appointment.doctor, appointment.start, appointment.reason) == (doctor, tomorrow_at(11, 40), "Rash")


@pytest.mark.parametrize(
    "garbage", ["", "x", "12@", "@2026-13-01T10:00", "１２@2026-12-01T10:00+00:00", "5@tomorrow", "5@2027-01-05T10:00"]
)
def test_a_forged_slot_value_is_ignored_and_the_typed_fields_count(reception, garbage):
    doctor, patient = DoctorFactory(), PatientFactory()
    data = {"patient": patient.pk, "doctor": doctor.pk, "date": tomorrow(), "time": "10:00", "slot": garbage}
    response = reception.post(f"{BOOK}?patient={patient.pk}", data)
    assert response.status_code == 302
    assert Appointment.objects.get().start == tomorrow_at(10)


def test_a_clash_names_the_conflict_and_offers_the_nearest_free_times(reception):
    doctor = DoctorFactory(hours=[(tomorrow().weekday(), time(8), time(18))])
    taken = AppointmentFactory(doctor=doctor, start=tomorrow_at(10), end=tomorrow_at(10, 20))
    AppointmentFactory(doctor=doctor, start=tomorrow_at(10, 20), end=tomorrow_at(11))
    patient = PatientFactory()
    data = {"patient": patient.pk, "doctor": doctor.pk, "date": tomorrow(), "time": "10:10", "reason": "Cough"}

    response = reception.post(f"{BOOK}?patient={patient.pk}", data)

    html = response.content.decode()
    assert response.status_code == 200
    assert "already has an appointment" in html and taken.patient.full_name.split()[0] in html
    nearest = flat(response.context["alternatives"])
    # 10:10 asked: 9:40 is 30 min away, 11:00 and 9:20 50, 9:00 and 11:20 70, then 8:40 (earlier wins a tie).
    assert [s.local_start.time() for s in nearest] == [
        time(8, 40), time(9), time(9, 20), time(9, 40), time(11), time(11, 20)
    ]  # fmt: skip
    assert "Nearest free slots" in html

    # One click on the first one after the clash books it.
    data["slot"] = nearest[4].choice
    reception.post(f"{BOOK}?patient={patient.pk}", data)
    booked = Appointment.objects.get(patient=patient)
    assert (booked.start, booked.reason) == (tomorrow_at(11), "Cough")


def test_the_page_refreshes_free_times_for_another_doctor_or_day_by_get(reception):
    patient = PatientFactory()
    first, second = DoctorFactory(), DoctorFactory()
    later = tomorrow() + timedelta(days=3)
    html = reception.get(BOOK, {"patient": patient.pk, "doctor": second.pk, "date": later}).content.decode()
    times = offered(html)
    assert times and times[0] == choice(second, later, 8)
    assert str(first.pk) + "@" not in " ".join(times[:8])


def test_without_a_doctor_the_form_says_how_to_see_free_times(reception):
    html = reception.get(BOOK, {"patient": PatientFactory().pk}).content.decode()
    assert "Choose a doctor to see their free slots." in html
    assert offered(html) == []


# --- rescheduling by picking an offered time ---


def test_rescheduling_offers_times_overlapping_the_visits_own_but_not_the_same_time(reception):
    doctor = DoctorFactory(hours=[(tomorrow().weekday(), time(9), time(10))])
    appointment = AppointmentFactory(doctor=doctor, start=tomorrow_at(9), end=tomorrow_at(9, 30))
    url = reverse("scheduling:reschedule", args=[appointment.pk])

    html = reception.get(url).content.decode()

    # 30 minutes from 9:00: 9:30 only; shorter, 20 minutes: 9:20 overlaps its own 9:00–9:30, which is free for it.
    assert offered(html)[:1] == [choice(doctor, tomorrow(), 9, 30)]
    html = reception.get(url, {"minutes": 20}).content.decode()
    assert offered(html)[:2] == [choice(doctor, tomorrow(), 9, 20), choice(doctor, tomorrow(), 9, 40)]
    response = reception.post(url, {"doctor": doctor.pk, "date": tomorrow(), "time": "09:00", "minutes": 20,
                                    "slot": choice(doctor, tomorrow(), 9, 20)})  # fmt: skip
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert (appointment.start, appointment.end) == (tomorrow_at(9, 20), tomorrow_at(9, 40))


def test_rescheduling_onto_a_taken_time_offers_the_nearest_free_ones(reception):
    doctor = DoctorFactory(hours=[(tomorrow().weekday(), time(9), time(12))])
    moving = AppointmentFactory(doctor=doctor, start=tomorrow_at(9), end=tomorrow_at(9, 20))
    AppointmentFactory(doctor=doctor, start=tomorrow_at(10), end=tomorrow_at(10, 20))
    url = reverse("scheduling:reschedule", args=[moving.pk])

    response = reception.post(url, {"doctor": doctor.pk, "date": tomorrow(), "time": "10:00", "minutes": 20})

    assert response.status_code == 200
    times = [s.local_start.time() for s in flat(response.context["alternatives"])]
    assert time(10) not in times and time(9, 40) in times and time(10, 20) in times
    assert time(9) not in times  # where it is already


# --- free slots, more than 20 ---


def test_free_slots_show_more_and_later_days(reception):
    DoctorFactory(specialty=SpecialtyFactory(name="GP"))  # 8:00–18:00 every day: 30 slots a day
    doctor = DoctorFactory()
    first = reception.get(SLOTS, {"doctor": doctor.pk, "date": tomorrow()})
    assert len(first.context["slots"]) == 20
    more = first.context["more_url"]
    second = reception.get(SLOTS + more)
    assert len(second.context["slots"]) == 40
    assert second.context["slots"][:20] == first.context["slots"]
    later = reception.get(SLOTS + second.context["later_url"])
    assert timezone.localdate(later.context["slots"][0].start) == tomorrow() + timedelta(days=2)


def test_free_slots_page_count_is_bounded(reception):
    doctor = DoctorFactory()
    response = reception.get(SLOTS, {"doctor": doctor.pk, "pages": 999})
    assert response.status_code == 200
    assert response.context["slots"] is None
