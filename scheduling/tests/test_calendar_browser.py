"""A busy day on the calendar in a real browser, on a desk screen and on a phone: every visit is on screen, in
time order, none covering another, and the doctors' names stay in view while the day scrolls; axe-core finds no
serious accessibility problem in the day or the week.

Set CALENDAR_SCREENSHOTS to a folder to keep a picture of each width for a person to look at.
"""

import os
import random
from datetime import time, timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from clinic.tests.browser import assert_no_serious_axe_violations, sign_in
from patients.tests.factories import PatientFactory
from scheduling.models import Appointment
from scheduling.tests.factories import local
from staff.roles import RECEPTIONIST
from staff.tests.factories import DoctorFactory, SpecialtyFactory, UserFactory

PASSWORD = "calendar-browser-Pw-7"
S = Appointment.Status
# Like the demo's doctors: a usual length each, and now and then a longer or shorter visit.
TEAM = [
    ("Amelia", "Hart", "General practice", 20, [(time(8, 30), time(12, 30)), (time(13, 30), time(17))]),
    ("Chinedu", "Okafor", "Cardiology", 30, [(time(9), time(13)), (time(14), time(17, 30))]),
    ("Marta", "Silva", "Paediatrics", 15, [(time(8), time(12)), (time(13), time(16))]),
    ("Yusuf", "Demir", "Dermatology", 10, [(time(9), time(12, 45)), (time(13, 15), time(17))]),
]
WIDTHS = {"desk": (1280, 800), "phone": (390, 844)}


def busy_day(day):
    """About sixty visits over four doctors, back to back or with odd gaps, some at odd minutes, a cancelled
    one and a no-show with the visit booked into its time."""
    rng = random.Random(10)
    patients = iter(PatientFactory.create_batch(90))
    booked_by = UserFactory()
    made = []
    for first, last, specialty, usual, hours in TEAM:
        doctor = DoctorFactory(
            user__first_name=first,
            user__last_name=last,
            specialty=SpecialtyFactory(name=specialty),
            hours=[(day.weekday(), a, b) for a, b in hours],
        )
        for a, b in hours:
            at, until = local(day, a.hour, a.minute), local(day, b.hour, b.minute)
            while True:
                at += timedelta(minutes=rng.choice([0, 0, 0, 0, 3, 5, 7, 10, 25]))
                minutes = rng.choice([usual] * 6 + [5, 10, 15, 20, 30, 45])
                if at + timedelta(minutes=minutes) > until:
                    break
                status = rng.choice([S.SCHEDULED] * 8 + [S.CONFIRMED, S.CANCELLED, S.NO_SHOW])
                end = at + timedelta(minutes=minutes)
                made.append(Appointment(patient=next(patients), doctor=doctor, start=at, end=end, status=status))
                at = end if status not in (S.CANCELLED, S.NO_SHOW) or rng.random() < 0.5 else at
    for appointment in made:
        appointment.booked_by = booked_by
    return Appointment.objects.bulk_create(made)


# Each visit's cell: where it is on screen and where its doctor's column is.
CELLS = """() => [...document.querySelectorAll('table.calendar td.booked')].map(td => {
  const r = td.getBoundingClientRect();
  return {href: td.querySelector('a').getAttribute('href'), top: r.top, bottom: r.bottom, left: r.left, right: r.right,
          visible: td.checkVisibility(), text: td.innerText};
})"""


def assert_every_visit_readable_in_order(page, shown):
    """Every visit's cell once, big enough to read, with its times; in a column, in time order, none covering
    another (visits side by side in lanes are allowed)."""
    cells = page.evaluate(CELLS)
    assert sorted(c["href"] for c in cells) == sorted(shown), "a visit missing or shown twice"
    assert all(c["visible"] and c["bottom"] - c["top"] >= 14 for c in cells), "a visit too small to read"
    for cell in cells:
        visit = shown[cell["href"]]
        assert f"{visit.local_start:%H:%M}–{visit.local_end:%H:%M}" in cell["text"]
    by_column = {}
    for cell in cells:
        visit = shown[cell["href"]]
        by_column.setdefault((visit.doctor_id, visit.local_start.date()), []).append(cell)
    for column in by_column.values():
        column.sort(key=lambda c: (shown[c["href"]].start, c["left"]))
        for earlier, later in zip(column, column[1:], strict=False):
            side_by_side = later["left"] >= earlier["right"] - 1 or later["right"] <= earlier["left"] + 1
            assert later["top"] >= earlier["bottom"] - 1 or side_by_side, (earlier["text"], later["text"])


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)  # the live server's thread must see the factories' rows
@pytest.mark.parametrize("width", WIDTHS)
def test_a_busy_day_shows_every_visit_with_the_doctors_in_view(page, width):
    page.set_default_timeout(10_000)
    page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[width], strict=True)))
    UserFactory(username="rita", first_name="Rita", last_name="Reception", password=PASSWORD, roles=[RECEPTIONIST])
    day = timezone.localdate() + timedelta(days=7)
    appointments = busy_day(day)
    shown = {a.get_absolute_url(): a for a in appointments if a.status != S.CANCELLED}

    sign_in(page, "rita", PASSWORD)
    page.goto(f"{reverse('scheduling:day')}?date={day.isoformat()}")
    if folder := os.environ.get("CALENDAR_SCREENSHOTS"):
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{folder}/day-{width}.png", full_page=True)

    assert_every_visit_readable_in_order(page, shown)
    assert_no_serious_axe_violations(page)

    # Hart's 20-minute visits follow one another; each is on screen once scrolled to.
    hart = sorted((a for a in shown.values() if a.doctor.user.last_name == "Hart"), key=lambda a: a.start)
    for visit in hart[:6]:
        link = page.locator(f'table.calendar td.booked a[href="{visit.get_absolute_url()}"]')
        link.scroll_into_view_if_needed()
        assert link.is_visible()

    # Scrolled down and across, the doctors' names and the times stay in view.
    grid = page.locator(".grid-wrap")
    grid.evaluate("wrap => { wrap.scrollTop = wrap.scrollHeight / 2; wrap.scrollLeft = wrap.scrollWidth; }")
    wrap = grid.bounding_box()
    for name in ("Hart", "Demir"):
        head = page.locator("table.calendar thead th", has_text=name).bounding_box()
        assert abs(head["y"] - wrap["y"]) <= 2, f"Dr {name}'s column head scrolled away"
    time_column = page.locator("table.calendar tbody tr.tick .time-col").nth(20).bounding_box()
    assert abs(time_column["x"] - wrap["x"]) <= 2, "the times scrolled away"
    if folder:
        page.screenshot(path=f"{folder}/day-{width}-scrolled.png")

    # Dr Hart's week: the same visits of that day, in the day's column.
    hart = hart[0].doctor
    page.goto(f"{reverse('scheduling:week', args=[hart.pk])}?date={day.isoformat()}")
    if folder:
        page.screenshot(path=f"{folder}/week-{width}.png", full_page=True)
    assert_every_visit_readable_in_order(page, {url: a for url, a in shown.items() if a.doctor_id == hart.pk})
    assert_no_serious_axe_violations(page)
