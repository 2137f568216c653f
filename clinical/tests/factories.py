from decimal import Decimal

import factory
from django.utils import timezone

from clinical.models import Amendment, MedicalRecord, Medication, Procedure, TreatmentPlan
from patients.tests.factories import PatientFactory
from staff.tests.factories import DoctorFactory, UserFactory


class MedicalRecordFactory(factory.django.DjangoModelFactory):
    """A draft by a doctor, outside a visit. `SignedRecordFactory` for a signed one."""

    class Meta:
        model = MedicalRecord

    patient = factory.SubFactory(PatientFactory)
    author = factory.LazyFunction(lambda: DoctorFactory().user)
    chief_complaint = "Sore throat for three days"
    examination = "Inflamed tonsils, no exudate"
    diagnosis = "Acute tonsillitis"
    icd10_codes = "J03.9"


class SignedRecordFactory(MedicalRecordFactory):
    status = MedicalRecord.Status.SIGNED
    signed_at = factory.LazyFunction(timezone.now)
    signed_by = factory.SelfAttribute("author")


class MedicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Medication

    record = factory.SubFactory(MedicalRecordFactory)
    drug = "Paracetamol"
    strength = "500 mg"
    dose = "2 tablets"
    route = "oral"
    frequency = "four times a day"
    duration = "5 days"


class AmendmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Amendment

    record = factory.SubFactory(SignedRecordFactory)
    author = factory.SelfAttribute("record.author")
    section = Amendment.Section.PLAN
    text = "Review in one week."
    reason = "Omitted at signing"


class TreatmentPlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TreatmentPlan

    patient = factory.SubFactory(PatientFactory)
    doctor = factory.SubFactory(DoctorFactory)
    diagnosis_summary = "Type 2 diabetes, poorly controlled"
    goals = "HbA1c below 53 mmol/mol"
    created_by = factory.SelfAttribute("doctor.user")


class ProcedureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Procedure

    plan = factory.SubFactory(TreatmentPlanFactory)
    patient = factory.SelfAttribute("plan.patient")
    name = "HbA1c blood test"
    code = "HBA1C"
    fee = Decimal("25.00")
    created_by = factory.LazyFunction(UserFactory)
