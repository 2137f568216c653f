"""The scheduling API: free slots as the page finds them, booking and every lifecycle step through the
services, 409 naming the clashing appointment, lists by cursor in start order with flat query counts, and
times that round-trip through the clinic's zone, the nights the clocks change included."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from clinic.models import AuditEntry
from patients.tests.factories import PatientFactory
from scheduling.models import Appointment
from scheduling.slots import free_slots
from scheduling.tests.factories import AppointmentFactory, local
from staff.roles import ADMINISTRATOR, DOCTOR, MANAGER, NURSE, RECEPTIONIST
from staff.tests.factories import DoctorFactory, SpecialtyFactory

LIST = reverse("scheduling_api:appointment-list")
SLOTS = reverse("scheduling_api:slot-list")
ZONE = ZoneInfo(settings.TIME_ZONE)
ROUND_THE_CLOCK = [(d, time(0), time(23, 59)) for d in range(7)]


def url(name, appointment):
    return reverse(f"scheduling_api:appointment-{name}", kwargs={"pk": appointment.pk})


def next_monday():
    today = timezone.localdate()
    return today + timedelta(days=7 - today.weekday())


def at(hour, minute=0, day=None):
    return local(day or next_monday(), hour, minute)


def parsed(text):
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None, f"{text} carries no offset"
    return moment


def book(api, patient, doctor, start, **more):
    return api.post(
        LIST, {"patient": patient.pk, "doctor": doctor.pk, "start": start.isoformat(), **more}, format="json"
    )


@pytest.fixture
def desk(api_for):
    return api_for(RECEPTIONIST)


# --- booking ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_receptionist_books_and_the_answer_has_offsets_and_a_location(desk):
    patient = PatientFactory(first_name="Zoë", last_name="Ørsted-Łukasiewicz")
    doctor = DoctorFactory(consultation_minutes=30)
    response = book(desk, patient, doctor, at(10), reason="Контроль")
    assert response.status_code == 201, response.content
    body = response.json()
    assert response["Location"] == reverse("scheduling_api:appointment-detail", kwargs={"pk": body["id"]})
    assert parsed(body["start"]) == at(10) and parsed(body["end"]) == at(10, 30) and body["minutes"] == 30
    assert body["patient_name"] == "Zoë Ørsted-Łukasiewicz" and body["reason"] == "Контроль"
    stored = Appointment.objects.get()
    assert stored.booked_by == desk.user and stored.status == "scheduled"
    assert stored.start == at(10).astimezone(UTC)


@pytest.mark.django_db
def test_a_time_taken_is_409_naming_the_appointment_that_holds_it(desk):
    held = AppointmentFactory(start=at(10), end=at(10, 20))
    response = book(desk, PatientFactory(), held.doctor, at(10, 10))
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 409 and body["type"].endswith("/conflict") and "start" in body["errors"]
    assert body["conflict"]["id"] == held.pk and body["conflict"]["doctor"] == held.doctor_id
    assert parsed(body["conflict"]["start"]) == at(10) and parsed(body["conflict"]["end"]) == at(10, 20)
    assert Appointment.objects.count() == 1


@pytest.mark.django_db
def test_the_patients_own_other_appointment_is_a_conflict_too(desk):
    held = AppointmentFactory(start=at(10))
    response = book(desk, held.patient, DoctorFactory(), at(10))
    assert response.status_code == 409
    assert response.json()["conflict"]["id"] == held.pk


@pytest.mark.django_db
def test_outside_the_doctors_hours_is_400_even_where_an_appointment_lies(desk):
    # Booked before the doctor's hours were shortened: the hours are the refusal, not a clash.
    doctor = DoctorFactory(hours=[(d, time(9), time(12)) for d in range(7)])
    AppointmentFactory(doctor=doctor, start=at(14))
    response = book(desk, PatientFactory(), doctor, at(14))
    assert response.status_code == 400 and "works 09:00–12:00" in response.json()["detail"]


@pytest.mark.django_db
def test_back_to_back_is_no_conflict(desk):
    held = AppointmentFactory(start=at(10), end=at(10, 20))
    assert book(desk, PatientFactory(), held.doctor, at(10, 20)).status_code == 201


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"start": "2031-03-03T10:00:00"}, "start"),  # no offset: ambiguous twice a year
        ({"start": "tomorrow"}, "start"),
        ({"minutes": 2}, "minutes"),
        ({"minutes": 9999}, "minutes"),
        ({"doctor": 987654321}, "doctor"),
        ({"patient": 987654321}, "patient"),
        ({"doctor": 10**30}, "doctor"),
    ],
)
def test_bad_input_is_400_problem_json_on_its_field(desk, change, field):
    data = {"patient": PatientFactory().pk, "doctor": DoctorFactory().pk, "start": at(10).isoformat(), **change}
    response = desk.post(LIST, data, format="json")
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert field in response.json()["errors"]


@pytest.mark.django_db
def test_the_pages_rules_hold_outside_hours_in_the_past_archived_too_far(desk):
    doctor = DoctorFactory(hours=[(d, time(9), time(12)) for d in range(7)])
    patient = PatientFactory()
    outside = book(desk, patient, doctor, at(14))
    assert outside.status_code == 400 and "works 09:00–12:00" in outside.json()["errors"]["start"][0]
    past = book(desk, patient, doctor, at(10, day=timezone.localdate() - timedelta(days=3)))
    assert past.status_code == 400 and "start" in past.json()["errors"]
    far = book(desk, patient, doctor, at(10, day=timezone.localdate() + timedelta(days=3 * 365)))
    assert far.status_code == 400 and "years ahead" in far.json()["errors"]["start"][0]
    archived = book(desk, PatientFactory(is_archived=True), doctor, at(10))
    assert archived.status_code == 400 and "patient" in archived.json()["errors"]
    assert not Appointment.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role", [DOCTOR, NURSE, MANAGER, None])
def test_roles_the_booking_page_refuses_cannot_book(api_for, role):
    response = book(api_for(role), PatientFactory(), DoctorFactory(), at(10))
    assert response.status_code == 403
    assert not Appointment.objects.exists()


@pytest.mark.django_db
def test_an_administrator_books_like_the_front_desk(api_for):
    assert book(api_for(ADMINISTRATOR), PatientFactory(), DoctorFactory(), at(11)).status_code == 201


# --- rescheduling and the lifecycle ----------------------------------------------------------------


@pytest.mark.django_db
def test_reschedule_keeps_the_length_and_may_change_doctor(desk):
    appointment = AppointmentFactory(start=at(10), end=at(10, 40))
    other = DoctorFactory()
    response = desk.post(
        url("reschedule", appointment), {"start": at(15).isoformat(), "doctor": other.pk}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert parsed(body["start"]) == at(15) and parsed(body["end"]) == at(15, 40) and body["doctor"] == other.pk


@pytest.mark.django_db
def test_reschedule_onto_a_taken_time_is_409_naming_it(desk):
    held = AppointmentFactory(start=at(14))
    moving = AppointmentFactory(doctor=held.doctor, start=at(10))
    response = desk.post(url("reschedule", moving), {"start": at(14, 5).isoformat()}, format="json")
    assert response.status_code == 409
    assert response.json()["conflict"]["id"] == held.pk
    moving.refresh_from_db()
    assert moving.start == at(10)


@pytest.mark.django_db
def test_reschedule_within_its_own_time_is_no_conflict_with_itself(desk):
    moving = AppointmentFactory(start=at(10), end=at(10, 20))
    response = desk.post(url("reschedule", moving), {"start": at(10, 10).isoformat()}, format="json")
    assert response.status_code == 200, response.content


@pytest.mark.django_db
def test_cancel_needs_a_reason_like_the_page(desk):
    appointment = AppointmentFactory(start=at(10))
    missing = desk.post(url("cancel", appointment), {}, format="json")
    assert missing.status_code == 400 and "reason" in missing.json()["errors"]
    done = desk.post(url("cancel", appointment), {"reason": "Пациент заболел"}, format="json")
    assert done.status_code == 200
    assert done.json()["status"] == "cancelled" and done.json()["cancellation_reason"] == "Пациент заболел"
    again = desk.post(url("cancel", appointment), {"reason": "twice"}, format="json")
    assert again.status_code == 400


@pytest.mark.django_db
def test_a_day_at_the_clinic_confirm_check_in_undo_start_complete(api_for):
    desk, nurse, doctor_api = api_for(RECEPTIONIST), api_for(NURSE), api_for(DOCTOR)
    now = timezone.localtime()
    appointment = AppointmentFactory(start=now + timedelta(minutes=5), end=now + timedelta(minutes=25))
    if timezone.localtime(appointment.end).date() != now.date():
        pytest.skip("Too close to midnight for a same-day visit")

    assert desk.post(url("confirm", appointment)).json()["status"] == "confirmed"
    assert nurse.post(url("check-in", appointment)).json()["status"] == "checked_in"
    undone = nurse.post(url("undo-check-in", appointment)).json()
    assert undone["status"] == "confirmed" and undone["checked_in_at"] is None
    assert desk.post(url("check-in", appointment)).status_code == 200
    assert desk.post(url("start", appointment)).status_code == 403
    assert doctor_api.post(url("start", appointment)).json()["status"] == "in_progress"
    # No notes yet: the page asks first; the API names what is missing under `anyway`.
    asked = doctor_api.post(url("complete", appointment), {}, format="json")
    assert asked.status_code == 400 and "No notes" in asked.json()["errors"]["anyway"][0]
    done = doctor_api.post(url("complete", appointment), {"anyway": True}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "completed"
    # The lifecycle is the model's: nothing follows completed.
    assert desk.post(url("confirm", appointment)).status_code == 400


@pytest.mark.django_db
def test_check_in_on_another_day_and_no_show_before_the_start_are_refused(api_for):
    nurse = api_for(NURSE)
    later = AppointmentFactory(start=at(10))
    refused = nurse.post(url("check-in", later))
    assert refused.status_code == 400 and "day of the appointment" in refused.json()["detail"]
    assert nurse.post(url("no-show", later)).status_code == 400
    with time_machine.travel(at(10, 30)):
        assert nurse.post(url("no-show", later)).json()["status"] == "no_show"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("step", "allowed"),
    [
        ("confirm", {RECEPTIONIST, ADMINISTRATOR}),
        ("check-in", {RECEPTIONIST, ADMINISTRATOR, NURSE}),
        ("start", {DOCTOR}),
    ],
)
def test_each_step_is_refused_to_the_roles_its_page_refuses(api_for, step, allowed):
    appointment = AppointmentFactory(start=at(10))
    for role in (RECEPTIONIST, DOCTOR, NURSE, MANAGER, ADMINISTRATOR):
        status = api_for(role).post(url(step, appointment)).status_code
        assert (status != 403) == (role in allowed), (role, status)


@pytest.mark.django_db
def test_an_unknown_appointment_is_404(desk):
    response = desk.post(reverse("scheduling_api:appointment-confirm", kwargs={"pk": 987654321}))
    assert response.status_code == 404 and response["Content-Type"] == "application/problem+json"


# --- reading -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_list_filters_orders_by_start_and_pages_by_cursor(api_for):
    doctor, other = DoctorFactory(), DoctorFactory()
    patient = PatientFactory(last_name="Šimková")
    day = next_monday()
    made = [AppointmentFactory(doctor=doctor, start=at(h, day=day), patient=patient) for h in (15, 9, 12, 10)]
    AppointmentFactory(doctor=other, start=at(11, day=day))
    AppointmentFactory(doctor=doctor, start=at(9, day=day + timedelta(days=1)))
    cancelled = made[1]
    cancelled.status = "cancelled"
    Appointment.objects.filter(pk=cancelled.pk).update(status="cancelled")

    api = api_for(NURSE)
    query = {"doctor": doctor.pk, "date_from": day, "date_to": day, "page_size": 2}
    first = api.get(LIST, query).json()
    second = api.get(first["next"]).json()
    starts = [parsed(a["start"]) for a in first["results"] + second["results"]]
    assert starts == [at(9, day=day), at(10, day=day), at(12, day=day), at(15, day=day)]
    assert second["next"] is None

    scheduled = api.get(LIST, {"patient": patient.pk, "status": "scheduled"}).json()["results"]
    assert len(scheduled) == 3 and all(a["patient_name"].endswith("Šimková") for a in scheduled)
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.SEARCH).latest("id")
    assert entry.user == api.user and "appointments (API)" in entry.summary


@pytest.mark.django_db
def test_a_patients_appointments_listed_are_in_that_patients_trail_a_made_up_id_in_nobodys(desk):
    appointment = AppointmentFactory()
    assert len(desk.get(LIST, {"patient": appointment.patient_id}).json()["results"]) == 1
    assert AuditEntry.objects.filter(action=AuditEntry.Action.SEARCH).latest("id").patient_id == appointment.patient_id
    assert desk.get(LIST, {"patient": 987654321}).json()["results"] == []
    assert AuditEntry.objects.filter(action=AuditEntry.Action.SEARCH).latest("id").patient_id is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        {"date_from": "2030-01-10", "date_to": "2030-01-01"},
        {"date_from": "2030-01-01", "date_to": "2031-06-01"},
        {"date_from": "9999-12-31"},
        {"doctor": "x"},
        {"status": "lost"},
    ],
)
def test_a_bad_filter_is_400(desk, query):
    response = desk.get(LIST, query)
    assert response.status_code == 400, response.content


@pytest.mark.django_db
def test_list_queries_stay_flat_as_rows_grow(desk):
    def count_for(rows):
        Appointment.objects.all().delete()
        for i in range(rows):
            AppointmentFactory(start=at(8, 0) + timedelta(minutes=20 * i))
        desk.get(LIST)  # the token's first use of the test is recorded once, not per list
        with CaptureQueriesContext(connection) as queries:
            response = desk.get(LIST, {"page_size": 100})
        assert response.status_code == 200 and len(response.json()["results"]) == rows
        return len(queries)

    assert count_for(3) == count_for(25)


@pytest.mark.django_db
def test_reading_one_appointment_is_audited(api_for):
    appointment = AppointmentFactory()
    api = api_for(DOCTOR)
    response = api.get(reverse("scheduling_api:appointment-detail", kwargs={"pk": appointment.pk}))
    assert response.status_code == 200 and response.json()["id"] == appointment.pk
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.VIEW).latest("id")
    assert entry.user == api.user and entry.object_id == str(appointment.pk)


# --- free slots ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_free_slots_are_the_pages_and_skip_what_is_booked(desk):
    specialty = SpecialtyFactory(name="Neurologie – Ärztin")
    doctor = DoctorFactory(specialty=specialty, hours=[(d, time(9), time(11)) for d in range(7)])
    day = next_monday()
    AppointmentFactory(doctor=doctor, start=at(9, 20, day=day), end=at(9, 40, day=day))
    response = desk.get(SLOTS, {"specialty": specialty.pk, "date_from": day, "date_to": day, "limit": 50})
    assert response.status_code == 200, response.content
    starts = [parsed(slot["start"]) for slot in response.json()]
    expected = free_slots(specialty=specialty, start_from=at(0, day=day), days=1, limit=50)
    assert starts == [slot.start for slot in expected]
    assert at(9, 20, day=day) not in starts and at(9, day=day) in starts and at(9, 40, day=day) in starts
    assert {slot["doctor"] for slot in response.json()} == {doctor.pk}


@pytest.mark.django_db
def test_free_slots_skip_the_patients_own_appointments(desk):
    doctor = DoctorFactory(hours=[(d, time(9), time(10)) for d in range(7)])
    busy = AppointmentFactory(start=at(9, day=next_monday()))
    day = next_monday()
    asked = {"doctor": doctor.pk, "date_from": day, "date_to": day}
    everyone = [parsed(s["start"]) for s in desk.get(SLOTS, asked).json()]
    theirs = [parsed(s["start"]) for s in desk.get(SLOTS, {**asked, "patient": busy.patient.pk}).json()]
    assert at(9, day=day) in everyone and at(9, day=day) not in theirs


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        {},  # neither a doctor nor a specialty, as the page asks
        {"doctor": 987654321},
        {"specialty": 1, "date_from": "2030-01-01", "date_to": "2030-02-01"},
        {"specialty": 1, "limit": 10_000},
        {"doctor": 10**30},
    ],
)
def test_free_slot_searches_are_bounded(desk, query):
    SpecialtyFactory()
    assert desk.get(SLOTS, query).status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize("role", [RECEPTIONIST, DOCTOR, NURSE, MANAGER, ADMINISTRATOR])
def test_every_role_sees_free_slots_as_on_the_page(api_for, role):
    doctor = DoctorFactory()
    assert api_for(role).get(SLOTS, {"doctor": doctor.pk}).status_code == 200


# --- time zones: wall times round-trip, the nights the clocks change included ------------------------


def dst_days(year):
    """The days the clinic's clocks change in `year` (none in a zone without summer time)."""
    days, day = [], date(year, 1, 1)
    while day.year == year:
        noon = datetime.combine(day, time(12), ZONE)
        if noon.utcoffset() != datetime.combine(day + timedelta(days=1), time(12), ZONE).utcoffset():
            days.append(day + timedelta(days=1))
        day += timedelta(days=1)
    return days


CHANGE_DAYS = dst_days(timezone.localdate().year + 1)
SOME_DAYS = st.one_of(
    st.sampled_from(CHANGE_DAYS or [timezone.localdate() + timedelta(days=30)]),
    st.dates(min_value=timezone.localdate() + timedelta(days=1), max_value=timezone.localdate() + timedelta(days=600)),
)


@pytest.mark.django_db
@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    day=SOME_DAYS,
    minutes=st.integers(min_value=0, max_value=23 * 60 + 30).map(lambda m: m - m % 5),
    fold=st.sampled_from([0, 1]),
)
def test_a_wall_time_booked_round_trips_through_the_clinics_zone(api_for, day, minutes, fold):
    wall = datetime.combine(day, time(minutes // 60, minutes % 60))
    moment = wall.replace(tzinfo=ZONE, fold=fold)
    # A wall time the clocks skip (spring forward) names no instant of the clinic's day: not asked for.
    assume(moment.astimezone(UTC).astimezone(ZONE).replace(tzinfo=None) == wall)
    doctor = DoctorFactory(hours=ROUND_THE_CLOCK, consultation_minutes=20)
    response = book(api_for(RECEPTIONIST), PatientFactory(first_name="Ἀθηνᾶ"), doctor, moment)
    assert response.status_code == 201, response.content
    answered = parsed(response.json()["start"])
    # The same instant (compared in UTC: Python never finds a time in the repeated hour equal to one
    # of another zone, PEP 495).
    assert answered.astimezone(UTC) == moment.astimezone(UTC)
    assert answered.utcoffset() == moment.utcoffset()  # shown with the clinic's offset then
    assert answered.astimezone(ZONE).replace(tzinfo=None) == wall
    stored = Appointment.objects.get(pk=response.json()["id"])
    assert stored.start == moment.astimezone(UTC)
    assert parsed(response.json()["end"]) - answered == timedelta(minutes=20)


@pytest.mark.django_db
def test_the_hour_the_clocks_repeat_books_twice_by_its_offset(desk):
    autumn = [d for d in CHANGE_DAYS if d.month > 6]
    if not autumn:
        pytest.skip("The clinic's zone keeps no summer time")
    day = autumn[0]
    doctor = DoctorFactory(hours=ROUND_THE_CLOCK)
    first = datetime.combine(day, time(1, 30), ZONE)  # summer time
    second = first.replace(fold=1)  # the same wall time an hour later
    assert first.utcoffset() != second.utcoffset()
    one = book(desk, PatientFactory(), doctor, first)
    two = book(desk, PatientFactory(), doctor, second)
    assert one.status_code == two.status_code == 201, (one.content, two.content)
    assert parsed(two.json()["start"]) - parsed(one.json()["start"]) == timedelta(hours=1)
    # And the slot search offers both 01:30s, each with its own offset.
    slots = desk.get(SLOTS, {"doctor": doctor.pk, "date_from": day, "date_to": day, "limit": 200}).json()
    offsets = {parsed(s["start"]).utcoffset() for s in slots}
    assert len(offsets) == 2


@pytest.mark.django_db
def test_check_in_on_the_day_the_clocks_go_forward(api_for):
    spring = [d for d in CHANGE_DAYS if d.month < 7]
    if not spring:
        pytest.skip("The clinic's zone keeps no summer time")
    day = spring[0]
    appointment = AppointmentFactory(
        doctor=DoctorFactory(hours=ROUND_THE_CLOCK), start=local(day, 9), end=local(day, 9, 20)
    )
    with time_machine.travel(datetime.combine(day, time(0, 30), ZONE)):  # before the clocks change
        response = api_for(NURSE).post(url("check-in", appointment))
    assert response.status_code == 200, response.content
    assert parsed(response.json()["start"]).utcoffset() == timedelta(hours=1) or ZONE.key != "Europe/London"
