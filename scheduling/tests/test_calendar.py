"""The day and week calendar grids and the reception board."""

from datetime import date, time, timedelta

import pytest
import time_machine
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


def minutes_of(rows):
    """Each row's start, in minutes from midnight."""
    first = rows[0].time.hour * 60 + rows[0].time.minute
    starts = [first]
    for row in rows[:-1]:
        starts.append(starts[-1] + row.minutes)
    return starts


def laid_out(columns, rows):
    """{(row, column, lane): cell} as a browser lays the table out, following rowspan and colspan;
    fails when the cells do not tile the table exactly."""
    slots = [(c, lane) for c, column in enumerate(columns) for lane in range(column.lanes)]
    left, owner, placed = [0] * len(slots), [None] * len(slots), {}
    for r, row in enumerate(rows):
        cells = iter(row.cells)
        for s in range(len(slots)):
            if left[s] == 0:
                cell = next(cells)
                assert s + cell.colspan <= len(slots) and r + cell.rowspan <= len(rows)
                for k in range(s, s + cell.colspan):
                    assert left[k] == 0
                    left[k], owner[k] = cell.rowspan, cell
            placed[(r, *slots[s])] = owner[s]
        assert next(cells, None) is None, "more cells in a row than free places"
        left = [n - 1 for n in left]
    assert not any(left)
    return placed


def cell_at(columns, rows, hour, minute=0, column=0, lane=0):
    starts = minutes_of(rows)
    r = max(i for i, start in enumerate(starts) if start <= hour * 60 + minute)
    return laid_out(columns, rows)[(r, column, lane)]


def appointments_in(columns, rows):
    return {cell.appointment for cell in laid_out(columns, rows).values() if cell.kind == "appointment"}


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
    assert all(row.tick and row.minutes == 15 for row in rows)


def test_an_appointment_cell_spans_its_rows():
    doctor = DoctorFactory(hours=[(MONDAY, time(8), time(12))])
    appointment = AppointmentFactory(doctor=doctor, start=at(10), end=at(10, 45))

    columns, rows = day_calendar(next_monday())

    cell = cell_at(columns, rows, 10)
    assert (cell.kind, cell.appointment, cell.rowspan, cell.minutes) == ("appointment", appointment, 3, 45)
    assert cell_at(columns, rows, 10, 30) is cell
    assert cell_at(columns, rows, 10, 45).kind == "free"
    assert cell_at(columns, rows, 9, 45).kind == "free"


def test_a_short_appointment_takes_its_own_minutes_and_the_rest_of_the_quarter_stays_bookable():
    doctor = DoctorFactory(hours=[(MONDAY, time(8), time(12))])
    AppointmentFactory(doctor=doctor, start=at(10), end=at(10, 5))

    columns, rows = day_calendar(next_monday())

    ten = row_at(rows, 10)
    assert (rows[ten].minutes, rows[ten].cells[0].rowspan) == (5, 1)
    rest = cell_at(columns, rows, 10, 5)
    assert (rest.kind, timezone.localtime(rest.start).time()) == ("free", time(10, 5))


def test_a_visit_starting_inside_a_quarter_hour_taken_by_another_is_shown():
    """The reported case: a 20-minute visit at 08:30 used to hide the one at 08:50."""
    doctor = DoctorFactory(hours=[(MONDAY, time(8), time(12))])
    first = AppointmentFactory(doctor=doctor, start=at(8, 30), end=at(8, 50))
    second = AppointmentFactory(doctor=doctor, start=at(8, 50), end=at(9, 10))

    columns, rows = day_calendar(next_monday())

    assert appointments_in(columns, rows) == {first, second}
    assert cell_at(columns, rows, 8, 49).appointment == first
    assert cell_at(columns, rows, 8, 50).appointment == second
    assert cell_at(columns, rows, 9, 9).appointment == second
    after = cell_at(columns, rows, 9, 10)
    assert (after.kind, timezone.localtime(after.start).time()) == ("free", time(9, 10))


def test_a_visit_at_an_odd_minute_starts_on_its_own_row():
    doctor = DoctorFactory(hours=[(MONDAY, time(8), time(12))])
    odd = AppointmentFactory(doctor=doctor, start=at(8, 7), end=at(8, 17))

    columns, rows = day_calendar(next_monday())

    assert rows[row_at(rows, 8, 7)].cells == [cell_at(columns, rows, 8, 7)]
    assert cell_at(columns, rows, 8, 7).appointment == odd
    assert sum(row.minutes for row in rows[row_at(rows, 8, 7) : row_at(rows, 8, 17)]) == 10
    before = cell_at(columns, rows, 8)
    assert (before.kind, before.rowspan) == ("free", 1)


def test_working_time_too_short_for_a_visit_is_not_offered():
    doctor = DoctorFactory(hours=[(MONDAY, time(8), time(12))])
    AppointmentFactory(doctor=doctor, start=at(8, 3), end=at(8, 30))

    columns, rows = day_calendar(next_monday())

    assert cell_at(columns, rows, 8).kind == "gap"


def test_a_no_show_stays_on_the_calendar_beside_the_visit_booked_into_its_time():
    doctor = DoctorFactory(hours=[(MONDAY, time(8), time(12))])
    missed = AppointmentFactory(doctor=doctor, start=at(10), end=at(10, 20), status=S.NO_SHOW)
    replacement = AppointmentFactory(doctor=doctor, start=at(10, 10), end=at(10, 30))

    columns, rows = day_calendar(next_monday())

    assert columns[0].lanes == 2
    assert cell_at(columns, rows, 10, 10, lane=0).appointment == missed
    assert cell_at(columns, rows, 10, 10, lane=1).appointment == replacement
    assert cell_at(columns, rows, 10, lane=1).kind == "beside"
    assert cell_at(columns, rows, 10, 20, lane=0).kind == "beside"
    assert cell_at(columns, rows, 10, 30).colspan == 2


def test_a_visit_overlapping_nothing_takes_the_whole_width_of_a_column_with_lanes():
    doctor = DoctorFactory(hours=[(MONDAY, time(8), time(12))])
    AppointmentFactory(doctor=doctor, start=at(10), end=at(10, 20), status=S.NO_SHOW)
    AppointmentFactory(doctor=doctor, start=at(10, 10), end=at(10, 30))
    alone = AppointmentFactory(doctor=doctor, start=at(11), end=at(11, 20))

    columns, rows = day_calendar(next_monday())

    assert cell_at(columns, rows, 11, lane=0) is cell_at(columns, rows, 11, lane=1)
    assert (cell_at(columns, rows, 11).appointment, cell_at(columns, rows, 11).colspan) == (alone, 2)


def test_each_appointment_lands_in_its_doctors_column():
    adams = DoctorFactory(user__last_name="Adams", hours=[(MONDAY, time(8), time(12))])
    baker = DoctorFactory(user__last_name="Baker", hours=[(MONDAY, time(8), time(12))])
    for_baker = AppointmentFactory(doctor=baker, start=at(9))

    columns, rows = day_calendar(next_monday())

    assert [c.doctor for c in columns] == [adams, baker]
    assert cell_at(columns, rows, 9, column=0).kind == "free"
    assert cell_at(columns, rows, 9, column=1).appointment == for_baker


def test_time_outside_a_doctors_hours_is_off():
    DoctorFactory(user__last_name="Adams", hours=[(MONDAY, time(8), time(10))])
    DoctorFactory(user__last_name="Baker", hours=[(MONDAY, time(8), time(12))])

    columns, rows = day_calendar(next_monday())

    assert [cell_at(columns, rows, 11, column=c).kind for c in (0, 1)] == ["off", "free"]


def test_cancelled_appointments_leave_the_calendar_free():
    doctor = DoctorFactory(hours=[(MONDAY, time(8), time(12))])
    AppointmentFactory(doctor=doctor, start=at(10), status=S.CANCELLED)

    columns, rows = day_calendar(next_monday())

    assert cell_at(columns, rows, 10).kind == "free"
    assert appointments_in(columns, rows) == set()


# The clock is frozen at moments across the day (the run once failed when CI ran after 23:30): the
# quarter that has already ended is off, the next one after now is free.
@pytest.mark.parametrize(
    "now",
    [
        (date(2026, 3, 9), time(0, 20)),
        (date(2026, 3, 29), time(9, 7)),  # the day the clocks go forward in London
        (date(2026, 10, 25), time(13, 44)),  # the day they go back
        (date(2028, 2, 29), time(17, 30)),
        (date(2026, 12, 31), time(23, 20)),
    ],
)
def test_past_time_is_not_offered_as_free(now):
    day, wall = now
    moment = local(day, wall.hour, wall.minute)
    DoctorFactory(hours=[(day.weekday(), time(0), time(23, 59))])

    with time_machine.travel(moment, tick=False):
        columns, rows = day_calendar(day)

    ended = moment - timedelta(minutes=15)
    if ended.date() == day:
        assert cell_at(columns, rows, ended.hour, ended.minute // 15 * 15).kind == "off"
    upcoming = moment + timedelta(minutes=15)
    assert cell_at(columns, rows, upcoming.hour, upcoming.minute // 15 * 15).kind == "free"


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
    assert appointments_in(columns, rows) == {on_tuesday}
    assert cell_at(columns, rows, 14, column=1).appointment == on_tuesday


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
