"""A doctor's visit in a real browser: My day, start the visit, chart, meet the allergy warning, sign,
see the record on the chart, print the prescription; a receptionist cannot open the record."""

import io
import re
from datetime import datetime, time

import pytest
from django.utils import timezone
from playwright.sync_api import expect
from pypdf import PdfReader

from clinic.tests.browser import assert_no_serious_axe_violations, sign_in, today_with_time_to_spare, wall_times
from clinical.models import MedicalRecord
from patients.tests.factories import AllergyFactory, PatientFactory
from scheduling import services as scheduling_services
from scheduling.models import Appointment
from scheduling.tests.factories import AppointmentFactory
from staff.roles import RECEPTIONIST
from staff.tests.factories import DoctorFactory, SpecialtyFactory, UserFactory

ALL_DAY = [(weekday, time(0, 0), time(23, 59, 59)) for weekday in range(7)]
DOCTOR_PASSWORD = "doctor-journey-Pw-7"
RECEPTION_PASSWORD = "reception-journey-Pw-7"
# The first appointment of the day and a later one, each the doctor's usual 20 minutes.
FIRST, LATER = time(0, 10), time(0, 40)
NOON_FIRST, NOON_LATER = time(12, 0), time(12, 40)

FINDINGS = "Enlarged tonsils with white exudate; tender anterior cervical nodes."
DIAGNOSIS = "Acute streptococcal tonsillitis"
DRUG, STRENGTH, FREQUENCY = "Penicillin V", "500 mg", "four times a day"


def _at(day, wall_time):
    return timezone.make_aware(datetime.combine(day, wall_time))


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)  # the live server's thread must see the factories' rows
@pytest.mark.parametrize("width", [1280, 390])
def test_doctor_charts_meets_allergy_warning_signs_and_prints(page, new_context, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.set_default_timeout(10_000)
    rita = UserFactory(
        username="rita", first_name="Rita", last_name="Reception", password=RECEPTION_PASSWORD, roles=[RECEPTIONIST]
    )
    doctor = DoctorFactory(
        user__username="okafor",
        user__first_name="Hana",
        user__last_name="Okafor",
        user__password=DOCTOR_PASSWORD,
        specialty=SpecialtyFactory(name="General practice"),
        hours=ALL_DAY,
    )
    amara = PatientFactory(first_name="Amara", last_name="Nwosu")
    AllergyFactory(patient=amara, substance="Penicillin", reaction="Urticaria")
    oscar = PatientFactory(first_name="Oscar", last_name="Bellamy", allergies_checked_at=timezone.now())

    day = today_with_time_to_spare()
    first, later = wall_times(day, (FIRST, LATER), (NOON_FIRST, NOON_LATER))
    visit = AppointmentFactory(
        patient=amara, doctor=doctor, start=_at(day, first), reason="Sore throat", booked_by=rita
    )
    scheduling_services.check_in(appointment=visit, by=rita)
    AppointmentFactory(patient=oscar, doctor=doctor, start=_at(day, later), reason="BP review", booked_by=rita)

    # Signing in lands on My day (no click): both appointments in order, Amara's allergy flagged, Oscar not arrived.
    sign_in(page, "okafor", DOCTOR_PASSWORD)
    expect(page.get_by_role("heading", name="My day")).to_be_visible()
    rows = page.get_by_role("row").filter(has=page.get_by_role("link", name=re.compile(r"^\d\d:\d\d$")))
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Amara Nwosu")
    expect(rows.nth(1)).to_contain_text("Oscar Bellamy")
    first_row = rows.nth(0)
    expect(first_row.get_by_role("note")).to_have_text("Allergies: Penicillin")
    expect(first_row).to_contain_text("Sore throat")
    expect(first_row).to_contain_text("Checked in")
    expect(rows.nth(1)).to_contain_text("No known allergies")
    expect(rows.nth(1)).to_contain_text("not arrived")
    assert_no_serious_axe_violations(page)

    # Start the visit: the draft record of this visit opens.
    first_row.get_by_role("button", name="Start visit").click()
    expect(page).to_have_url(re.compile(r"/records/\d+/edit/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("draft for Amara Nwosu")
    record = MedicalRecord.objects.get(appointment=visit)
    visit.refresh_from_db()
    assert visit.status == Appointment.Status.IN_PROGRESS
    assert_no_serious_axe_violations(page)

    # Chart findings, a diagnosis and a prescription of a drug she is allergic to.
    page.get_by_label("Findings (examination)").fill(FINDINGS)
    page.get_by_label("Diagnosis", exact=True).fill(DIAGNOSIS)
    # The drug's suggestions (as she types) and its allergy check (as she leaves the field) are fetched in the
    # background. One still under way when the form is sent saves the session after the save did, and the
    # "Draft saved." message kept in it is lost (SESSION_SAVE_EVERY_REQUEST, messages in the session): wait
    # for both, as a person reading the suggestions and the warning would.
    with page.expect_response(re.compile(r"/lookups/drugs/")):
        page.get_by_label("Drug (row 1)").fill(DRUG)
    with page.expect_response(re.compile(r"/allergy-check/")):
        page.get_by_label("Strength (row 1)").fill(STRENGTH)
    page.get_by_label("Frequency (row 1)").fill(FREQUENCY)
    page.get_by_role("button", name="Save and review for signing").click()
    expect(page).to_have_url(re.compile(rf"/records/{record.pk}/#sign$"))
    expect(page.get_by_role("status")).to_contain_text("Draft saved.")
    warning = page.locator(".allergy-warning")
    expect(warning).to_contain_text("Allergy warning.")
    expect(warning).to_contain_text(f"{DRUG} matches the patient's allergy to Penicillin")
    assert_no_serious_axe_violations(page)

    # Signing without acknowledging the warning is refused, and the record stays a draft.
    page.get_by_role("button", name="Sign record").click()
    expect(page.get_by_text("Acknowledge the allergy warning before signing.")).to_be_visible()
    record.refresh_from_db()
    assert record.status == MedicalRecord.Status.DRAFT

    # Acknowledge and sign.
    page.get_by_label("I have seen the allergy warning and prescribe deliberately").check()
    page.get_by_role("button", name="Sign record").click()
    expect(page).to_have_url(re.compile(rf"/records/{record.pk}/$"))
    expect(page.get_by_role("status")).to_contain_text("Record signed. It can now only be amended.")
    expect(page.get_by_text("Signed · written by")).to_contain_text("signed by")
    expect(page.get_by_text("Allergy warning acknowledged at signing")).to_contain_text(
        f"{DRUG} vs allergy to Penicillin"
    )
    expect(page.get_by_role("button", name="Sign record")).to_have_count(0)
    expect(page.get_by_role("link", name="Edit draft")).to_have_count(0)
    assert_no_serious_axe_violations(page)
    record.refresh_from_db()
    assert (record.status, record.signed_by_id) == (MedicalRecord.Status.SIGNED, doctor.user_id)
    assert [(m.drug, m.strength, m.frequency) for m in record.medications.all()] == [(DRUG, STRENGTH, FREQUENCY)]

    # The chart: the signed record is in the timeline under its diagnosis.
    page.get_by_role("heading", level=1).get_by_role("link", name="Amara Nwosu").click()
    expect(page).to_have_url(re.compile(rf"/patients/{amara.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("NWOSU, Amara")
    entry = page.locator(".timeline li").filter(has_text="Record")
    expect(entry.get_by_role("link", name=DIAGNOSIS)).to_be_visible()
    expect(entry).to_contain_text("Signed")
    assert_no_serious_axe_violations(page)

    # Print the prescription from the record: a PDF with the drug, the patient and the doctor.
    entry.get_by_role("link", name=DIAGNOSIS).click()
    with page.expect_response(re.compile(rf"/records/{record.pk}/prescription/$")) as opened:
        page.get_by_role("link", name="Print prescription").click()
    assert opened.value.headers["content-type"] == "application/pdf"
    # Chromium's PDF viewer takes the body it reports; the same address fetched in the same session.
    pdf = page.context.request.get(opened.value.url).body()
    prescription = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert f"{DRUG} {STRENGTH}" in prescription and FREQUENCY in prescription
    assert "Amara Nwosu" in prescription and "Dr Hana Okafor" in prescription

    # A receptionist, in a browser of her own, gets the 403 page at the record's address.
    reception = new_context().new_page()
    reception.set_default_timeout(10_000)
    sign_in(reception, "rita", RECEPTION_PASSWORD)
    expect(reception.get_by_role("heading", name="Today")).to_be_visible()
    response = reception.goto(record.get_absolute_url())
    assert response.status == 403
    expect(reception.get_by_role("heading", name="This page is not available to you")).to_be_visible()
    expect(reception.get_by_text(DIAGNOSIS)).to_have_count(0)
    expect(reception.get_by_text(DRUG)).to_have_count(0)
    assert_no_serious_axe_violations(reception)
