"""In a real browser at 1280 px: a doctor prescribes amoxicillin to a patient allergic to penicillin;
the banner shows the allergy before anything is typed, saving the draft shows the warning next to the
amoxicillin row with the reason, and signing asks for the acknowledgement that the record keeps."""

import re

import pytest
from playwright.sync_api import expect

from clinic.tests.browser import assert_no_serious_axe_violations, sign_in
from clinical.models import MedicalRecord
from clinical.tests.factories import MedicalRecordFactory
from patients.tests.factories import AllergyFactory, ConditionFactory, PatientFactory
from staff.tests.factories import DoctorFactory

PASSWORD = "allergy-journey-Pw-7"
DRUG = "Amoxicillin 500 mg capsules"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)  # the live server's thread must see the factories' rows
def test_amoxicillin_against_a_penicillin_allergy_is_warned_at_entry(page):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.set_default_timeout(10_000)
    doctor = DoctorFactory(user__username="mensah", user__password=PASSWORD)
    patient = PatientFactory(first_name="Imogen", last_name="Hart")
    AllergyFactory(patient=patient, substance="Penicillin V", severity="severe", reaction="rash")
    ConditionFactory(patient=patient, name="Asthma", icd10_code="J45", status="active")
    record = MedicalRecordFactory(author=doctor.user, patient=patient, diagnosis="")

    sign_in(page, "mensah", PASSWORD)
    page.goto(f"/clinical/records/{record.pk}/edit/")

    # The banner stands at the top of the form before a drug is typed.
    banner = page.get_by_role("region", name="Allergies and active conditions")
    expect(banner).to_contain_text("Allergies: Penicillin V (severe: rash)")
    expect(banner).to_contain_text("Active conditions: Asthma J45")

    page.get_by_label("Diagnosis", exact=True).fill("Acute otitis media")
    page.get_by_label("Drug (row 1)").fill("Paracetamol")
    page.get_by_label("Drug (row 2)").fill(DRUG)
    page.get_by_role("button", name="Save draft").click()

    # The draft is saved and the warning stands next to the amoxicillin row, saying why.
    expect(page.get_by_role("status")).to_contain_text("Draft saved.")
    row_warning = page.locator(".row-allergy-warning")
    expect(row_warning).to_have_count(1)
    expect(row_warning).to_contain_text("Allergy warning (row 2).")
    expect(row_warning).to_contain_text(
        f"{DRUG} matches the patient's allergy to Penicillin V (severe: rash): {DRUG} is a penicillin."
    )
    amoxicillin_row = page.locator("table.meds tbody tr").filter(has=page.locator(f'input[value="{DRUG}"]'))
    expect(amoxicillin_row.locator("xpath=following-sibling::tr[1]")).to_contain_text("Allergy warning (row 2).")
    assert_no_serious_axe_violations(page)

    # Signing asks for the acknowledgement, and the record keeps it.
    page.get_by_role("button", name="Save and review for signing").click()
    expect(page.locator(".allergy-warning")).to_contain_text(f"{DRUG} is a penicillin.")
    page.get_by_role("button", name="Sign record").click()
    expect(page.get_by_text("Acknowledge the allergy warning before signing.")).to_be_visible()
    page.get_by_label("I have seen the allergy warning and prescribe deliberately").check()
    page.get_by_role("button", name="Sign record").click()
    expect(page.get_by_role("status")).to_contain_text("Record signed.")
    expect(page.get_by_text("Allergy warning acknowledged at signing")).to_contain_text(
        f"{DRUG} vs allergy to Penicillin V"
    )
    record.refresh_from_db()
    assert record.status == MedicalRecord.Status.SIGNED
    assert re.search(r"Amoxicillin .* vs allergy to Penicillin V \(Severe\)", record.allergy_conflicts_acknowledged)
