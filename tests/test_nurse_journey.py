"""A nurse's part of a visit in a real browser: check the patient in from Today, record vital signs
(an implausible value is refused next to its field), find them on the chart, photograph a wound;
and what a nurse does not do: start, chart or sign a visit."""

from datetime import datetime, time

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from clinic.tests.browser import assert_no_serious_axe_violations, sign_in, today_with_time_to_spare, wall_times
from clinical.models import MedicalRecord
from documents.models import PatientImage
from documents.tests.factories import photo_bytes
from patients.tests.factories import PatientFactory
from scheduling.models import Appointment
from scheduling.tests.factories import AppointmentFactory
from staff.roles import NURSE
from staff.tests.factories import DoctorFactory, UserFactory

ALL_DAY = [(weekday, time(0, 0), time(23, 59, 59)) for weekday in range(7)]
NURSE_PASSWORD = "nurse-journey-Pw-7"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)  # the live server's thread must see the factories' rows
@pytest.mark.parametrize("width", [1280, 390])
def test_nurse_checks_in_records_vital_signs_and_photographs_a_wound(page, tmp_path, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.set_default_timeout(10_000)
    UserFactory(username="nkechi", first_name="Nkechi", last_name="Nurse", password=NURSE_PASSWORD, roles=[NURSE])
    doctor = DoctorFactory(user__first_name="Hana", user__last_name="Okafor", hours=ALL_DAY)
    amara = PatientFactory(first_name="Amara", last_name="Nwosu")
    day = today_with_time_to_spare()
    (start,) = wall_times(day, (time(0, 10),), (time(12, 0),))
    visit = AppointmentFactory(
        patient=amara, doctor=doctor, start=timezone.make_aware(datetime.combine(day, start)), reason="Leg ulcer"
    )
    photo = tmp_path / "ulcer.jpg"
    photo.write_bytes(photo_bytes(seed=5))

    # Today: Amara is expected; one click checks her in.
    sign_in(page, "nkechi", NURSE_PASSWORD)
    expect(page.get_by_role("button", name="Check in Amara Nwosu")).to_be_visible()
    assert_no_serious_axe_violations(page)
    page.get_by_role("button", name="Check in Amara Nwosu").click()
    expect(page.get_by_text("checked in", exact=False).first).to_be_visible()
    visit.refresh_from_db()
    assert visit.status == Appointment.Status.CHECKED_IN
    assert_no_serious_axe_violations(page)

    # Her vital signs, from the appointment's page; a pulse of 400 is refused next to its field.
    page.goto(visit.get_absolute_url())
    expect(page.get_by_role("button", name="Start consultation")).to_have_count(0)  # the doctor's step
    assert_no_serious_axe_violations(page)
    page.get_by_role("link", name="Record vital signs").click()
    expect(page.get_by_label("BP systolic (mmHg)")).to_be_visible()
    assert_no_serious_axe_violations(page)
    page.get_by_label("BP systolic (mmHg)").fill("150")
    page.get_by_label("BP diastolic (mmHg)").fill("95")
    page.get_by_label("Pulse (/min)").fill("400")
    page.get_by_label("Temperature (°C)").fill("37.2")
    page.get_by_role("button", name="Save vital signs").click()
    expect(page.locator(".error").first).to_contain_text("/min")
    assert not MedicalRecord.objects.filter(appointment=visit).exists()  # nothing half-saved
    page.get_by_label("Pulse (/min)").fill("88")
    page.get_by_role("button", name="Save vital signs").click()
    expect(page.get_by_text("Vital signs recorded.")).to_be_visible()

    # The chart shows the visit's record, a draft for the doctor, with her vital signs in it.
    page.get_by_role("link", name="Open chart").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("NWOSU, Amara")
    record = MedicalRecord.objects.get(appointment=visit)
    assert (record.author, record.status, record.vitals_recorded_by.username) == (doctor.user, "draft", "nkechi")
    assert_no_serious_axe_violations(page)
    page.goto(reverse("clinical:record", args=[record.pk]))
    expect(page.get_by_text("BP 150/95 mmHg")).to_be_visible()
    expect(page.get_by_role("button", name="Sign record")).to_have_count(0)  # signing is the doctor's
    expect(page.get_by_role("link", name="Edit draft")).to_have_count(0)
    assert_no_serious_axe_violations(page)

    # A photo of the ulcer, filed under its body site.
    page.goto(reverse("documents:gallery", args=[amara.pk]))
    assert_no_serious_axe_violations(page)
    page.get_by_role("link", name="Add a photo").click()
    expect(page.get_by_label("Photo")).to_be_visible()
    assert_no_serious_axe_violations(page)
    page.get_by_label("Body site or tag").fill("Left shin")
    page.get_by_label("Photo").set_input_files(str(photo))
    page.get_by_role("button", name="Add the photo").click()
    expect(page.get_by_role("heading", name="Left shin")).to_be_visible()
    assert PatientImage.objects.get(patient=amara).uploaded_by.username == "nkechi"
    assert_no_serious_axe_violations(page)

    # Charting the visit is refused to her.
    response = page.goto(reverse("clinical:visit_record", args=[visit.pk]))
    assert response.status in (403, 405)
