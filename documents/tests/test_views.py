"""A patient's documents and images, through the pages: the list and its filter, filing (and every
way a form can be filled in wrong, none of them a 500), a document's versions, replacing, archiving
and restoring; the gallery by body site, adding a photo, a photo's page; and where documents and
photos show elsewhere: the chart's timeline and the patient's page."""

from datetime import timedelta
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from clinical.tests.factories import MedicalRecordFactory
from documents import services
from documents.models import ClinicalDocument, DocumentVersion, PatientImage
from documents.tests.factories import make_document, make_image, pdf_bytes, pdf_upload, photo_bytes, photo_upload
from patients.tests.factories import PatientFactory
from scheduling.tests.factories import AppointmentFactory
from staff.roles import ADMINISTRATOR, DOCTOR, MANAGER, NURSE, RECEPTIONIST

pytestmark = pytest.mark.django_db

Type = ClinicalDocument.Type
HUGE = 99999999999999999999999  # beyond any database integer


def text(response):
    return unescape(response.content.decode())


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


def read(response):
    # Reading a streamed file to the end closes it (the test client's wrapper does, safely).
    return b"".join(response.streaming_content)


def stored_bytes(field_file):
    with field_file.open("rb") as stored:
        return stored.read()


def stored_files(media):
    return sorted(str(p.relative_to(media)) for p in media.rglob("*") if p.is_file())


def days_ago(n):
    return timezone.localdate() - timedelta(days=n)


def archive(item, reason="Filed in error"):
    if isinstance(item, ClinicalDocument):
        return services.archive_document(document=item, by=item.uploaded_by, reason=reason)
    return services.archive_image(image=item, by=item.uploaded_by, reason=reason)


def timeline(client, patient):
    response = client.get(reverse("clinical:chart", args=[patient.pk]))
    assert response.status_code == 200
    return response


def on_chart(client, patient):
    return [entry.obj for entry in timeline(client, patient).context["timeline"] if entry.kind in ("document", "image")]


@pytest.fixture
def patient():
    return PatientFactory(first_name="Amara", last_name="Nwosu")


# --- the documents list ---------------------------------------------------------------------------


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


# --- filing a document ----------------------------------------------------------------------------


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


def _other_visit():
    return AppointmentFactory().pk


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
    "another patient's visit": ({"appointment": _other_visit}, "appointment", "Select a valid choice"),
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


# --- a document's page and its versions -----------------------------------------------------------


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


# --- replacing a file -----------------------------------------------------------------------------


def test_replacing_adds_a_version_and_keeps_the_first(doctor_client, patient, media):
    document = make_document(patient, uploaded=pdf_upload("fbc.pdf", text="first"))
    first = document.current_version
    response = doctor_client.post(
        reverse("documents:replace", args=[document.pk]),
        {"file": pdf_upload("fbc-corrected.pdf", text="second"), "note": "  Haemoglobin corrected  "},
        follow=True,
    )
    assert response.redirect_chain == [(document.get_absolute_url(), 302)]
    assert messages_of(response) == ["Version 2 saved; the earlier versions are kept below."]
    document.refresh_from_db()
    second = document.current_version
    assert (second.number, second.note, second.original_name) == (2, "Haemoglobin corrected", "fbc-corrected.pdf")
    assert second.uploaded_by == doctor_client.user
    assert read(doctor_client.get(reverse("documents:download", args=[first.pk]))) == pdf_bytes("first")
    assert read(doctor_client.get(reverse("documents:download", args=[second.pk]))) == pdf_bytes("second")
    assert len(stored_files(media)) == 2


@pytest.mark.parametrize("note", [None, "", "   "])
def test_replacing_needs_a_note(note, doctor_client, media):
    document = make_document()
    files = stored_files(media)
    data = {"file": pdf_upload()}
    if note is not None:
        data["note"] = note
    response = doctor_client.post(reverse("documents:replace", args=[document.pk]), data)
    assert response.status_code == 200
    assert "This field is required." in response.context["form"].errors["note"]
    assert document.versions.count() == 1
    assert stored_files(media) == files


def test_replacing_needs_a_file(doctor_client):
    document = make_document()
    response = doctor_client.post(reverse("documents:replace", args=[document.pk]), {"note": "Corrected"})
    assert response.status_code == 200
    assert "file" in response.context["form"].errors
    assert document.versions.count() == 1


def test_replacing_with_the_same_file_is_refused(doctor_client, media):
    document = make_document(uploaded=pdf_upload(text="same"))
    files = stored_files(media)
    response = doctor_client.post(
        reverse("documents:replace", args=[document.pk]), {"file": pdf_upload(text="same"), "note": "Again"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["file"] == ["This file is identical to the current version."]
    assert document.versions.count() == 1
    assert stored_files(media) == files


def test_replacing_with_something_that_is_not_a_document_is_refused(doctor_client, media):
    document = make_document()
    files = stored_files(media)
    hostile = SimpleUploadedFile("fbc.pdf", b"<html><script>alert(1)</script></html>", "application/pdf")
    response = doctor_client.post(reverse("documents:replace", args=[document.pk]), {"file": hostile, "note": "X"})
    assert response.status_code == 200
    assert response.context["form"].errors["file"]
    assert document.versions.count() == 1
    assert stored_files(media) == files


def test_an_archived_document_cannot_be_replaced(doctor_client, media):
    document = archive(make_document())
    files = stored_files(media)
    response = doctor_client.post(
        reverse("documents:replace", args=[document.pk]), {"file": pdf_upload(), "note": "Corrected"}
    )
    assert response.status_code == 200
    assert "restore it first" in " ".join(response.context["form"].non_field_errors())
    assert document.versions.count() == 1
    assert stored_files(media) == files


# --- archiving and restoring a document -----------------------------------------------------------


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_archiving_needs_a_reason(reason, doctor_client):
    document = make_document()
    response = doctor_client.post(
        reverse("documents:archive", args=[document.pk]), {} if reason is None else {"reason": reason}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    document.refresh_from_db()
    assert not document.is_archived


@pytest.mark.parametrize("persona", ["doctor_client", "nurse"])
def test_archiving_hides_it_from_the_list_and_the_chart_but_the_link_still_works(persona, request, patient):
    client = request.getfixturevalue(persona)
    document = make_document(patient, title="Lipid panel of someone else")
    assert on_chart(client, patient) == [document]

    response = client.post(reverse("documents:archive", args=[document.pk]), {"reason": "Wrong patient"}, follow=True)
    assert response.redirect_chain == [(document.get_absolute_url(), 302)]
    assert "Archived" in messages_of(response)[0]
    document.refresh_from_db()
    assert document.is_archived
    assert (document.archived_by, document.archive_reason) == (client.user, "Wrong patient")

    listed = client.get(reverse("documents:patient", args=[patient.pk])).context
    assert listed["documents"] == []
    assert listed["archived"] == [document]
    assert on_chart(client, patient) == []
    assert "Lipid panel of someone else" not in text(timeline(client, patient))

    page = text(client.get(document.get_absolute_url()))
    assert "Archived" in page and "Wrong patient" in page
    assert reverse("documents:replace", args=[document.pk]) not in page
    assert reverse("documents:archive", args=[document.pk]) not in page
    download = client.get(reverse("documents:download", args=[document.current_version_id]))
    assert download.status_code == 200
    read(download)


def test_archiving_twice_is_refused(doctor_client):
    document = archive(make_document(), reason="First")
    response = doctor_client.post(reverse("documents:archive", args=[document.pk]), {"reason": "Second"})
    assert response.status_code == 200
    assert "already archived" in " ".join(response.context["form"].non_field_errors())
    document.refresh_from_db()
    assert document.archive_reason == "First"


def test_an_administrator_restores_it_to_the_list_and_the_chart(administrator, doctor_client, patient):
    document = archive(make_document(patient, doc_type=Type.LAB_RESULT, title="Full blood count"))
    archived_page = reverse("documents:archived", args=[patient.pk])
    assert [d.pk for d in administrator.get(archived_page).context["documents"]] == [document.pk]

    response = administrator.post(reverse("documents:restore", args=[document.pk]), follow=True)
    assert response.redirect_chain == [(archived_page, 302)]
    assert messages_of(response) == [f"Restored '{document}': it shows on the chart again."]
    assert response.context["documents"] == []
    document.refresh_from_db()
    assert not document.is_archived
    assert doctor_client.get(reverse("documents:patient", args=[patient.pk])).context["documents"] == [document]
    assert on_chart(doctor_client, patient) == [document]


def test_restoring_what_is_not_archived_says_so(administrator):
    document = make_document()
    response = administrator.post(reverse("documents:restore", args=[document.pk]), follow=True)
    assert messages_of(response) == ["It is not archived."]
    document.refresh_from_db()
    assert not document.is_archived


def test_an_administrator_restores_from_a_referrals_page(administrator):
    document = archive(make_document(doc_type=Type.REFERRAL))
    page = text(administrator.get(document.get_absolute_url()))
    assert reverse("documents:restore", args=[document.pk]) in page
    assert reverse("documents:replace", args=[document.pk]) not in page


# --- the gallery ----------------------------------------------------------------------------------


def test_the_gallery_groups_photos_by_body_site_in_date_order(doctor_client, patient):
    # Uploaded out of order, the site written three ways.
    middle = make_image(patient, body_site="left shin", taken_on=days_ago(20))
    latest = make_image(patient, body_site="LEFT  SHIN ", taken_on=days_ago(2))
    first = make_image(patient, body_site="Left Shin", taken_on=days_ago(40))
    mole = make_image(patient, body_site="Mole, right shoulder", taken_on=days_ago(10))
    make_image(PatientFactory(), body_site="Left shin")  # someone else's

    response = doctor_client.get(reverse("documents:gallery", args=[patient.pk]))
    groups = response.context["groups"]
    assert [[image.pk for image in group.images] for group in groups] == [
        [first.pk, middle.pk, latest.pk],
        [mole.pk],
    ]
    page = text(response)
    assert "3 photos" in page and "1 photo" in page
    for image in (first, middle, latest, mole):
        assert reverse("documents:image_thumbnail", args=[image.pk]) in page
        assert image.get_absolute_url() in page
    shin = page[page.index("3 photos") : page.index("1 photo")]
    positions = [shin.index(reverse("documents:image_thumbnail", args=[i.pk])) for i in (first, middle, latest)]
    assert positions == sorted(positions)


def test_archived_photos_are_only_in_the_archived_section(doctor_client, patient):
    kept = make_image(patient, body_site="Left shin")
    hidden = archive(make_image(patient, body_site="Left shin", taken_on=days_ago(5)), reason="Blurred")
    response = doctor_client.get(reverse("documents:gallery", args=[patient.pk]))
    assert [[i.pk for i in g.images] for g in response.context["groups"]] == [[kept.pk]]
    assert response.context["archived"] == [hidden]
    page = text(response)
    groups_part, archived_part = page.split("<details", 1)
    assert reverse("documents:image_thumbnail", args=[hidden.pk]) not in page
    assert hidden.get_absolute_url() not in groups_part
    assert hidden.get_absolute_url() in archived_part and "Blurred" in archived_part


def test_the_site_filter_shows_one_body_site(doctor_client, patient):
    shin = make_image(patient, body_site="Left shin")
    make_image(patient, body_site="Sacrum")
    url = reverse("documents:gallery", args=[patient.pk])
    # The photo's page links to its site's photos.
    image_page = text(doctor_client.get(shin.get_absolute_url()))
    assert f"{url}?site=left%20shin" in image_page
    response = doctor_client.get(url, {"site": "left shin"})
    assert [g.body_site for g in response.context["groups"]] == ["Left shin"]
    assert doctor_client.get(url, {"site": "elbow"}).context["groups"] == []


def test_the_site_filter_ignores_case_and_spacing_like_the_groups(doctor_client, patient):
    make_image(patient, body_site="Left shin")
    make_image(patient, body_site="Sacrum")
    response = doctor_client.get(reverse("documents:gallery", args=[patient.pk]), {"site": "Left  Shin"})
    assert [g.body_site for g in response.context["groups"]] == ["Left shin"]


def test_add_one_prefills_the_body_site(doctor_client, patient):
    make_image(patient, body_site="Mole, right shoulder")
    page = text(doctor_client.get(reverse("documents:gallery", args=[patient.pk])))
    link = reverse("documents:image_upload", args=[patient.pk]) + "?site=Mole%2C%20right%20shoulder"
    assert link in page
    response = doctor_client.get(link)
    assert response.context["form"].initial["body_site"] == "Mole, right shoulder"
    assert 'value="Mole, right shoulder"' in text(response)
    # The sites already used are offered as suggestions.
    assert '<option value="Mole, right shoulder">' in text(response)


def test_an_empty_gallery_says_so(nurse, patient):
    page = text(nurse.get(reverse("documents:gallery", args=[patient.pk])))
    assert "No photos yet." in page
    assert reverse("documents:image_upload", args=[patient.pk]) in page


# --- adding a photo -------------------------------------------------------------------------------


def photo_data(**overrides):
    data = {"body_site": "Left shin", "taken_on": str(days_ago(1)), "description": "Healing", "file": photo_upload()}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


@pytest.mark.parametrize("persona", ["doctor_client", "nurse"])
def test_a_clinician_adds_a_photo(persona, request, patient, media):
    client = request.getfixturevalue(persona)
    visit = AppointmentFactory(patient=patient)
    response = client.post(
        reverse("documents:image_upload", args=[patient.pk]),
        photo_data(
            body_site="  Left   shin ", appointment=visit.pk, file=photo_upload("IMG_0042.JPG", size=(800, 600))
        ),
        follow=True,
    )
    assert response.redirect_chain == [(reverse("documents:gallery", args=[patient.pk]), 302)]
    image = PatientImage.objects.get()
    assert messages_of(response) == [f"Photo of Left shin ({days_ago(1):%d %b %Y}) added."]
    assert (image.body_site, image.body_site_key, image.appointment) == ("Left shin", "left shin", visit)
    assert (image.width, image.height, image.original_name) == (800, 600, "IMG_0042.JPG")
    assert image.uploaded_by == client.user
    assert stored_files(media) == sorted([image.file.name, image.thumbnail.name])


BAD_PHOTOS = {
    "no body site": ({"body_site": None}, "body_site", "This field is required"),
    "a blank body site": ({"body_site": "   "}, "body_site", "This field is required"),
    "no file": ({"file": None}, "file", "This field is required"),
    "a PDF": ({"file": pdf_upload("photo.pdf")}, "file", ""),
    "a truncated photo": ({"file": SimpleUploadedFile("cut.jpg", photo_bytes()[:300], "image/jpeg")}, "file", ""),
    "a future date": ({"taken_on": str(timezone.localdate() + timedelta(days=3))}, "taken_on", "future"),
    "a date that does not exist": ({"taken_on": "2024-13-01"}, "taken_on", "Enter a valid date"),
    "a date in the year 9999": ({"taken_on": "9999-01-01"}, "taken_on", "Enter a date between"),
    "another patient's visit": ({"appointment": _other_visit}, "appointment", "Select a valid choice"),
    "a visit beyond any integer": ({"appointment": str(HUGE)}, "appointment", "Select a valid choice"),
}


@pytest.mark.parametrize("case", list(BAD_PHOTOS))
def test_a_bad_photo_is_a_message_on_the_form_and_leaves_nothing(case, doctor_client, patient, media):
    overrides, field, words = BAD_PHOTOS[case]
    overrides = {key: value() if callable(value) else value for key, value in overrides.items()}
    response = doctor_client.post(reverse("documents:image_upload", args=[patient.pk]), photo_data(**overrides))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors, errors
    assert any(words in error for error in errors[field]), errors[field]
    assert not PatientImage.objects.exists()
    assert stored_files(media) == []


def test_a_photo_already_on_the_record_is_refused(doctor_client, patient, media):
    content = photo_bytes(seed=7)
    make_image(patient, body_site="Left shin", uploaded=SimpleUploadedFile("a.jpg", content, "image/jpeg"))
    files = stored_files(media)
    again = photo_data(file=SimpleUploadedFile("b.jpg", content, "image/jpeg"))
    response = doctor_client.post(reverse("documents:image_upload", args=[patient.pk]), again)
    assert response.status_code == 200
    [error] = response.context["form"].errors["file"]
    assert "already on the patient's record as the image 'Left shin'" in error
    assert PatientImage.objects.count() == 1
    assert stored_files(media) == files


# --- a photo's page, archiving and restoring a photo ----------------------------------------------


def test_the_photo_page_shows_its_dimensions_date_and_the_full_image(nurse, patient):
    image = make_image(
        patient, body_site="Sacrum", taken_on=days_ago(3), description="Grade 2", uploaded=photo_upload(size=(640, 480))
    )
    page = text(nurse.get(image.get_absolute_url()))
    assert "640 × 480 px" in page
    assert f"{days_ago(3).day} {days_ago(3):%B %Y}" in page
    assert "Grade 2" in page
    assert reverse("documents:image_file", args=[image.pk]) in page
    assert reverse("documents:image_file", args=[image.pk]) + "?download=1" in page
    assert reverse("documents:image_archive", args=[image.pk]) in page


def test_archiving_a_photo_needs_a_reason(doctor_client):
    image = make_image()
    response = doctor_client.post(reverse("documents:image_archive", args=[image.pk]), {"reason": " "})
    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    image.refresh_from_db()
    assert not image.is_archived


def test_an_archived_photo_leaves_the_gallery_and_chart_and_an_administrator_brings_it_back(
    doctor_client, administrator, patient
):
    image = make_image(patient, body_site="Left shin")
    gallery = reverse("documents:gallery", args=[patient.pk])
    response = doctor_client.post(reverse("documents:image_archive", args=[image.pk]), {"reason": "Blurred"})
    assert response.status_code == 302
    assert response["Location"] == image.get_absolute_url()
    assert doctor_client.get(gallery).context["groups"] == []
    assert on_chart(doctor_client, patient) == []
    page = text(doctor_client.get(image.get_absolute_url()))
    assert "Archived" in page and "Blurred" in page
    assert reverse("documents:image_archive", args=[image.pk]) not in page
    thumbnail = doctor_client.get(reverse("documents:image_thumbnail", args=[image.pk]))
    assert thumbnail.status_code == 200
    assert read(thumbnail) == stored_bytes(image.thumbnail)

    response = administrator.post(reverse("documents:image_restore", args=[image.pk]), follow=True)
    assert response.redirect_chain == [(reverse("documents:archived", args=[patient.pk]), 302)]
    assert messages_of(response) == [f"Restored '{image}': it shows on the chart again."]
    assert [[i.pk for i in g.images] for g in doctor_client.get(gallery).context["groups"]] == [[image.pk]]
    assert on_chart(doctor_client, patient) == [image]


# --- documents and photos elsewhere: the chart, the patient's page --------------------------------


@pytest.mark.parametrize("persona", ["doctor_client", "nurse"])
def test_the_chart_shows_documents_and_photos_with_thumbnails(persona, request, patient):
    client = request.getfixturevalue(persona)
    document = make_document(patient, title="Full blood count", document_date=days_ago(5))
    services.replace_document_file(document=document, uploaded=pdf_upload(), by=document.uploaded_by, note="Fixed")
    referral = make_document(
        patient, doc_type=Type.REFERRAL, title="Referral to dermatology", document_date=days_ago(9)
    )
    image = make_image(patient, body_site="Left shin", taken_on=days_ago(1), description="Healing well")
    archive(make_document(patient, title="Lipid panel of someone else"))
    archive(make_image(patient, body_site="Sacrum"))
    make_document(PatientFactory(), title="Someone else's result")

    response = timeline(client, patient)
    assert on_chart(client, patient) == [image, document, referral]  # newest first
    page = text(response)
    assert document.get_absolute_url() in page and "Full blood count" in page and "version 2" in page
    assert referral.get_absolute_url() in page
    thumbnail = reverse("documents:image_thumbnail", args=[image.pk])
    assert f'<a href="{image.get_absolute_url()}"><img class="timeline-thumb" src="{thumbnail}"' in page
    assert "Healing well" in page
    for absent in ("Lipid panel of someone else", "Sacrum", "Someone else's result"):
        assert absent not in page
    assert reverse("documents:patient", args=[patient.pk]) in page
    assert reverse("documents:gallery", args=[patient.pk]) in page


# (label, URL name) of the links the patient's page may offer.
PATIENT_LINKS = {
    "Documents": "documents:patient",
    "Images": "documents:gallery",
    "Archived documents": "documents:archived",
}


@pytest.mark.parametrize(
    "role, shown",
    [
        (RECEPTIONIST, {"Documents"}),
        (ADMINISTRATOR, {"Documents", "Archived documents"}),
        (DOCTOR, {"Documents", "Images"}),
        (NURSE, {"Documents", "Images"}),
        (MANAGER, set()),
    ],
)
def test_the_patients_page_links_to_what_the_role_may_open(role, shown, client_for, patient):
    client = client_for(role)
    page = text(client.get(patient.get_absolute_url()))
    for label, name in PATIENT_LINKS.items():
        url = reverse(name, args=[patient.pk])
        assert (f'href="{url}"' in page) == (label in shown), label
        if label in shown:
            assert client.get(url).status_code == 200


@pytest.mark.parametrize("path", ["abc/", "1.5/", "-1/", "versions/x/file/", "images/%C2%B2/", "patients//upload/"])
def test_non_numeric_ids_do_not_resolve(path, doctor_client):
    assert doctor_client.get(f"/documents/{path}").status_code == 404


@pytest.mark.parametrize(
    "name", ["documents:detail", "documents:download", "documents:image", "documents:image_thumbnail"]
)
def test_huge_ids_are_a_404(name, doctor_client):
    assert doctor_client.get(reverse(name, args=[HUGE])).status_code == 404
