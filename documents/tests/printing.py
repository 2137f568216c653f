"""Builders for the printout tests: a signed record by a doctor with a licence, read back from the PDF."""

import io

from pypdf import PdfReader

from clinical import services as clinical_services
from clinical.tests.factories import MedicalRecordFactory, MedicationFactory
from patients.tests.factories import AllergyFactory, PatientFactory
from staff.roles import DOCTOR
from staff.tests.factories import DoctorFactory, UserFactory

DRUG, STRENGTH = "Quinoxaline", "250 mg"
LICENCE = "GMC-7654321"


def signed_record(patient=None, *, doctor=None, drug=DRUG, medications=True, **fields):
    """A record signed by Dr Hana Okafor (licence GMC-7654321) prescribing Quinoxaline 250 mg."""
    doctor = doctor or DoctorFactory(
        user=UserFactory(first_name="Hana", last_name="Okafor", roles=[DOCTOR]), licence_number=LICENCE
    )
    patient = patient or PatientFactory(first_name="Amara", last_name="Nwosu")
    AllergyFactory(patient=patient, substance="Penicillin", reaction="rash")
    record = MedicalRecordFactory(
        patient=patient,
        author=doctor.user,
        chief_complaint=fields.pop("chief_complaint", "Cough for two weeks"),
        examination=fields.pop("examination", "Crackles at the left base"),
        diagnosis=fields.pop("diagnosis", "Community-acquired pneumonia"),
        icd10_codes="J18.9",
        plan=fields.pop("plan", "Rest, fluids; review in one week"),
        **fields,
    )
    if medications:
        MedicationFactory(
            record=record,
            drug=drug,
            strength=STRENGTH,
            dose="1 tablet",
            route="oral",
            frequency="twice a day",
            duration="7 days",
            instructions="Take with food",
        )
    clinical_services.sign_record(record=record, by=doctor.user, acknowledge_allergies=True)
    record.refresh_from_db()
    return record


def pdf_text(data):
    """The text of every page of a PDF, in one string (pypdf)."""
    assert data[:5] == b"%PDF-", data[:20]
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def flat(text):
    """Text with line breaks and repeated spaces folded, for phrases a line break may split."""
    return " ".join(text.split())
