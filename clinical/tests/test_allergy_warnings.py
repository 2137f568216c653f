"""Which prescribed drugs warn against which allergies: the same substance or drug class (the
table-driven cases are in test_drug_classes.py), or folded names (case, accents and punctuation
ignored) either containing the other; inactive allergies never warn."""

import pytest

from clinical.models import Medication, drug_matches_allergy
from clinical.tests.factories import MedicalRecordFactory, MedicationFactory
from patients.tests.factories import AllergyFactory

MATCHES = [
    ("Penicillin", "Penicillin"),
    ("penicillin", "PENICILLIN"),
    ("Penicillin V", "Penicillin"),
    ("Ibuprofen 400", "ibuprofen"),
    ("Ibuprofen", "Ibuprofen (all NSAID doses)"),
    ("Métamizole", "metamizole"),
    ("SULFAMÉTHOXAZOLE", "sulfaméthoxazole"),
    ("Co-trimoxazole", "co trimoxazole"),
    ("  Aspirin  ", "aspirin"),
    # Same class: the bug of issue #13, where names alone let these through.
    ("Amoxicillin", "Penicillin"),
    ("Penicillin", "Amoxicillin"),
]
NO_MATCHES = [
    ("Azithromycin", "Penicillin"),
    ("Paracetamol", "Ibuprofen"),
    ("Codeine", "Latex"),
    ("", "Penicillin"),
    ("Penicillin", ""),
    ("", ""),
    ("---", "Penicillin"),
    ("Penicillin", " / "),
]


@pytest.mark.parametrize(("drug", "substance"), MATCHES)
def test_a_drug_matching_an_allergy_warns(drug, substance):
    assert drug_matches_allergy(drug, substance)


@pytest.mark.parametrize(("drug", "substance"), NO_MATCHES)
def test_a_different_drug_or_an_empty_name_does_not_warn(drug, substance):
    assert not drug_matches_allergy(drug, substance)


@pytest.mark.django_db
class TestRecordConflicts:
    def test_a_prescribed_drug_matching_an_active_allergy_is_a_conflict(self):
        record = MedicalRecordFactory()
        penicillin = AllergyFactory(patient=record.patient, substance="Penicillin")
        MedicationFactory(record=record, drug="Penicillin V")
        MedicationFactory(record=record, drug="Paracetamol")

        assert record.allergy_conflicts() == [("Penicillin V", penicillin)]

    def test_inactive_allergies_are_ignored(self):
        record = MedicalRecordFactory()
        AllergyFactory(patient=record.patient, substance="Penicillin", is_active=False)
        MedicationFactory(record=record, drug="Penicillin V")

        assert record.allergy_conflicts() == []

    def test_another_patients_allergies_are_ignored(self):
        record = MedicalRecordFactory()
        AllergyFactory(substance="Penicillin")
        MedicationFactory(record=record, drug="Penicillin V")

        assert record.allergy_conflicts() == []

    def test_amoxicillin_warns_against_a_penicillin_allergy_and_says_why(self):
        record = MedicalRecordFactory()
        penicillin = AllergyFactory(patient=record.patient, substance="Penicillin V")
        MedicationFactory(record=record, drug="Amoxicillin 500 mg capsules")

        [conflict] = record.allergy_conflicts()
        assert conflict == ("Amoxicillin 500 mg capsules", penicillin)
        assert conflict.reason == "Amoxicillin 500 mg capsules is a penicillin"

    def test_every_drug_and_allergy_pair_is_listed(self):
        record = MedicalRecordFactory()
        penicillin = AllergyFactory(patient=record.patient, substance="Penicillin")
        ibuprofen = AllergyFactory(patient=record.patient, substance="ibuprofène")
        MedicationFactory(record=record, drug="Penicillin V")
        MedicationFactory(record=record, drug="IBUPROFENE 400 mg")
        MedicationFactory(record=record, drug="Benzylpenicillin")

        assert record.allergy_conflicts() == [
            ("Penicillin V", penicillin),
            ("IBUPROFENE 400 mg", ibuprofen),
            ("Benzylpenicillin", penicillin),
        ]

    def test_a_record_without_medications_has_no_conflicts(self):
        record = MedicalRecordFactory()
        AllergyFactory(patient=record.patient, substance="Penicillin")

        assert record.allergy_conflicts() == []

    def test_medications_not_yet_saved_can_be_checked(self):
        """The edit page warns about what is typed before it is saved."""
        record = MedicalRecordFactory()
        penicillin = AllergyFactory(patient=record.patient, substance="Penicillin")
        MedicationFactory(record=record, drug="Penicillin V")
        typed = [Medication(drug="Paracetamol"), Medication(drug="penicillin G")]

        assert record.allergy_conflicts(typed) == [("penicillin G", penicillin)]
        assert record.allergy_conflicts([]) == []
