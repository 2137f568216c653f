"""The documents API: what each role lists, reads and downloads, uploads through the content checks
(nothing left stored when one fails), archive and restore, audit and bounded lists."""

import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from clinic.models import AuditEntry
from clinical.tests.factories import MedicalRecordFactory
from documents import services
from documents.models import ClinicalDocument, DocumentVersion, PatientImage
from documents.tests.factories import make_document, make_image, pdf_bytes, pdf_upload, photo_bytes
from patients.tests.factories import PatientFactory
from staff.roles import ADMINISTRATOR, DOCTOR, MANAGER, NURSE, RECEPTIONIST

DOCUMENTS = reverse("documents_api:document-list")
IMAGES = reverse("documents_api:image-list")
PROBLEM = "application/problem+json"
LAB, REFERRAL = ClinicalDocument.Type.LAB_RESULT, ClinicalDocument.Type.REFERRAL
# What Windows puts at the start of every program: refused whatever the file is called.
EXECUTABLE = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200 + b"This program cannot be run"
)


def url(name, obj, **query):
    address = reverse(f"documents_api:{name}", kwargs={"pk": obj.pk})
    return address + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def stored_files(media):
    return sorted(p.relative_to(media) for p in media.rglob("*") if p.is_file()) if media.exists() else []


def body(response):
    return b"".join(response.streaming_content)


@pytest.fixture
def patient():
    return PatientFactory(first_name="Αθηνά", last_name="Παπαδοπούλου")


def upload(title="Full blood count — Ωμέγα", doc_type=LAB, file=None, **fields):
    day = timezone.localdate() - timedelta(days=1)
    return {
        "doc_type": doc_type,
        "title": title,
        "document_date": day.isoformat(),
        "file": file or pdf_upload("Blutbild_Müller.pdf"),
        **fields,
    }


def tagged_png():
    """A photo carrying text of its own (where it was taken) in a PNG text chunk."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", "GPS 51.5072 N, 0.1276 W")
    out = io.BytesIO()
    Image.open(io.BytesIO(photo_bytes("PNG", size=(300, 200), seed=3))).save(out, "PNG", pnginfo=info)
    return out.getvalue()


# --- who sees what --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_front_desk_lists_and_reads_administrative_documents_only(api_for, patient):
    lab = make_document(patient, title="HbA1c 48 mmol/mol", doc_type=LAB)
    referral = make_document(patient, title="Überweisung Kardiologie", doc_type=REFERRAL)
    desk = api_for(RECEPTIONIST)
    listed = desk.get(DOCUMENTS, {"patient": patient.pk})
    assert listed.status_code == 200
    assert [d["title"] for d in listed.json()["results"]] == ["Überweisung Kardiologie"]
    assert desk.get(url("document-detail", referral)).status_code == 200
    # A clinical document answers as one that does not exist: 403 for both.
    assert desk.get(url("document-detail", lab)).status_code == 403
    assert desk.get(reverse("documents_api:document-detail", kwargs={"pk": 987654})).status_code == 403
    assert desk.get(url("document-file", lab)).status_code == 403
    assert "HbA1c" not in desk.get(url("document-detail", lab)).content.decode()
    clinician = api_for(NURSE)
    titles = {d["title"] for d in clinician.get(DOCUMENTS, {"patient": patient.pk}).json()["results"]}
    assert titles == {"HbA1c 48 mmol/mol", "Überweisung Kardiologie"}
    assert clinician.get(reverse("documents_api:document-detail", kwargs={"pk": 987654})).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("role", [MANAGER, None])
def test_roles_without_documents_read_none(api_for, role, patient):
    document = make_document(patient)
    image = make_image(patient)
    api = api_for(role)
    for address in (
        f"{DOCUMENTS}?patient={patient.pk}",
        url("document-detail", document),
        url("document-file", document),
        f"{IMAGES}?patient={patient.pk}",
        url("image-file", image),
    ):
        response = api.get(address)
        assert response.status_code == 403, address
        assert response["Content-Type"] == PROBLEM


@pytest.mark.django_db
def test_reading_and_downloading_are_audited_like_the_pages(api_for, patient):
    document = make_document(patient, uploaded=SimpleUploadedFile("Лабораторія.pdf", pdf_bytes("Ω")))
    api = api_for(DOCTOR)
    detail = api.get(url("document-detail", document))
    assert detail.status_code == 200
    assert detail.json()["current_version"]["original_name"] == "Лабораторія.pdf"
    seen = AuditEntry.objects.filter(action=AuditEntry.Action.VIEW).latest("id")
    assert (seen.object_id, seen.patient_id, seen.user) == (str(document.pk), patient.pk, api.user)
    response = api.get(url("document-file", document), HTTP_ACCEPT="application/pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert body(response) == pdf_bytes("Ω")
    assert response["X-Content-Type-Options"] == "nosniff"
    download = AuditEntry.objects.filter(action=AuditEntry.Action.DOWNLOAD).latest("id")
    assert (download.object_id, download.patient_id) == (str(document.current_version_id), patient.pk)
    assert download.user_agent.startswith("API token")
    # An error on the way to a file is problem+json whatever the caller accepts.
    missing = api.get(url("document-file", document, version=9), HTTP_ACCEPT="application/pdf")
    assert missing.status_code == 404 and missing["Content-Type"] == PROBLEM


@pytest.mark.django_db
def test_every_version_stays_downloadable(api_for, patient):
    document = make_document(patient, uploaded=SimpleUploadedFile("v1.pdf", pdf_bytes("first")))
    api = api_for(NURSE)
    replaced = api.post(
        url("document-replace", document),
        {"file": SimpleUploadedFile("v2.pdf", pdf_bytes("second")), "note": "Korrigierter Befund"},
        format="multipart",
    )
    assert replaced.status_code == 201, replaced.content
    assert [v["number"] for v in replaced.json()["versions"]] == [2, 1]
    assert body(api.get(url("document-file", document))) == pdf_bytes("second")
    assert body(api.get(url("document-file", document, version=1))) == pdf_bytes("first")


@pytest.mark.django_db
def test_lists_are_bounded_in_queries(api_for, patient, django_assert_max_num_queries):
    for i in range(6):
        make_document(patient, title=f"Befund {i}")
        make_image(patient, body_site=f"Ellenbogen {i}")
    api = api_for(DOCTOR)
    api.get(DOCUMENTS, {"patient": patient.pk})
    with django_assert_max_num_queries(7):
        documents = api.get(DOCUMENTS, {"patient": patient.pk})
    with django_assert_max_num_queries(7):
        images = api.get(IMAGES, {"patient": patient.pk})
    assert len(documents.json()["results"]) == 6 and len(images.json()["results"]) == 6
    listed = AuditEntry.objects.filter(action=AuditEntry.Action.VIEW, patient_id=patient.pk)
    assert {e.summary for e in listed} >= {"documents list (API): 6 listed", "image gallery (API): 6 listed"}
    assert api.get(DOCUMENTS).status_code == 400
    assert api.get(DOCUMENTS, {"patient": 987654}).status_code == 404


# --- uploads --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_doctor_files_a_pdf(api_for, patient, media):
    record = MedicalRecordFactory(patient=patient)
    response = api_for(DOCTOR).post(
        DOCUMENTS, {"patient": patient.pk, **upload(medical_record=record.pk)}, format="multipart"
    )
    assert response.status_code == 201, response.content
    document = ClinicalDocument.objects.get()
    assert response["Location"] == reverse("documents_api:document-detail", kwargs={"pk": document.pk})
    assert document.title == "Full blood count — Ωμέγα" and document.medical_record == record
    version = document.current_version
    assert (version.original_name, version.content_type) == ("Blutbild_Müller.pdf", "application/pdf")
    assert len(stored_files(media)) == 1


@pytest.mark.django_db
def test_the_front_desk_files_a_referral_but_not_a_lab_result(api_for, patient):
    desk = api_for(RECEPTIONIST)
    refused = desk.post(DOCUMENTS, {"patient": patient.pk, **upload()}, format="multipart")
    assert refused.status_code == 400 and "doc_type" in refused.json()["errors"]
    filed = desk.post(DOCUMENTS, {"patient": patient.pk, **upload("Consent", REFERRAL)}, format="multipart")
    assert filed.status_code == 201, filed.content
    assert api_for(MANAGER).post(DOCUMENTS, {"patient": patient.pk, **upload()}, format="multipart").status_code == 403


@pytest.mark.django_db
def test_a_nurse_adds_a_png_stored_re_encoded(api_for, patient, media):
    png = photo_bytes("PNG", size=(300, 200)) + b"<html><body>trailing bytes</body></html>"
    sent = {
        "patient": patient.pk,
        "body_site": "Ľavá píšťala",
        "taken_on": timezone.localdate().isoformat(),
        "file": SimpleUploadedFile("rána.png", png, content_type="image/png"),
    }
    response = api_for(NURSE).post(IMAGES, sent, format="multipart")
    # A payload after the pixels (here, a web page) is refused; the same photo without it is stored.
    assert response.status_code == 400 and "file" in response.json()["errors"]
    sent["file"] = SimpleUploadedFile("rána.png", tagged_png())
    response = api_for(NURSE).post(IMAGES, sent, format="multipart")
    assert response.status_code == 201, response.content
    image = PatientImage.objects.get()
    assert (image.width, image.height, image.body_site) == (300, 200, "Ľavá píšťala")
    api = api_for(DOCTOR)
    stored = body(api.get(url("image-file", image)))
    # Re-encoded, not kept as sent: the text the camera (or anyone) put in the file is gone.
    assert b"GPS" not in stored and "Comment" not in Image.open(io.BytesIO(stored)).info
    assert Image.open(io.BytesIO(stored)).size == (300, 200)
    thumbnail = api.get(url("image-thumbnail", image))
    assert thumbnail["Content-Type"] == "image/jpeg"
    downloads = AuditEntry.objects.filter(action=AuditEntry.Action.DOWNLOAD, object_id=str(image.pk))
    assert downloads.count() == 1  # the file, not the thumbnail (as on the pages)
    assert len(stored_files(media)) == 2  # the photo and its thumbnail


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("Befund.pdf", EXECUTABLE),
        ("photo.jpg", EXECUTABLE),
        ("page.pdf", b"<html><script>alert(1)</script></html>"),
        ("empty.pdf", b""),
    ],
)
def test_a_file_that_is_not_what_it_claims_is_refused_and_nothing_is_stored(api_for, patient, media, name, content):
    response = api_for(DOCTOR).post(
        DOCUMENTS, {"patient": patient.pk, **upload(file=SimpleUploadedFile(name, content))}, format="multipart"
    )
    assert response.status_code == 400 and response["Content-Type"] == PROBLEM
    assert "file" in response.json()["errors"]
    assert not ClinicalDocument.objects.exists() and not DocumentVersion.objects.exists()
    assert stored_files(media) == []


@pytest.mark.django_db
def test_an_oversized_file_is_refused(api_for, patient, media, settings):
    settings.UPLOAD_MAX_MB = 1
    big = pdf_bytes("big") + b"%" + b"0" * (1024 * 1024)
    response = api_for(DOCTOR).post(
        DOCUMENTS, {"patient": patient.pk, **upload(file=SimpleUploadedFile("big.pdf", big))}, format="multipart"
    )
    assert response.status_code == 400
    assert "the limit is 1 MB" in response.json()["errors"]["file"][0]
    assert stored_files(media) == [] and not ClinicalDocument.objects.exists()


@pytest.mark.django_db
def test_the_same_file_twice_is_refused_as_already_on_the_record(api_for, patient, media):
    api = api_for(DOCTOR)
    first = api.post(DOCUMENTS, {"patient": patient.pk, **upload(file=pdf_upload(text="same"))}, format="multipart")
    assert first.status_code == 201
    again = api.post(DOCUMENTS, {"patient": patient.pk, **upload(file=pdf_upload(text="same"))}, format="multipart")
    assert again.status_code == 400
    assert "already on the patient's record" in again.json()["errors"]["file"][0]
    assert ClinicalDocument.objects.count() == 1 and len(stored_files(media)) == 1


@pytest.mark.django_db
def test_a_failure_after_the_file_was_stored_leaves_nothing_behind(api_for, patient, media, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("the database went away")

    monkeypatch.setattr(services, "_make_current", broken)
    response = api_for(DOCTOR).post(DOCUMENTS, {"patient": patient.pk, **upload()}, format="multipart")
    assert response.status_code == 400
    assert response.json()["errors"]["file"] == ["The file could not be stored; nothing was saved."]
    assert not ClinicalDocument.objects.exists() and not DocumentVersion.objects.exists()
    assert stored_files(media) == []


@pytest.mark.django_db
def test_a_failed_thumbnail_leaves_no_photo_behind(api_for, patient, media, monkeypatch):
    def broken(content):
        raise OSError("disk full")

    monkeypatch.setattr(services, "make_thumbnail", broken)
    sent = {
        "patient": patient.pk,
        "body_site": "Knie",
        "taken_on": timezone.localdate().isoformat(),
        "file": SimpleUploadedFile("knie.jpg", photo_bytes()),
    }
    assert api_for(NURSE).post(IMAGES, sent, format="multipart").status_code == 400
    assert not PatientImage.objects.exists() and stored_files(media) == []


@pytest.mark.django_db
def test_uploads_refuse_archived_patients_and_json_without_a_file(api_for, patient):
    api = api_for(DOCTOR)
    no_file = api.post(DOCUMENTS, {"patient": patient.pk, "doc_type": LAB, "title": "x"}, format="json")
    assert no_file.status_code == 400 and "file" in no_file.json()["errors"]
    patient.is_archived = True
    patient.save()
    assert api.post(DOCUMENTS, {"patient": patient.pk, **upload()}, format="multipart").status_code == 404


# --- archive and restore --------------------------------------------------------------------------


@pytest.mark.django_db
def test_archive_needs_a_reason_and_only_an_administrator_restores(api_for, patient):
    document = make_document(patient)
    image = make_image(patient)
    nurse = api_for(NURSE)
    assert nurse.post(url("document-archive", document), {}, format="json").status_code == 400
    archived = nurse.post(url("document-archive", document), {"reason": "Falscher Patient"}, format="json")
    assert archived.status_code == 200 and archived.json()["is_archived"] is True
    again = nurse.post(url("document-archive", document), {"reason": "noch einmal"}, format="json")
    assert again.status_code == 409
    assert nurse.get(DOCUMENTS, {"patient": patient.pk}).json()["results"] == []
    assert len(nurse.get(DOCUMENTS, {"patient": patient.pk, "archived": "true"}).json()["results"]) == 1
    assert nurse.post(url("document-restore", document)).status_code == 403
    admin = api_for(ADMINISTRATOR)
    restored = admin.post(url("document-restore", document))
    assert restored.status_code == 200 and restored.json() == {
        "id": document.pk,
        "patient": patient.pk,
        "is_archived": False,
    }
    assert admin.post(url("document-restore", document)).status_code == 409
    assert nurse.post(url("image-archive", image), {"reason": "Unscharf"}, format="json").status_code == 200
    assert admin.post(url("image-restore", image)).status_code == 200
    image.refresh_from_db()
    assert not image.is_archived
