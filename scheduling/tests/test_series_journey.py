"""A weekly physiotherapy series in Chromium, at 1280 and 390 px: from the first visit's page a receptionist
repeats it as a series of 6, sees the week that clashes with another patient's visit named, takes another
time that day for it, books the 6; then, from the 4th, cancels it and the following ones with one reason.
Clicks are counted (typing is not) and must stay at the numbers below. Dates are counted from tomorrow, so
the journey runs on any day."""

import re
from datetime import time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinic.tests.browser import Clicks, assert_no_serious_axe_violations, sign_in
from patients.tests.factories import PatientFactory
from scheduling.models import Appointment, Series
from scheduling.tests.factories import AppointmentFactory, local
from staff.roles import RECEPTIONIST
from staff.tests.factories import DoctorFactory, SpecialtyFactory, UserFactory

PASSWORD = "series-journey-Pw-7"
EVERY_DAY = [(weekday, time(8), time(18)) for weekday in range(7)]
# Repeat as a series, List the appointments, another time for the clash, Book 6 appointments.
BOOK_CLICKS = 4
# The 4th in the series' list, Cancel in series, This and the following ones (one visit is preset), Cancel appointments.
CANCEL_CLICKS = 4


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)  # the live server's thread must see the factories' rows
@pytest.mark.parametrize("width", [1280, 390])
def test_book_a_weekly_series_around_a_clash_then_cancel_this_and_following(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.set_default_timeout(10_000)
    UserFactory(username="rita", first_name="Rita", last_name="Reception", password=PASSWORD, roles=[RECEPTIONIST])
    physio = DoctorFactory(
        user__first_name="Kwame",
        user__last_name="Osei",
        specialty=SpecialtyFactory(name="Physiotherapy"),
        hours=EVERY_DAY,
    )
    zoe = PatientFactory(first_name="Zoë", last_name="Łukasiewicz")
    tomorrow = timezone.localdate() + timedelta(days=1)
    first_visit = AppointmentFactory(
        patient=zoe, doctor=physio, start=local(tomorrow, 9), end=local(tomorrow, 9, 30), reason="Knee rehab"
    )
    clash_day = tomorrow + timedelta(weeks=3)  # the 3rd of the series
    AppointmentFactory(
        doctor=physio, patient=PatientFactory(first_name="Bruno", last_name="Busy"), start=local(clash_day, 9)
    )

    sign_in(page, "rita", PASSWORD)
    page.goto(first_visit.get_absolute_url())
    click = Clicks()

    # Repeat the visit weekly: doctor, time and length come with it; she types the number and the reason.
    click(page.get_by_role("link", name="Repeat as a series"))
    expect(page.get_by_role("heading", name="Book a series")).to_be_visible()
    expect(page.get_by_label("Time")).to_have_value("09:00")
    page.get_by_label("Number of appointments").fill("6")
    page.get_by_label("Reason for visit").fill("Knee rehab")
    assert_no_serious_axe_violations(page)
    click(page.get_by_role("button", name="List the appointments"))

    # Six listed; the 3rd clashes with Bruno's visit, in words, and offers other times that day.
    third = page.get_by_role("group", name=re.compile(r"^3\. "))
    expect(third).to_contain_text("Clash:")
    expect(third).to_contain_text("Osei already has an appointment")
    expect(page.get_by_role("button", name="Book 5 appointments")).to_be_visible()
    assert_no_serious_axe_violations(page)
    click(third.get_by_label("At 09:20"))
    expect(page.get_by_role("button", name="Book 6 appointments")).to_be_visible()
    click(page.get_by_role("button", name="Book 6 appointments"))

    expect(page.get_by_role("status")).to_contain_text("Booked 6 appointments for Zoë Łukasiewicz")
    expect(page.get_by_role("heading", name="Part of a weekly series (1 of 6)")).to_be_visible()
    expect(page.get_by_text(re.compile(r"^Weekly series on \w+day, for “Knee rehab”"))).to_be_visible()
    assert click.count == BOOK_CLICKS
    series = Series.objects.get()
    booked = list(series.appointments.order_by("start"))
    assert [a.local_start.strftime("%H:%M") for a in booked] == ["09:00", "09:00", "09:20", "09:00", "09:00", "09:00"]
    assert {a.local_start.weekday() for a in booked} == {tomorrow.weekday()}

    # From the 4th: cancel it and the following ones, with one reason.
    fourth = booked[3].local_start.strftime("%a %-d %b, %H:%M")  # as the list names it
    click(page.get_by_role("region", name=re.compile("Part of a weekly series")).get_by_role("link", name=fourth))
    expect(page.get_by_role("heading", name="Part of a weekly series (4 of 6)")).to_be_visible()
    click(page.get_by_role("link", name="Cancel in series"))
    # One visit is preset (what a phone call usually means); the following ones are chosen on purpose.
    expect(page.get_by_label(re.compile("This appointment only"))).to_be_checked()
    click(page.get_by_label(re.compile("This and the following ones")))
    page.get_by_label("Reason for cancelling").fill("Discharged early: knee recovered")
    assert_no_serious_axe_violations(page)
    click(page.get_by_role("button", name="Cancel appointments"))

    expect(page.get_by_role("status")).to_contain_text("Cancelled 3 appointments")
    assert click.count == BOOK_CLICKS + CANCEL_CLICKS
    statuses = list(series.appointments.order_by("start").values_list("status", flat=True))
    assert statuses == ["scheduled"] * 3 + ["cancelled"] * 3
    assert Appointment.objects.get(pk=first_visit.pk).status == "scheduled"
    assert_no_serious_axe_violations(page)
