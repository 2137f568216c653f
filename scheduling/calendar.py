"""The day and week calendars as a grid of rows (times) and columns (a doctor on a date).

Computed here, so the template only walks rows and cells.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from staff.models import Doctor

from .models import Appointment

ROW = timedelta(minutes=15)
DEFAULT_OPEN, DEFAULT_CLOSE = time(8, 0), time(18, 0)


@dataclass
class Column:
    doctor: Doctor
    day: date
    hours: list = field(default_factory=list)


@dataclass
class Cell:
    kind: str  # "appointment", "covered" (under a taller appointment), "free", "off"
    start: datetime
    appointment: Appointment | None = None
    rowspan: int = 1
    doctor: Doctor | None = None


@dataclass
class Row:
    time: time
    cells: list


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def build_grid(columns, appointments):
    """Rows every 15 minutes across the widest working day; appointments span their rows."""
    starts = [h.start_time for c in columns for h in c.hours] + [
        timezone.localtime(a.start).time() for a in appointments
    ]
    ends = [h.end_time for c in columns for h in c.hours] + [timezone.localtime(a.end).time() for a in appointments]
    first = min(starts, default=DEFAULT_OPEN)
    last = max(ends, default=DEFAULT_CLOSE)
    first_minute = _minutes(first) // 15 * 15
    row_count = max(1, -(-(_minutes(last) - first_minute) // 15))
    now = timezone.now()

    grid = [[None] * len(columns) for _ in range(row_count)]
    by_column = {(c.doctor.pk, c.day): i for i, c in enumerate(columns)}
    for appointment in appointments:
        local = timezone.localtime(appointment.start)
        col = by_column.get((appointment.doctor_id, local.date()))
        if col is None:
            continue
        row = max(0, (_minutes(local.time()) - first_minute) // 15)
        if row >= row_count or grid[row][col] is not None:
            continue
        span = max(1, -(-int(appointment.duration.total_seconds() // 60) // 15))
        span = min(span, row_count - row)
        grid[row][col] = Cell("appointment", appointment.start, appointment, span)
        for covered in range(row + 1, row + span):
            grid[covered][col] = Cell("covered", appointment.start)

    rows = []
    for r in range(row_count):
        minute = first_minute + r * 15
        row_time = time(minute // 60 % 24, minute % 60)
        cells = []
        for c, column in enumerate(columns):
            cell = grid[r][c]
            if cell is None:
                start = timezone.make_aware(datetime.combine(column.day, row_time))
                working = any(h.start_time <= row_time < h.end_time for h in column.hours)
                kind = "free" if working and start + ROW > now else "off"
                cell = Cell(kind, start, doctor=column.doctor)
            cells.append(cell)
        rows.append(Row(row_time, cells))
    return rows


def _day_bounds(first: date, days: int):
    start = timezone.make_aware(datetime.combine(first, time.min))
    return start, timezone.make_aware(datetime.combine(first + timedelta(days=days), time.min))


def day_calendar(day: date):
    """One column per active doctor working that day (or with appointments on it)."""
    start, end = _day_bounds(day, 1)
    appointments = list(Appointment.objects.active().filter(start__gte=start, start__lt=end).with_people())
    booked = {a.doctor_id for a in appointments}
    doctors = Doctor.objects.select_related("user", "specialty").prefetch_related("working_hours")
    columns = []
    for doctor in doctors:
        hours = [h for h in doctor.working_hours.all() if h.weekday == day.weekday()]
        if (doctor.is_active and hours) or doctor.pk in booked:
            columns.append(Column(doctor, day, hours))
    return columns, build_grid(columns, appointments)


def week_calendar(doctor: Doctor, day: date):
    """Monday to Sunday of the week holding `day`, for one doctor."""
    monday = day - timedelta(days=day.weekday())
    start, end = _day_bounds(monday, 7)
    appointments = list(
        Appointment.objects.active().filter(doctor=doctor, start__gte=start, start__lt=end).with_people()
    )
    hours = list(doctor.working_hours.all())
    columns = [Column(doctor, monday + timedelta(days=i), [h for h in hours if h.weekday == i]) for i in range(7)]
    return columns, build_grid(columns, appointments)


# The reception dashboard's lanes, in the order the day moves.
BOARD_LANES = [
    ("expected", "Expected", {Appointment.Status.SCHEDULED, Appointment.Status.CONFIRMED}),
    ("waiting", "Checked in, waiting", {Appointment.Status.CHECKED_IN}),
    ("in_consultation", "In consultation", {Appointment.Status.IN_PROGRESS}),
    ("done", "Done", {Appointment.Status.COMPLETED}),
    ("no_show", "No-show", {Appointment.Status.NO_SHOW}),
    ("cancelled", "Cancelled", {Appointment.Status.CANCELLED}),
]


@dataclass
class Lane:
    key: str
    label: str
    appointments: list


def reception_board(day: date):
    """Today's appointments in lanes by status: one query, whatever the number of rows."""
    appointments = list(Appointment.objects.on_day(day).with_people().order_by("start", "pk"))
    return [Lane(key, label, [a for a in appointments if a.status in statuses]) for key, label, statuses in BOARD_LANES]
