"""The day and week calendar grids and the reception board."""

from datetime import time, timedelta

import pytest
from django.utils import timezone

from scheduling.calendar import BOARD_LANES, day_calendar, reception_board, week_calendar
from scheduling.models import Appointment
from scheduling.tests.factories import AppointmentFactory, local
from staff.tests.factories import DoctorFactory

pytestmark = pytest.mark.django_db

S = Appointment.Status
MONDAY, TUESDAY = 0, 1


def next_monday():
    today = timezone.localdate()
    return today + timedelta(days=7 - today.weekday())


def at(hour, minute=0, day=None):
    return local(day or next_monday(), hour, minute)


def row_at(rows, hour, minute=0):
    return next(i for i, row in enumerate(rows) if row.time == time(hour, minute))


def test_day_calendar_has_a_column_for_each_active_doctor_working_that_day():
    working = DoctorFactory(hours=[(MONDAY, time(8), time(12))])
    DoctorFactory(hours=[(TUESDAY, time(8), time(12))])
    DoctorFactory(is_active=False, hours=[(MONDAY, time(8), time(12))])

    columns, _ = day_calendar(next_monday())

    assert [c.doctor for c in columns] == [working]
    assert columns[0].day == next_monday()
    assert [(h.start_time, h.end_time) for h in columns[0].hours] == [(time(8), time(12))]


def test_day_calendar_keeps_a_column_for_a_doctor_with_bookings_that_day():
    away = DoctorFactory(is_active=False, hours=[])
    AppointmentFactory(doctor=away, start=at(10))

    columns, _ = day_calendar(next_monday())

    assert [c.doctor for c in columns] == [away]


def test_day_calendar_rows_cover_the_widest_working_day_in_quarter_hours():
    DoctorFactory(hours=[(MONDAY, time(9), time(12))])
    DoctorFactory(hours=[(MONDAY, time(8), time(17))])

    _, rows = day_calendar(next_monday())

    assert rows[0].time == time(8)
    assert rows[-1].time == time(16, 45)
    assert len(rows) == 9 * 4


def test_an_appointment_cell_spans_its_rows():
    doctor = DoctorFactory(hours=[(MONDAY, time(8), time(12))])
    appointment = AppointmentFactory(doctor=doctor, start=at(10), end=at(10, 45))

    _, rows = day_calendar(next_monday())

    first = row_at(rows, 10)
    cell = rows[first].cells[0]
    assert (cell.kind, cell.appointment, cell.rowspan) == ("appointment", appointment, 3)
    assert [rows[first + i].cells[0].kind for i in (1, 2)] == ["covered", "covered"]
    assert rows[first + 3].cells[0].kind == "free"
    assert rows[first - 1].cells[0].kind == "free"


def test_a_short_appointment_still_takes_one_row():
    doctor = DoctorFactory(hours=[(MONDAY, time(8), time(12))])
    AppointmentFactory(doctor=doctor, start=at(10), end=at(10, 5))

    _, rows = day_calendar(next_monday())

    assert rows[row_at(rows, 10)].cells[0].rowspan == 1
    assert rows[row_at(rows, 10, 15)].cells[0].kind == "free"


def test_each_appointment_lands_in_its_doctors_column():
    adams = DoctorFactory(user__last_name="Adams", hours=[(MONDAY, time(8), time(12))])
    baker = DoctorFactory(user__last_name="Baker", hours=[(MONDAY, time(8), time(12))])
    for_baker = AppointmentFactory(doctor=baker, start=at(9))

    columns, rows = day_calendar(next_monday())

    assert [c.doctor for c in columns] == [adams, baker]
    nine = rows[row_at(rows, 9)]
    assert nine.cells[0].kind == "free"
    assert nine.cells[1].appointment == for_baker


def test_time_outside_a_doctors_hours_is_off():
    DoctorFactory(user__last_name="Adams", hours=[(MONDAY, time(8), time(10))])
    DoctorFactory(user__last_name="Baker", hours=[(MONDAY, time(8), time(12))])

    _, rows = day_calendar(next_monday())

    eleven = rows[row_at(rows, 11)]
    assert [c.kind for c in eleven.cells] == ["off", "free"]


def test_cancelled_appointments_leave_the_calendar_free():
    doctor = DoctorFactory(hours=[(MONDAY, time(8), time(12))])
    AppointmentFactory(doctor=doctor, start=at(10), status=S.CANCELLED)

    _, rows = day_calendar(next_monday())

    assert rows[row_at(rows, 10)].cells[0].kind == "free"


def test_past_time_is_not_offered_as_free():
    today = timezone.localdate()
    DoctorFactory(hours=[(today.weekday(), time(0), time(23, 59))])
    past = timezone.localtime() - timedelta(minutes=20)

    _, rows = day_calendar(today)

    if past.date() == today:
        cell = rows[row_at(rows, past.hour, past.minute // 15 * 15)].cells[0]
        assert cell.kind == "off"
    assert rows[-1].cells[0].kind == "free"


def test_day_calendar_queries_do_not_grow_with_doctors_and_appointments(django_assert_max_num_queries):
    for hour in range(8, 14):
        AppointmentFactory(doctor=DoctorFactory(hours=[(MONDAY, time(8), time(18))]), start=at(hour))

    with django_assert_max_num_queries(3):
        columns, rows = day_calendar(next_monday())
        cells = [cell.appointment.patient.full_name for row in rows for cell in row.cells if cell.appointment]

    assert len(columns) == 6
    assert len(cells) == 6


def test_week_calendar_runs_monday_to_sunday_for_one_doctor():
    doctor = DoctorFactory(hours=[(MONDAY, time(9), time(12)), (TUESDAY, time(13), time(17))])
    tuesday = next_monday() + timedelta(days=1)
    on_tuesday = AppointmentFactory(doctor=doctor, start=at(14, day=tuesday))
    AppointmentFactory(start=at(14, day=tuesday))

    columns, rows = week_calendar(doctor, tuesday + timedelta(days=2))

    assert [c.day for c in columns] == [next_monday() + timedelta(days=i) for i in range(7)]
    assert [bool(c.hours) for c in columns] == [True, True, False, False, False, False, False]
    assert rows[0].time == time(9) and rows[-1].time == time(16, 45)
    placed = [cell.appointment for row in rows for cell in row.cells if cell.kind == "appointment"]
    assert placed == [on_tuesday]
    assert rows[row_at(rows, 14)].cells[1].appointment == on_tuesday


def test_reception_board_puts_each_appointment_in_its_status_lane():
    day = next_monday()
    by_status = {status: AppointmentFactory(start=at(8 + i, day=day), status=status) for i, status in enumerate(S)}
    AppointmentFactory(start=at(9, day=day + timedelta(days=1)))

    lanes = {lane.key: lane.appointments for lane in reception_board(day)}

    assert [key for key, _, _ in BOARD_LANES] == list(lanes)
    assert lanes == {
        "expected": [by_status[S.SCHEDULED], by_status[S.CONFIRMED]],
        "waiting": [by_status[S.CHECKED_IN]],
        "in_consultation": [by_status[S.IN_PROGRESS]],
        "done": [by_status[S.COMPLETED]],
        "no_show": [by_status[S.NO_SHOW]],
        "cancelled": [by_status[S.CANCELLED]],
    }


def test_reception_board_lanes_are_in_time_order():
    day = next_monday()
    late = AppointmentFactory(start=at(15, day=day))
    early = AppointmentFactory(start=at(9, day=day))

    expected = reception_board(day)[0]

    assert expected.appointments == [early, late]


def test_reception_board_is_one_query(django_assert_num_queries):
    day = next_monday()
    for hour in range(8, 18):
        AppointmentFactory(start=at(hour, day=day))

    with django_assert_num_queries(1):
        lanes = reception_board(day)
        names = [
            (a.patient.full_name, str(a.doctor), a.doctor.specialty.name) for lane in lanes for a in lane.appointments
        ]

    assert len(names) == 10
