"""In a real browser: a doctor about to complete a visit whose notes are an unsigned draft is asked
first; My day counts the unsigned note and the list leads to it; signed, the visit completes without a
question. At 1280 and 390 px, axe-clean."""

import re
from datetime import datetime, time

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinic.tests.browser import assert_no_serious_axe_violations, sign_in, today_with_time_to_spare
from clinical.tests.factories import MedicalRecordFactory
from patients.tests.factories import PatientFactory
from scheduling.models import Appointment
from scheduling.tests.factories import AppointmentFactory
from staff.tests.factories import DoctorFactory

PASSWORD = "complete-journey-Pw-7"
ALL_DAY = [(weekday, time(0, 0), time(23, 59, 59)) for weekday in range(7)]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)  # the live server's thread must see the factories' rows
@pytest.mark.parametrize("width", [1280, 390])
def test_completing_with_an_unsigned_draft_asks_first(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.set_default_timeout(10_000)
    doctor = DoctorFactory(user__username="kwame", user__password=PASSWORD, hours=ALL_DAY)
    patient = PatientFactory(first_name="Søren", last_name="Ødegård")
    day = today_with_time_to_spare()
    # A visit under way since the day's first minutes (started whatever the hour the test runs).
    start = timezone.make_aware(datetime.combine(day, time(0, 5)))
    visit = AppointmentFactory(
        patient=patient,
        doctor=doctor,
        start=start,
        status=Appointment.Status.IN_PROGRESS,
        checked_in_at=timezone.now(),
        started_at=timezone.now(),
    )
    MedicalRecordFactory(author=doctor.user, patient=patient, appointment=visit, diagnosis="Viral wheeze")

    sign_in(page, "kwame", PASSWORD)
    expect(page.get_by_role("heading", name=re.compile("My day"))).to_be_visible()
    expect(page.get_by_role("link", name="Unsigned notes: 1")).to_be_visible()

    # Complete from My day: asked first, nothing changes yet.
    page.get_by_role("row").filter(has_text="Søren Ødegård").get_by_role("button", name="Complete").click()
    expect(page.get_by_role("heading", name="Complete this visit?")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("a draft that has not been signed")
    assert_no_serious_axe_violations(page)
    visit.refresh_from_db()
    assert visit.status == Appointment.Status.IN_PROGRESS

    # "Review and sign" opens the draft; sign it, and completing needs no question.
    page.get_by_role("link", name="Review and sign").first.click()
    expect(page).to_have_url(re.compile(r"/records/\d+/edit/$"))
    page.get_by_role("button", name="Save and review for signing").click()
    page.get_by_role("button", name="Sign record").click()
    expect(page.get_by_role("status").first).to_contain_text("Record signed.")

    page.goto("/clinical/my-day/")
    expect(page.get_by_role("link", name=re.compile("Unsigned notes"))).to_have_count(0)
    page.get_by_role("row").filter(has_text="Søren Ødegård").get_by_role("button", name="Complete").click()
    expect(page.get_by_role("heading", name=re.compile("My day"))).to_be_visible()
    expect(page.get_by_role("status").first).to_contain_text("visit completed")
    visit.refresh_from_db()
    assert visit.status == Appointment.Status.COMPLETED
