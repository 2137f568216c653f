"""In a real browser, at 1280 px and at 390 px: a doctor opens the chart of a patient with a long
history, reads the summary (allergies, current medications, vital signs with their trend), filters
the timeline to the records of one year, pages forward and back, and clears the filters. Axe-clean,
and at phone width nothing scrolls sideways."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinic.tests.browser import assert_no_serious_axe_violations, sign_in
from clinical import services
from clinical.tests.factories import MedicalRecordFactory, MedicationFactory
from clinical.tests.test_chart_timeline import bulk_history
from patients.tests.factories import AllergyFactory, ConditionFactory, PatientFactory
from staff.tests.factories import DoctorFactory

PASSWORD = "chart-journey-Pw-7"


def entries(timeline):
    return [" ".join(text.split()) for text in timeline.all_text_contents()]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)  # the live server's thread must see the factories' rows
@pytest.mark.parametrize("width", [1280, 390])
def test_a_doctor_reads_the_summary_and_pages_through_a_years_records(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.set_default_timeout(10_000)
    doctor = DoctorFactory(user__username="okafor", user__password=PASSWORD, user__first_name="Chidi")
    patient = PatientFactory(first_name="Wilhelmina", last_name="Stroud")
    AllergyFactory(patient=patient, substance="Penicillin", severity="severe", reaction="anaphylaxis")
    ConditionFactory(patient=patient, name="Type 2 diabetes", icd10_code="E11.9")
    bulk_history(patient, DoctorFactory(), 150)  # 60 visits with records, 59 in 2025; plans, procedures
    record = MedicalRecordFactory(patient=patient, author=doctor.user, diagnosis="Diabetes review", pulse=99)
    MedicationFactory(record=record, drug="Metformin", strength="500 mg", dose="1 tablet", frequency="twice daily")
    MedicationFactory(record=record, drug="Drug 1", duration="1 day")  # stops an old one today
    services.sign_record(record=record, by=doctor.user)

    sign_in(page, "okafor", PASSWORD)
    page.goto(f"/clinical/patients/{patient.pk}/")

    # The summary: the banner, the medications taken now, the vital signs with their direction.
    banner = page.get_by_role("region", name="Allergies and active conditions")
    expect(banner).to_contain_text("Penicillin (severe: anaphylaxis)")
    expect(banner).to_contain_text("Type 2 diabetes E11.9")
    medications = page.get_by_role("region", name="Current medications")
    expect(medications).to_contain_text("Metformin 500 mg · 1 tablet twice daily")
    expect(medications).to_contain_text(f"since {timezone.localdate():%-d %b %Y}")
    expect(medications).to_contain_text("Chidi")
    vitals = page.get_by_role("region", name="Vital signs")
    pulse = vitals.get_by_role("list", name="Pulse, newest first")
    expect(pulse.get_by_role("listitem")).to_have_count(5)
    expect(pulse.get_by_role("listitem").first).to_contain_text("99")
    expect(pulse.get_by_role("listitem").first).to_contain_text("(up)")
    assert_no_serious_axe_violations(page)
    if width == 390:
        assert page.evaluate("document.documentElement.scrollWidth") <= width

    # The records of 2025 only, 25 a page.
    count = page.get_by_role("status").filter(has_text="Entries")
    expect(count).to_have_text("Entries 1–25 of 151")  # the history and today's record
    page.get_by_label("Show").select_option(label="Records")
    page.get_by_label("Year").select_option("2025")
    page.get_by_role("button", name="Filter").click()
    expect(count).to_have_text("Entries 1–25 of 59 (filtered)")
    timeline = page.locator("ol.timeline > li")
    expect(timeline).to_have_count(25)
    expect(page.locator("ol.timeline .kind")).to_have_text(["Record"] * 25)
    first_page = entries(timeline)
    assert all("2025" in line for line in first_page)

    pages = page.get_by_role("navigation", name="Timeline pages")
    pages.get_by_role("link", name="Older ›").click()
    expect(count).to_have_text("Entries 26–50 of 59 (filtered)")
    expect(page.get_by_label("Year")).to_have_value("2025")
    expect(page.get_by_label("Show")).to_have_value("records")
    second_page = entries(timeline)
    assert not set(first_page) & set(second_page)
    pages.get_by_role("link", name="Older ›").click()
    expect(count).to_have_text("Entries 51–59 of 59 (filtered)")
    expect(pages.get_by_role("link", name="Older ›")).to_have_count(0)
    assert_no_serious_axe_violations(page)
    if width == 390:
        assert page.evaluate("document.documentElement.scrollWidth") <= width

    pages.get_by_role("link", name="‹ Newer").click()
    expect(count).to_have_text("Entries 26–50 of 59 (filtered)")
    assert entries(timeline) == second_page
    pages.get_by_role("link", name="‹ Newer").click()
    expect(count).to_have_text("Entries 1–25 of 59 (filtered)")
    assert entries(timeline) == first_page

    # A year with no records says so; clearing the filters brings everything back.
    page.get_by_label("Year").select_option("2026")
    page.get_by_label("Show").select_option(label="Images")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No images in 2026 on this chart.")).to_be_visible()
    page.get_by_role("link", name="Clear filters").click()
    expect(count).to_have_text("Entries 1–25 of 151")
