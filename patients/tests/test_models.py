from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patients.models import Condition, Patient, luhn_digit
from patients.tests.factories import ConditionFactory, PatientFactory
from staff.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def luhn_valid(number: str) -> bool:
    """An independent Luhn check over the whole number, check digit included."""
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def valid_patient(**fields):
    values = {"first_name": "Ada", "last_name": "Lovelace", "date_of_birth": date(1984, 3, 12)}
    return Patient(**{**values, **fields})


# --- MRN --------------------------------------------------------------------------------------


def test_luhn_digit_matches_the_textbook_example():
    assert luhn_digit("7992739871") == "3"
    assert luhn_valid("79927398713")


def test_a_new_patient_gets_a_seven_digit_mrn_with_a_valid_check_digit():
    patient = PatientFactory()

    assert len(patient.mrn) == 7
    assert patient.mrn.isdigit()
    assert luhn_valid(patient.mrn)
    assert patient.mrn[-1] == luhn_digit(patient.mrn[:-1])
    patient.refresh_from_db()
    assert luhn_valid(patient.mrn)


def test_a_single_mistyped_digit_of_an_mrn_fails_the_check():
    mrn = PatientFactory().mrn
    for position in range(len(mrn)):
        wrong = str((int(mrn[position]) + 1) % 10)
        assert not luhn_valid(mrn[:position] + wrong + mrn[position + 1 :])


def test_mrns_are_unique_and_stable():
    patients = PatientFactory.create_batch(12)
    assert len({p.mrn for p in patients}) == 12

    first = patients[0]
    mrn = first.mrn
    first.first_name = "Changed"
    first.save()
    first.refresh_from_db()
    assert first.mrn == mrn


def test_the_database_refuses_a_second_patient_with_the_same_mrn():
    first, second = PatientFactory.create_batch(2)
    with pytest.raises(IntegrityError), transaction.atomic():
        Patient.objects.filter(pk=second.pk).update(mrn=first.mrn)


def test_the_mrn_is_searchable_text_from_the_first_save():
    patient = PatientFactory(first_name="Zoë", last_name="O'Brien-Núñez", phone="020 7946 0018")
    patient.refresh_from_db()
    assert patient.search_text == f"zoe o brien nunez obrien zoeobriennunez {patient.mrn} 02079460018"
    assert patient.name_key == "zoe o brien nunez"
    assert patient.phone_digits == "02079460018"


def test_a_name_typed_without_its_apostrophe_or_hyphen_is_found():
    patient = PatientFactory(first_name="Siobhán", last_name="O'Brien-Núñez")
    for typed in ["obrien", "O'Brien", "brien-nunez", "obrien nunez"]:
        assert list(Patient.objects.search(typed)) == [patient], typed


# --- date of birth ----------------------------------------------------------------------------


def test_a_date_of_birth_in_the_future_is_refused():
    tomorrow = timezone.localdate() + timedelta(days=1)
    with pytest.raises(ValidationError) as caught:
        valid_patient(date_of_birth=tomorrow).full_clean()
    assert "date_of_birth" in caught.value.message_dict


def test_a_baby_born_today_is_accepted():
    valid_patient(date_of_birth=timezone.localdate()).full_clean()


def test_a_date_of_birth_before_1900_is_refused():
    with pytest.raises(ValidationError) as caught:
        valid_patient(date_of_birth=date(1899, 12, 31)).full_clean()
    assert "date_of_birth" in caught.value.message_dict


def test_age_counts_whole_years_to_the_birthday():
    patient = valid_patient(date_of_birth=date(1984, 3, 12))
    assert patient.age_on(date(2024, 3, 11)) == 39
    assert patient.age_on(date(2024, 3, 12)) == 40


# --- ICD-10 on conditions ---------------------------------------------------------------------


@pytest.mark.parametrize("code", ["J45", "E11.9", "I10", "C4A", "S72.001A", "M54.5", "U07.1", ""])
def test_well_formed_icd10_codes_are_accepted(code):
    condition = Condition(patient=PatientFactory(), name="Something", icd10_code=code)
    condition.full_clean()


@pytest.mark.parametrize("code", ["J4", "123", "J45.", "E1.9", "E11.99999", "Asthma", "J45 9", "JJ45"])
def test_malformed_icd10_codes_are_refused(code):
    condition = Condition(patient=PatientFactory(), name="Something", icd10_code=code)
    with pytest.raises(ValidationError) as caught:
        condition.full_clean()
    assert "icd10_code" in caught.value.message_dict


def test_an_icd10_code_typed_in_lower_case_is_stored_in_capitals():
    condition = Condition(patient=PatientFactory(), name="Type 2 diabetes", icd10_code=" e11.9 ")
    condition.full_clean()
    assert condition.icd10_code == "E11.9"


def test_a_condition_cannot_start_in_the_future():
    condition = Condition(
        patient=PatientFactory(), name="Asthma", icd10_code="J45", onset_date=timezone.localdate() + timedelta(days=1)
    )
    with pytest.raises(ValidationError) as caught:
        condition.full_clean()
    assert "onset_date" in caught.value.message_dict


def test_a_condition_cannot_resolve_before_its_onset():
    condition = ConditionFactory.build(
        patient=PatientFactory(),
        status=Condition.Status.RESOLVED,
        onset_date=date(2020, 5, 1),
        resolved_date=date(2020, 4, 1),
    )
    with pytest.raises(ValidationError) as caught:
        condition.full_clean()
    assert "resolved_date" in caught.value.message_dict


def test_an_active_condition_has_no_resolved_date():
    condition = ConditionFactory.build(patient=PatientFactory(), resolved_date=date(2020, 4, 1))
    condition.full_clean()
    assert condition.resolved_date is None


# --- archive and restore ----------------------------------------------------------------------


def test_archiving_keeps_the_record_and_says_who_and_when():
    clerk = UserFactory()
    patient = PatientFactory()

    patient.archive(by=clerk)

    patient.refresh_from_db()
    assert patient.is_archived
    assert patient.archived_by == clerk
    assert patient.archived_at is not None
    assert patient not in Patient.objects.current()
    assert Patient.objects.filter(pk=patient.pk).exists()


def test_restoring_makes_the_record_current_again():
    patient = PatientFactory()
    patient.archive(by=UserFactory())
    mrn = patient.mrn

    patient.restore()

    patient.refresh_from_db()
    assert not patient.is_archived
    assert patient.archived_by is None
    assert patient.archived_at is None
    assert patient.mrn == mrn
    assert patient in Patient.objects.current()


# --- duplicates -------------------------------------------------------------------------------


def test_likely_duplicates_by_name_and_birth_date_ignore_case_and_accents():
    zoe = PatientFactory(first_name="Zoë", last_name="Adeyemi", date_of_birth=date(1984, 3, 12), phone="")
    PatientFactory(first_name="Zoë", last_name="Adeyemi", date_of_birth=date(1985, 3, 12), phone="")

    found = Patient.objects.likely_duplicates(
        first_name="ZOE", last_name="adeyemi", date_of_birth=date(1984, 3, 12), phone=""
    )

    assert list(found) == [zoe]


@pytest.mark.parametrize(
    ("first", "last"),
    [
        ("Siobhan", "OBrien"),  # the apostrophe left out
        ("siobhán", "o’brien"),  # a phone's curly apostrophe, no capitals
        ("Siobhan", "O Brien"),
        ("O'Brien", "Siobhán"),  # first and last swapped
        ("Sio-bhan", "O'Brien"),
    ],
)
def test_likely_duplicates_ignore_spaces_hyphens_apostrophes_and_the_order_of_the_names(first, last):
    born = date(1979, 2, 28)
    siobhan = PatientFactory(first_name="Siobhán", last_name="O'Brien", date_of_birth=born, phone="")
    PatientFactory(first_name="Siobhán", last_name="O'Brien", date_of_birth=date(1979, 3, 1), phone="")
    PatientFactory(first_name="Siobhán", last_name="O'Brine", date_of_birth=born, phone="")

    found = Patient.objects.likely_duplicates(first_name=first, last_name=last, date_of_birth=born, phone="")

    assert list(found) == [siobhan]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    given_name=st.text(alphabet="abcdeghilmnorstuyzłőșžñøáéíóúüжкна", min_size=1, max_size=8),
    family=st.lists(
        st.text(alphabet="abcdeghilmnorstuyzłőșžñøáéíóúüжкна", min_size=1, max_size=6), min_size=1, max_size=3
    ),
    joins=st.lists(st.sampled_from([" ", "-", "'", "’", ""]), min_size=2, max_size=2),
    swapped=st.booleans(),
    upper=st.booleans(),
)
def test_likely_duplicates_find_the_same_name_written_another_way(given_name, family, joins, swapped, upper):
    born = date(2000, 2, 29)
    registered = PatientFactory(
        first_name=given_name.capitalize(), last_name=joins[0].join(family).title(), date_of_birth=born, phone=""
    )
    first, last = given_name, joins[1].join(family)
    if swapped:
        first, last = last, first
    if upper:
        first, last = first.upper(), last.upper()

    found = Patient.objects.likely_duplicates(first_name=first, last_name=last, date_of_birth=born, phone="")

    assert registered in found
    assert registered not in Patient.objects.likely_duplicates(
        first_name=first, last_name=last, date_of_birth=date(2000, 3, 1), phone=""
    )


def test_likely_duplicates_by_phone_ignore_its_formatting():
    same_phone = PatientFactory(phone="020 7946 0018")
    PatientFactory(phone="020 7946 0019")

    found = Patient.objects.likely_duplicates(
        first_name="Someone", last_name="Else", date_of_birth=date(2001, 1, 1), phone="(020) 7946-0018"
    )

    assert list(found) == [same_phone]
