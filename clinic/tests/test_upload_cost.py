"""What one upload may cost a worker: an image or PDF that would take seconds or hundreds of
megabytes to check is refused from its header or its size, before the expensive part begins.

Three gunicorn workers of four threads each share the machine; a few costly files must not stall
them all. The bounds and the measurements behind them are in clinic/uploads.py.
"""

import io
import struct
import time
import zlib

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from clinic import uploads
from clinic.tests.pdfs import CATALOG, PAGES, pdf, pdf_with_object_stream
from clinic.uploads import check_upload, make_thumbnail

TOO_LARGE = "This image is too large to process."
TOO_COMPLEX = "This PDF is too complex to check"


def refusal(data, name):
    with pytest.raises(ValidationError) as excinfo:
        check_upload(SimpleUploadedFile(name, data))
    return " ".join(excinfo.value.messages)


def _chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def blank_png(width, height, color_type=6, bit_depth=8):
    """A real, fully decodable PNG of one colour, a few hundred KB however large it is: what a
    decompression bomb looks like. Built row by row so the test never holds the pixels."""
    channels = {0: 1, 2: 3, 6: 4}[color_type]
    row = b"\x00" * (1 + width * channels * bit_depth // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


# --- images -------------------------------------------------------------------------------------


def test_a_colour_image_too_costly_to_decode_is_refused_from_its_header_quickly():
    # 6000 x 6000 RGBA: 36 megapixels, under the pixel ceiling, but 144 MB once decoded.
    sent = blank_png(6000, 6000)
    assert len(sent) < 300_000

    message, seconds = timed(refusal, sent, "scan.png")

    assert TOO_LARGE in message
    assert seconds < 0.5


def test_grey_pixels_cost_less_so_more_of_them_are_accepted():
    # The same 36 megapixels in 8-bit grey hold 36 MB: accepted.
    checked, seconds = timed(check_upload, SimpleUploadedFile("scan.png", blank_png(6000, 6000, color_type=0)))

    assert (checked.width, checked.height) == (6000, 6000)
    assert seconds < 3


def test_a_phone_photo_is_checked_and_thumbnailed_within_a_second_or_two():
    out = io.BytesIO()
    Image.linear_gradient("L").resize((4032, 3024)).convert("RGB").save(out, "JPEG", quality=90)
    sent = SimpleUploadedFile("IMG_0001.jpg", out.getvalue())

    start = time.perf_counter()
    checked = check_upload(sent)
    thumbnail = make_thumbnail(checked.content)
    seconds = time.perf_counter() - start

    assert (checked.width, checked.height) == (4032, 3024)
    with Image.open(thumbnail) as small:
        assert max(small.size) <= uploads.THUMBNAIL_PIXELS
    assert seconds < 2


def test_a_large_webp_has_its_own_lower_ceiling(monkeypatch):
    out = io.BytesIO()
    Image.new("RGB", (40, 20), "teal").save(out, "WEBP")
    assert check_upload(SimpleUploadedFile("photo.webp", out.getvalue())).width == 40  # the control

    monkeypatch.setattr(uploads, "MAX_WEBP_PIXELS", 40 * 20 - 1)

    assert TOO_LARGE in refusal(out.getvalue(), "photo.webp")


def test_a_16_bit_grey_image_gets_a_thumbnail():
    # Exports from X-ray and scanner software; Pillow cannot shrink 16-bit grey as it is.
    out = io.BytesIO()
    Image.linear_gradient("L").resize((600, 400)).convert("I").point(lambda value: value * 256).convert("I;16").save(
        out, "PNG"
    )
    checked = check_upload(SimpleUploadedFile("xray.png", out.getvalue()))

    with Image.open(make_thumbnail(checked.content)) as small:
        assert small.size == (320, 213)
        assert small.getpixel((0, 0)) < 20  # dark stays dark and bright stays bright in 8 bits
        assert small.getpixel((0, 212)) > 230


def test_a_jpeg_thumbnail_is_decoded_at_a_fraction_of_its_size():
    out = io.BytesIO()
    Image.new("RGB", (4000, 3000), "teal").save(out, "JPEG")
    with Image.open(io.BytesIO(out.getvalue())) as image:
        image.draft("RGB", (320, 320))
        assert image.size == (500, 375)  # the control: what draft() decodes

    with Image.open(make_thumbnail(ContentFile(out.getvalue()))) as small:
        assert small.size == (320, 240)


# --- PDFs ---------------------------------------------------------------------------------------


def test_a_pdf_of_too_many_objects_is_refused_quickly():
    sent = pdf_with_object_stream([CATALOG, PAGES.replace(b"[3 0 R] /Count 1", b"[] /Count 0")], [b"0"] * 60_000)

    message, seconds = timed(refusal, sent, "report.pdf")

    assert TOO_COMPLEX in message
    assert seconds < 1


def test_a_pdf_whose_structure_is_megabytes_of_brackets_is_refused_quickly():
    nested = b"<< /A " * 400_000 + b"0" + b" >>" * 400_000
    sent = pdf(CATALOG, PAGES.replace(b"[3 0 R] /Count 1", b"[] /Count 0"), nested)

    message, seconds = timed(refusal, sent, "report.pdf")

    assert TOO_COMPLEX in message
    assert seconds < 1
