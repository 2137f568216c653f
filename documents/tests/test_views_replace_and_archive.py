"""Replacing a document file, archiving and restoring a document."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from clinic.tests.files import stored_files
from documents.tests.factories import make_document, pdf_bytes, pdf_upload
from documents.tests.pages import (
    Type,
    archive,
    messages_of,
    on_chart,
    read,
    text,
    timeline,
)

pytestmark = pytest.mark.django_db


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
