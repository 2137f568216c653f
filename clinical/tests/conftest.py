"""Fixtures of the clinical page tests (clinical/tests/test_pages_*.py)."""

from types import SimpleNamespace

import pytest

from clinical.tests.factories import (
    AmendmentFactory,
    MedicalRecordFactory,
    ProcedureFactory,
    TreatmentPlanFactory,
)
from clinical.tests.pages import Status, signed_record, visit
from patients.tests.factories import AllergyFactory, ConditionFactory, PatientFactory
from staff.tests.factories import DoctorFactory


@pytest.fixture
def doctor(doctor_client):
    """The Doctor persona's doctor profile (My day, plans and visits need one)."""
    return DoctorFactory(user=doctor_client.user)


@pytest.fixture
def world(doctor):
    """A patient with a full chart, seen today by the Doctor persona."""
    patient = PatientFactory(first_name="Ottilie", last_name="Quillfeather")
    AllergyFactory(patient=patient, substance="Latexium")
    ConditionFactory(patient=patient, name="Chronic wobble", icd10_code="")
    checked_in = visit(doctor, patient, hour=9, status=Status.CHECKED_IN, reason="Dizzy spells")
    in_progress = visit(doctor, PatientFactory(), hour=11, status=Status.IN_PROGRESS)
    signed = signed_record(doctor.user, patient, drugs=["Quinoxaline"], diagnosis="Zebra fever")
    AmendmentFactory(record=signed, text="Zebra fever confirmed by the laboratory")
    draft = MedicalRecordFactory(author=doctor.user, patient=patient, diagnosis="Zebra fever, relapse")
    plan = TreatmentPlanFactory(patient=patient, doctor=doctor, diagnosis_summary="Unicorn therapy")
    procedure = ProcedureFactory(plan=plan, name="Narwhal scan")
    return SimpleNamespace(
        doctor=doctor,
        patient=patient,
        checked_in=checked_in,
        in_progress=in_progress,
        signed=signed,
        draft=draft,
        plan=plan,
        procedure=procedure,
    )
