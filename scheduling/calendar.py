"""The day and week calendars as a table of rows (times) and columns (a doctor on a date).

Every appointment that is not cancelled is shown once, at its own start and for its own length, whatever the
minute it starts on: the rows are cut at every quarter hour and at every start and end that falls between, and a
cell spans the rows of its time. Computed here, so the template only walks rows and cells.
"""

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.utils import timezone

from staff.models import Doctor

from .models import MIN_LENGTH, Appointment

TICK = 15  # minutes between the labelled lines of the grid
MIN_FREE = int(MIN_LENGTH.total_seconds() // 60)  # free time shorter than the shortest visit is not offered
DEFAULT_OPEN, DEFAULT_CLOSE = time(8, 0), time(18, 0)


@dataclass
class Column:
    doctor: Doctor
    day: date
    hours: list = field(default_factory=list)
    # Side-by-side lanes: more than one only when appointments of this column overlap (a no-show and the
    # visit booked into its time; the database refuses any other overlap for one doctor).
    lanes: int = 1


@dataclass
class Cell:
    # "appointment"; "free" (working time that can be booked: "+"); "gap" (working time too short to book);
    # "off" (outside working hours, past, or a wall time the clock skips); "beside" (a lane next to an
    # overlapping appointment).
    kind: str
    start: datetime
    appointment: Appointment | None = None
    rowspan: int = 1
    colspan: int = 1
    doctor: Doctor | None = None
    minutes: int = 0


@dataclass
class Row:
    time: time
    minutes: int  # how long the row lasts: its height
    tick: bool  # on a quarter hour, so labelled
    cells: list


@dataclass
class _Block:
    start: int  # minutes from the column day's midnight, on the wall clock
    end: int
    column: int
    lane: int
    cell: Cell


def _minute(t: time) -> int:
    return t.hour * 60 + t.minute


def _end_minute(t: time) -> int:
    # Working hours that end at 23:59:59 end at midnight.
    return _minute(t) + (1 if t.second or t.microsecond else 0)


def _wall(day: date, minute: int) -> datetime:
    return datetime.combine(day, time.min) + timedelta(minutes=minute)


def _aware(day: date, minute: int) -> datetime:
    return timezone.make_aware(_wall(day, minute))


def _exists(day: date, minute: int) -> bool:
    """False for a wall time the clock skips when it goes forward (it would book another hour)."""
    naive = _wall(day, minute)
    # Through UTC: converting a datetime to its own zone returns it unchanged, skipped or not.
    return timezone.localtime(timezone.make_aware(naive).astimezone(UTC)).replace(tzinfo=None) == naive


def _placed(appointment):
    """(start, end) in wall-clock minutes of its day: it starts at its local time and lasts its real length,
    so on a day the clocks change it still takes exactly its own minutes."""
    local = timezone.localtime(appointment.start)
    start = local.hour * 60 + local.minute
    length = max(1, math.ceil(appointment.duration.total_seconds() / 60))
    return start, start + length


def _assign_lanes(placed):
    """Greedy interval colouring: each appointment goes to the first lane free at its start."""
    lane_ends, lanes = [], []
    for start, end, appointment in sorted(placed, key=lambda p: (p[0], p[1], p[2].pk)):
        lane = next((i for i, last in enumerate(lane_ends) if last <= start), len(lane_ends))
        if lane == len(lane_ends):
            lane_ends.append(end)
        else:
            lane_ends[lane] = end
        lanes.append((start, end, lane, appointment))
    return lanes, max(1, len(lane_ends))


def _merge(intervals):
    merged = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged


def _empty_blocks(column, c, start, end, lanes, now):
    """Time with nothing booked, cut at working-hour bounds and quarter hours, as free, gap or off cells."""
    working = _merge(
        (max(start, _minute(h.start_time)), min(end, _end_minute(h.end_time)))
        for h in column.hours
        if _minute(h.start_time) < end and _end_minute(h.end_time) > start
    )
    blocks, at = [], start
    for work_start, work_end in [*working, (end, end)]:
        if at < work_start:
            blocks.append(_Block(at, work_start, c, 0, Cell("off", _aware(column.day, at), colspan=lanes)))
        if work_start >= work_end:
            continue
        # Quarter-hour pieces; a sliver before the first quarter hour joins the next piece, so no "+" sits
        # in a row too thin to read.
        cuts = [m for m in range(math.ceil(work_start / TICK) * TICK, work_end, TICK) if m > work_start]
        if cuts and cuts[0] - work_start < MIN_FREE:
            cuts = cuts[1:]
        for piece_start, piece_end in zip([work_start, *cuts], [*cuts, work_end], strict=True):
            begins = _aware(column.day, piece_start)
            if _aware(column.day, piece_end) <= now or not _exists(column.day, piece_start):
                kind = "off"
            elif work_end - piece_start >= MIN_FREE:
                kind = "free"
            else:
                kind = "gap"
            cell = Cell(kind, begins, colspan=lanes, doctor=column.doctor)
            blocks.append(_Block(piece_start, piece_end, c, 0, cell))
        at = work_end
    return blocks


def _column_blocks(column, c, placed, first, last, now):
    """Cells that tile one column from `first` to `last`: appointments in lanes, the rest by kind."""
    laned, column.lanes = _assign_lanes(placed)
    blocks, at = [], first
    for busy_start, busy_end in [*_merge((start, end) for start, end, _ in placed), (last, last)]:
        if at < busy_start:
            blocks += _empty_blocks(column, c, at, busy_start, column.lanes, now)
        at = max(at, busy_end)
        stretch = [item for item in laned if item[0] < busy_end and item[1] > busy_start]
        if not stretch:
            continue
        # Lanes fill from the left, so a stretch uses lanes 0..used-1; its last lane widens to the column's edge
        # and a visit that overlaps nothing takes the whole width.
        used = 1 + max(lane for _, _, lane, _ in stretch)
        for start, end, lane, appointment in stretch:
            cell = Cell("appointment", appointment.start, appointment, doctor=column.doctor, minutes=end - start)
            cell.colspan = column.lanes - lane if lane == used - 1 else 1
            blocks.append(_Block(start, end, c, lane, cell))
        # A lane with nothing at some moment of the stretch shows an empty cell beside the others.
        for lane in range(used):
            taken = _merge((s, e) for s, e, n, _ in stretch if n == lane)
            free_at = busy_start
            for s, e in [*taken, (busy_end, busy_end)]:
                if free_at < s:
                    cell = Cell(
                        "beside", _aware(column.day, free_at), colspan=column.lanes - lane if lane == used - 1 else 1
                    )
                    blocks.append(_Block(free_at, s, c, lane, cell))
                free_at = max(free_at, e)
    return blocks


def build_grid(columns, appointments):
    """Rows cut at every quarter hour and every start or end, across the widest day; cells span their rows."""
    by_column = {(c.doctor.pk, c.day): i for i, c in enumerate(columns)}
    placed = [[] for _ in columns]
    for appointment in appointments:
        c = by_column.get((appointment.doctor_id, timezone.localtime(appointment.start).date()))
        if c is not None:
            placed[c].append((*_placed(appointment), appointment))

    starts = [_minute(h.start_time) for c in columns for h in c.hours] + [p[0] for ps in placed for p in ps]
    ends = [_end_minute(h.end_time) for c in columns for h in c.hours] + [p[1] for ps in placed for p in ps]
    first = min(starts, default=_minute(DEFAULT_OPEN)) // TICK * TICK
    last = max(max(ends, default=_minute(DEFAULT_CLOSE)), first + TICK)
    last = math.ceil(last / TICK) * TICK
    now = timezone.now()

    blocks = [b for c, column in enumerate(columns) for b in _column_blocks(column, c, placed[c], first, last, now)]
    cuts = sorted({*range(first, last + 1, TICK), *(b.start for b in blocks), *(b.end for b in blocks)})
    index = {minute: i for i, minute in enumerate(cuts)}
    rows = [
        Row(time(minute // 60 % 24, minute % 60), following - minute, minute % TICK == 0, [])
        for minute, following in zip(cuts, cuts[1:], strict=False)
    ]
    # Cells in table order: by the row they start in, then column, then lane.
    for block in sorted(blocks, key=lambda b: (b.start, b.column, b.lane)):
        block.cell.rowspan = index[block.end] - index[block.start]
        rows[index[block.start]].cells.append(block.cell)
    return rows


def _day_bounds(first: date, days: int):
    start = timezone.make_aware(datetime.combine(first, time.min))
    return start, timezone.make_aware(datetime.combine(first + timedelta(days=days), time.min))


def _shown():
    # No-shows stay on the calendar (shown as such); only cancelled appointments leave it.
    return Appointment.objects.exclude(status=Appointment.Status.CANCELLED)


def day_calendar(day: date):
    """One column per active doctor working that day (or with appointments on it)."""
    start, end = _day_bounds(day, 1)
    appointments = list(_shown().filter(start__gte=start, start__lt=end).with_people())
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
    appointments = list(_shown().filter(doctor=doctor, start__gte=start, start__lt=end).with_people())
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


# An expected patient is late once the appointment's start has passed by more than this (a patient a few
# minutes behind is not flagged).
LATE_AFTER = timedelta(minutes=10)
EXPECTED = {Appointment.Status.SCHEDULED, Appointment.Status.CONFIRMED}


def minutes_late(appointment, now) -> int | None:
    """How many minutes an expected patient is late, or None while they are not (yet) late.

    Counted in real minutes between two instants, so a day the clocks change says how long the patient has
    really kept the doctor waiting, not the difference of the wall-clock times."""
    if appointment.status not in EXPECTED:
        return None
    waited = now - appointment.start
    if waited <= LATE_AFTER:
        return None
    return int(waited.total_seconds() // 60)


def late_label(minutes: int) -> str:
    """'Late 25 min', 'Late 1 h 05 min': words, so the flag does not rest on colour alone."""
    hours, rest = divmod(minutes, 60)
    return f"Late {hours} h {rest:02d} min" if hours else f"Late {minutes} min"


@dataclass
class Lane:
    key: str
    label: str
    appointments: list

    @property
    def late(self):
        return [a for a in self.appointments if getattr(a, "late_minutes", None)]


def reception_board(day: date, *, doctor=None, now=None):
    """Today's appointments in lanes by status (one doctor's when `doctor` is given): one query, whatever the
    number of rows. Each appointment carries `late_minutes` and `late_label` (None when not late). The lanes
    are in time order, so the late patients, whose start passed longest ago, head the expected lane."""
    now = now or timezone.now()
    appointments = Appointment.objects.on_day(day).with_people().order_by("start", "pk")
    if doctor is not None:
        appointments = appointments.filter(doctor=doctor)
    appointments = list(appointments)
    for appointment in appointments:
        appointment.late_minutes = minutes_late(appointment, now)
        appointment.late_label = late_label(appointment.late_minutes) if appointment.late_minutes else None
    return [Lane(key, label, [a for a in appointments if a.status in statuses]) for key, label, statuses in BOARD_LANES]
