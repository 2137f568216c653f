"""Where uploaded files are kept and the only way they leave: the local folder and S3 (stubbed with moto).

Files are never under the static files, never served by a URL of their own (no URL pattern serves
MEDIA_URL, whitenoise serves static files only), and stream out through the permission-checked views
with their type, nosniff, a Content-Disposition carrying the display name, no caching, and the exact
stored bytes. On S3 the objects sit under random keys in a private bucket, with the same downloads.
"""

import hashlib
import importlib
import re
from pathlib import Path

import boto3
import pytest
import requests
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import DatabaseError
from django.urls import Resolver404, resolve, reverse
from moto import mock_aws

from documents import services
from documents.models import DocumentVersion
from documents.tests.factories import make_document, make_image, pdf_bytes, pdf_upload, photo_upload
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

BUCKET, REGION = "clinic-media", "eu-west-2"
PUBLIC_GROUPS = {
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
}
RANDOM_KEY = r"(documents|images|thumbnails)/\d{4}/[0-9a-f]{32}\.(pdf|jpg|png|webp)"


def files_under(folder):
    return sorted(p for p in folder.rglob("*") if p.is_file())


def read(field_file):
    with field_file.open("rb") as f:
        return f.read()


def fetch(client, name, *args, query=None):
    response = client.get(reverse(f"documents:{name}", args=args), query or {})
    assert response.status_code == 200
    assert response.streaming  # streamed from storage, never loaded into a page
    return response, b"".join(response.streaming_content)


def assert_private_headers(response, content_type, disposition):
    assert response["Content-Type"] == content_type
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]
    assert response["Content-Disposition"] == disposition


def the_files(patient=None):
    """A PDF filed under a name with a space, and a JPEG photo, for one patient."""
    patient = patient or PatientFactory()
    document = make_document(patient=patient, uploaded=pdf_upload("Lab result.pdf", text="local bytes"))
    image = make_image(patient=patient, uploaded=photo_upload("left shin.jpg", seed=21))
    return document, image


# --- local folder ---------------------------------------------------------------------------------


def test_files_land_under_the_per_test_media_folder(media):
    document, image = the_files()
    names = [document.current_version.file.name, image.file.name, image.thumbnail.name]

    assert isinstance(default_storage._wrapped, FileSystemStorage)
    assert files_under(media) == sorted(media / name for name in names)
    for name in names:
        assert re.fullmatch(RANDOM_KEY, name)
        assert Path(default_storage.path(name)).resolve().is_relative_to(media.resolve())


def test_the_configured_media_folder_is_apart_from_the_static_files():
    # The settings module as written (the test run points STATIC_ROOT elsewhere).
    configured = importlib.import_module("clinic.settings")
    media_root = Path(configured.MEDIA_ROOT).resolve()
    static_roots = [Path(configured.STATIC_ROOT).resolve(), *(Path(d).resolve() for d in configured.STATICFILES_DIRS)]

    for static_root in static_roots:
        assert not media_root.is_relative_to(static_root)
        assert not static_root.is_relative_to(media_root)


def test_no_url_pattern_serves_the_media_folder(doctor_client):
    document, image = the_files()

    for name in (document.current_version.file.name, image.file.name, image.thumbnail.name):
        with pytest.raises(Resolver404):
            resolve(f"/media/{name}")
        response = doctor_client.get(f"/media/{name}")
        assert response.status_code == 404
        assert not getattr(response, "streaming", False)


def test_whitenoise_serves_static_files_but_never_an_upload(doctor_client, media):
    document, image = the_files()
    # The control: whitenoise is in the stack and serves what is static.
    assert doctor_client.get("/static/css/clinic.css").status_code == 200

    for name in (document.current_version.file.name, image.file.name, image.thumbnail.name):
        for path in (f"/static/{name}", f"/static/media/{name}", f"/static/../media/{name}"):
            response = doctor_client.get(path)
            assert response.status_code == 404, path
            assert not getattr(response, "streaming", False)


def test_a_document_streams_inline_with_its_display_name_and_exact_bytes(doctor_client):
    document, _ = the_files()
    version = document.current_version

    response, body = fetch(doctor_client, "download", version.pk)

    assert_private_headers(response, "application/pdf", 'inline; filename="Lab result.pdf"')
    assert body == read(version.file) == pdf_bytes("local bytes")
    assert hashlib.sha256(body).hexdigest() == version.sha256


def test_a_document_downloads_as_an_attachment_on_request(doctor_client):
    document, _ = the_files()

    response, body = fetch(doctor_client, "download", document.current_version.pk, query={"download": "1"})

    assert_private_headers(response, "application/pdf", 'attachment; filename="Lab result.pdf"')
    assert body == read(document.current_version.file)


def test_a_display_name_beyond_ascii_is_encoded_in_the_header(doctor_client):
    document = make_document(uploaded=pdf_upload("Befund März.pdf"))

    response, _ = fetch(doctor_client, "download", document.current_version.pk)

    assert response["Content-Disposition"] == "inline; filename*=utf-8''Befund%20M%C3%A4rz.pdf"


def test_an_image_and_its_thumbnail_stream_with_their_headers(doctor_client):
    _, image = the_files()

    response, body = fetch(doctor_client, "image_file", image.pk)
    assert_private_headers(response, "image/jpeg", 'inline; filename="left shin.jpg"')
    assert response["Content-Security-Policy"].startswith("sandbox")
    assert body == read(image.file)
    assert hashlib.sha256(body).hexdigest() == image.sha256

    response, body = fetch(doctor_client, "image_file", image.pk, query={"download": "1"})
    assert response["Content-Disposition"] == 'attachment; filename="left shin.jpg"'

    response, body = fetch(doctor_client, "image_thumbnail", image.pk)
    assert_private_headers(response, "image/jpeg", 'inline; filename="thumbnail.jpg"')
    assert response["Content-Security-Policy"].startswith("sandbox")
    assert body == read(image.thumbnail)
    assert body != read(image.file)


def test_a_png_streams_as_a_png(doctor_client):
    image = make_image(uploaded=photo_upload("scan.png", image_format="PNG", seed=22))

    response, body = fetch(doctor_client, "image_file", image.pk)

    assert response["Content-Type"] == "image/png"
    assert body == read(image.file)


def test_every_version_stays_downloadable_after_a_replacement(doctor_client, media):
    document, _ = the_files()
    first = document.current_version
    second = services.replace_document_file(
        document=document, uploaded=pdf_upload("Lab result v2.pdf", text="corrected"), by=doctor_client.user
    )

    _, old = fetch(doctor_client, "download", first.pk)
    _, new = fetch(doctor_client, "download", second.pk)

    assert old == pdf_bytes("local bytes")
    assert new == pdf_bytes("corrected")
    assert len(files_under(media)) == 4  # both versions, the photo and its thumbnail


# --- S3 (moto) ------------------------------------------------------------------------------------


@pytest.fixture
def s3(settings, monkeypatch):
    """A private bucket in moto's stub of S3, set as the default storage for this test only."""
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(variable, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": {
                    "bucket_name": BUCKET,
                    "region_name": REGION,
                    "access_key": "testing",
                    "secret_key": "testing",
                    "default_acl": "private",
                    "querystring_auth": True,
                    "querystring_expire": 60,
                    "file_overwrite": False,
                },
            },
        }
        yield client


def keys(client):
    return sorted(item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def body_of(client, key):
    return client.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def public_grants(client, key):
    grants = client.get_object_acl(Bucket=BUCKET, Key=key)["Grants"]
    return [g for g in grants if g["Grantee"].get("URI") in PUBLIC_GROUPS]


def test_s3_uploads_are_objects_under_random_keys(s3, media):
    document, image = the_files()
    version = document.current_version

    assert default_storage._wrapped.__class__.__name__ == "S3Storage"
    assert keys(s3) == sorted([version.file.name, image.file.name, image.thumbnail.name])
    for key in keys(s3):
        assert re.fullmatch(RANDOM_KEY, key)
        assert "shin" not in key and "Lab" not in key
    assert body_of(s3, version.file.name) == pdf_bytes("local bytes")
    assert hashlib.sha256(body_of(s3, version.file.name)).hexdigest() == version.sha256
    assert hashlib.sha256(body_of(s3, image.file.name)).hexdigest() == image.sha256
    assert files_under(media) == []  # nothing on the local disk


def test_s3_objects_are_private(s3):
    document, image = the_files()
    # The control: a public object is seen as public by the same checks.
    s3.put_object(Bucket=BUCKET, Key="public-control.txt", Body=b"x", ACL="public-read")
    assert public_grants(s3, "public-control.txt")
    control_url = f"https://{BUCKET}.s3.{REGION}.amazonaws.com/public-control.txt"
    assert requests.get(control_url, timeout=5).status_code == 200

    for field_file in (document.current_version.file, image.file, image.thumbnail):
        assert public_grants(s3, field_file.name) == []
        grantees = [g["Grantee"].get("ID") for g in s3.get_object_acl(Bucket=BUCKET, Key=field_file.name)["Grants"]]
        assert len(grantees) == 1  # the bucket owner, nobody else
        assert (
            requests.get(f"https://{BUCKET}.s3.{REGION}.amazonaws.com/{field_file.name}", timeout=5).status_code == 403
        )
        # A storage URL is signed and short-lived, never a bare public address.
        url = field_file.url
        assert "X-Amz-Signature=" in url and "X-Amz-Expires=60" in url


def test_s3_downloads_stream_through_the_views_with_the_same_headers(s3, doctor_client):
    document, image = the_files()
    version = document.current_version

    response, body = fetch(doctor_client, "download", version.pk)
    assert_private_headers(response, "application/pdf", 'inline; filename="Lab result.pdf"')
    assert body == body_of(s3, version.file.name) == pdf_bytes("local bytes")

    response, body = fetch(doctor_client, "download", version.pk, query={"download": "1"})
    assert_private_headers(response, "application/pdf", 'attachment; filename="Lab result.pdf"')
    assert body == pdf_bytes("local bytes")

    response, body = fetch(doctor_client, "image_file", image.pk)
    assert_private_headers(response, "image/jpeg", 'inline; filename="left shin.jpg"')
    assert body == body_of(s3, image.file.name)

    response, body = fetch(doctor_client, "image_thumbnail", image.pk)
    assert_private_headers(response, "image/jpeg", 'inline; filename="thumbnail.jpg"')
    assert body == body_of(s3, image.thumbnail.name)


def test_a_version_replaced_on_s3_keeps_both_objects(s3, doctor_client):
    document, _ = the_files()
    first = document.current_version

    second = services.replace_document_file(
        document=document, uploaded=pdf_upload("Lab result v2.pdf", text="corrected"), by=doctor_client.user
    )

    assert {first.file.name, second.file.name} <= set(keys(s3))
    assert first.file.name != second.file.name
    assert body_of(s3, first.file.name) == pdf_bytes("local bytes")
    assert body_of(s3, second.file.name) == pdf_bytes("corrected")
    assert fetch(doctor_client, "download", first.pk)[1] == pdf_bytes("local bytes")
    assert fetch(doctor_client, "download", second.pk)[1] == pdf_bytes("corrected")


def test_a_failed_save_on_s3_removes_the_object_it_wrote(s3, monkeypatch):
    written = []

    def fail_after_upload(self, *args, **kwargs):
        written.append(self.file.name)
        assert self.file.name in keys(s3)  # the control: the object was really uploaded
        raise DatabaseError("the database went away")

    monkeypatch.setattr(DocumentVersion, "save", fail_after_upload)

    with pytest.raises(ValidationError, match="could not be stored; nothing was saved"):
        make_document()

    assert len(written) == 1
    assert keys(s3) == []
    assert not DocumentVersion.objects.exists()


def test_an_identical_photo_is_refused_on_s3_without_a_new_object(s3):
    patient = PatientFactory()
    make_image(patient=patient, uploaded=photo_upload(seed=23))
    before = keys(s3)

    with pytest.raises(ValidationError, match="already on the patient's record"):
        make_image(patient=patient, uploaded=photo_upload(seed=23))

    assert keys(s3) == before


def test_the_local_folder_is_the_default_again_after_the_s3_tests(media):
    # Runs after the S3 tests of this module: the settings fixture gave the local backend back.
    image = make_image(uploaded=photo_upload(seed=24))

    assert isinstance(default_storage._wrapped, FileSystemStorage)
    assert Path(default_storage.location).resolve() == media.resolve()
    assert (media / image.file.name).is_file()
