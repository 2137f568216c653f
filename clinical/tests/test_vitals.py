"""Vital signs: plausible human ranges with a clear message, BMI derived, a nurse recording them
into the visit's draft, and one record per visit."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from clinical import services
from clinical.models import VITAL_FIELDS, MedicalRecord
from clinical.tests.factories import MedicalRecordFactory
from scheduling.tests.factories import AppointmentFactory
from staff.roles import NURSE
from staff.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# field, lowest and highest accepted, a value just below and just above, the message for both
VITALS = [
    ("bp_systolic", 50, 260, 49, 261, "Enter a value between 50 and 260 mmHg; check the reading."),
    ("bp_diastolic", 20, 160, 19, 161, "Enter a value between 20 and 160 mmHg; check the reading."),
    ("pulse", 20, 250, 19, 251, "Enter a value between 20 and 250 /min; check the reading."),
    (
        "temperature",
        Decimal("30.0"),
        Decimal("45.0"),
        Decimal("29.9"),
        Decimal("45.1"),
        "Enter a value between 30.0 and 45.0 °C; check the reading.",
    ),
    ("respiratory_rate", 4, 60, 3, 61, "Enter a value between 4 and 60 /min; check the reading."),
    ("spo2", 50, 100, 49, 101, "Enter a value between 50 and 100 %; check the reading."),
    (
        "weight_kg",
        Decimal("0.3"),
        Decimal("400"),
        Decimal("0.2"),
        Decimal("400.1"),
        "Enter a value between 0.3 and 400 kg; check the reading.",
    ),
    (
        "height_cm",
        Decimal("20"),
        Decimal("250"),
        Decimal("19.9"),
        Decimal("250.1"),
        "Enter a value between 20 and 250 cm; check the reading.",
    ),
]
IMPLAUSIBLE = [
    pytest.param(field, value, message, id=f"{field}-{side}")
    for field, _, _, below, above, message in VITALS
    for side, value in (("below", below), ("above", above))
]
PLAUSIBLE = [
    pytest.param(field, value, id=f"{field}-{edge}")
    for field, low, high, *_ in VITALS
    for edge, value in (("lowest", low), ("highest", high))
]


@pytest.fixture
def nurse():
    return UserFactory(roles=[NURSE])


@pytest.fixture
def appointment():
    return AppointmentFactory()


def test_every_vital_sign_is_covered():
    assert sorted(field for field, *_ in VITALS) == sorted(VITAL_FIELDS)


# --- plausible ranges ---------------------------------------------------------------------------


@pytest.mark.parametrize(("field", "value", "message"), IMPLAUSIBLE)
def test_an_implausible_reading_is_refused_with_a_clear_message(field, value, message):
    record = MedicalRecordFactory(**{field: value})

    with pytest.raises(ValidationError) as excinfo:
        record.full_clean()

    assert excinfo.value.message_dict == {field: [message]}


@pytest.mark.parametrize(("field", "value"), PLAUSIBLE)
def test_the_edges_of_each_range_are_accepted(field, value):
    MedicalRecordFactory(**{field: value}).full_clean()


@pytest.mark.parametrize("diastolic", [120, 121, 180])
def test_the_diastolic_pressure_must_be_below_the_systolic(diastolic):
    record = MedicalRecordFactory(bp_systolic=120, bp_diastolic=diastolic)

    with pytest.raises(ValidationError) as excinfo:
        record.full_clean()

    assert excinfo.value.message_dict["bp_diastolic"][-1] == "The diastolic pressure must be below the systolic."


def test_a_usual_blood_pressure_is_accepted():
    MedicalRecordFactory(bp_systolic=120, bp_diastolic=80).full_clean()


@pytest.mark.parametrize("reading", [{"bp_systolic": 120}, {"bp_diastolic": 80}])
def test_one_half_of_the_blood_pressure_is_accepted_alone(reading):
    MedicalRecordFactory(**reading).full_clean()


# --- BMI ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("weight", "height", "bmi"),
    [("70.0", "175.0", "22.9"), ("82", "180", "25.3"), ("3.4", "50", "13.6"), ("120.5", "165.5", "44.0")],
)
def test_the_bmi_is_derived_from_weight_and_height(weight, height, bmi):
    record = MedicalRecordFactory(weight_kg=Decimal(weight), height_cm=Decimal(height))

    assert MedicalRecord.objects.get(pk=record.pk).bmi == Decimal(bmi)


@pytest.mark.parametrize("missing", ["weight_kg", "height_cm"])
def test_there_is_no_bmi_without_both_weight_and_height(missing):
    record = MedicalRecordFactory(**{"weight_kg": Decimal("70"), "height_cm": Decimal("175"), missing: None})

    assert MedicalRecord.objects.get(pk=record.pk).bmi is None


def test_has_vitals_says_whether_any_was_recorded():
    assert not MedicalRecordFactory().has_vitals
    assert MedicalRecordFactory(spo2=97).has_vitals


# --- a nurse records the vital signs of a visit -------------------------------------------------


def test_a_nurse_records_vitals_into_a_new_draft_for_the_visit(nurse, appointment):
    record = services.record_vitals(
        appointment=appointment,
        by=nurse,
        values={"bp_systolic": 132, "bp_diastolic": 84, "pulse": 72, "weight_kg": 82, "height_cm": 180},
    )

    saved = MedicalRecord.objects.get()
    assert saved.pk == record.pk
    assert saved.appointment == appointment
    assert saved.patient == appointment.patient
    assert saved.author == appointment.doctor.user
    assert saved.vitals_recorded_by == nurse
    assert saved.status == MedicalRecord.Status.DRAFT
    assert (saved.bp_systolic, saved.bp_diastolic, saved.pulse) == (132, 84, 72)
    assert saved.bmi == record.bmi == Decimal("25.3")


def test_recording_again_updates_the_same_draft(nurse, appointment):
    services.record_vitals(appointment=appointment, by=nurse, values={"pulse": 72, "spo2": 97})
    other_nurse = UserFactory(roles=[NURSE])

    services.record_vitals(appointment=appointment, by=other_nurse, values={"pulse": 88})

    saved = MedicalRecord.objects.get()
    assert (saved.pulse, saved.spo2) == (88, 97)
    assert saved.vitals_recorded_by == other_nurse


def test_vitals_go_into_the_record_the_doctor_already_started(nurse, appointment):
    doctor = appointment.doctor.user
    started = services.record_for_visit(appointment=appointment, by=doctor)
    started.chief_complaint = "Headache"
    services.save_draft(record=started, by=doctor)

    services.record_vitals(appointment=appointment, by=nurse, values={"temperature": Decimal("37.8")})

    saved = MedicalRecord.objects.get()
    assert saved.pk == started.pk
    assert saved.author == doctor
    assert saved.chief_complaint == "Headache"
    assert saved.temperature == Decimal("37.8")


def test_implausible_vitals_from_a_nurse_are_refused_and_nothing_is_created(nurse, appointment):
    with pytest.raises(ValidationError) as excinfo:
        services.record_vitals(appointment=appointment, by=nurse, values={"pulse": 300, "spo2": 97})

    assert excinfo.value.message_dict == {"pulse": ["Enter a value between 20 and 250 /min; check the reading."]}
    assert not MedicalRecord.objects.exists()


def test_implausible_vitals_leave_the_earlier_reading(nurse, appointment):
    services.record_vitals(appointment=appointment, by=nurse, values={"bp_systolic": 120, "bp_diastolic": 80})

    with pytest.raises(ValidationError, match="diastolic pressure must be below"):
        services.record_vitals(appointment=appointment, by=UserFactory(), values={"bp_diastolic": 125})

    saved = MedicalRecord.objects.get()
    assert (saved.bp_systolic, saved.bp_diastolic) == (120, 80)
    assert saved.vitals_recorded_by == nurse


def test_vitals_cannot_be_added_once_the_record_is_signed(nurse, appointment):
    doctor = appointment.doctor.user
    record = services.record_vitals(appointment=appointment, by=nurse, values={"pulse": 72})
    record.diagnosis = "Tension-type headache"
    services.save_draft(record=record, by=doctor)
    services.sign_record(record=record, by=doctor)

    with pytest.raises(ValidationError, match="signed; vital signs can no longer be added"):
        services.record_vitals(appointment=appointment, by=nurse, values={"pulse": 90})

    saved = MedicalRecord.objects.get()
    assert saved.pulse == 72
    assert saved.is_signed


# --- one record per visit -----------------------------------------------------------------------


def test_starting_to_chart_a_visit_twice_opens_the_same_record(appointment):
    doctor = appointment.doctor.user

    first = services.record_for_visit(appointment=appointment, by=doctor)
    second = services.record_for_visit(appointment=appointment, by=doctor)

    assert first.pk == second.pk
    assert MedicalRecord.objects.count() == 1
    assert (first.author, first.patient, first.appointment) == (doctor, appointment.patient, appointment)


def test_the_database_holds_one_record_per_visit(appointment):
    fields = {"appointment": appointment, "patient": appointment.patient, "author": appointment.doctor.user}
    MedicalRecord.objects.create(**fields)

    with pytest.raises(IntegrityError), transaction.atomic():
        MedicalRecord.objects.create(**fields)

    assert MedicalRecord.objects.count() == 1


def test_a_second_record_for_a_visit_is_refused_by_validation(appointment):
    MedicalRecordFactory(appointment=appointment, patient=appointment.patient)

    with pytest.raises(ValidationError):
        MedicalRecord(appointment=appointment, patient=appointment.patient, author=UserFactory()).full_clean()


def test_records_outside_a_visit_are_not_limited():
    first = MedicalRecordFactory()
    MedicalRecordFactory(patient=first.patient)

    assert first.patient.medical_records.count() == 2


def test_a_record_cannot_be_linked_to_another_patients_visit(appointment):
    record = MedicalRecordFactory()
    record.appointment = appointment

    with pytest.raises(ValidationError) as excinfo:
        record.full_clean()

    assert excinfo.value.message_dict == {"appointment": ["This visit belongs to another patient."]}


@pytest.mark.parametrize("status", ["cancelled", "no_show"])
def test_a_visit_that_did_not_happen_cannot_be_charted_or_get_vitals(status):
    appointment = AppointmentFactory(status=status)
    nurse = UserFactory(roles=[NURSE])

    with pytest.raises(ValidationError, match="has no visit to chart"):
        services.record_vitals(appointment=appointment, by=nurse, values={"pulse": 70})
    with pytest.raises(ValidationError, match="has no visit to chart"):
        services.record_for_visit(appointment=appointment, by=appointment.doctor.user)
    assert not MedicalRecord.objects.exists()
