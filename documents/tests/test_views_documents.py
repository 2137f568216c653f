"""The documents list, filing a document, and a document page with its versions."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from clinic.tests.files import stored_files
from clinical.tests.factories import MedicalRecordFactory
from documents import services
from documents.models import ClinicalDocument, DocumentVersion, PatientImage
from documents.tests.factories import make_document, pdf_bytes, pdf_upload, photo_upload
from documents.tests.pages import (
    HUGE,
    Type,
    archive,
    days_ago,
    messages_of,
    other_visit,
    read,
    stored_bytes,
    text,
)
from patients.tests.factories import PatientFactory
from scheduling.tests.factories import AppointmentFactory

pytestmark = pytest.mark.django_db


def test_the_list_shows_documents_newest_first_with_their_file_and_who_filed_them(doctor_client, patient):
    older = make_document(patient, title="Lipid panel", document_date=days_ago(30))
    newer = make_document(
        patient, title="Full blood count", document_date=days_ago(3), uploaded=pdf_upload("fbc-march.pdf")
    )
    response = doctor_client.get(reverse("documents:patient", args=[patient.pk]))
    assert response.context["documents"] == [newer, older]
    page = text(response)
    assert page.index("Full blood count") < page.index("Lipid panel")
    assert "fbc-march.pdf" in page
    assert reverse("documents:download", args=[newer.current_version_id]) in page
    assert newer.get_absolute_url() in page
    assert "Upload a document" in page
    assert "No documents" not in page


def test_the_list_is_one_patients(doctor_client, patient):
    make_document(patient, title="Mine")
    make_document(PatientFactory(), title="Someone else's")
    page = text(doctor_client.get(reverse("documents:patient", args=[patient.pk])))
    assert "Mine" in page
    assert "Someone else's" not in page


def test_the_list_filters_by_type(doctor_client, patient):
    make_document(patient, doc_type=Type.LAB_RESULT, title="Full blood count")
    make_document(patient, doc_type=Type.REFERRAL, title="Referral to dermatology")
    url = reverse("documents:patient", args=[patient.pk])
    response = doctor_client.get(url, {"type": Type.REFERRAL})
    assert [d.title for d in response.context["documents"]] == ["Referral to dermatology"]
    assert '<option value="referral" selected>' in response.content.decode()
    response = doctor_client.get(url, {"type": Type.PRESCRIPTION})
    assert response.context["documents"] == []
    assert "No documents of this type." in text(response)


@pytest.mark.parametrize("junk", ["nonsense", "LAB_RESULT", "'; drop table x; --", "é" * 300])
def test_an_unknown_type_shows_every_document(junk, doctor_client, patient):
    make_document(patient, doc_type=Type.LAB_RESULT)
    make_document(patient, doc_type=Type.CONSENT)
    response = doctor_client.get(reverse("documents:patient", args=[patient.pk]), {"type": junk})
    assert response.status_code == 200
    assert len(response.context["documents"]) == 2
    assert response.context["doc_type"] == ""


def test_archived_documents_are_only_in_the_archived_section(doctor_client, patient):
    make_document(patient, title="Full blood count")
    archive(make_document(patient, title="Lipid panel of someone else"), reason="Wrong patient")
    response = doctor_client.get(reverse("documents:patient", args=[patient.pk]))
    assert [d.title for d in response.context["documents"]] == ["Full blood count"]
    assert [d.title for d in response.context["archived"]] == ["Lipid panel of someone else"]
    page = text(response)
    table, archived_section = page.split("<details", 1)
    assert "Lipid panel of someone else" not in table
    assert "Archived (1)" in archived_section
    assert "Lipid panel of someone else" in archived_section
    assert "Wrong patient" in archived_section


def test_the_list_shows_how_many_versions_a_document_has(doctor_client, patient):
    document = make_document(patient, title="Full blood count")
    url = reverse("documents:patient", args=[patient.pk])
    assert "· version" not in text(doctor_client.get(url))
    for note in ("Haemoglobin corrected", "Signed by the lab"):
        services.replace_document_file(document=document, uploaded=pdf_upload(), by=document.uploaded_by, note=note)
    assert "· version 3" in text(doctor_client.get(url))


def test_an_archived_patients_list_offers_no_upload(doctor_client):
    patient = PatientFactory(is_archived=True)
    response = doctor_client.get(reverse("documents:patient", args=[patient.pk]))
    assert response.status_code == 200
    assert reverse("documents:upload", args=[patient.pk]) not in text(response)


@pytest.mark.parametrize("name", ["documents:upload", "documents:image_upload"])
def test_nothing_is_filed_for_an_archived_patient(name, doctor_client, media):
    """The pages hide the upload buttons for an archived patient; the upload itself must refuse too,
    as the clinical pages do (a 404 for new charting on an archived patient)."""
    patient = PatientFactory(is_archived=True)
    data = (
        {"doc_type": Type.LAB_RESULT, "title": "Late result", "document_date": str(days_ago(1)), "file": pdf_upload()}
        if name == "documents:upload"
        else {"body_site": "Left shin", "taken_on": str(days_ago(1)), "file": photo_upload()}
    )
    response = doctor_client.post(reverse(name, args=[patient.pk]), data)
    assert response.status_code in (200, 404)
    assert not ClinicalDocument.objects.exists()
    assert not PatientImage.objects.exists()
    assert stored_files(media) == []


def upload_data(**overrides):
    data = {
        "doc_type": Type.LAB_RESULT,
        "title": "Full blood count",
        "document_date": str(days_ago(2)),
        "notes": "Fasting sample",
        "file": pdf_upload("fbc.pdf", text="FBC: Hb 128 g/L"),
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_a_doctor_files_a_lab_result_for_a_visit(doctor_client, patient, media):
    visit = AppointmentFactory(patient=patient)
    record = MedicalRecordFactory(patient=patient)
    response = doctor_client.post(
        reverse("documents:upload", args=[patient.pk]),
        upload_data(appointment=visit.pk, medical_record=record.pk),
        follow=True,
    )
    document = ClinicalDocument.objects.get()
    assert response.redirect_chain == [(document.get_absolute_url(), 302)]
    assert messages_of(response) == ["'Full blood count' is on Amara Nwosu's record."]
    assert (document.patient, document.appointment, document.medical_record) == (patient, visit, record)
    assert (document.doc_type, document.document_date, document.notes) == (
        Type.LAB_RESULT,
        days_ago(2),
        "Fasting sample",
    )
    assert document.uploaded_by == doctor_client.user
    version = document.current_version
    assert (version.number, version.original_name, version.content_type) == (1, "fbc.pdf", "application/pdf")
    assert stored_bytes(version.file) == pdf_bytes("FBC: Hb 128 g/L")
    # Stored under a random name, not the one it came with.
    assert "fbc" not in version.file.name
    assert stored_files(media) == [version.file.name]


def test_a_nurse_files_a_document_too(nurse, patient):
    response = nurse.post(reverse("documents:upload", args=[patient.pk]), upload_data(doc_type=Type.IMAGING_REPORT))
    assert response.status_code == 302
    assert ClinicalDocument.objects.get().uploaded_by == nurse.user


def test_a_visit_in_the_address_is_chosen_in_the_form(doctor_client, patient):
    visit = AppointmentFactory(patient=patient)
    response = doctor_client.get(reverse("documents:upload", args=[patient.pk]), {"visit": visit.pk})
    assert response.context["form"].initial["appointment"] == visit.pk
    assert f'<option value="{visit.pk}" selected>' in response.content.decode()


@pytest.mark.parametrize("junk", ["abc", "1.5", "-1", "²", str(HUGE)])
def test_a_malformed_visit_in_the_address_still_shows_the_form(junk, doctor_client, patient):
    response = doctor_client.get(reverse("documents:upload", args=[patient.pk]), {"visit": junk})
    assert response.status_code == 200


def test_the_visit_list_offers_only_this_patients_visits(doctor_client, patient):
    mine, theirs = AppointmentFactory(patient=patient), AppointmentFactory()
    form = doctor_client.get(reverse("documents:upload", args=[patient.pk])).context["form"]
    assert list(form.fields["appointment"].queryset) == [mine]
    assert theirs not in form.fields["appointment"].queryset


def _other_record():
    return MedicalRecordFactory().pk


# field -> (the bad input, the field its error is on, words of the message)
BAD_UPLOADS = {
    "no title": ({"title": None}, "title", "This field is required"),
    "a blank title": ({"title": "   "}, "title", "This field is required"),
    "a title too long": ({"title": "x" * 201}, "title", "at most 200 characters"),
    "no file": ({"file": None}, "file", "This field is required"),
    "an empty file": ({"file": SimpleUploadedFile("empty.pdf", b"")}, "file", "empty"),
    "a program named .pdf": (
        {"file": SimpleUploadedFile("result.pdf", b"MZ\x90\x00" + b"\x00" * 200, "application/pdf")},
        "file",
        "PDF",
    ),
    "no date": ({"document_date": ""}, "document_date", "This field is required"),
    "a future date": ({"document_date": str(timezone.localdate() + timedelta(days=1))}, "document_date", "future"),
    "a date that does not exist": ({"document_date": "2024-02-30"}, "document_date", "Enter a valid date"),
    "words for a date": ({"document_date": "yesterday"}, "document_date", "Enter a valid date"),
    "a date in the year 9999": ({"document_date": "9999-12-31"}, "document_date", "Enter a date between"),
    "a date in the year 10000": ({"document_date": "10000-01-01"}, "document_date", "Enter a valid date"),
    "no type": ({"doc_type": None}, "doc_type", "This field is required"),
    "an unknown type": ({"doc_type": "x-ray"}, "doc_type", "Select a valid choice"),
    "another patient's visit": ({"appointment": other_visit}, "appointment", "Select a valid choice"),
    "another patient's record": ({"medical_record": _other_record}, "medical_record", "Select a valid choice"),
    "a visit that is not a number": ({"appointment": "abc"}, "appointment", "Select a valid choice"),
    "a visit beyond any integer": ({"appointment": str(HUGE)}, "appointment", "Select a valid choice"),
    "an unknown visit": ({"appointment": "987654"}, "appointment", "Select a valid choice"),
}


@pytest.mark.parametrize("case", list(BAD_UPLOADS))
def test_a_bad_upload_is_a_message_on_the_form_and_leaves_nothing(case, doctor_client, patient, media):
    overrides, field, words = BAD_UPLOADS[case]
    overrides = {key: value() if callable(value) else value for key, value in overrides.items()}
    response = doctor_client.post(reverse("documents:upload", args=[patient.pk]), upload_data(**overrides))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors, errors
    assert any(words in error for error in errors[field]), errors[field]
    assert " ".join(errors[field]) in text(response)
    assert not ClinicalDocument.objects.exists()
    assert not DocumentVersion.objects.exists()
    assert stored_files(media) == []


def test_reception_filing_a_copy_of_a_clinical_document_learns_nothing_about_it(reception, patient):
    """The identical clinical document is not reception's to see: not its title, not even that it exists."""
    make_document(patient, title="HIV viral load", uploaded=pdf_upload(text="same bytes"))
    response = reception.post(
        reverse("documents:upload", args=[patient.pk]),
        upload_data(doc_type=Type.REFERRAL, title="Referral letter", file=pdf_upload("letter.pdf", text="same bytes")),
    )
    assert response.status_code == 302
    assert "HIV viral load" not in text(reception.get(response["Location"], follow=True))
    assert ClinicalDocument.objects.filter(patient=patient, title="Referral letter").exists()


def test_reception_is_told_of_a_copy_it_may_see(reception, patient):
    make_document(patient, doc_type=Type.REFERRAL, title="Cardiology referral", uploaded=pdf_upload(text="same"))
    response = reception.post(
        reverse("documents:upload", args=[patient.pk]),
        upload_data(doc_type=Type.REFERRAL, title="Referral again", file=pdf_upload("again.pdf", text="same")),
    )
    assert response.status_code == 200
    [error] = response.context["form"].errors["file"]
    assert "as the document 'Cardiology referral'" in error


def test_a_file_already_on_the_record_is_refused_saying_where_it_is(doctor_client, patient, media):
    first = make_document(patient, title="Full blood count", uploaded=pdf_upload(text="same bytes"))
    files = stored_files(media)
    response = doctor_client.post(
        reverse("documents:upload", args=[patient.pk]),
        upload_data(title="FBC again", file=pdf_upload("copy.pdf", text="same bytes")),
    )
    assert response.status_code == 200
    [error] = response.context["form"].errors["file"]
    assert "already on the patient's record" in error
    assert "'Full blood count'" in error
    assert "version 1" in error
    assert list(ClinicalDocument.objects.all()) == [first]
    assert stored_files(media) == files


def test_the_same_file_for_another_patient_is_filed(doctor_client, patient):
    make_document(PatientFactory(), uploaded=pdf_upload(text="same bytes"))
    response = doctor_client.post(
        reverse("documents:upload", args=[patient.pk]), upload_data(file=pdf_upload(text="same bytes"))
    )
    assert response.status_code == 302
    assert ClinicalDocument.objects.filter(patient=patient).count() == 1


@pytest.fixture
def three_versions(patient):
    """A lab result corrected twice; returns (document, [version 1, 2, 3])."""
    document = make_document(patient, title="Full blood count", uploaded=pdf_upload("fbc.pdf", text="v1"))
    by = document.uploaded_by
    services.replace_document_file(
        document=document, uploaded=pdf_upload("fbc-2.pdf", text="v2"), by=by, note="Haemoglobin corrected"
    )
    services.replace_document_file(
        document=document, uploaded=pdf_upload("fbc-3.pdf", text="v3"), by=by, note="Signed by the lab"
    )
    document.refresh_from_db()
    return document, sorted(document.versions.all(), key=lambda v: v.number)


@pytest.mark.parametrize("persona", ["doctor_client", "nurse"])
def test_the_page_lists_every_version_newest_first_and_marks_the_current_one(persona, request, three_versions):
    client = request.getfixturevalue(persona)
    document, versions = three_versions
    response = client.get(document.get_absolute_url())
    assert [v.number for v in response.context["versions"]] == [3, 2, 1]
    page = text(response)
    history = page[page.index('id="versions"') :]
    rows = history.split("<tr")[2:]  # after the header row
    assert len(rows) == 3
    assert "fbc-3.pdf" in rows[0] and "current" in rows[0] and "Signed by the lab" in rows[0]
    assert "fbc-2.pdf" in rows[1] and "current" not in rows[1] and "Haemoglobin corrected" in rows[1]
    assert "fbc.pdf" in rows[2] and "current" not in rows[2]
    for version, row in zip(reversed(versions), rows, strict=True):
        assert reverse("documents:download", args=[version.pk]) in row
    assert document.current_version.sha256 in page


def test_every_version_downloads_as_it_was_uploaded(doctor_client, three_versions):
    _, versions = three_versions
    for version, content in zip(versions, ("v1", "v2", "v3"), strict=True):
        response = doctor_client.get(reverse("documents:download", args=[version.pk]))
        assert read(response) == pdf_bytes(content)
        assert response["Content-Disposition"].startswith("inline")
        assert version.original_name in response["Content-Disposition"]


def test_a_download_as_an_attachment(doctor_client):
    document = make_document(uploaded=pdf_upload("fbc.pdf"))
    response = doctor_client.get(reverse("documents:download", args=[document.current_version_id]), {"download": "1"})
    assert response["Content-Disposition"] == 'attachment; filename="fbc.pdf"'
    read(response)


def test_a_clinician_sees_replace_and_archive(doctor_client):
    document = make_document()
    page = text(doctor_client.get(document.get_absolute_url()))
    assert reverse("documents:replace", args=[document.pk]) in page
    assert reverse("documents:archive", args=[document.pk]) in page
    assert reverse("documents:restore", args=[document.pk]) not in page


def test_reception_may_replace_a_referral_but_sees_no_archive(reception):
    document = make_document(doc_type=Type.REFERRAL)
    page = text(reception.get(document.get_absolute_url()))
    assert reverse("documents:replace", args=[document.pk]) in page
    assert reverse("documents:archive", args=[document.pk]) not in page


def test_the_page_links_the_visit_and_the_record(doctor_client, patient):
    visit, record = AppointmentFactory(patient=patient), MedicalRecordFactory(patient=patient)
    document = make_document(patient, appointment=visit, medical_record=record)
    page = text(doctor_client.get(document.get_absolute_url()))
    assert reverse("scheduling:detail", args=[visit.pk]) in page
    assert reverse("clinical:record", args=[record.pk]) in page
