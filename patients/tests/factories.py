from datetime import date

import factory

from patients.models import Allergy, Condition, Patient


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    date_of_birth = factory.Sequence(lambda n: date(1950 + n % 60, 1 + n % 12, 1 + n % 28))
    sex = Patient.Sex.FEMALE
    phone = factory.Sequence(lambda n: f"07700 {n:06d}")


class AllergyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Allergy

    patient = factory.SubFactory(PatientFactory)
    substance = "Penicillin"
    reaction = "Rash"
    severity = Allergy.Severity.MODERATE


class ConditionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Condition

    patient = factory.SubFactory(PatientFactory)
    name = "Essential hypertension"
    icd10_code = "I10"
