"""A receptionist's morning in a real browser: sign in, find a patient, book, meet a clash, check in."""

import re
from datetime import time, timedelta

import pytest
from playwright.sync_api import expect

from clinic.tests.browser import assert_no_serious_axe_violations, sign_in, today_with_time_to_spare, wall_times
from patients.tests.factories import PatientFactory
from scheduling.models import Appointment
from scheduling.tests.factories import AppointmentFactory
from staff.roles import RECEPTIONIST
from staff.tests.factories import DoctorFactory, SpecialtyFactory, UserFactory

ALL_DAY = [(weekday, time(0, 0), time(23, 59, 59)) for weekday in range(7)]
PASSWORD = "reception-journey-Pw-7"
# The first booking and a second one that overlaps it, both with the doctor's usual 20 minutes.
FIRST, SECOND = time(0, 30), time(0, 40)
NOON_FIRST, NOON_SECOND = time(12, 0), time(12, 10)


def _free_times_for(day):
    """The booking page's own refresh of its free times for the date picked (static/js/booking.js). Waited for
    before booking, as a person reads the offered times: a refresh still under way when the form is sent saves
    the session after the booking did and loses its "Booked: ..." message (SESSION_SAVE_EVERY_REQUEST with the
    messages kept in the session)."""
    return lambda response: "/appointments/book/?" in response.url and f"date={day.isoformat()}" in response.url


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)  # the live server's thread must see the factories' rows
@pytest.mark.parametrize("width", [1280, 390])
def test_receptionist_books_meets_a_clash_and_checks_in(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.set_default_timeout(10_000)
    UserFactory(username="rita", first_name="Rita", last_name="Reception", password=PASSWORD, roles=[RECEPTIONIST])
    doctor = DoctorFactory(
        user__first_name="Hana",
        user__last_name="Okafor",
        specialty=SpecialtyFactory(name="General practice"),
        hours=ALL_DAY,
    )
    zoe = PatientFactory(first_name="Zoë", last_name="Ångström")
    other = PatientFactory(first_name="Oscar", last_name="Bellamy")
    PatientFactory(first_name="Zoe", last_name="Smith")  # matches "zoe" but not "ang": the search must narrow

    day = today_with_time_to_spare()
    first, second = wall_times(day, (FIRST, SECOND), (NOON_FIRST, NOON_SECOND))

    # Sign in through the login page.
    sign_in(page, "rita", PASSWORD)
    expect(page.get_by_role("heading", name="Today")).to_be_visible()
    assert_no_serious_axe_violations(page)

    # Find the patient by a partial, unaccented search.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Patients").click()
    page.get_by_label("Find a patient").fill("zoe ang")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", name="1 found")).to_be_visible()
    assert_no_serious_axe_violations(page)
    page.get_by_role("link", name="ÅNGSTRÖM, Zoë").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("ÅNGSTRÖM, Zoë")
    assert_no_serious_axe_violations(page)

    # Book her in with the doctor today.
    page.get_by_role("link", name="Book appointment").click()
    expect(page.get_by_text("For Zoë Ångström")).to_be_visible()
    assert_no_serious_axe_violations(page)
    page.get_by_label("Doctor").select_option(label="Dr Hana Okafor — General practice")
    with page.expect_response(_free_times_for(day)):  # see _free_times_for
        page.get_by_label("Date").fill(day.isoformat())
    page.get_by_label(re.compile(r"^Time")).fill(first.strftime("%H:%M"))
    page.get_by_role("button", name="Book", exact=True).click()
    expect(page).to_have_url(re.compile(r"/appointments/\d+/$"))
    expect(page.get_by_role("status")).to_contain_text("Booked: Zoë Ångström with Dr Hana Okafor")
    expect(page.get_by_role("heading", name="Appointment")).to_contain_text("Scheduled")
    assert_no_serious_axe_violations(page)
    booked = Appointment.objects.get(patient=zoe)
    assert (booked.doctor, booked.local_start.date(), booked.local_start.time()) == (doctor, day, first)

    # A second patient in an overlapping slot with the same doctor is refused, naming the first booking.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Book", exact=True).click()
    page.get_by_label("Find a patient").fill("bellamy")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="BELLAMY, Oscar").click()
    expect(page.get_by_text("For Oscar Bellamy")).to_be_visible()
    page.get_by_label("Doctor").select_option(label="Dr Hana Okafor — General practice")
    with page.expect_response(_free_times_for(day)):  # see _free_times_for
        page.get_by_label("Date").fill(day.isoformat())
    page.get_by_label(re.compile(r"^Time")).fill(second.strftime("%H:%M"))
    page.get_by_role("button", name="Book", exact=True).click()
    clash = page.get_by_role("alert")
    expect(clash).to_contain_text("Dr Hana Okafor already has an appointment")
    expect(clash).to_contain_text(f"{first:%H:%M}–{booked.local_end:%H:%M} with ÅNGSTRÖM, Zoë")
    expect(page).to_have_url(re.compile(rf"/appointments/book/\?patient={other.pk}$"))
    expect(page.get_by_role("heading", name="Book an appointment")).to_be_visible()
    expect(page.get_by_label(re.compile(r"^Time"))).to_have_value(second.strftime("%H:%M"))
    assert not Appointment.objects.filter(patient=other).exists()

    # Today: check her in; she moves to "Checked in, waiting".
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Today").click()
    expected = page.get_by_role("region", name="Expected")
    expect(expected).to_contain_text("Zoë Ångström")
    expected.get_by_role("button", name="Check in Zoë Ångström").click()
    expect(page.get_by_role("status")).to_contain_text("Zoë Ångström: checked in.")
    waiting = page.get_by_role("region", name="Checked in, waiting")
    expect(waiting).to_contain_text("Zoë Ångström")
    expect(waiting).to_contain_text("Dr Hana Okafor")
    expect(page.get_by_role("region", name="Expected")).not_to_contain_text("Zoë Ångström")
    assert_no_serious_axe_violations(page)

    # The calendar shows her visit and a 20-minute one right after it, which starts inside a quarter hour
    # already taken (the grid once hid such a visit).
    after = AppointmentFactory(doctor=doctor, patient=other, start=booked.end, end=booked.end + timedelta(minutes=20))
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Calendar").click()
    calendar = page.get_by_role("region", name=re.compile("^Appointments on"))
    for visit in (booked, after):
        name = f"{visit.local_start:%H:%M}–{visit.local_end:%H:%M} {visit.patient.full_name}"
        expect(calendar.get_by_role("link", name=name, exact=True)).to_be_visible()
    assert_no_serious_axe_violations(page)
