"""A failure after a file starts being written leaves nothing behind and is said next to the file field.

A full disk half-way through a document, a photo or its thumbnail, a receipt in the finance admin; a
storage backend that fails (S3 through django-storages, stubbed with moto); the database failing
after the file was stored: each ends with the form shown again (200, never a 500) saying "The file
could not be stored; nothing was saved", no row, and no file in the media folder or the bucket.
Each test proves the file really was (partly) written before the failure, so the clean-up is seen.
"""

import errno
import os
from decimal import Decimal
from html import unescape
from unittest import mock

import pytest
from botocore.exceptions import EndpointConnectionError
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError
from django.urls import reverse
from django.utils import timezone
from storages.backends.s3 import S3Storage

from clinic.tests.files import stored_files
from clinic.uploads import NOT_STORED
from documents.models import ClinicalDocument, DocumentVersion, PatientImage
from documents.tests.factories import make_document, pdf_upload, photo_upload
from documents.tests.test_storage import keys, s3  # noqa: F401 (s3 is a fixture)
from finance.models import Expense, PaymentMethod
from finance.tests.factories import CategoryFactory, expense_with_receipt, png_bytes
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

FULL_DISK = "tests.test_upload_failures.HalfThenFullStorage"


class HalfThenFullStorage(FileSystemStorage):
    """Writes the first half of a file whose name starts with `failing` (any file if empty), then
    fails as a full disk does. Remembers what it left on disk at that moment (the control)."""

    failing = ""
    partial = []

    def _save(self, name, content):
        if not name.startswith(self.failing):
            return super()._save(name, content)
        data = content.read()
        path = self.path(name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as half:
            half.write(data[: len(data) // 2])
        HalfThenFullStorage.partial.append(name)
        raise OSError(errno.ENOSPC, "No space left on device", path)


@pytest.fixture
def full_disk(settings, media):
    """The media folder as a disk that fills up half-way through the next file (under `prefix`)."""

    def fill(prefix=""):
        HalfThenFullStorage.failing, HalfThenFullStorage.partial = prefix, []
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {"BACKEND": FULL_DISK, "OPTIONS": {"location": str(media)}},
        }
        return HalfThenFullStorage.partial

    return fill


def assert_told_and_nothing_saved(response, field="file"):
    assert response.status_code == 200
    assert response.context["form"].errors[field] == [NOT_STORED]
    assert NOT_STORED in unescape(response.content.decode())


def upload_document(client, patient):
    data = {
        "doc_type": ClinicalDocument.Type.LAB_RESULT,
        "title": "Full blood count",
        "document_date": timezone.localdate().isoformat(),
        "file": pdf_upload(),
    }
    return client.post(reverse("documents:upload", args=[patient.pk]), data)


def upload_photo(client, patient):
    data = {"body_site": "Left shin", "taken_on": timezone.localdate().isoformat(), "file": photo_upload()}
    return client.post(reverse("documents:image_upload", args=[patient.pk]), data)


# --- a full disk ------------------------------------------------------------------------------------


def test_a_full_disk_half_way_through_a_document_leaves_no_file_and_no_row(doctor_client, full_disk, media):
    partial = full_disk()

    response = upload_document(doctor_client, PatientFactory())

    assert_told_and_nothing_saved(response)
    assert len(partial) == 1  # the control: half the file was on the disk when it filled up
    assert stored_files(media) == []
    assert not ClinicalDocument.objects.exists() and not DocumentVersion.objects.exists()


def test_a_full_disk_during_a_new_version_keeps_the_document_as_it_was(doctor_client, full_disk, media):
    document = make_document()
    first = document.current_version
    partial = full_disk()

    response = doctor_client.post(
        reverse("documents:replace", args=[document.pk]), {"file": pdf_upload(), "note": "Corrected"}
    )

    assert_told_and_nothing_saved(response)
    assert len(partial) == 1
    document.refresh_from_db()
    assert document.current_version == first and document.versions.count() == 1
    assert stored_files(media) == [first.file.name]


@pytest.mark.parametrize("failing", ["images/", "thumbnails/"])
def test_a_full_disk_during_a_photo_or_its_thumbnail_leaves_neither(failing, nurse, full_disk, media):
    partial = full_disk(failing)

    response = upload_photo(nurse, PatientFactory())

    assert_told_and_nothing_saved(response)
    assert len(partial) == 1
    assert stored_files(media) == []
    assert not PatientImage.objects.exists()


def test_a_thumbnail_that_cannot_be_made_removes_the_stored_photo(doctor_client, media):
    stored = []
    real_save = FileSystemStorage._save

    def note(self, name, content):
        stored.append(name)
        return real_save(self, name, content)

    with (
        mock.patch.object(FileSystemStorage, "_save", note),
        mock.patch("documents.services.make_thumbnail", side_effect=OSError(errno.EIO, "Input/output error")),
    ):
        response = upload_photo(doctor_client, PatientFactory())

    assert_told_and_nothing_saved(response)
    assert len(stored) == 1  # the control: the photo itself was stored
    assert stored_files(media) == []
    assert not PatientImage.objects.exists()


# --- the database fails after the file was stored ---------------------------------------------------


@pytest.mark.parametrize(
    ("model", "upload"), [(DocumentVersion, upload_document), (PatientImage, upload_photo)], ids=["document", "photo"]
)
def test_a_database_error_after_storing_removes_the_file(model, upload, doctor_client, media):
    seen = []

    def fail(self, *args, **kwargs):
        seen.extend(stored_files(media))
        raise DatabaseError("could not extend file: No space left on device")

    with mock.patch.object(model, "save", fail):
        response = upload(doctor_client, PatientFactory())

    assert_told_and_nothing_saved(response)
    assert seen  # the control: the file(s) were in the folder when the database failed
    assert stored_files(media) == []
    assert not model.objects.exists() and not ClinicalDocument.objects.exists()


# --- S3 (moto) --------------------------------------------------------------------------------------


def test_s3_failing_after_the_photo_removes_the_photo_from_the_bucket(s3, doctor_client):  # noqa: F811
    real_save = S3Storage._save
    uploaded = []

    def photo_then_connection_lost(self, name, content):
        if name.startswith("thumbnails/"):
            raise EndpointConnectionError(endpoint_url="https://s3.eu-west-2.amazonaws.com")
        uploaded.append(real_save(self, name, content))
        return uploaded[-1]

    with mock.patch.object(S3Storage, "_save", photo_then_connection_lost):
        response = upload_photo(doctor_client, PatientFactory())

    assert_told_and_nothing_saved(response)
    assert len(uploaded) == 1  # the control: the photo reached the bucket
    assert keys(s3) == []
    assert not PatientImage.objects.exists()


def test_s3_and_a_database_error_leave_no_object(s3, doctor_client):  # noqa: F811
    with mock.patch.object(DocumentVersion, "save", side_effect=DatabaseError("server closed the connection")):
        response = upload_document(doctor_client, PatientFactory())

    assert_told_and_nothing_saved(response)
    assert keys(s3) == []
    assert not ClinicalDocument.objects.exists()


# --- a receipt in the finance admin -----------------------------------------------------------------


def add_expense(client):
    data = {
        "date": timezone.localdate().isoformat(),
        "amount": "84.20",
        "category": str(CategoryFactory(name="Supplies").pk),
        "reason": "Gloves, 20 boxes",
        "paid_to": "MedSupply Ltd",
        "method": PaymentMethod.CARD,
        "notes": "",
        "receipt_file": SimpleUploadedFile("till.png", png_bytes(), content_type="image/png"),
        "_save": "Save",
    }
    return client.post(reverse("admin:finance_expense_add"), data)


def assert_admin_told(response):
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["receipt_file"] == [NOT_STORED]
    assert NOT_STORED in unescape(response.content.decode())


def test_a_full_disk_during_a_receipt_leaves_no_expense_and_no_file(manager, full_disk, media):
    partial = full_disk()

    response = add_expense(manager)

    assert_admin_told(response)
    assert len(partial) == 1
    assert stored_files(media) == []
    assert not Expense.objects.exists()


def test_a_database_error_after_the_receipt_was_stored_removes_it(manager, media):
    seen = []

    def fail(self, *args, **kwargs):
        seen.extend(stored_files(media))
        raise DatabaseError("could not extend file: No space left on device")

    with mock.patch.object(Expense, "save", fail):
        response = add_expense(manager)

    assert_admin_told(response)
    assert seen
    assert stored_files(media) == []
    assert not Expense.objects.exists()


def test_a_new_receipt_for_an_existing_expense_that_fails_keeps_the_old_one(manager, full_disk, media):
    expense = expense_with_receipt()
    old = expense.receipt.name
    partial = full_disk()
    data = {
        "date": expense.date.isoformat(),
        "amount": "50.00",
        "category": str(expense.category_id),
        "reason": expense.reason,
        "paid_to": expense.paid_to,
        "method": expense.method,
        "notes": "",
        "receipt_file": SimpleUploadedFile("new.png", png_bytes(colour=(1, 2, 3)), content_type="image/png"),
        "_save": "Save",
    }

    response = manager.post(reverse("admin:finance_expense_change", args=[expense.pk]), data)

    assert_admin_told(response)
    assert len(partial) == 1
    expense.refresh_from_db()
    assert (expense.receipt.name, expense.amount) == (old, Decimal("42.00"))
    assert stored_files(media) == [old]
