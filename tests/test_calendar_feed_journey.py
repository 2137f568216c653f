"""A doctor subscribes their phone to their diary, in Chromium at 1280 and 390 px: from their account's Security
page to "Your calendar feed", makes a link, and the link (fetched without signing in, as a calendar app does)
is a calendar with their appointment; they revoke it and the same link answers 404. Clicks are counted
(typing and copying are not)."""

import re
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone
from icalendar import Calendar
from playwright.sync_api import expect

from clinic.tests.browser import Clicks, assert_no_serious_axe_violations, sign_in
from patients.tests.factories import PatientFactory
from scheduling.tests.factories import AppointmentFactory
from staff.tests.factories import DoctorFactory

PASSWORD = "feed-journey-Pw-7"
# Security (in the navigation) 1, "Your calendar feed" 1: the feed page is two clicks from any page.
TO_THE_PAGE_CLICKS, MAKE_CLICKS, REVOKE_CLICKS = 2, 1, 1


def fetch(url):
    """(status, body) as a calendar app gets them: no cookies, no sign-in."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (the live server's own http URL)
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)  # the live server's thread must see the factories' rows
@pytest.mark.parametrize("width", [1280, 390])
def test_a_doctor_subscribes_to_their_diary_and_revokes_the_link(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.set_default_timeout(10_000)
    doctor = DoctorFactory(
        user__username="hana", user__first_name="Hana", user__last_name="Okafor", user__password=PASSWORD
    )
    patient = PatientFactory(first_name="Zoë", last_name="Ångström")
    visit = AppointmentFactory(doctor=doctor, patient=patient, start=timezone.now() + timedelta(days=1))

    sign_in(page, "hana", PASSWORD)
    click = Clicks()
    click(page.get_by_role("navigation", name="Main").get_by_role("link", name="Security"))
    click(page.get_by_role("link", name="Your calendar feed"))
    expect(page.get_by_role("heading", name="Your calendar feed", level=1)).to_be_visible()
    assert click.count == TO_THE_PAGE_CLICKS
    expect(page.get_by_text("You have no link in use.")).to_be_visible()
    assert_no_serious_axe_violations(page)

    click(page.get_by_role("button", name="Make a link"))
    expect(page.get_by_role("status")).to_contain_text("New calendar link made")
    url = page.get_by_label("Calendar link").input_value()
    assert re.fullmatch(r"http://[^/]+/calendar/[A-Za-z0-9_-]{43}\.ics", url)
    expect(page.get_by_role("link", name="Subscribe on this device")).to_have_attribute(
        "href", "webcal://" + url.split("://", 1)[1]
    )
    assert click.count == TO_THE_PAGE_CLICKS + MAKE_CLICKS

    status, body = fetch(url)
    assert status == 200
    calendar = Calendar.from_ical(body)
    (event,) = calendar.walk("VEVENT")
    assert str(calendar["X-WR-CALNAME"]).endswith("— Dr Hana Okafor")
    assert str(event["SUMMARY"]) == f"Z. Å. · MRN {patient.mrn}"
    assert event["DTSTART"].dt == visit.start.replace(microsecond=0)
    assert "Ångström".encode() not in body

    page.reload()  # shown once: a second look no longer has it
    expect(page.get_by_label("Calendar link")).to_have_count(0)
    expect(page.get_by_text(re.compile("^In use since"))).to_be_visible()
    assert_no_serious_axe_violations(page)

    click(page.get_by_role("button", name="Revoke the link"))
    expect(page.get_by_role("status")).to_contain_text("Calendar link revoked")
    expect(page.get_by_text("You have no link in use.")).to_be_visible()
    assert click.count == TO_THE_PAGE_CLICKS + MAKE_CLICKS + REVOKE_CLICKS
    assert fetch(url) == (404, b"")
    assert_no_serious_axe_violations(page)
