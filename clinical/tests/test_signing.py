"""Signing a record (only its author, only with a diagnosis, allergy warnings acknowledged), editing
a draft (only its author, through services.save_draft) and amending a signed record."""

import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from clinical import services
from clinical.forms import MedicationFormSet
from clinical.models import Amendment, MedicalRecord, SignedRecordError
from clinical.tests.factories import MedicalRecordFactory, MedicationFactory, SignedRecordFactory
from patients.models import Allergy
from patients.tests.factories import AllergyFactory
from staff.roles import NURSE
from staff.tests.factories import DoctorFactory, UserFactory

pytestmark = pytest.mark.django_db


def stored(record):
    return MedicalRecord.objects.get(pk=record.pk)


# --- signing ------------------------------------------------------------------------------------


def test_signing_makes_the_record_signed_by_its_author_now():
    record = MedicalRecordFactory()
    before = timezone.now()

    signed = services.sign_record(record=record, by=record.author)

    assert signed.pk == record.pk
    saved = stored(record)
    assert saved.status == MedicalRecord.Status.SIGNED
    assert saved.is_signed
    assert saved.signed_by == record.author
    assert before <= saved.signed_at <= timezone.now()
    assert saved.allergy_conflicts_acknowledged == ""


def test_signing_keeps_what_was_charted():
    record = MedicalRecordFactory(diagnosis="Community-acquired pneumonia", icd10_codes="J18.9")
    MedicationFactory(record=record, drug="Amoxicillin")

    services.sign_record(record=record, by=record.author)

    saved = stored(record)
    assert saved.diagnosis == "Community-acquired pneumonia"
    assert saved.icd10_codes == "J18.9"
    assert [m.drug for m in saved.medications.all()] == ["Amoxicillin"]


@pytest.mark.parametrize("diagnosis", ["", "   ", "\n\t "])
def test_a_record_without_a_diagnosis_cannot_be_signed(diagnosis):
    record = MedicalRecordFactory(diagnosis=diagnosis)

    with pytest.raises(ValidationError) as excinfo:
        services.sign_record(record=record, by=record.author)

    assert excinfo.value.message_dict == {"diagnosis": ["A record cannot be signed without a diagnosis."]}
    saved = stored(record)
    assert saved.status == MedicalRecord.Status.DRAFT
    assert saved.signed_at is None
    assert saved.signed_by is None


def test_only_the_author_can_sign():
    record = MedicalRecordFactory()
    colleague = DoctorFactory().user

    with pytest.raises(PermissionDenied, match="Only the author"):
        services.sign_record(record=record, by=colleague)

    assert stored(record).status == MedicalRecord.Status.DRAFT


def test_a_nurse_cannot_sign_a_doctors_record():
    record = MedicalRecordFactory()
    nurse = UserFactory(roles=[NURSE])

    with pytest.raises(PermissionDenied):
        services.sign_record(record=record, by=nurse)

    assert stored(record).signed_by is None


def test_a_signed_record_cannot_be_signed_again():
    signed_at = timezone.now() - timedelta(days=2)
    record = SignedRecordFactory(signed_at=signed_at)

    with pytest.raises(ValidationError, match="already signed"):
        services.sign_record(record=record, by=record.author)

    assert stored(record).signed_at == signed_at


def test_signing_twice_in_a_row_signs_once():
    """A double click on "Sign": the second call refuses and the first signature stands."""
    record = MedicalRecordFactory()
    first = services.sign_record(record=record, by=record.author)

    # The caller still holds the draft it started with.
    with pytest.raises(ValidationError, match="already signed"):
        services.sign_record(record=record, by=record.author)

    assert stored(record).signed_at == first.signed_at


# --- allergy warnings at signing ----------------------------------------------------------------


def record_prescribing(drug, *, substance="Penicillin", severity=Allergy.Severity.SEVERE, active=True):
    record = MedicalRecordFactory()
    AllergyFactory(patient=record.patient, substance=substance, severity=severity, is_active=active)
    MedicationFactory(record=record, drug=drug)
    return record


def test_an_allergy_conflict_must_be_acknowledged_before_signing():
    record = record_prescribing("Penicillin V")

    with pytest.raises(ValidationError) as excinfo:
        services.sign_record(record=record, by=record.author)

    assert excinfo.value.message_dict == {"acknowledge_allergies": ["Acknowledge the allergy warning before signing."]}
    assert excinfo.value.error_dict["acknowledge_allergies"][0].code == "allergy"
    saved = stored(record)
    assert saved.status == MedicalRecord.Status.DRAFT
    assert saved.allergy_conflicts_acknowledged == ""


def test_an_acknowledged_conflict_is_signed_and_recorded_on_the_record():
    record = record_prescribing("Penicillin V")

    services.sign_record(record=record, by=record.author, acknowledge_allergies=True)

    saved = stored(record)
    assert saved.is_signed
    assert saved.allergy_conflicts_acknowledged == "Penicillin V vs allergy to Penicillin (Severe)"


def test_every_acknowledged_conflict_is_recorded():
    record = record_prescribing("Penicillin V")
    AllergyFactory(patient=record.patient, substance="Ibuprofen", severity=Allergy.Severity.MILD)
    MedicationFactory(record=record, drug="Ibuprofen 400")
    MedicationFactory(record=record, drug="Paracetamol")

    services.sign_record(record=record, by=record.author, acknowledge_allergies=True)

    assert stored(record).allergy_conflicts_acknowledged == (
        "Penicillin V vs allergy to Penicillin (Severe); Ibuprofen 400 vs allergy to Ibuprofen (Mild)"
    )


@pytest.mark.parametrize(
    ("drug", "active"),
    [("Azithromycin", True), ("Paracetamol", True), ("Penicillin V", False)],
    ids=["antibiotic-of-another-class", "unrelated-drug", "inactive-allergy"],
)
def test_no_acknowledgement_is_needed_without_a_conflict(drug, active):
    record = record_prescribing(drug, active=active)

    services.sign_record(record=record, by=record.author)

    saved = stored(record)
    assert saved.is_signed
    assert saved.allergy_conflicts_acknowledged == ""


def test_acknowledging_when_there_is_no_conflict_records_nothing():
    record = record_prescribing("Paracetamol")

    services.sign_record(record=record, by=record.author, acknowledge_allergies=True)

    assert stored(record).allergy_conflicts_acknowledged == ""


def test_the_allergy_check_reads_the_saved_medications_not_the_callers_copy():
    """The service signs what is in the database: a conflict added after the page was shown still warns."""
    record = MedicalRecordFactory()
    AllergyFactory(patient=record.patient, substance="Penicillin")
    shown = MedicalRecord.objects.get(pk=record.pk)
    MedicationFactory(record=record, drug="Phenoxymethylpenicillin")

    with pytest.raises(ValidationError, match="Acknowledge"):
        services.sign_record(record=shown, by=record.author)


# --- drafts: only the author edits them ---------------------------------------------------------


def test_the_author_saves_a_draft():
    record = MedicalRecordFactory()
    record.examination = "Bilateral wheeze"
    record.icd10_codes = " j45.9 ,  "

    services.save_draft(record=record, by=record.author)

    saved = stored(record)
    assert saved.examination == "Bilateral wheeze"
    assert saved.icd10_codes == "J45.9"
    assert saved.status == MedicalRecord.Status.DRAFT


def test_another_doctor_cannot_edit_a_draft():
    record = MedicalRecordFactory(examination="Original findings")
    record.examination = "Overwritten by a colleague"

    with pytest.raises(PermissionDenied, match="Only the author"):
        services.save_draft(record=record, by=DoctorFactory().user)

    assert stored(record).examination == "Original findings"


def test_a_nurse_cannot_edit_a_draft():
    record = MedicalRecordFactory(plan="Original plan")
    record.plan = "Changed"

    with pytest.raises(PermissionDenied):
        services.save_draft(record=record, by=UserFactory(roles=[NURSE]))

    assert stored(record).plan == "Original plan"


def test_save_draft_refuses_a_signed_record():
    record = SignedRecordFactory(plan="Rest")
    record.plan = "Changed"

    with pytest.raises(PermissionDenied):
        services.save_draft(record=record, by=record.author)

    assert stored(record).plan == "Rest"


def test_save_draft_refuses_a_draft_signed_since_it_was_opened():
    """The editor still holds the draft it opened; meanwhile the record was signed in another tab."""
    record = MedicalRecordFactory(plan="Rest")
    opened = MedicalRecord.objects.get(pk=record.pk)
    services.sign_record(record=record, by=record.author)
    opened.plan = "Changed after signing"

    with pytest.raises(SignedRecordError):
        services.save_draft(record=opened, by=record.author)

    assert stored(record).plan == "Rest"


def test_save_draft_validates_the_record():
    record = MedicalRecordFactory(icd10_codes="J03.9")
    record.icd10_codes = "J03.9, not-a-code"

    with pytest.raises(ValidationError) as excinfo:
        services.save_draft(record=record, by=record.author)

    assert "icd10_codes" in excinfo.value.message_dict
    assert stored(record).icd10_codes == "J03.9"


def formset_data(*drugs, prefix="meds"):
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(drugs)),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for i, drug in enumerate(drugs):
        data[f"{prefix}-{i}-drug"] = drug
        data[f"{prefix}-{i}-strength"] = "500 mg"
    return data


def test_save_draft_saves_the_medications_with_the_record():
    record = MedicalRecordFactory()
    record.plan = "Antibiotics for a week"
    medications = MedicationFormSet(formset_data("Amoxicillin", "Paracetamol"), instance=record, prefix="meds")
    assert medications.is_valid(), medications.errors

    services.save_draft(record=record, by=record.author, medications=medications)

    saved = stored(record)
    assert saved.plan == "Antibiotics for a week"
    assert [m.drug for m in saved.medications.all()] == ["Amoxicillin", "Paracetamol"]


def test_an_invalid_draft_saves_none_of_its_medications():
    """Record and medications are one transaction: nothing is half-saved."""
    record = MedicalRecordFactory(plan="Rest")
    record.plan = "Changed"
    record.bp_systolic, record.bp_diastolic = 120, 130
    medications = MedicationFormSet(formset_data("Amoxicillin"), instance=record, prefix="meds")
    assert medications.is_valid(), medications.errors

    with pytest.raises(ValidationError):
        services.save_draft(record=record, by=record.author, medications=medications)

    saved = stored(record)
    assert saved.plan == "Rest"
    assert not saved.medications.exists()


# --- amending a signed record -------------------------------------------------------------------


def amend(record, by=None, **kwargs):
    kwargs.setdefault("section", Amendment.Section.PLAN)
    kwargs.setdefault("text", "Review in one week.")
    kwargs.setdefault("reason", "Omitted at signing")
    return services.amend_record(record=record, by=by or record.author, **kwargs)


def test_a_draft_is_edited_not_amended():
    record = MedicalRecordFactory()

    with pytest.raises(ValidationError, match="A draft is edited, not amended."):
        amend(record)

    assert not Amendment.objects.exists()


def test_an_amendment_carries_its_author_time_section_text_and_reason():
    record = SignedRecordFactory(plan="Rest and fluids")
    colleague = DoctorFactory().user
    before = timezone.now()

    amendment = amend(
        record,
        by=colleague,
        section=Amendment.Section.DIAGNOSIS,
        text="Streptococcal tonsillitis",
        reason="Swab result",
    )

    saved = Amendment.objects.get(pk=amendment.pk)
    assert saved.record == record
    assert saved.author == colleague
    assert before <= saved.created_at <= timezone.now()
    assert (saved.section, saved.text, saved.reason) == ("diagnosis", "Streptococcal tonsillitis", "Swab result")


def test_amending_leaves_the_original_text_as_signed():
    record = SignedRecordFactory(diagnosis="Acute tonsillitis")
    updated_at = stored(record).updated_at

    amend(record, section=Amendment.Section.DIAGNOSIS, text="Streptococcal tonsillitis")

    saved = stored(record)
    assert saved.diagnosis == "Acute tonsillitis"
    assert saved.updated_at == updated_at


def test_amendments_are_listed_in_the_order_they_were_made():
    record = SignedRecordFactory()
    texts = ["First correction", "Second correction", "Third correction"]
    made = [amend(record, text=text) for text in texts]

    assert list(record.amendments.all()) == made
    assert [a.text for a in stored(record).amendments.all()] == texts


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"reason": ""}, "reason"), ({"text": ""}, "text"), ({"section": "vitals"}, "section")],
    ids=["no-reason", "no-text", "unknown-section"],
)
def test_an_incomplete_amendment_is_refused(changes, field):
    record = SignedRecordFactory()

    with pytest.raises(ValidationError) as excinfo:
        amend(record, **changes)

    assert field in excinfo.value.message_dict
    assert not Amendment.objects.exists()


def test_a_double_submit_returns_the_first_amendment():
    record = SignedRecordFactory()
    token = uuid.uuid4()

    first = amend(record, text="Review in one week.", client_token=token)
    second = amend(record, text="Review in one week.", client_token=token)
    # Even if the form was edited before the second submit, the token finds the first one.
    third = amend(record, text="Review in two weeks.", client_token=token)

    assert first.pk == second.pk == third.pk
    assert [a.text for a in record.amendments.all()] == ["Review in one week."]


def test_different_tokens_make_different_amendments():
    record = SignedRecordFactory()

    amend(record, client_token=uuid.uuid4())
    amend(record, client_token=uuid.uuid4())

    assert record.amendments.count() == 2
