"""Today, reception's board: narrowed to one doctor (?doctor=), late arrivals flagged in words, a region that
refreshes itself (static/js/auto-refresh.js), and the expected table ready to become cards on a phone."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from clinic.models import AuditEntry
from scheduling.calendar import LATE_AFTER, late_label, minutes_late, reception_board
from scheduling.models import Appointment
from scheduling.tests.factories import AppointmentFactory, local
from staff.roles import RECEPTIONIST
from staff.tests.factories import DoctorFactory
from tests.test_query_counts import STATUSES, seed_day

pytestmark = pytest.mark.django_db
S = Appointment.Status
HOME = reverse("home")
# An ordinary Monday, 10:30 in London (GMT).
MONDAY = datetime(2026, 12, 7, 10, 30, tzinfo=UTC)


def at(moment):
    return time_machine.travel(moment, tick=False)


def lanes_of(response):
    return {lane.key: lane.appointments for lane in response.context["lanes"]}


def counts_of(html):
    found = re.findall(r'data-count="(\d+)" data-name="([^"]+)"', html)
    return {name: int(count) for count, name in found}


# --- filter by doctor -----------------------------------------------------------------------------


@pytest.fixture
def two_doctors():
    """Dr A has a patient expected and one waiting; Dr B one expected."""
    today = timezone.localdate()
    a, b = DoctorFactory(user__last_name="Adams"), DoctorFactory(user__last_name="Baker")
    later = timezone.localtime() + timedelta(hours=1)
    start = later if later.date() == today else timezone.localtime()
    a_expected = AppointmentFactory(doctor=a, start=start)
    a_waiting = AppointmentFactory(doctor=a, start=start + timedelta(minutes=20), status=S.CHECKED_IN)
    b_expected = AppointmentFactory(doctor=b, start=start)
    return a, b, a_expected, a_waiting, b_expected


def test_everyone_by_default(reception, two_doctors):
    a, b, a_expected, a_waiting, b_expected = two_doctors

    response = reception.get(HOME)

    lanes = lanes_of(response)
    assert set(lanes["expected"]) == {a_expected, b_expected}
    assert lanes["waiting"] == [a_waiting]
    assert response.context["doctor"] is None
    assert counts_of(response.content.decode())["Expected"] == 2


def test_one_doctor_narrows_every_lane_and_the_counts(reception, two_doctors):
    a, b, a_expected, a_waiting, b_expected = two_doctors

    response = reception.get(HOME, {"doctor": b.pk})

    lanes = lanes_of(response)
    assert lanes["expected"] == [b_expected]
    assert lanes["waiting"] == []
    html = response.content.decode()
    assert counts_of(html)["Expected"] == 1 and counts_of(html)["Checked in, waiting"] == 0
    assert f'<option value="{b.pk}" selected>' in html
    assert "Show all doctors" in html
    # Checking in from the narrowed board comes back to it.
    assert f'name="next" value="/?doctor={b.pk}"' in html


@pytest.mark.parametrize("value", ["abc", "999999", "-1", "1.5", "", "%00", "１", " "])
def test_a_bad_doctor_is_ignored(reception, two_doctors, value):
    response = reception.get(HOME, {"doctor": value})

    assert response.status_code == 200
    assert response.context["doctor"] is None
    assert len(lanes_of(response)["expected"]) == 2


def test_the_choice_lists_doctors_taking_appointments_and_anyone_with_one_today(reception):
    gone = DoctorFactory(is_active=False, user__last_name="Gone")
    AppointmentFactory(doctor=gone, start=timezone.localtime())
    DoctorFactory(is_active=False, user__last_name="Retired")
    here = DoctorFactory(user__last_name="Here")

    doctors = reception.get(HOME).context["doctors"]

    assert gone in doctors and here in doctors
    assert "Retired" not in [d.user.last_name for d in doctors]


def test_queries_stay_flat_with_and_without_a_doctor(reception):
    today = timezone.localdate()
    team, _ = seed_day(today, appointments=len(STATUSES), doctors=2)

    def measure(data):
        reception.get(HOME, data)  # warm-up
        with CaptureQueriesContext(connection) as captured:
            assert reception.get(HOME, data).status_code == 200
        return len(captured)

    everyone, one = measure(None), measure({"doctor": team[0].pk})
    seed_day(today, appointments=63, doctors=7, first_hour=12)
    assert measure(None) == everyone
    assert measure({"doctor": team[0].pk}) == one == everyone
    assert measure({"doctor": "nonsense"}) == everyone


def test_reception_board_for_one_doctor_is_one_query(django_assert_num_queries):
    doctor = DoctorFactory()
    day = timezone.localdate()
    for i, status in enumerate(STATUSES):
        AppointmentFactory(doctor=doctor, status=status, start=local(day, 8) + timedelta(minutes=20 * i))
    AppointmentFactory(start=local(day, 8))  # another doctor's
    with django_assert_num_queries(1):
        reception_board(day, doctor=doctor)


# --- late arrivals ---------------------------------------------------------------------------------


def test_not_late_within_the_grace_period_then_late_in_minutes():
    appointment = Appointment(start=MONDAY, status=S.SCHEDULED)
    assert minutes_late(appointment, MONDAY - timedelta(minutes=5)) is None
    assert minutes_late(appointment, MONDAY + LATE_AFTER) is None
    assert minutes_late(appointment, MONDAY + LATE_AFTER + timedelta(minutes=1)) == 11
    assert minutes_late(appointment, MONDAY + timedelta(minutes=25, seconds=59)) == 25


@pytest.mark.parametrize("status", [S.CHECKED_IN, S.IN_PROGRESS, S.COMPLETED, S.NO_SHOW, S.CANCELLED])
def test_only_expected_patients_are_late(status):
    assert minutes_late(Appointment(start=MONDAY, status=status), MONDAY + timedelta(hours=1)) is None


def test_late_is_said_in_words():
    assert late_label(25) == "Late 25 min"
    assert late_label(65) == "Late 1 h 05 min"


@given(
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)),
    waited=st.timedeltas(min_value=-timedelta(hours=3), max_value=timedelta(hours=12)),
)
def test_late_exactly_when_the_start_passed_by_more_than_the_grace(start, waited):
    late = minutes_late(Appointment(start=start, status=S.CONFIRMED), start + waited)
    if waited > LATE_AFTER:
        assert late == int(waited.total_seconds() // 60) and late_label(late).startswith("Late ")
    else:
        assert late is None


# (now, the appointment's start, minutes late): real minutes, whatever the wall clock did in between.
LATE_CASES = {
    "an ordinary morning": (datetime(2026, 12, 7, 10, 25, tzinfo=UTC), datetime(2026, 12, 7, 10, 0, tzinfo=UTC), 25),
    # 28 March 2027: 00:50 GMT, then the clocks jump from 01:00 to 02:00; at 02:05 BST 15 minutes have passed.
    "spring forward": (datetime(2027, 3, 28, 1, 5, tzinfo=UTC), datetime(2027, 3, 28, 0, 50, tzinfo=UTC), 15),
    # 25 October 2026: 01:30 BST, then 01:00-02:00 again; at 01:10 GMT 40 minutes have passed (not -20).
    "fall back": (datetime(2026, 10, 25, 1, 10, tzinfo=UTC), datetime(2026, 10, 25, 0, 30, tzinfo=UTC), 40),
    "just after midnight": (datetime(2026, 12, 7, 0, 40, tzinfo=UTC), datetime(2026, 12, 7, 0, 5, tzinfo=UTC), 35),
}


@pytest.mark.parametrize("case", list(LATE_CASES))
def test_today_flags_a_late_arrival_in_words(client_for, case):
    now, start, minutes = LATE_CASES[case]
    with at(now):
        reception = client_for(RECEPTIONIST)
        late = AppointmentFactory(start=start, status=S.CONFIRMED)
        on_time = AppointmentFactory(start=now - timedelta(minutes=5))
        upcoming = AppointmentFactory(start=now + timedelta(minutes=15))
        checked_in = AppointmentFactory(start=start + timedelta(minutes=1), status=S.CHECKED_IN)

        response = reception.get(HOME)

    html = response.content.decode()
    expected = lanes_of(response)["expected"]
    assert expected[0] == late  # the late head the lane
    assert [a.late_minutes for a in expected] == [minutes, None, None]
    assert {on_time, upcoming} == set(expected[1:])
    assert f'<strong class="tag late-tag">Late {minutes} min</strong>' in html
    assert html.count("late-tag") == 1  # not the checked-in patient, not those on time
    assert f'<tr data-appointment="{late.pk}" class="late">' in html
    assert counts_of(html)["Late"] == 1
    assert checked_in not in expected


def test_no_late_count_when_nobody_is_late(reception):
    AppointmentFactory(start=timezone.now() + timedelta(minutes=30))
    assert "Late" not in counts_of(reception.get(HOME).content.decode())


# --- the page: refresh region, cards, links -----------------------------------------------------------


def test_the_board_is_a_region_that_refreshes_itself_every_so_often(reception, settings):
    settings.TODAY_REFRESH_SECONDS = 7
    html = reception.get(HOME).content.decode()

    assert 'data-refresh data-refresh-seconds="7"' in html
    assert re.search(r'<script src="[^"]*js/auto-refresh\.js" defer></script>', html)
    assert re.search(r'<link rel="stylesheet" href="[^"]*css/today\.css">', html)
    assert 'aria-live="polite" data-refresh-announce' in html
    assert "http-equiv" not in html  # no meta refresh: without JavaScript the page just stays


def test_the_default_refresh_is_within_half_a_minute_to_a_minute(reception):
    html = reception.get(HOME).content.decode()
    seconds = int(re.search(r'data-refresh-seconds="(\d+)"', html).group(1))
    assert 30 <= seconds <= 60


def test_the_expected_table_is_ready_to_become_cards(reception):
    AppointmentFactory(start=timezone.now() + timedelta(minutes=30))
    html = reception.get(HOME).content.decode()

    table = re.search(r'<table class="table compact cards">.*?</table>', html, re.DOTALL).group(0)
    headers = re.findall(r'<th scope="col">(?:<span class="visually-hidden">)?([^<]+)', table)
    cells = re.findall(r"<td([^>]*)>", table)
    assert headers == ["Time", "Patient", "Doctor", "Reason", "Check in"]
    assert [re.search(r'data-label="([^"]+)"', c).group(1) for c in cells] == headers
    assert 'class="main-action"' in cells[-1]


def test_the_audit_trail_says_which_board_and_whether_it_refreshed_itself(reception):
    doctor = DoctorFactory(user__first_name="Hana", user__last_name="Okafor")

    reception.get(HOME, {"doctor": doctor.pk})
    assert AuditEntry.objects.order_by("-id").first().summary == "today's board, Dr Hana Okafor"

    reception.get(HOME, headers={"X-Requested-With": "auto-refresh"})
    assert AuditEntry.objects.order_by("-id").first().summary == "today's board (refreshed by itself)"


def test_a_refresh_by_itself_does_not_keep_an_abandoned_desk_signed_in(client_for):
    """The idle sign-out counts from the last request a person made: the board's own refreshes do not renew it."""
    with time_machine.travel(timezone.now(), tick=False) as clock:
        reception = client_for(RECEPTIONIST)
        reception.get(HOME)
        key = reception.session.session_key
        expires = Session.objects.get(session_key=key).expire_date

        clock.shift(timedelta(minutes=5))
        assert reception.get(HOME, headers={"X-Requested-With": "auto-refresh"}).status_code == 200
        assert Session.objects.get(session_key=key).expire_date == expires

        clock.shift(timedelta(minutes=5))
        reception.get(HOME)  # a person reloading does renew it
        assert Session.objects.get(session_key=key).expire_date == expires + timedelta(minutes=10)

        clock.shift(timedelta(minutes=5))
        for _ in range(4):  # 16 minutes of refreshes alone: signed out, the sign-in page comes back
            clock.shift(timedelta(minutes=4))
            response = reception.get(HOME, headers={"X-Requested-With": "auto-refresh"})
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
