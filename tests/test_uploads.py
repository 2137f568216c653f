"""What an uploaded file is comes from its bytes: clinic.uploads.check_upload and the names it keeps.

Every file here is built in memory. Accepted images come back re-encoded by Pillow, so metadata and
anything appended to the pixels are gone; everything else is refused with a message for the user.
"""

import io
import random
import re
import struct
import zlib

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from clinic import uploads
from clinic.uploads import check_upload, display_name, random_name
from finance.models import receipt_upload_to

NOT_ACCEPTED = "Only a PDF, JPEG, PNG or WebP file is accepted"
DAMAGED = "This image is damaged or incomplete"
TOO_MANY_PIXELS = "This image is too large to process."

MINIMAL_PDF = (
    b"%PDF-1.4\n"
    b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
    b"xref\n0 3\n0000000000 65535 f \n0000000009 00000 n \n0000000058 00000 n \n"
    b"trailer\n<< /Size 3 /Root 1 0 R >>\nstartxref\n110\n%%EOF\n"
)


def upload(data, name="file.bin"):
    return SimpleUploadedFile(name, data)


def refusal(data, name="file.bin"):
    with pytest.raises(ValidationError) as excinfo:
        check_upload(upload(data, name))
    return " ".join(excinfo.value.messages)


def stored_bytes(checked):
    checked.content.seek(0)
    return checked.content.read()


def image_bytes(image_format, size=(40, 20), mode="RGB", **save_args):
    # Noise rather than a flat colour, so a cut through the file lands inside the pixel data.
    image = Image.frombytes(mode, size, bytes((i * 37) % 251 for i in range(size[0] * size[1] * len(mode))))
    out = io.BytesIO()
    image.save(out, image_format, **save_args)
    return out.getvalue()


def png_claiming(width, height):
    """A tiny PNG whose header says it is width x height: what a decompression bomb shows before decoding."""
    data = bytearray(image_bytes("PNG", size=(1, 1), mode="L"))
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def jpeg_with_exif(orientation=1, size=(40, 20)):
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (51.0, 30.0, 12.0)
    gps[3], gps[4] = "W", (0.0, 7.0, 40.0)
    data = image_bytes("JPEG", size=size, exif=exif)
    # The control: the file sent really carries the GPS position and the orientation.
    with Image.open(io.BytesIO(data)) as sent:
        assert sent.getexif().get_ifd(0x8825)[1] == "N"
        assert sent.getexif()[0x0112] == orientation
    return data


# --- PDF ----------------------------------------------------------------------------------------


def test_a_well_formed_pdf_is_accepted_as_it_was_sent():
    checked = check_upload(upload(MINIMAL_PDF, "Invoice March.pdf"))

    assert (checked.content_type, checked.extension) == ("application/pdf", "pdf")
    assert checked.display_name == "Invoice March.pdf"
    assert checked.size == len(MINIMAL_PDF)
    assert stored_bytes(checked) == MINIMAL_PDF


def test_a_pdf_is_recognised_by_its_bytes_whatever_its_name():
    checked = check_upload(upload(MINIMAL_PDF, "scan.png"))

    assert (checked.content_type, checked.extension) == ("application/pdf", "pdf")


def test_a_truncated_pdf_is_refused():
    cut = MINIMAL_PDF[: MINIMAL_PDF.index(b"%%EOF")]

    assert "This PDF is incomplete or damaged" in refusal(cut, "invoice.pdf")


@pytest.mark.parametrize(
    "active",
    [
        b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>",
        b"/OpenAction << /S /Launch /F (cmd.exe) >>",
        b"/Names << /EmbeddedFiles << /Names [(a.exe) 3 0 R] >> >>",
    ],
    ids=["javascript", "launch", "embedded-file"],
)
def test_a_pdf_with_active_content_is_refused(active):
    pdf = MINIMAL_PDF.replace(b"/Type /Catalog", b"/Type /Catalog " + active)

    message = refusal(pdf, "invoice.pdf")

    assert "This PDF contains scripts, attachments or launch actions" in message


# --- images -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image_format", "content_type", "extension"),
    [("PNG", "image/png", "png"), ("JPEG", "image/jpeg", "jpg"), ("WEBP", "image/webp", "webp")],
)
def test_images_are_accepted_and_stored_re_encoded(image_format, content_type, extension):
    sent = image_bytes(image_format, size=(40, 20))

    checked = check_upload(upload(sent, f"photo.{extension}"))

    assert (checked.content_type, checked.extension) == (content_type, extension)
    data = stored_bytes(checked)
    assert checked.size == len(data)
    with Image.open(io.BytesIO(data)) as stored:
        assert stored.format == image_format
        assert stored.size == (40, 20)


def test_an_image_is_recognised_by_its_bytes_whatever_its_name():
    checked = check_upload(upload(image_bytes("PNG"), "report.pdf"))

    assert (checked.content_type, checked.extension) == ("image/png", "png")
    assert checked.display_name == "report.png"  # the name follows the content


def test_a_jpeg_loses_its_exif_and_gps_position():
    checked = check_upload(upload(jpeg_with_exif(orientation=1), "photo.jpg"))

    data = stored_bytes(checked)
    assert b"Exif" not in data
    assert b"PhoneMaker" not in data
    with Image.open(io.BytesIO(data)) as stored:
        exif = stored.getexif()
        assert 0x8825 not in exif
        assert not exif.get_ifd(0x8825)
        assert stored.size == (40, 20)


SECRET_NOTE = b"Patient VIP-4711 private note"


def _jpeg_with_comment():
    out = io.BytesIO()
    Image.new("RGB", (40, 20), "teal").save(out, "JPEG", comment=SECRET_NOTE)
    return out.getvalue()


def _png_with_text_and_profile():
    from PIL import ImageCms, PngImagePlugin

    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", SECRET_NOTE.decode())
    text.add_itxt("Author", SECRET_NOTE.decode())
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    Image.new("RGB", (40, 20), "teal").save(out, "PNG", pnginfo=text, icc_profile=profile)
    return out.getvalue()


def _webp_with_xmp():
    out = io.BytesIO()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">' + SECRET_NOTE + b"</x:xmpmeta>"
    Image.new("RGB", (40, 20), "teal").save(out, "WEBP", xmp=xmp, exif=Image.Exif().tobytes())
    return out.getvalue()


@pytest.mark.parametrize(
    ("make", "name"),
    [(_jpeg_with_comment, "photo.jpg"), (_png_with_text_and_profile, "photo.png"), (_webp_with_xmp, "photo.webp")],
)
def test_comments_text_and_profiles_do_not_survive_re_encoding(make, name):
    original = make()
    assert SECRET_NOTE in original or zlib.compress(SECRET_NOTE) in original or b"Author" in original

    data = stored_bytes(check_upload(upload(original, name)))

    assert SECRET_NOTE not in data
    with Image.open(io.BytesIO(data)) as stored:
        metadata = {"comment", "icc_profile", "xmp", "exif", "Comment", "Author", "XML:com.adobe.xmp"}
        assert not metadata & set(stored.info)
        assert stored.size == (40, 20)


def test_a_transparent_palette_png_keeps_its_transparency():
    image = Image.new("P", (10, 10), 0)
    image.putpalette([255, 0, 0, 0, 0, 255])
    image.info["transparency"] = 0
    out = io.BytesIO()
    image.save(out, "PNG", transparency=0)

    data = stored_bytes(check_upload(upload(out.getvalue(), "dot.png")))

    with Image.open(io.BytesIO(data)) as stored:
        assert stored.info.get("transparency") == 0


def test_a_jpeg_is_turned_upright_by_its_exif_orientation():
    # Orientation 6: the camera was turned a quarter; the stored image is the right way up.
    checked = check_upload(upload(jpeg_with_exif(orientation=6, size=(40, 20)), "photo.jpg"))

    with Image.open(io.BytesIO(stored_bytes(checked))) as stored:
        assert stored.size == (20, 40)
        assert 0x0112 not in stored.getexif()


HIDDEN = "has a web page or a script hidden inside it"


@pytest.mark.parametrize(
    "payload",
    [
        b"<html><script>alert(document.cookie)</script></html>",
        b"<SVG onload=alert(1)>",
        b"<?php system($_GET['c']); ?>",
    ],
)
def test_a_polyglot_image_is_refused(payload):
    sent = image_bytes("PNG") + payload
    with Image.open(io.BytesIO(sent)) as image:  # the control: Pillow reads it as a valid PNG
        image.verify()

    assert HIDDEN in refusal(sent, "photo.png")


def test_random_compressed_data_in_a_large_pdf_is_not_mistaken_for_scripts_or_markup():
    # 3-byte "/JS" turns up by chance about once in 16 MB of compressed data; a scanned PDF is mostly that.
    rng = random.Random(4)
    stream = bytes(rng.getrandbits(8) for _ in range(200_000)) + b"/JS<svg>/js<html "
    sent = b"%PDF-1.4\n1 0 obj<</Length 9/Filter/FlateDecode>>stream\n" + stream + b"\nendstream\nendobj\n"
    sent += b"trailer<</Root 1 0 R>>\n%%EOF\n"

    assert check_upload(upload(sent, "scan.pdf")).content_type == "application/pdf"


def test_a_pdf_carrying_a_web_page_is_refused():
    sent = MINIMAL_PDF.replace(b"%%EOF", b"<html><body onload=alert(1)></body></html>\n%%EOF")

    assert HIDDEN in refusal(sent, "lab.pdf")


def test_a_jpeg_with_trailing_bytes_that_are_not_markup_is_stored_without_them():
    # Phones append motion-photo video after the JPEG's end; the stored copy is the picture alone.
    sent = image_bytes("JPEG") + b"\x00ftypmp42" + bytes(range(256)) * 4

    data = stored_bytes(check_upload(upload(sent, "photo.jpg")))

    assert b"ftypmp42" not in data
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG"


# --- refused types ------------------------------------------------------------------------------


def gif_bytes():
    out = io.BytesIO()
    Image.new("P", (4, 4)).save(out, "GIF")
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "name"),
    [
        pytest.param(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 200 + b"This program", "invoice.pdf", id="exe"),
        pytest.param(b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>", "page.png", id="html"),
        pytest.param(
            b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "logo.svg",
            id="svg-with-script",
        ),
        pytest.param(b"Dear clinic, please find my receipt attached.\n", "receipt.txt", id="text"),
        pytest.param(b"PK\x03\x04" + b"\x00" * 100, "receipt.docx", id="zip"),
        pytest.param(gif_bytes(), "receipt.gif", id="gif"),
    ],
)
def test_files_that_are_not_a_pdf_or_accepted_image_are_refused(data, name):
    message = refusal(data, name)
    assert NOT_ACCEPTED in message or HIDDEN in message


@pytest.mark.parametrize("image_format", ["PNG", "JPEG"])
def test_a_truncated_image_is_refused_as_damaged(image_format):
    whole = image_bytes(image_format, size=(64, 64))

    assert DAMAGED in refusal(whole[: len(whole) // 2], "photo")


def test_an_empty_file_is_refused():
    assert "The file is empty." in refusal(b"", "empty.pdf")


def test_a_file_over_the_size_limit_is_refused(settings):
    settings.UPLOAD_MAX_MB = 1
    too_big = MINIMAL_PDF + b"%" * int(1.1 * 1024 * 1024)

    message = refusal(too_big, "big.pdf")

    assert "The file is 1.1 MB; the limit is 1 MB." in message


def test_a_file_exactly_at_the_size_limit_is_accepted(settings):
    settings.UPLOAD_MAX_MB = 1
    padding = 1024 * 1024 - len(MINIMAL_PDF)
    at_limit = MINIMAL_PDF.replace(b"%%EOF", b"%" * padding + b"\n%%EOF")[: 1024 * 1024]
    assert len(at_limit) == 1024 * 1024

    assert check_upload(upload(at_limit, "big.pdf")).size == 1024 * 1024


@pytest.mark.parametrize(
    ("width", "height"),
    [(20_000, 20_000), (10_000, 10_000), (8_000, 8_000)],
    ids=["beyond-pillows-error", "beyond-pillows-warning", "beyond-the-clinics-limit"],
)
def test_a_decompression_bomb_is_refused_before_decoding(width, height):
    assert TOO_MANY_PIXELS in refusal(png_claiming(width, height), "bomb.png")


def test_the_pixel_limit_is_the_clinics_own(monkeypatch):
    sent = image_bytes("PNG", size=(40, 20))
    assert check_upload(upload(sent, "photo.png")).content_type == "image/png"  # the control

    monkeypatch.setattr(uploads, "MAX_IMAGE_PIXELS", 40 * 20 - 1)

    assert TOO_MANY_PIXELS in refusal(sent, "photo.png")


# --- names --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ("../../etc/passwd", "passwd"),
        ("/var/www/../../etc/shadow", "shadow"),
        ("..\\..\\Windows\\System32\\evil.exe", "evil.exe"),
        ("C:\\Users\\anna\\Desktop\\receipt.pdf", "receipt.pdf"),
        ("re\x00ceipt\x1f.pdf", "receipt.pdf"),
        ("receipt\r\nSet-Cookie: x=1.pdf", "receiptSet-Cookie: x=1.pdf"),
        ("tab\there\x7f.png", "tabhere.png"),
        ("  spaced.pdf  ", "spaced.pdf"),
        ("e\u0301cole.pdf", "\u00e9cole.pdf"),
        ("..", "file"),
        ("", "file"),
        (None, "file"),
    ],
)
def test_display_name_keeps_only_safe_text_of_the_last_part(sent, shown):
    assert display_name(sent) == shown


def test_a_long_name_is_shortened_and_keeps_its_extension():
    name = display_name("a" * 296 + ".pdf")

    assert len(name) <= 150
    assert name.endswith("….pdf")
    assert name.startswith("aaaa")


@pytest.mark.parametrize("name", ["..\\..\\boot.ini", "lab\x00.pdf.exe", "report\n.pdf"])
def test_crafted_file_names_are_refused(name):
    assert "file name" in refusal(MINIMAL_PDF, name)


def test_django_reduces_a_path_to_its_last_part_and_caps_the_length():
    # Django's UploadedFile (and its multipart parser, which also drops control characters and
    # names like "..") hand us a bare name; what is stored is a random name anyway.
    assert check_upload(upload(MINIMAL_PDF, "../../etc/passwd")).display_name == "passwd.pdf"
    assert len(upload(MINIMAL_PDF, "a" * 300 + ".pdf").name) == 255


def test_check_upload_keeps_an_ordinary_name_for_display():
    checked = check_upload(upload(MINIMAL_PDF, "Lab results – März 2026.pdf"))

    assert checked.display_name == "Lab results – März 2026.pdf"
    assert len(checked.sha256) == 64


def test_random_name_is_in_its_folder_and_year_with_the_extension():
    name = random_name("receipts", "pdf")

    assert re.fullmatch(rf"receipts/{timezone.now():%Y}/[0-9a-f]{{32}}\.pdf", name)


def test_random_names_differ_each_call():
    names = {random_name("receipts", "png") for _ in range(50)}

    assert len(names) == 50


def test_a_stored_receipt_name_never_contains_the_original_name():
    names = [receipt_upload_to(None, "anna-smith-bank-statement.pdf") for _ in range(5)]

    assert len(set(names)) == 5
    for name in names:
        assert "anna" not in name and "statement" not in name
        assert re.fullmatch(r"receipts/\d{4}/[0-9a-f]{32}\.pdf", name)
