"""Today in Chromium, at 1280 and 390 px: a receptionist narrows the board to one doctor, sees a late arrival
flagged in words, checks a patient in, undoes it from the message, checks her in again, and the board updates by
itself (no reload, filter, focus and scroll kept) when a colleague books and checks someone in. Clicks are
counted (choosing from the doctor list counts as one; typing is not counted)."""

import re
from datetime import datetime, time, timedelta

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from clinic.tests.browser import Clicks, assert_no_serious_axe_violations, sign_in
from patients.tests.factories import PatientFactory
from scheduling import services
from scheduling.models import Appointment
from scheduling.tests.factories import AppointmentFactory
from staff.roles import RECEPTIONIST
from staff.tests.factories import DoctorFactory, SpecialtyFactory, UserFactory

PASSWORD = "today-journey-Pw-7"
ALL_DAY = [(weekday, time(0, 0), time(23, 59, 59)) for weekday in range(7)]
# Clicks measured for #14: narrow to a doctor 1 (the doctor list), check in 1, undo 1, check in again 1.
FILTER_CLICKS, CHECK_IN_CLICKS, UNDO_CLICKS = 1, 1, 1
REFRESH_SECONDS = 2  # the test's board refreshes every 2 s (45 s in the clinic)


def a_moment_with_room_in_the_day():
    """Now, when a patient 25 minutes late and a booking 20 minutes ahead both fall today; else the next 00:45
    (today's in the day's first minutes, tomorrow's late in the evening)."""
    now = timezone.localtime()
    early = timezone.make_aware(datetime.combine(now.date(), time(0, 45)))
    if now < early:
        return early
    if now.time() > time(23, 0):
        return early + timedelta(days=1)
    return now


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)  # the live server's thread must see the factories' rows
@pytest.mark.parametrize("width", [1280, 390])
def test_today_filter_late_check_in_undo_and_refresh_by_itself(page, settings, width):
    settings.TODAY_REFRESH_SECONDS = REFRESH_SECONDS
    page.set_viewport_size({"width": width, "height": 900})
    page.set_default_timeout(10_000)
    # Only ever forward in time (a session cookie set in the past would be dropped by the browser at once).
    with time_machine.travel(a_moment_with_room_in_the_day(), tick=True):
        journey(page)


def journey(page):
    UserFactory(username="rita", first_name="Rita", last_name="Reception", password=PASSWORD, roles=[RECEPTIONIST])
    colleague = UserFactory(username="colin", roles=[RECEPTIONIST])
    gp = SpecialtyFactory(name="General practice")
    okafor = DoctorFactory(user__first_name="Hana", user__last_name="Okafor", specialty=gp, hours=ALL_DAY)
    berg = DoctorFactory(user__first_name="Ilse", user__last_name="Berg", specialty=gp, hours=ALL_DAY)
    now = timezone.now()
    late = AppointmentFactory(
        doctor=okafor, patient=PatientFactory(first_name="Lena", last_name="Late"), start=now - timedelta(minutes=25)
    )
    zoe = AppointmentFactory(
        doctor=okafor, patient=PatientFactory(first_name="Zoë", last_name="Ångström"), start=now - timedelta(minutes=5)
    )
    AppointmentFactory(doctor=berg, patient=PatientFactory(first_name="Bruno", last_name="Other"), start=now)

    sign_in(page, "rita", PASSWORD)
    expect(page.get_by_role("heading", name=re.compile("^Today"))).to_be_visible()
    click = Clicks()
    expected = page.get_by_role("region", name="Expected")
    expect(expected).to_contain_text("Bruno Other")

    # Narrow to Dr Okafor: the board changes in place, the address keeps the choice.
    click.choose(page.get_by_label("Doctor"), label="Dr Hana Okafor")
    expect(page).to_have_url(re.compile(rf"/\?doctor={okafor.pk}$"))
    expect(expected).not_to_contain_text("Bruno Other")
    expect(page.get_by_text("Showing Dr Hana Okafor’s appointments only.")).to_be_visible()
    expect(page.get_by_role("region", name="At a glance: Dr Hana Okafor")).to_contain_text("2 Expected")
    assert click.count == FILTER_CLICKS

    # The late patient is flagged in words, and heads the list.
    late_row = expected.get_by_role("row").filter(has_text="Lena Late")
    expect(late_row).to_contain_text(re.compile(r"Late 2[5-9] min"))
    expect(expected.get_by_role("row").filter(has_text="Zoë Ångström")).not_to_contain_text("Late")
    expect(page.get_by_role("region", name=re.compile("At a glance"))).to_contain_text("1 Late")
    assert_no_serious_axe_violations(page)

    # Check Zoë in: back on the narrowed board, the message offers Undo.
    click(expected.get_by_role("button", name="Check in Zoë Ångström"))
    expect(page).to_have_url(re.compile(rf"/\?doctor={okafor.pk}$"))
    message = page.get_by_role("status")
    expect(message).to_contain_text("Zoë Ångström: checked in.")
    waiting = page.get_by_role("region", name="Checked in, waiting")
    expect(waiting).to_contain_text("Zoë Ångström")
    expect(waiting.get_by_role("button", name="Undo check-in of Zoë Ångström")).to_be_visible()
    assert_no_serious_axe_violations(page)

    # Undo from the message: she is expected again (and still on Dr Okafor's board).
    click(message.get_by_role("button", name="Undo check-in of Zoë Ångström"))
    expect(page).to_have_url(re.compile(rf"/\?doctor={okafor.pk}$"))
    expect(page.get_by_role("status")).to_contain_text("Zoë Ångström: check-in undone; expected again (scheduled).")
    expect(expected).to_contain_text("Zoë Ångström")
    expect(waiting).not_to_contain_text("Zoë Ångström")
    zoe.refresh_from_db()
    assert (zoe.status, zoe.checked_in_at) == (Appointment.Status.SCHEDULED, None)

    # And in again.
    click(expected.get_by_role("button", name="Check in Zoë Ångström"))
    expect(waiting).to_contain_text("Zoë Ångström")
    assert click.count == FILTER_CLICKS + 2 * CHECK_IN_CLICKS + UNDO_CLICKS
    zoe.refresh_from_db()
    assert zoe.status == Appointment.Status.CHECKED_IN

    # A colleague books a new patient with Dr Okafor (and one with Dr Berg) and checks Lena in. The board follows
    # by itself: no reload (the page's own marker survives), the filter kept, focus and scroll where they were.
    page.evaluate("window.__notReloaded = true")
    waiting.get_by_role("link", name="Zoë Ångström").focus()  # she stays in her lane: the focus stays on her
    focused = page.evaluate("document.activeElement.textContent")
    scroll = page.evaluate("window.scrollY")
    start = now + timedelta(minutes=20)  # free for both doctors: Zoë's and Bruno's visits are over by then
    new = services.book_appointment(
        patient=PatientFactory(first_name="Nadia", last_name="New"), doctor=okafor, start=start, booked_by=colleague
    )
    services.book_appointment(
        patient=PatientFactory(first_name="Otto", last_name="Elsewhere"), doctor=berg, start=start, booked_by=colleague
    )
    services.check_in(appointment=late, by=colleague)

    expect(expected).to_contain_text("Nadia New", timeout=(REFRESH_SECONDS + 5) * 1000)
    expect(waiting).to_contain_text("Lena Late")
    expect(expected).not_to_contain_text("Otto Elsewhere")
    expect(expected).not_to_contain_text("Lena Late")
    assert page.evaluate("window.__notReloaded") is True
    expect(page).to_have_url(re.compile(rf"/\?doctor={okafor.pk}$"))
    assert page.evaluate("document.activeElement.textContent") == focused
    assert page.evaluate("window.scrollY") == scroll
    # Said politely, and only what changed.
    expect(page.locator("[data-refresh-announce]")).to_contain_text("Today updated.")
    expect(page.locator("[data-refresh-announce]")).to_contain_text("Checked in, waiting: 2")
    assert Appointment.objects.get(pk=new.pk).status == Appointment.Status.SCHEDULED
    assert_no_serious_axe_violations(page)
