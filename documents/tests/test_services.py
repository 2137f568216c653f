"""Filing documents and images through documents.services: what is stored, what is refused, what is kept.

Every upload is a real file checked by its bytes. Stored names are random; the original name is display
text only. Versions accumulate and earlier ones stay readable; archive and restore only move a flag. A
refusal, or a database failure after the file was written, leaves neither a row nor a file behind.
"""

import hashlib
import io
import re
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError
from django.utils import timezone
from PIL import Image

from clinic.tests.files import stored_files
from clinical.tests.factories import MedicalRecordFactory
from documents import services
from documents.models import ClinicalDocument, DocumentVersion, PatientImage
from documents.tests.factories import clinician, pdf_bytes, photo_bytes
from patients.tests.factories import PatientFactory
from scheduling.tests.factories import AppointmentFactory

pytestmark = pytest.mark.django_db

Type = ClinicalDocument.Type
ORIENTATION, GPS_IFD = 0x0112, 0x8825
RED, BLUE = (220, 30, 30), (30, 30, 220)


def days_ago(n):
    return timezone.localdate() - timedelta(days=n)


def read(field_file):
    with field_file.open("rb") as f:
        return f.read()


def refusal(call, **kwargs):
    """The message_dict of the ValidationError the service raises."""
    with pytest.raises(ValidationError) as excinfo:
        call(**kwargs)
    return excinfo.value


def upload(name, data, content_type="application/octet-stream"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def file_document(patient, by, data=None, name="result.pdf", **fields):
    fields.setdefault("doc_type", Type.LAB_RESULT)
    fields.setdefault("title", "Full blood count")
    fields.setdefault("document_date", days_ago(2))
    return services.upload_document(
        patient=patient, by=by, uploaded=upload(name, data or pdf_bytes("fbc"), "application/pdf"), **fields
    )


def add_image(patient, by, data=None, name="photo.jpg", **fields):
    fields.setdefault("body_site", "Left shin")
    fields.setdefault("taken_on", days_ago(1))
    return services.upload_image(
        patient=patient, by=by, uploaded=upload(name, data or photo_bytes(seed=1), "image/jpeg"), **fields
    )


def halves_with_exif(orientation=6):
    """64x32 JPEG: red on the left, blue on the right, with an orientation and a GPS position."""
    image = Image.new("RGB", (64, 32), BLUE)
    image.paste(RED, (0, 0, 32, 32))
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(GPS_IFD)
    gps[1], gps[2] = "N", (51.0, 30.0, 12.0)
    gps[3], gps[4] = "W", (0.0, 7.0, 40.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=95)
    data = out.getvalue()
    # The control: what is sent really carries the position and the orientation.
    with Image.open(io.BytesIO(data)) as sent:
        assert sent.getexif()[ORIENTATION] == orientation
        assert sent.getexif().get_ifd(GPS_IFD)[1] == "N"
    return data


def close_to(pixel, colour, tolerance=40):
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=True))


# --- upload_document ------------------------------------------------------------------------------


def test_upload_document_files_the_document_with_its_first_version(media):
    patient, doctor = PatientFactory(), clinician()
    data = pdf_bytes("Hb 128 g/L")

    document = file_document(patient, doctor, data, name="Smith-HIV-result.pdf", notes="Fasting sample")

    document.refresh_from_db()
    version = document.current_version
    assert (document.patient, document.uploaded_by, document.notes) == (patient, doctor, "Fasting sample")
    assert list(document.versions.all()) == [version]
    assert version.number == 1
    assert (version.content_type, version.size, version.uploaded_by) == ("application/pdf", len(data), doctor)
    assert version.original_name == "Smith-HIV-result.pdf"
    assert version.sha256 == hashlib.sha256(data).hexdigest() == document.sha256
    assert read(version.file) == data
    assert stored_files(media) == [version.file.name]


def test_the_stored_name_is_random_and_never_contains_the_original_name():
    patient, doctor = PatientFactory(), clinician()
    first = file_document(patient, doctor, pdf_bytes("one"), name="Smith-HIV-result.pdf").current_version
    second = file_document(patient, doctor, pdf_bytes("two"), name="Smith-HIV-result.pdf").current_version

    for version in (first, second):
        assert re.fullmatch(rf"documents/{timezone.now():%Y}/[0-9a-f]{{32}}\.pdf", version.file.name)
        assert "Smith" not in version.file.name and "HIV" not in version.file.name
    assert first.file.name != second.file.name


def test_the_title_is_trimmed():
    document = file_document(PatientFactory(), clinician(), title="  Full blood count  ")

    assert document.title == "Full blood count"


def test_links_to_a_visit_and_a_record_of_the_same_patient_are_kept():
    patient = PatientFactory()
    visit, record = AppointmentFactory(patient=patient), MedicalRecordFactory(patient=patient)

    document = file_document(patient, clinician(), appointment=visit, medical_record=record)

    document.refresh_from_db()
    assert (document.appointment, document.medical_record) == (visit, record)


@pytest.mark.parametrize(
    ("field", "link", "message"),
    [
        ("appointment", AppointmentFactory, "This appointment belongs to another patient."),
        ("medical_record", MedicalRecordFactory, "This record belongs to another patient."),
    ],
)
def test_a_link_to_another_patients_visit_or_record_is_refused(media, field, link, message):
    patient, other = PatientFactory(), PatientFactory()

    error = refusal(file_document, patient=patient, by=clinician(), **{field: link(patient=other)})

    assert error.message_dict == {field: [message]}
    assert not ClinicalDocument.objects.exists() and not DocumentVersion.objects.exists()
    assert stored_files(media) == []


def test_a_document_dated_in_the_future_is_refused(media):
    tomorrow = timezone.localdate() + timedelta(days=1)

    error = refusal(file_document, patient=PatientFactory(), by=clinician(), document_date=tomorrow)

    assert error.message_dict == {"document_date": ["The date cannot be in the future."]}
    assert not ClinicalDocument.objects.exists()
    assert stored_files(media) == []


def test_a_document_dated_today_is_accepted():
    document = file_document(PatientFactory(), clinician(), document_date=timezone.localdate())

    assert document.document_date == timezone.localdate()


def test_a_file_that_is_not_accepted_is_refused_on_the_file_field(media):
    error = refusal(file_document, patient=PatientFactory(), by=clinician(), data=b"MZ\x90\x00" + b"\x00" * 200)

    assert error.message_dict == {
        "file": ["Only a PDF, JPEG, PNG or WebP file is accepted; this file is not one of them."]
    }
    assert not ClinicalDocument.objects.exists()
    assert stored_files(media) == []


def test_a_document_with_an_invalid_type_is_refused_and_leaves_no_file(media):
    error = refusal(file_document, patient=PatientFactory(), by=clinician(), doc_type="tax_return")

    assert "doc_type" in error.message_dict
    assert not ClinicalDocument.objects.exists()
    assert stored_files(media) == []


# --- duplicates -----------------------------------------------------------------------------------


def test_a_file_already_filed_as_a_document_of_the_patient_is_refused_naming_it(media):
    patient, doctor = PatientFactory(), clinician()
    data = pdf_bytes("the same report")
    first = file_document(patient, doctor, data, title="Thyroid panel", document_date=days_ago(3))
    before = stored_files(media)

    error = refusal(file_document, patient=patient, by=doctor, data=data, name="copy.pdf", title="Again")

    assert error.message_dict == {
        "file": [
            "This exact file is already on the patient's record as the document "
            f"'Thyroid panel' ({days_ago(3):%d %b %Y}, version 1)."
        ]
    }
    assert list(ClinicalDocument.objects.all()) == [first]
    assert stored_files(media) == before


def test_a_file_identical_to_an_earlier_version_is_refused_naming_that_version():
    patient, doctor = PatientFactory(), clinician()
    original = pdf_bytes("original")
    document = file_document(patient, doctor, original, title="Thyroid panel", document_date=days_ago(3))
    services.replace_document_file(document=document, uploaded=upload("v2.pdf", pdf_bytes("corrected")), by=doctor)

    error = refusal(file_document, patient=patient, by=doctor, data=original, title="Again")

    assert "the document 'Thyroid panel'" in error.messages[0]
    assert "version 1)" in error.messages[0]


def test_a_file_already_on_the_record_as_an_image_is_refused_naming_the_image(media):
    patient, doctor = PatientFactory(), clinician()
    photo = photo_bytes(seed=7)
    add_image(patient, doctor, photo, body_site="Sacrum", taken_on=days_ago(4))
    before = stored_files(media)

    # The same photo again, as an image or filed as a document: re-encoded, it is the same file.
    as_image = refusal(add_image, patient=patient, by=doctor, data=photo, body_site="Sacrum")
    as_document = refusal(file_document, patient=patient, by=doctor, data=photo, name="sacrum.jpg")

    expected = f"This exact file is already on the patient's record as the image 'Sacrum' taken {days_ago(4):%d %b %Y}."
    assert as_image.message_dict == {"file": [expected]}
    assert as_document.message_dict == {"file": [expected]}
    assert PatientImage.objects.count() == 1 and not ClinicalDocument.objects.exists()
    assert stored_files(media) == before


def test_a_document_already_on_the_record_cannot_come_back_as_an_image():
    patient, doctor = PatientFactory(), clinician()
    photo = photo_bytes(seed=8)
    file_document(patient, doctor, photo, name="wound.jpg", title="Wound photo", doc_type=Type.OTHER)

    error = refusal(add_image, patient=patient, by=doctor, data=photo)

    assert "the document 'Wound photo'" in error.message_dict["file"][0]
    assert not PatientImage.objects.exists()


def test_the_same_file_for_another_patient_is_accepted():
    doctor = clinician()
    data, photo = pdf_bytes("shared letter"), photo_bytes(seed=9)
    first = file_document(PatientFactory(), doctor, data)
    first_image = add_image(PatientFactory(), doctor, photo)

    second = file_document(PatientFactory(), doctor, data)
    second_image = add_image(PatientFactory(), doctor, photo)

    assert second.sha256 == first.sha256
    assert second_image.sha256 == first_image.sha256
    assert second.current_version.file.name != first.current_version.file.name


# --- replace_document_file ------------------------------------------------------------------------


def test_replacing_adds_version_2_as_current_and_keeps_version_1_readable(media):
    doctor, nurse = clinician(), clinician()
    original, corrected = pdf_bytes("Hb 98"), pdf_bytes("Hb 128")
    document = file_document(PatientFactory(), doctor, original, name="fbc.pdf")
    first = document.current_version

    second = services.replace_document_file(
        document=document, uploaded=upload("fbc-corrected.pdf", corrected), by=nurse, note="  Lab corrected Hb  "
    )

    document.refresh_from_db()
    first.refresh_from_db()
    assert document.current_version == second
    assert list(document.versions.all()) == [second, first]
    assert (second.number, second.uploaded_by, second.note) == (2, nurse, "Lab corrected Hb")
    assert second.original_name == "fbc-corrected.pdf"
    assert second.sha256 == hashlib.sha256(corrected).hexdigest() == document.sha256
    assert (first.number, first.original_name, first.sha256) == (1, "fbc.pdf", hashlib.sha256(original).hexdigest())
    assert read(first.file) == original
    assert read(second.file) == corrected
    assert stored_files(media) == sorted([first.file.name, second.file.name])


def test_each_replacement_numbers_the_next_version():
    doctor = clinician()
    document = file_document(PatientFactory(), doctor)
    for n in (2, 3):
        version = services.replace_document_file(
            document=document, uploaded=upload("n.pdf", pdf_bytes(str(n))), by=doctor
        )
        assert version.number == n

    assert list(document.versions.values_list("number", flat=True)) == [3, 2, 1]


def test_replacing_with_the_identical_file_is_refused(media):
    doctor = clinician()
    data = pdf_bytes("same")
    document = file_document(PatientFactory(), doctor, data)
    before = stored_files(media)

    error = refusal(services.replace_document_file, document=document, uploaded=upload("again.pdf", data), by=doctor)

    assert error.message_dict == {"file": ["This file is identical to the current version."]}
    assert document.versions.count() == 1
    assert stored_files(media) == before


def test_replacing_an_archived_document_is_refused(media):
    doctor = clinician()
    document = file_document(PatientFactory(), doctor)
    services.archive_document(document=document, by=doctor, reason="Filed on the wrong patient")
    before = stored_files(media)

    error = refusal(
        services.replace_document_file, document=document, uploaded=upload("new.pdf", pdf_bytes("new")), by=doctor
    )

    assert error.messages == ["An archived document cannot be changed; restore it first."]
    assert document.versions.count() == 1
    assert stored_files(media) == before


def test_replacing_with_a_file_that_is_not_accepted_is_refused_on_the_file_field(media):
    doctor = clinician()
    document = file_document(PatientFactory(), doctor)
    before = stored_files(media)

    error = refusal(
        services.replace_document_file,
        document=document,
        uploaded=upload("page.pdf", b"<html><script>alert(1)</script></html>"),
        by=doctor,
    )

    assert error.message_dict == {
        "file": ["This file has a web page or a script hidden inside it, so it is not accepted."]
    }
    assert stored_files(media) == before


# --- archive and restore --------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   "])
def test_archiving_needs_a_reason(reason):
    doctor = clinician()
    document = file_document(PatientFactory(), doctor)

    error = refusal(services.archive_document, document=document, by=doctor, reason=reason)

    assert error.message_dict == {"reason": ["Say why it is archived."]}
    document.refresh_from_db()
    assert not document.is_archived


def test_archiving_a_document_records_who_when_and_why_and_keeps_its_files(media):
    doctor, nurse = clinician(), clinician()
    document = file_document(PatientFactory(), doctor)
    before = stored_files(media)

    services.archive_document(document=document, by=nurse, reason="  Filed on the wrong patient ")

    document.refresh_from_db()
    assert document.is_archived
    assert document.archived_by == nurse
    assert document.archive_reason == "Filed on the wrong patient"
    assert timezone.now() - document.archived_at < timedelta(minutes=1)
    assert stored_files(media) == before
    assert document.versions.count() == 1


def test_archiving_twice_is_refused_and_keeps_the_first_details():
    doctor, nurse = clinician(), clinician()
    document = file_document(PatientFactory(), doctor)
    services.archive_document(document=document, by=doctor, reason="Duplicate")

    error = refusal(services.archive_document, document=document, by=nurse, reason="Again")

    assert error.messages == ["It is already archived."]
    document.refresh_from_db()
    assert (document.archived_by, document.archive_reason) == (doctor, "Duplicate")


def test_restoring_an_archived_document_shows_it_again():
    doctor = clinician()
    document = file_document(PatientFactory(), doctor)
    services.archive_document(document=document, by=doctor, reason="Duplicate")

    services.restore_document(document=document)

    document.refresh_from_db()
    assert not document.is_archived
    # Who hid it and why stays until it is archived again.
    assert document.archive_reason == "Duplicate"


def test_only_an_archived_document_can_be_restored():
    document = file_document(PatientFactory(), clinician())

    error = refusal(services.restore_document, document=document)

    assert error.messages == ["It is not archived."]


def test_an_image_is_archived_with_a_reason_and_restored():
    doctor = clinician()
    image = add_image(PatientFactory(), doctor)
    assert refusal(services.archive_image, image=image, by=doctor, reason=" ").message_dict == {
        "reason": ["Say why it is archived."]
    }
    assert refusal(services.restore_image, image=image).messages == ["It is not archived."]

    services.archive_image(image=image, by=doctor, reason="Blurred")
    image.refresh_from_db()
    assert (image.is_archived, image.archived_by, image.archive_reason) == (True, doctor, "Blurred")
    assert refusal(services.archive_image, image=image, by=doctor, reason="Again").messages == [
        "It is already archived."
    ]

    services.restore_image(image=image)
    image.refresh_from_db()
    assert not image.is_archived


# --- upload_image ---------------------------------------------------------------------------------


def test_upload_image_stores_the_image_a_thumbnail_and_its_dimensions(media):
    patient, doctor = PatientFactory(), clinician()

    image = add_image(
        patient, doctor, photo_bytes(size=(1000, 500), seed=3), name="Smith shin.jpg", description="Healing well"
    )

    image.refresh_from_db()
    assert (image.patient, image.uploaded_by, image.description) == (patient, doctor, "Healing well")
    assert (image.width, image.height, image.content_type) == (1000, 500, "image/jpeg")
    assert image.original_name == "Smith shin.jpg"
    stored = read(image.file)
    assert image.sha256 == hashlib.sha256(stored).hexdigest()
    assert image.size == len(stored)
    assert re.fullmatch(rf"images/{timezone.now():%Y}/[0-9a-f]{{32}}\.jpg", image.file.name)
    assert re.fullmatch(rf"thumbnails/{timezone.now():%Y}/[0-9a-f]{{32}}\.jpg", image.thumbnail.name)
    with Image.open(io.BytesIO(read(image.thumbnail))) as thumbnail:
        assert thumbnail.format == "JPEG"
        assert thumbnail.size == (320, 160)
    assert stored_files(media) == sorted([image.file.name, image.thumbnail.name])


def test_a_transparent_png_gets_a_jpeg_thumbnail_no_larger_than_320():
    image = Image.new("RGBA", (300, 900), (0, 0, 0, 0))
    out = io.BytesIO()
    image.save(out, "PNG")

    stored = add_image(PatientFactory(), clinician(), out.getvalue(), name="scan.png")

    assert (stored.content_type, stored.width, stored.height) == ("image/png", 300, 900)
    assert stored.file.name.endswith(".png")
    with Image.open(io.BytesIO(read(stored.thumbnail))) as thumbnail:
        assert thumbnail.format == "JPEG"
        assert max(thumbnail.size) <= 320
        assert thumbnail.size[1] == 320


def test_gps_and_other_exif_are_stripped_and_the_orientation_applied():
    image = add_image(PatientFactory(), clinician(), halves_with_exif(orientation=6), name="phone.jpg")

    # Orientation 6: turned a quarter clockwise, so the red left half is now on top.
    assert (image.width, image.height) == (32, 64)
    with Image.open(io.BytesIO(read(image.file))) as stored:
        assert stored.size == (32, 64)
        exif = stored.getexif()
        assert ORIENTATION not in exif
        assert not exif.get_ifd(GPS_IFD)
        assert b"PhoneMaker" not in read(image.file)
        rgb = stored.convert("RGB")
        assert close_to(rgb.getpixel((16, 8)), RED)
        assert close_to(rgb.getpixel((16, 56)), BLUE)
    with Image.open(io.BytesIO(read(image.thumbnail))) as thumbnail:
        assert thumbnail.size == (32, 64)
        assert not thumbnail.getexif().get_ifd(GPS_IFD)


def test_a_pdf_is_refused_as_an_image(media):
    error = refusal(add_image, patient=PatientFactory(), by=clinician(), data=pdf_bytes("x"), name="scan.pdf")

    assert error.message_dict == {"file": ["Only a JPEG, PNG or WebP image is accepted here."]}
    assert not PatientImage.objects.exists()
    assert stored_files(media) == []


def test_a_file_that_is_no_image_at_all_is_refused_as_an_image(media):
    error = refusal(add_image, patient=PatientFactory(), by=clinician(), data=b"GIF89a" + b"\x00" * 64, name="a.jpg")

    assert error.message_dict == {"file": ["Only a JPEG, PNG or WebP image is accepted; this file is not one of them."]}
    assert stored_files(media) == []


def test_the_body_site_is_normalised_and_folded_for_grouping():
    patient, doctor = PatientFactory(), clinician()

    first = add_image(patient, doctor, photo_bytes(seed=10), body_site="  Left   shin ")
    second = add_image(patient, doctor, photo_bytes(seed=11), body_site="left SHIN")
    other = add_image(patient, doctor, photo_bytes(seed=12), body_site="Right shin")

    first.refresh_from_db()
    assert first.body_site == "Left shin"
    assert first.body_site_key == second.body_site_key == "left shin"
    assert other.body_site_key != first.body_site_key


@pytest.mark.parametrize("body_site", ["", "   "])
def test_a_blank_body_site_is_refused(media, body_site):
    error = refusal(add_image, patient=PatientFactory(), by=clinician(), body_site=body_site)

    assert error.message_dict == {"body_site": ["Say where on the body (or a tag)."]}
    assert not PatientImage.objects.exists()
    assert stored_files(media) == []


def test_an_image_taken_in_the_future_is_refused(media):
    tomorrow = timezone.localdate() + timedelta(days=1)

    error = refusal(add_image, patient=PatientFactory(), by=clinician(), taken_on=tomorrow)

    assert error.message_dict == {"taken_on": ["The date cannot be in the future."]}
    assert stored_files(media) == []


def test_an_image_linked_to_another_patients_visit_is_refused(media):
    error = refusal(
        add_image, patient=PatientFactory(), by=clinician(), appointment=AppointmentFactory(patient=PatientFactory())
    )

    assert error.message_dict == {"appointment": ["This appointment belongs to another patient."]}
    assert stored_files(media) == []


def test_an_image_linked_to_the_patients_visit_keeps_the_link():
    patient = PatientFactory()
    visit = AppointmentFactory(patient=patient)

    image = add_image(patient, clinician(), appointment=visit)

    image.refresh_from_db()
    assert image.appointment == visit


# --- failures after the file was written ----------------------------------------------------------


def boom(*args, **kwargs):
    raise DatabaseError("the database went away")


def test_a_failed_version_save_removes_the_written_file_and_leaves_no_rows(media, monkeypatch):
    patient, doctor = PatientFactory(), clinician()
    written = []
    real_store = services._store

    def store_and_note(field_file, *args, **kwargs):
        real_store(field_file, *args, **kwargs)
        written.append(field_file.name)

    monkeypatch.setattr(services, "_store", store_and_note)
    monkeypatch.setattr(DocumentVersion, "save", boom)

    with pytest.raises(ValidationError, match="could not be stored; nothing was saved"):
        file_document(patient, doctor)

    assert len(written) == 1  # the control: the file really was written before the save failed
    assert not ClinicalDocument.objects.exists() and not DocumentVersion.objects.exists()
    assert stored_files(media) == []


def test_a_failure_linking_the_current_version_removes_the_file_and_rolls_back(media, monkeypatch):
    real_save = ClinicalDocument.save

    def fail_on_link(self, *args, **kwargs):
        if kwargs.get("update_fields") == ["current_version"]:
            raise DatabaseError("the database went away")
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(ClinicalDocument, "save", fail_on_link)

    with pytest.raises(ValidationError, match="could not be stored; nothing was saved"):
        file_document(PatientFactory(), clinician())

    assert not ClinicalDocument.objects.exists() and not DocumentVersion.objects.exists()
    assert stored_files(media) == []


def test_a_failed_replacement_removes_only_the_new_file(media, monkeypatch):
    doctor = clinician()
    original = pdf_bytes("original")
    document = file_document(PatientFactory(), doctor, original)
    first = document.current_version
    monkeypatch.setattr(DocumentVersion, "save", boom)

    with pytest.raises(ValidationError, match="could not be stored; nothing was saved"):
        services.replace_document_file(document=document, uploaded=upload("new.pdf", pdf_bytes("new")), by=doctor)

    document.refresh_from_db()
    assert document.current_version == first
    assert document.versions.count() == 1
    assert stored_files(media) == [first.file.name]
    assert read(first.file) == original


def test_a_failed_image_save_removes_the_image_and_its_thumbnail(media, monkeypatch):
    written = []
    real_full_clean = PatientImage.full_clean

    def note_then_fail(self, *args, **kwargs):
        written.extend([self.file.name, self.thumbnail.name])
        assert stored_files(media) == sorted(written)  # the control: both files are on disk now
        real_full_clean(self, *args, **kwargs)
        raise DatabaseError("the database went away")

    monkeypatch.setattr(PatientImage, "full_clean", note_then_fail)

    with pytest.raises(ValidationError, match="could not be stored; nothing was saved"):
        add_image(PatientFactory(), clinician())

    assert len(written) == 2
    assert not PatientImage.objects.exists()
    assert stored_files(media) == []


def test_a_failed_thumbnail_removes_the_stored_image(media, monkeypatch):
    def broken_thumbnail(content):
        assert len(stored_files(media)) == 1  # the control: the image itself was already written
        raise OSError("cannot write thumbnail")

    monkeypatch.setattr(services, "make_thumbnail", broken_thumbnail)

    with pytest.raises(ValidationError, match="could not be stored; nothing was saved"):
        add_image(PatientFactory(), clinician())

    assert not PatientImage.objects.exists()
    assert stored_files(media) == []


def test_an_image_refused_by_model_validation_leaves_no_file(media):
    # A body site too long for the column is refused by full_clean, after both files were written.
    error = refusal(add_image, patient=PatientFactory(), by=clinician(), body_site="x" * 101)

    assert "body_site" in error.message_dict
    assert not PatientImage.objects.exists()
    assert stored_files(media) == []
