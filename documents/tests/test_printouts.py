"""The printed letters (prescription, visit summary, sick note, referral): what their PDF says, read back
with pypdf; any name prints; the reference follows the content."""

import time
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinical.tests.factories import AmendmentFactory
from documents.pdf import Letter, printable, render
from documents.printouts import PRESCRIPTION, REFERRAL, SICK_NOTE, VISIT_SUMMARY, issue
from documents.tests.printing import DRUG, LICENCE, STRENGTH, flat, pdf_text, signed_record
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

SICK = {
    "outcome": "may_be_fit",
    "start": date(2026, 12, 7),
    "end": date(2026, 12, 20),
    "adjustments": ["altered hours", "amended duties"],
    "condition": "Chest infection",
    "comments": "Avoid heavy lifting",
}
REFER = {
    "recipient": "Dr Lena Ortiz, Riverside Chest Clinic",
    "specialty": "Respiratory medicine",
    "urgency": "soon",
    "urgency_label": "Soon",
    "reason": "Persistent shadow on the chest X-ray after treatment.",
}


def everything_a_letter_must_say(text, record, printout, settings):
    assert settings.CLINIC_NAME in text
    assert settings.CLINIC_LETTERHEAD_ADDRESS in text
    assert record.patient.full_name in text
    assert record.patient.mrn in text
    assert f"{record.patient.date_of_birth:%d %B %Y}" in text
    assert "Dr Hana Okafor" in text
    assert LICENCE in text
    assert printout.reference in text


def test_a_prescription_names_the_patient_the_drug_the_doctor_the_licence_and_its_reference(settings):
    record = signed_record()
    printout = issue(PRESCRIPTION, record)
    text = pdf_text(printout.pdf())
    everything_a_letter_must_say(text, record, printout, settings)
    assert DRUG in text and STRENGTH in text and "twice a day" in text and "Take with food" in text
    assert "Penicillin" in text  # the allergies stand on a prescription
    assert printout.reference.startswith(f"RX-{record.pk:06d}-")


def test_a_visit_summary_says_why_what_the_medicines_the_plan_and_next_steps(settings):
    record = signed_record()
    AmendmentFactory(record=record, section="plan", text="Chest X-ray in six weeks")
    printout = issue(VISIT_SUMMARY, record)
    text = flat(pdf_text(printout.pdf()))
    everything_a_letter_must_say(text, record, printout, settings)
    for said in ("Cough for two weeks", "Community-acquired pneumonia", DRUG, "Take with food", "review in one week"):
        assert said in text
    assert "Chest X-ray in six weeks" in text  # an amendment to the plan is part of it
    assert "Next steps" in text


def test_a_sick_note_gives_the_advice_the_dates_and_the_condition(settings):
    record = signed_record()
    printout = issue(SICK_NOTE, record, details=SICK)
    text = flat(pdf_text(printout.pdf()))
    everything_a_letter_must_say(text, record, printout, settings)
    assert "may be fit for work" in text
    assert "07 December 2026" in text and "20 December 2026" in text
    assert "altered hours, amended duties" in text and "Chest infection" in text and "Avoid heavy lifting" in text


def test_a_sick_note_not_fit_for_work_says_so(settings):
    printout = issue(SICK_NOTE, signed_record(), details={**SICK, "outcome": "not_fit", "adjustments": []})
    assert "You are not fit for work." in flat(pdf_text(printout.pdf()))


def test_a_referral_carries_the_question_findings_diagnosis_medications_and_allergies(settings):
    record = signed_record()
    printout = issue(REFERRAL, record, details=REFER)
    text = flat(pdf_text(printout.pdf()))
    everything_a_letter_must_say(text, record, printout, settings)
    for said in (
        "Riverside Chest Clinic",
        "Respiratory medicine",
        "Soon",
        "Persistent shadow",
        "Crackles at the left base",
        "Community-acquired pneumonia",
        DRUG,
        "Penicillin",
    ):
        assert said in text, said


def test_a_draft_is_never_printed():
    record = signed_record()
    record.status = record.Status.DRAFT
    with pytest.raises(ValueError):
        issue(PRESCRIPTION, record)


def test_the_same_letter_on_the_same_day_is_the_same_file_and_reference_and_another_differs():
    record = signed_record()
    first, again = issue(SICK_NOTE, record, details=SICK), issue(SICK_NOTE, record, details=SICK)
    assert first.reference == again.reference and first.pdf() == again.pdf()
    longer = issue(SICK_NOTE, record, details={**SICK, "end": SICK["end"] + timedelta(days=1)})
    assert longer.reference != first.reference
    tomorrow = issue(SICK_NOTE, record, details=SICK, issued_on=first.letter.issued_on + timedelta(days=1))
    assert tomorrow.reference != first.reference


def test_the_letterhead_comes_from_the_settings(settings):
    settings.CLINIC_NAME = "Harbour Family Practice"
    settings.CLINIC_LETTERHEAD_ADDRESS = "3 Quay Road, Portwick"
    settings.CLINIC_LETTERHEAD_PHONE = "01632 960 123"
    text = pdf_text(issue(PRESCRIPTION, signed_record()).pdf())
    assert "Harbour Family Practice" in text and "3 Quay Road, Portwick" in text and "01632 960 123" in text


def test_a_logo_is_drawn_and_a_missing_logo_file_leaves_it_out(settings, tmp_path):
    from PIL import Image

    logo = tmp_path / "logo.png"
    Image.new("RGB", (120, 60), (30, 90, 160)).save(logo)
    record = signed_record()
    settings.CLINIC_LETTERHEAD_LOGO = str(logo)
    with_logo = issue(PRESCRIPTION, record).pdf()
    assert b"/Subtype /Image" in with_logo
    settings.CLINIC_LETTERHEAD_LOGO = str(tmp_path / "missing.png")
    assert DRUG in pdf_text(issue(PRESCRIPTION, record).pdf())


@pytest.mark.parametrize(
    "first, last",
    [
        ("Zoë", "Łukasiewicz"),
        ("芳", "王"),
        ("Ελένη", "Παπαδοπούλου"),
        ("Юлия", "Соколова"),
        ("민준", "김"),
        ("さくら", "佐藤"),
    ],
)
def test_names_outside_latin_1_print_as_written(first, last):
    record = signed_record(PatientFactory(first_name=first, last_name=last), drug="Amoxicillin 王")
    text = pdf_text(issue(PRESCRIPTION, record).pdf())
    assert first in text and last in text and "Amoxicillin 王" in text


def test_characters_no_font_has_are_transliterated_not_dropped_silently():
    assert printable("Noa עברית 😀") == "Noa `bryt ?"
    assert printable("a\x00b\x07c\td") == "abc d"


NAMES = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)),  # lone surrogates are not text a browser sends
    max_size=400,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patient=NAMES, drug=NAMES, words=NAMES)
def test_any_names_and_words_give_a_valid_pdf(patient, drug, words):
    letter = Letter(
        title="Prescription",
        reference="RX-000001-ABCDEF",
        issued_on=date(2026, 12, 6),
        patient=[("Patient", patient), ("Date of birth", "1 May 1980"), ("MRN", "P000001")],
    )
    letter.pairs([("Allergies", words)])
    letter.table(
        ("Medicine", "Dose", "Route", "How often", "For"), [(drug, words, "oral", drug, words)], (62, 26, 22, 37, 27)
    )
    letter.text(words)
    letter.signatory = [patient, "Licence number X"]
    text = pdf_text(render(letter))
    assert "RX-000001-ABCDEF" in text


def test_generation_time_of_each_kind(capsys):
    """Measured, not asserted tightly: each kind at the demo's size (a record with one or two medicines)."""
    record = signed_record()
    timings = {}
    for kind, details in ((PRESCRIPTION, None), (VISIT_SUMMARY, None), (SICK_NOTE, SICK), (REFERRAL, REFER)):
        issue(kind, record, details=details).pdf()  # warm: fonts read once per process
        started = time.perf_counter()
        for _ in range(5):
            issue(kind, record, details=details).pdf()
        timings[kind.slug] = (time.perf_counter() - started) / 5 * 1000
    with capsys.disabled():
        print("\nPDF generation (ms):", {slug: round(ms, 1) for slug, ms in timings.items()})
    assert max(timings.values()) < 2000
