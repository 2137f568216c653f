"""In a real browser, at 1280 px and at 390 px: a doctor adds medication rows without a reload, removes
one (and a saved one, with Undo), picks a drug from the formulary's suggestions, is warned about
amoxicillin against a penicillin allergy before saving, picks an ICD-10 code by searching
"pharyngitis", and saves exactly those medications. A nurse who types 379 for a temperature is
asked "Did you mean 37.9 °C?"."""

import re
from datetime import datetime, time

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinic.tests.browser import assert_no_serious_axe_violations, sign_in, today_with_time_to_spare, wall_times
from clinical import formulary, icd10
from clinical.models import FormularyDrug, MedicalRecord
from clinical.tests.factories import MedicalRecordFactory, MedicationFactory
from patients.tests.factories import AllergyFactory, PatientFactory
from scheduling.models import Appointment
from scheduling.tests.factories import AppointmentFactory
from staff.roles import NURSE
from staff.tests.factories import DoctorFactory, UserFactory

PASSWORD = "meds-journey-Pw-7"
WARNING = "Amoxicillin matches the patient's allergy to Penicillin V (severe: rash): Amoxicillin is a penicillin."


def _formulary():
    # The ICD-10 list is read once per process (about a second): before the clock of any expect().
    icd10.code_list()
    # A transactional test starts from an empty table (the seeding migration's rows are flushed).
    formulary.add_missing_from_drug_classes()
    paracetamol = FormularyDrug(name="Paracetamol", strengths="500 mg", forms="tablet")
    formulary.save_drug(drug=paracetamol, by=None)


def _drug_rows(page):
    return page.locator("table.meds tbody.med:not(.med-removed)")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)  # the live server's thread must see the factories' rows
@pytest.mark.parametrize("width", [1280, 390])
def test_a_doctor_prescribes_with_suggestions_and_an_early_allergy_warning(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.set_default_timeout(10_000)
    _formulary()
    doctor = DoctorFactory(user__username="mensah", user__password=PASSWORD)
    patient = PatientFactory(first_name="Imogen", last_name="Hart")
    AllergyFactory(patient=patient, substance="Penicillin V", severity="severe", reaction="rash")
    record = MedicalRecordFactory(author=doctor.user, patient=patient, diagnosis="", icd10_codes="")
    MedicationFactory(record=record, drug="Ibuprofen", strength="400 mg")

    sign_in(page, "mensah", PASSWORD)
    page.goto(f"/clinical/records/{record.pk}/edit/")
    assert_no_serious_axe_violations(page)
    page.evaluate("window.stillTheSamePage = true")  # gone if anything reloads the page

    # The saved ibuprofen row is removed, brought back with Undo, and removed again.
    expect(_drug_rows(page)).to_have_count(3)  # the saved row and two empty ones
    page.get_by_role("button", name="Remove row 1").click()
    expect(page.get_by_text("Ibuprofen will be removed when you save.")).to_be_visible()
    expect(page.get_by_role("combobox", name="Drug (row 1)")).to_have_value("")  # the empty rows moved up
    page.get_by_role("button", name="Undo removing Ibuprofen").click()
    expect(page.get_by_role("combobox", name="Drug (row 1)")).to_have_value("Ibuprofen")
    page.get_by_role("button", name="Remove row 1").click()
    expect(_drug_rows(page)).to_have_count(2)

    # Three rows more, then one of the new ones dropped: the rest are renumbered.
    add = page.get_by_role("button", name="Add medication")
    for _ in range(3):
        add.click()
    expect(_drug_rows(page)).to_have_count(5)
    expect(page.get_by_role("combobox", name="Drug (row 5)")).to_be_focused()
    page.get_by_role("button", name="Remove row 4").click()
    expect(_drug_rows(page)).to_have_count(4)
    expect(page.get_by_role("combobox", name="Drug (row 5)")).to_have_count(0)
    assert page.locator("input[name=meds-TOTAL_FORMS]").input_value() == "5"  # with the removed saved row

    # A drug picked from the formulary's suggestions.
    drug = page.get_by_role("combobox", name="Drug (row 1)")
    drug.press_sequentially("parac", delay=30)
    suggestion = page.get_by_role("option", name="Paracetamol (500 mg · tablet)")
    expect(suggestion).to_be_visible()
    expect(drug).to_have_attribute("aria-expanded", "true")
    suggestion.click()
    expect(drug).to_have_value("Paracetamol")
    page.get_by_role("textbox", name="Strength (row 1)").fill("500 mg")

    # Amoxicillin typed for a patient allergic to penicillin: warned as soon as it is entered.
    amoxicillin = page.get_by_role("combobox", name="Drug (row 2)")
    amoxicillin.fill("Amoxicillin")
    page.get_by_role("textbox", name="Strength (row 2)").focus()
    warning = page.locator(".row-allergy-warning")
    expect(warning).to_have_count(1)
    expect(warning).to_contain_text("Allergy warning (row 2).")
    expect(warning).to_contain_text(WARNING)
    page.get_by_role("textbox", name="Strength (row 2)").fill("500 mg")

    # An ICD-10 code found by a word, picked with the keyboard.
    icd = page.get_by_role("combobox", name="ICD-10 codes")
    icd.press_sequentially("pharyngitis", delay=20)
    expect(page.get_by_role("option", name="J02.9 — Acute pharyngitis, unspecified")).to_be_visible()
    page.get_by_role("option", name="J02.9 — Acute pharyngitis, unspecified").click()
    expect(icd).to_have_value("J02.9, ")

    if width == 390:
        # Usable at phone width: no sideways scrolling, and the drug field is wide enough to read.
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert amoxicillin.bounding_box()["width"] >= 250
    else:
        # The drug column takes the room it needs.
        assert amoxicillin.bounding_box()["width"] >= 220
    assert page.evaluate("window.stillTheSamePage") is True

    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status")).to_contain_text("Draft saved.")
    record = MedicalRecord.objects.get(pk=record.pk)
    assert sorted((m.drug, m.strength) for m in record.medications.all()) == [
        ("Amoxicillin", "500 mg"),
        ("Paracetamol", "500 mg"),
    ]
    assert record.icd10_codes == "J02.9"
    # The server's own warning is still there after saving.
    expect(page.locator(".row-allergy-warning")).to_contain_text(WARNING)
    assert_no_serious_axe_violations(page)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1280, 390])
def test_a_nurse_who_types_379_is_asked_whether_she_meant_37_9(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.set_default_timeout(10_000)
    UserFactory(username="nkechi", password=PASSWORD, roles=[NURSE])
    doctor = DoctorFactory()
    day = today_with_time_to_spare()
    (start,) = wall_times(day, (time(0, 10),), (time(12, 0),))
    visit = AppointmentFactory(
        doctor=doctor,
        start=timezone.make_aware(datetime.combine(day, start)),
        status=Appointment.Status.CHECKED_IN,
        checked_in_at=timezone.now(),
    )

    sign_in(page, "nkechi", PASSWORD)
    page.goto(f"/clinical/visits/{visit.pk}/vitals/")
    page.get_by_label("Pulse (/min)").fill("72")
    page.get_by_label("Temperature (°C)").fill("379")
    page.get_by_role("button", name="Save vital signs").click()

    field = page.locator(".field").filter(has=page.get_by_label("Temperature (°C)"))
    expect(field.locator(".error")).to_have_text("Did you mean 37.9 °C?")
    expect(page.get_by_text("Ensure that there are no more than")).to_have_count(0)
    assert not MedicalRecord.objects.exists()
    assert_no_serious_axe_violations(page)

    page.get_by_label("Temperature (°C)").fill("37.9")
    page.get_by_role("button", name="Save vital signs").click()
    expect(page.get_by_role("status")).to_contain_text("Vital signs recorded.")
    assert str(MedicalRecord.objects.get().temperature) == "37.9"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_kept_draft_with_rows_added_in_the_browser_gets_its_rows_back(page):
    """keep-draft.js announces a restore ("keep-draft:restoring", with the kept fields) before it fills
    the fields in: the rows added before the sign-out are made again, a removed saved row is removed."""
    page.set_default_timeout(10_000)
    doctor = DoctorFactory(user__username="mensah", user__password=PASSWORD)
    record = MedicalRecordFactory(author=doctor.user)
    MedicationFactory(record=record, drug="Ibuprofen")
    sign_in(page, "mensah", PASSWORD)
    page.goto(f"/clinical/records/{record.pk}/edit/")
    expect(_drug_rows(page)).to_have_count(3)

    kept = [["meds-TOTAL_FORMS", "5"], ["meds-0-drug", "Ibuprofen"], ["meds-0-DELETE", "on"], ["meds-4-drug", "X"]]
    page.evaluate(
        """kept => document.querySelector("form[data-keep-draft]").dispatchEvent(
            new CustomEvent("keep-draft:restoring", {detail: {fields: kept}}))""",
        kept,
    )
    expect(_drug_rows(page)).to_have_count(4)  # five rows, the saved one removed
    assert page.locator("input[name=meds-TOTAL_FORMS]").input_value() == "5"
    expect(page.locator("input[name=meds-4-drug]")).to_have_count(1)
    expect(page.get_by_text("Ibuprofen will be removed when you save.")).to_be_visible()
    assert page.locator("input[name=meds-0-DELETE]").is_checked()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_open_suggestions_and_a_live_warning_are_axe_clean(page, live_server):
    """The shared axe check loads the page afresh; here axe runs on the page as the script left it:
    a row added, a live allergy warning, the suggestions open."""
    from axe_playwright_python.base import AXE_SCRIPT

    _formulary()
    doctor = DoctorFactory(user__username="mensah", user__password=PASSWORD)
    patient = PatientFactory()
    AllergyFactory(patient=patient, substance="Penicillin V", severity="severe", reaction="rash")
    record = MedicalRecordFactory(author=doctor.user, patient=patient)
    context = page.context.browser.new_context(
        bypass_csp=True, base_url=live_server.url, viewport={"width": 1280, "height": 900}
    )
    try:
        checked = context.new_page()
        checked.set_default_timeout(10_000)
        sign_in(checked, "mensah", PASSWORD)
        checked.goto(f"/clinical/records/{record.pk}/edit/")
        checked.get_by_role("button", name="Add medication").click()
        checked.get_by_role("combobox", name="Drug (row 3)").fill("Amoxicillin")
        checked.get_by_role("combobox", name="Drug (row 1)").focus()
        expect(checked.locator(".row-allergy-warning")).to_contain_text("Allergy warning (row 3).")
        checked.get_by_role("combobox", name="Drug (row 1)").press_sequentially("am", delay=30)
        expect(checked.get_by_role("option", name="Amoxicillin")).to_be_visible()
        checked.keyboard.press("ArrowDown")
        expect(checked.get_by_role("combobox", name="Drug (row 1)")).to_have_attribute(
            "aria-activedescendant", re.compile(".+")
        )
        checked.evaluate(AXE_SCRIPT)
        results = checked.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    finally:
        context.close()
    serious = [(v["id"], v["help"]) for v in results["violations"] if v["impact"] in ("serious", "critical")]
    assert serious == []
