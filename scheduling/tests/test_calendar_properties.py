"""Nothing hidden on the calendars: random schedules, the real pages, read back as a browser lays the table out.

Each example books doctors' days with mixed lengths (5 to 45 minutes), starts on any minute, cancelled and
no-show visits (a no-show's time may be booked again, so two visits of one doctor can overlap), renders the
day view and a doctor's week through the test client, and checks that every appointment that is not cancelled
appears exactly once, in its column, starting on the row of its start and spanning rows that add up to its
length; that no cancelled one appears; and that "+" (book here) sits only on free working time.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from patients.tests.factories import PatientFactory
from scheduling.models import Appointment
from staff.models import Doctor
from staff.tests.factories import DoctorFactory, UserFactory

pytestmark = pytest.mark.django_db

S = Appointment.Status
LENGTHS = [5, 10, 15, 20, 30, 45]
EXAMPLES = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    # No shrinking: a failing schedule is reported as found; shrinking one took minutes of page renders.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --- reading the page ------------------------------------------------------------------------------------------
class CalendarTable(HTMLParser):
    """The calendar table's head cells and body rows, with each cell's spans, classes, text and links."""

    def __init__(self):
        super().__init__()
        self.heads, self.rows = [], []
        self.inside, self.section, self.cell = False, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag == "table" and "calendar" in classes:
            self.inside = True
        if not self.inside:
            return
        if tag in ("thead", "tbody"):
            self.section = tag
        elif tag == "tr" and self.section == "tbody":
            self.rows.append({"classes": classes, "cells": []})
        elif tag in ("th", "td"):
            span = {"rowspan": int(attrs.get("rowspan", 1)), "colspan": int(attrs.get("colspan", 1))}
            self.cell = {**span, "classes": classes, "text": "", "links": []}
            if self.section == "thead":
                self.heads.append(self.cell)
            elif tag == "th":
                self.rows[-1]["label"] = self.cell
            else:
                self.rows[-1]["cells"].append(self.cell)
        elif tag == "a" and self.cell is not None:
            self.cell["links"].append(attrs["href"])

    def handle_endtag(self, tag):
        if tag in ("th", "td") and self.cell is not None:
            self.cell["text"] = " ".join(self.cell["text"].split())
            self.cell = None
        elif tag == "table":
            self.inside = False

    def handle_data(self, data):
        if self.cell is not None:
            self.cell["text"] += data


@dataclass
class Placed:
    cell: dict
    column: int
    start: int  # wall-clock minutes from the column day's midnight
    minutes: int
    label: str  # the time column's label on the cell's first row


def lay_out(html):
    """The calendar's columns (head cells) and its body cells placed as a browser does (rowspan, colspan);
    fails unless the cells tile the table exactly, each inside one column."""
    table = CalendarTable()
    table.feed(html)
    heads = table.heads[1:]
    slots = [c for c, head in enumerate(heads) for _ in range(head["colspan"])]
    rows = table.rows
    assert rows, "no rows"

    starts, minute = [], None
    for row in rows:
        height = [int(name[2:]) for name in row["classes"] if re.fullmatch(r"m-\d+", name)]
        assert len(height) == 1, row["classes"]
        label = row["label"]["text"]
        hours, minutes = map(int, label.split(":"))
        if minute is None:
            minute = hours * 60 + minutes
        assert f"{minute // 60 % 24:02d}:{minute % 60:02d}" == label, "a row's label is not its time"
        assert ("tick" in row["classes"]) == (minute % 15 == 0)
        starts.append(minute)
        row["minutes"] = height[0]
        minute += height[0]

    left, placed = [0] * len(slots), []
    for r, row in enumerate(rows):
        cells = iter(row["cells"])
        for s in range(len(slots)):
            if left[s]:
                continue
            cell = next(cells)
            covered = range(s, s + cell["colspan"])
            assert covered.stop <= len(slots) and {slots[k] for k in covered} == {slots[s]}, "a cell across columns"
            assert r + cell["rowspan"] <= len(rows), "a cell below the table"
            for k in covered:
                assert left[k] == 0, "two cells in one place"
                left[k] = cell["rowspan"]
            spanned = sum(row["minutes"] for row in rows[r : r + cell["rowspan"]])
            placed.append(Placed(cell, slots[s], starts[r], spanned, row["label"]["text"]))
        assert next(cells, None) is None, "more cells in a row than places"
        left = [n - 1 if n else 0 for n in left]
    assert not any(left), "a cell runs past the last row"
    return heads, placed


# --- what the page must show -----------------------------------------------------------------------------------
def wall_minute(moment):
    local = timezone.localtime(moment)
    return local.hour * 60 + local.minute


def length(appointment):
    return int((appointment.end - appointment.start).total_seconds() // 60)


def hm(moment):
    return f"{timezone.localtime(moment):%H:%M}"


def check_page(html, columns, appointments, hours):
    """`columns`: one (doctor, day) per head cell, in order; `hours`: doctor pk -> [(start, end)] wall minutes."""
    heads, placed = lay_out(html)
    assert len(heads) == len(columns)
    shown = [a for a in appointments if (a.doctor, timezone.localtime(a.start).date()) in columns]
    expected = {a.pk: a for a in shown if a.status != S.CANCELLED}
    by_url = {reverse("scheduling:detail", args=[a.pk]): a for a in appointments}

    seen = []
    for item in placed:
        doctor, day = columns[item.column]
        cell = item.cell
        if "booked" in cell["classes"]:
            (link,) = cell["links"]
            appointment = by_url[link]
            seen.append(appointment.pk)
            assert (appointment.doctor, timezone.localtime(appointment.start).date()) == (doctor, day)
            assert (item.start, item.minutes) == (wall_minute(appointment.start), length(appointment))
            assert f"{hm(appointment.start)}–{hm(appointment.end)} {appointment.patient.full_name}" in cell["text"]
            assert f"status-{appointment.status}" in cell["classes"]
            assert appointment.get_status_display() in cell["text"]
        elif "free" in cell["classes"]:
            (link,) = cell["links"]
            assert cell["text"] == "+"
            url = urlsplit(link)
            query = {key: value for key, (value,) in parse_qs(url.query).items()}
            assert url.path == reverse("scheduling:book")
            assert query == {"doctor": str(doctor.pk), "date": day.isoformat(), "time": item.label}
            end = item.start + item.minutes
            assert any(s <= item.start and end <= e for s, e in hours[doctor.pk]), "a + outside working hours"
            at = timezone.make_aware(datetime.combine(day, time.fromisoformat(item.label)))
            assert timezone.localtime(at.astimezone(UTC)).replace(tzinfo=None) == at.replace(tzinfo=None), (
                "no such time"
            )
            for other in expected.values():
                if (other.doctor, timezone.localtime(other.start).date()) == (doctor, day):
                    taken = wall_minute(other.start), wall_minute(other.start) + length(other)
                    assert end <= taken[0] or item.start >= taken[1], f"a + at {item.label} on {other}"
                if other.doctor == doctor:
                    assert not other.start <= at < other.end, f"a + at {item.label} books into {other}"
        else:
            assert not cell["links"] and not cell["text"], cell
    assert sorted(seen) == sorted(expected), "an appointment missing, shown twice, or a cancelled one shown"


# --- random schedules --------------------------------------------------------------------------------------------
visits = st.lists(
    st.tuples(
        st.one_of(st.sampled_from([0, 0, 0, 5, 10, 15]), st.integers(0, 50)),  # free minutes before it
        st.sampled_from(LENGTHS),
        st.sampled_from(
            [*[S.SCHEDULED] * 3, S.CONFIRMED, S.CHECKED_IN, S.IN_PROGRESS, S.COMPLETED, S.NO_SHOW, S.CANCELLED]
        ),
        st.booleans(),  # after a no-show, the next visit is booked into its time
    ),
    max_size=10,
)


@st.composite
def working_hours(draw, earliest=6 * 60, latest=21 * 60):
    start = draw(st.integers(earliest, latest - 60))
    end = draw(st.integers(start + 30, latest))
    intervals = [(start, end)]
    if end + 30 <= latest and draw(st.booleans()):  # room for a 15-minute break and a 15-minute interval
        later = draw(st.integers(end + 15, latest - 15))
        intervals.append((later, draw(st.integers(later + 15, latest))))
    return intervals


def as_time(minute):
    return time(23, 59, 59) if minute >= 24 * 60 else time(minute // 60, minute % 60)


@pytest.fixture
def patients(db):
    return PatientFactory.create_batch(60)


def book(doctors, days_and_visits, patients):
    """Appointments for each (doctor, day, first minute, visits), back to back after the given gaps, counted in
    real minutes from the day's first moment; the database's own overlap guard checks the schedule."""
    booked_by = UserFactory()
    made, who = [], iter(patients)
    for doctor, day, first, plan in days_and_visits:
        # In UTC, so that adding minutes adds real minutes on a day the clocks change.
        at = timezone.make_aware(datetime.combine(day, time.min)).astimezone(UTC) + timedelta(minutes=first)
        for gap, minutes, status, into_its_time in plan:
            start = at + timedelta(minutes=gap)
            made.append(
                Appointment(
                    patient=next(who),
                    doctor=doctors[doctor],
                    start=start,
                    end=start + timedelta(minutes=minutes),
                    status=status,
                    booked_by=booked_by,
                )
            )
            keeps_its_time = status == S.CANCELLED or (status == S.NO_SHOW and into_its_time)
            at = start if keeps_its_time else start + timedelta(minutes=minutes)
    return Appointment.objects.bulk_create(made)


def make_doctors(hours):
    return [
        DoctorFactory(
            user__first_name="Cal",
            user__last_name=f"Endar{i}",
            hours=[(weekday, as_time(s), as_time(e)) for weekday in range(7) for s, e in intervals],
        )
        for i, intervals in enumerate(hours)
    ]


def rendered(client, url, day):
    response = client.get(url, {"date": day.isoformat()})
    assert response.status_code == 200
    return response.content.decode()


def in_a_savepoint(check):
    """Each example's rows are rolled back, so the next example starts from an empty calendar."""
    with transaction.atomic():
        check()
        transaction.set_rollback(True)


def next_monday():
    today = timezone.localdate()
    return today + timedelta(days=7 + 7 - today.weekday())


def check_day_view(client, patients, day, hours, plans):
    doctors = make_doctors(hours)
    appointments = book(doctors, [(d, day, first, plan) for d, (first, plan) in enumerate(plans)], patients)
    html = rendered(client, reverse("scheduling:day"), day)
    # Every doctor works every weekday here, so each has a column, in the doctors' usual order.
    columns = [(d, day) for d in Doctor.objects.all()]
    check_page(html, columns, appointments, {d.pk: h for d, h in zip(doctors, hours, strict=True)})


def check_week_view(client, patients, monday, hours, plans):
    (doctor,) = make_doctors([hours])
    days = [(0, monday + timedelta(days=offset), first, plan) for offset, first, plan in plans]
    appointments = book([doctor], days, patients)
    html = rendered(client, reverse("scheduling:week", args=[doctor.pk]), monday + timedelta(days=3))
    columns = [(doctor, monday + timedelta(days=i)) for i in range(7)]
    check_page(html, columns, appointments, {doctor.pk: hours})


@EXAMPLES
@given(
    hours=st.lists(working_hours(), min_size=1, max_size=4),
    plans=st.lists(st.tuples(st.integers(6 * 60, 10 * 60), visits), min_size=4, max_size=4),
    offset=st.integers(0, 6),
)
def test_day_view_shows_every_appointment_once_at_its_time_and_length(reception, patients, hours, plans, offset):
    day = next_monday() + timedelta(days=offset)
    in_a_savepoint(lambda: check_day_view(reception, patients, day, hours, plans[: len(hours)]))


@EXAMPLES
@given(
    hours=working_hours(),
    plans=st.lists(
        st.tuples(st.integers(0, 6), st.integers(6 * 60, 10 * 60), visits),
        max_size=3,
        unique_by=lambda plan: plan[0],
    ),
)
def test_week_view_shows_every_appointment_once_at_its_time_and_length(reception, patients, hours, plans):
    in_a_savepoint(lambda: check_week_view(reception, patients, next_monday(), hours, plans))


# --- days the clocks change --------------------------------------------------------------------------------------
def day_length(day):
    start, end = (timezone.make_aware(datetime.combine(d, time.min)) for d in (day, day + timedelta(days=1)))
    return end.astimezone(UTC) - start.astimezone(UTC)


def clock_changes(days=400):
    """The next days on which the clinic's clocks go forward (a 23-hour day) and back (25 hours)."""
    found = {}
    for day in (timezone.localdate() + timedelta(days=n) for n in range(1, days)):
        if day_length(day) != timedelta(days=1):
            found.setdefault("forward" if day_length(day) < timedelta(days=1) else "back", day)
    return found


@pytest.fixture(params=["forward", "back"])
def clock_change_day(request, settings):
    if not clock_changes():
        settings.TIME_ZONE = "Europe/London"  # a zone without changes has nothing to test here; London has both
    return clock_changes()[request.param]


@settings(EXAMPLES, max_examples=15)  # two pages an example
@given(
    hours=st.lists(working_hours(earliest=0, latest=24 * 60), min_size=1, max_size=2),
    plans=st.lists(st.tuples(st.integers(0, 3 * 60), visits), min_size=2, max_size=2),
)
def test_every_appointment_is_shown_once_on_the_day_the_clocks_change(
    reception, patients, clock_change_day, hours, plans
):
    def check():
        check_day_view(reception, patients[:30], clock_change_day, hours, plans[: len(hours)])
        monday = clock_change_day - timedelta(days=clock_change_day.weekday())
        week = [(clock_change_day.weekday(), first, plan) for first, plan in plans[:1]]
        check_week_view(reception, patients[30:], monday, hours[0], week)

    in_a_savepoint(check)
