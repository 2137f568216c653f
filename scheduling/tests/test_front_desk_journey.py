"""The front desk in few clicks, in Chromium at 1280 and 390 px: book a new patient from the calendar's
"+", undo and take an offered time instead, reschedule by picking an offered time. Clicks are counted
(typing is not) and must stay at or below the counts the closing note reports."""

import re
from datetime import time, timedelta

import pytest
from django.utils import timezone
from django.utils.formats import date_format
from playwright.sync_api import expect

from clinic.tests.browser import Clicks, assert_no_serious_axe_violations, sign_in
from patients.models import Patient
from patients.tests.factories import PatientFactory
from scheduling.models import Appointment
from scheduling.tests.factories import AppointmentFactory, local
from staff.roles import RECEPTIONIST
from staff.tests.factories import DoctorFactory, SpecialtyFactory, UserFactory

PASSWORD = "front-desk-journey-Pw-7"
EVERY_DAY = [(weekday, time(8), time(18)) for weekday in range(7)]
# Clicks measured for #14 (before it: 15 to register and book, 15 to reschedule).
REGISTER_AND_BOOK_CLICKS = 6  # Calendar, Next day, "+", Register a new patient, Save, Book
RESCHEDULE_CLICKS = 2  # from the appointment's page: Reschedule, the offered time


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1280, 390])
def test_register_and_book_from_the_calendar_then_reschedule_by_picking_a_time(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.set_default_timeout(10_000)
    UserFactory(username="rita", first_name="Rita", last_name="Reception", password=PASSWORD, roles=[RECEPTIONIST])
    gp = SpecialtyFactory(name="General practice")
    doctor = DoctorFactory(user__first_name="Hana", user__last_name="Okafor", specialty=gp, hours=EVERY_DAY)
    DoctorFactory(user__first_name="Ilse", user__last_name="Berg", specialty=gp, hours=EVERY_DAY)
    day = timezone.localdate() + timedelta(days=1)
    # 10:20 is taken: the offered times step around it.
    AppointmentFactory(doctor=doctor, patient=PatientFactory(), start=local(day, 10, 20), end=local(day, 10, 40))
    long_day = date_format(day, "l j F Y")

    sign_in(page, "rita", PASSWORD)
    click = Clicks()

    # The calendar, tomorrow, "+" at 10:00 in Dr Okafor's column.
    click(page.get_by_role("navigation", name="Main").get_by_role("link", name="Calendar"))
    click(page.get_by_role("link", name="Next day →"))
    click(page.get_by_role("link", name="Book Dr Hana Okafor at 10:00", exact=True))
    expect(page.get_by_text(f"Dr Hana Okafor, {long_day}, 10:00–10:20. Who is it for?")).to_be_visible()
    expect(page.get_by_text("No patient matches")).to_have_count(0)

    # Search as you type: nobody yet.
    page.get_by_label("Find a patient").press_sequentially("Łukasiewicz", delay=20)
    expect(page.get_by_text("No patient matches “Łukasiewicz”.")).to_be_visible()
    assert_no_serious_axe_violations(page)

    # Register her; the booking comes back with her chosen and the slot still there.
    click(page.get_by_role("link", name="Register a new patient"))
    page.get_by_label("First name").fill("Zoë")
    page.get_by_label("Last name").fill("Łukasiewicz")
    page.get_by_label("Date of birth").fill("1984-03-12")
    click(page.get_by_role("button", name="Save"))
    zoe = Patient.objects.get(last_name="Łukasiewicz")
    expect(page.get_by_text("For Zoë Łukasiewicz")).to_be_visible()
    expect(page.get_by_label("Doctor")).to_have_value(str(doctor.pk))
    expect(page.get_by_label("Date")).to_have_value(day.isoformat())
    expect(page.get_by_label("Time")).to_have_value("10:00")
    summary = page.locator("#booking-summary")
    expect(summary).to_have_text(f"Booking Zoë Łukasiewicz with Dr Hana Okafor on {long_day} at 10:00.")
    offered = page.get_by_role("region", name="Free slots of Dr Hana Okafor")
    expect(offered.get_by_role("button", name=re.compile(r"at 10:40$"))).to_be_visible()
    expect(offered.get_by_role("button", name=re.compile(r"at 10:20$"))).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways"
    assert_no_serious_axe_violations(page)

    # Changing the time changes the sentence before anything is saved.
    page.get_by_label("Time").fill("10:40")
    expect(summary).to_contain_text("at 10:40.")
    page.get_by_label("Time").fill("10:00")
    click(page.get_by_role("button", name="Book", exact=True))
    expect(page.get_by_role("status")).to_contain_text("Booked: Zoë Łukasiewicz with Dr Hana Okafor")
    booked = Appointment.objects.get(patient=zoe)
    assert (booked.doctor, booked.start) == (doctor, local(day, 10))
    assert click.count <= REGISTER_AND_BOOK_CLICKS, click.count
    register_and_book = click.count

    # Undo straight away: back to booking her, where one click on an offered time books 10:40 instead.
    page.get_by_role("button", name="Undo booking").click()
    expect(page.get_by_role("status")).to_contain_text("Booking undone")
    expect(page.get_by_text("For Zoë Łukasiewicz")).to_be_visible()
    page.get_by_role("button", name=f"Book on {date_format(day, 'l j F')} at 10:40").click()
    expect(page.get_by_role("status")).to_contain_text("Booked: Zoë Łukasiewicz")
    booked = Appointment.objects.get(patient=zoe, status=Appointment.Status.SCHEDULED)
    assert booked.start == local(day, 10, 40)

    # Reschedule from her appointment's page by picking an offered time.
    click = Clicks()
    click(page.get_by_role("link", name="Reschedule"))
    expect(page.get_by_role("heading", name="Reschedule")).to_be_visible()
    assert_no_serious_axe_violations(page)
    click(page.get_by_role("button", name=f"Move to on {date_format(day, 'l j F')} at 09:00"))
    expect(page.get_by_role("status")).to_contain_text("Rescheduled: Zoë Łukasiewicz")
    booked.refresh_from_db()
    assert booked.start == local(day, 9)
    assert click.count <= RESCHEDULE_CLICKS, click.count
    print(f"\n[{width} px] register and book: {register_and_book} clicks; reschedule: {click.count} clicks")
