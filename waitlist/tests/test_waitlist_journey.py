"""The waitlist in Chromium, at 1280 and 390 px: a receptionist puts a patient on the waitlist (found by
search), cancels another patient's appointment, sees on that page who on the waitlist fits the freed time,
and books the top one in one click. Clicks are counted (choosing from a list counts as one; typing does not)."""

import re
from datetime import time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinic.tests.browser import Clicks, assert_no_serious_axe_violations, sign_in
from patients.tests.factories import PatientFactory
from scheduling.models import Appointment
from scheduling.tests.factories import AppointmentFactory, local
from staff.roles import RECEPTIONIST
from staff.tests.factories import DoctorFactory, SpecialtyFactory, UserFactory
from waitlist.models import Urgency, WaitlistEntry
from waitlist.tests.factories import WaitlistEntryFactory

PASSWORD = "waitlist-journey-Pw-7"
ALL_DAY = [(weekday, time(7), time(20)) for weekday in range(7)]
# Add to the waitlist: Waitlist, Add a patient, the search result, the doctor, the urgency, Add = 6.
ADD_CLICKS = 6
# Cancel the other appointment: Cancel appointment, then the form's button = 2.
CANCEL_CLICKS = 2
# Book the top candidate from the cancelled appointment's page: 1.
BOOK_CLICKS = 1


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)  # the live server's thread must see the factories' rows
@pytest.mark.parametrize("width", [1280, 390])
def test_add_to_the_waitlist_then_fill_a_cancellation_in_one_click(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.set_default_timeout(10_000)

    UserFactory(username="rita", first_name="Rita", last_name="Reception", password=PASSWORD, roles=[RECEPTIONIST])
    gp = SpecialtyFactory(name="General practice")
    okafor = DoctorFactory(user__first_name="Hana", user__last_name="Okafor", specialty=gp, hours=ALL_DAY)
    lucja = PatientFactory(first_name="Łucja", last_name="Wiśniewska")
    day = timezone.localdate() + timedelta(days=2)
    bruno = AppointmentFactory(
        doctor=okafor, patient=PatientFactory(first_name="Bruno", last_name="Other"), start=local(day, 10)
    )
    # Someone already waiting for any GP, routine: Łucja, urgent, goes before them.
    WaitlistEntryFactory(doctor=None, specialty=gp, patient=PatientFactory(first_name="Ōtsuka", last_name="Haruki"))

    sign_in(page, "rita", PASSWORD)
    click = Clicks()

    # Put Łucja on Dr Okafor's waitlist, urgent.
    click(page.get_by_role("navigation", name="Main").get_by_role("link", name="Waitlist"))
    expect(page.get_by_role("heading", name="Waitlist", exact=True)).to_be_visible()
    assert_no_serious_axe_violations(page)
    click(page.get_by_role("link", name="Add a patient"))
    page.get_by_label("Find a patient").fill("Wiśniewska")
    page.get_by_label("Find a patient").press("Enter")  # typing, not a click (results also come as one types)
    click(page.get_by_role("link", name="WIŚNIEWSKA, Łucja"))
    expect(page.get_by_text("For Łucja Wiśniewska")).to_be_visible()
    click.choose(page.get_by_label("Doctor"), label="Dr Hana Okafor — General practice")
    click.choose(page.get_by_label("Urgency"), label="Urgent")
    assert_no_serious_axe_violations(page)
    click(page.get_by_role("button", name="Add to the waitlist"))
    expect(page.get_by_role("status")).to_contain_text("Łucja Wiśniewska is on the waitlist for Dr Hana Okafor.")
    expect(page.get_by_role("row").filter(has_text="WIŚNIEWSKA, Łucja")).to_contain_text("Urgent")
    assert click.count == ADD_CLICKS

    # Bruno phones to cancel: his time is free again, and the page says who on the waitlist fits.
    page.goto(bruno.get_absolute_url())  # as from Today or the calendar
    click(page.get_by_role("link", name="Cancel appointment"))
    page.get_by_label("Reason for cancelling").fill("Patient phoned: away that week")
    click(page.get_by_role("button", name="Cancel appointment"))
    freed = page.get_by_role("region", name=re.compile("This time is free again"))
    expect(freed).to_contain_text("This time is free again — 2 on the waitlist fit")
    candidates = freed.get_by_role("listitem")
    expect(candidates.first).to_contain_text("Łucja Wiśniewska")
    expect(candidates.first).to_contain_text("urgent · added today")
    expect(candidates.nth(1)).to_contain_text("routine · added today · any General practice doctor")
    assert_no_serious_axe_violations(page)
    assert click.count == ADD_CLICKS + CANCEL_CLICKS

    # One click books her into the freed time.
    click(freed.get_by_role("button", name="Book Łucja Wiśniewska"))
    expect(page.get_by_role("status")).to_contain_text("Booked from the waitlist: Łucja Wiśniewska with Dr Hana Okafor")
    expect(page.get_by_role("heading", name=re.compile("^Appointment"))).to_contain_text("Scheduled")
    assert click.count == ADD_CLICKS + CANCEL_CLICKS + BOOK_CLICKS

    booked = Appointment.objects.active().get(doctor=okafor, start=bruno.start)
    assert booked.patient == lucja
    entry = WaitlistEntry.objects.get(patient=lucja)
    assert (entry.status, entry.appointment, entry.urgency) == (WaitlistEntry.Status.BOOKED, booked, Urgency.URGENT)
    page.goto("/waitlist/")
    expect(page.get_by_role("table")).not_to_contain_text("WIŚNIEWSKA")
    expect(page.get_by_role("table")).to_contain_text("HARUKI, Ōtsuka")
