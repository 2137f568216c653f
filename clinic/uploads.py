"""Checking an uploaded file by its content before anything is stored.

What a file is comes from its bytes, never from its name or the browser's claim. PDF, JPEG, PNG and
WebP are accepted. A PDF is parsed with pypdf and every object it holds is searched for active
content (scripts, launch actions, attached files, XFA forms), whatever its name escapes or
compression. Images are fully decoded by Pillow (with a decompression-bomb limit) and stored
re-encoded: that applies the orientation, drops EXIF/GPS metadata, and drops any payload appended
to the pixels (a PNG with HTML after it passes a header check; see FIELD-NOTES).
"""

import hashlib
import io
import logging
import os
import re
import unicodedata
import uuid
import warnings
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from PIL import Image, ImageOps
from pypdf import PdfReader, apply_configuration
from pypdf.errors import LimitReachedError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

ACCEPTED_DESCRIPTION = "a PDF, JPEG, PNG or WebP file"
# An image is refused before decoding when its pixels, or the memory Pillow needs to hold them, pass
# these bounds: decoding and re-encoding cost time and memory by pixels and bytes, not by file size
# (a 156 KB PNG can claim 7000 x 7000). Pillow holds 1 byte a pixel for bilevel, grey and palette
# images, 2 for 16-bit grey and 4 for everything else (RGB included). 128 MiB is 33 megapixels of
# colour: every phone's default photo (12-24 MP) and an A4 scan at 600 dpi (35 MP grey) fit. Measured
# here, the costliest accepted image (33 MP RGBA PNG) takes 1.4 s and 260 MB with its thumbnail.
MAX_IMAGE_PIXELS = 40_000_000
MAX_IMAGE_DECODED_BYTES = 128 * 1024 * 1024
# libwebp's encoder needs ~12 bytes a pixel and took 4 s for 33 MP: WebP (rare from a camera) has its
# own cap (16 MP: 1.7 s and 280 MB with its thumbnail).
MAX_WEBP_PIXELS = 16_000_000
_IMAGE_TYPES = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}
# PDF names (as keys or values) of features that run code, start a program, carry a file or send
# what is typed into a form elsewhere when a file is opened: scripts (actions and the document's
# script tree), launch actions, attached files and actions that open them, Flash-style players, XFA
# forms (which carry their own scripts), and actions that submit a form, import data or open another
# file (a network path there leaks the reader's Windows credentials). Links (/URI) stay allowed.
_PDF_ACTIVE_NAMES = frozenset(
    [
        "/JavaScript",
        "/JS",
        "/Launch",
        "/EmbeddedFile",
        "/EmbeddedFiles",
        "/FileAttachment",
        "/GoToE",
        "/RichMedia",
        "/RichMediaExecute",
        "/XFA",
        "/SubmitForm",
        "/ImportData",
        "/GoToR",
    ]
)
# The same names in the raw bytes, for objects a viewer may find but the parsed cross-reference table
# does not list (an older revision, an object outside the table). Long names are looked for
# everywhere; short ones only in the PDF's own structure (outside its streams), because 3 bytes turn
# up by chance in the compressed data of a large scan.
_PDF_ACTIVE_CONTENT = re.compile(rb"/(JavaScript|Launch|EmbeddedFiles?|RichMedia)\b")
_PDF_ACTIVE_KEY = re.compile(
    rb"/(JavaScript|JS|Launch|EmbeddedFiles?|FileAttachment|GoToE|RichMedia(Execute)?|XFA|SubmitForm|ImportData|GoToR)"
    rb"(?![^\s/\[\]<>(){}%])"
)
_PDF_STREAM = re.compile(rb"stream\r?\n.*?endstream", re.DOTALL)
# A name written with #xx escapes ("/J#61vaScript" is "/JavaScript").
_PDF_ESCAPED_NAME = re.compile(rb"/[^\s/\[\]<>(){}%]*#[0-9A-Fa-f]{2}[^\s/\[\]<>(){}%]*")
_PDF_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
# Bounds on the work a PDF may cost. pypdf parses ~3-4 MB of dictionaries and arrays a second here,
# so 20 MB of them (or of brackets nested a million deep) would hold a worker for 5-8 s: the PDF's
# structure (what is outside its streams, plus its decompressed object streams) is capped, and so are
# its objects and the items walked. Real documents stay far below: a 300-page text report from fpdf2
# is 0.4 MB in all; a scan is mostly image streams, which are never decoded here.
MAX_PDF_STRUCTURE_BYTES = 1536 * 1024
MAX_PDF_OBJECTS = 50_000
MAX_PDF_ITEMS = 1_000_000
# pypdf warns once per token it has to skip in a broken file: hundreds of thousands of log lines (and
# most of the time spent) for a hostile one. The outcome (refused as damaged) is what matters here.
logging.getLogger("pypdf").setLevel(logging.ERROR)
# A web page or script hidden inside a PDF or an image (a polyglot): refused outright. Each pattern is
# at least 6 bytes with its delimiter, so compressed pixel data matches one by chance about once in
# 10^11 files of 20 MB; a PDF is searched outside its streams only.
_HIDDEN_MARKUP = re.compile(
    rb"<(script|iframe|object|embed|!doctype\s+html|\?php|(html|body|svg)[\s>/])", re.IGNORECASE
)
MAX_NAME_LENGTH = 255
THUMBNAIL_PIXELS = 320
NOT_STORED = "The file could not be stored; nothing was saved."

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckedUpload:
    content: ContentFile
    content_type: str
    extension: str
    display_name: str
    size: int
    sha256: str = ""
    width: int | None = None
    height: int | None = None

    @property
    def is_image(self):
        return self.content_type.startswith("image/")


def display_name(name, limit=150):
    """The original name as safe display text: no folders, control characters or null bytes."""
    name = unicodedata.normalize("NFC", str(name or ""))
    name = name.replace("\\", "/").split("/")[-1]
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip().strip(".") or "file"
    if len(name) > limit:
        stem, ext = os.path.splitext(name)
        ext = ext[:10]
        name = stem[: limit - len(ext) - 1] + "…" + ext
    return name


def random_name(folder, extension):
    """A stored name nobody can guess or choose: <folder>/<year>/<random>.<ext>."""
    from django.utils import timezone

    return f"{folder}/{timezone.now():%Y}/{uuid.uuid4().hex}.{extension}"


def check_upload(uploaded, *, images_only=False):
    """Return a CheckedUpload ready to store, or raise ValidationError with a message for the user."""
    limit_mb = settings.UPLOAD_MAX_MB
    size = uploaded.size or 0
    _check_name(getattr(uploaded, "name", "") or "")
    if size == 0:
        raise ValidationError("The file is empty.", code="empty")
    if size > limit_mb * 1024 * 1024:
        raise ValidationError(f"The file is {size / 1024 / 1024:.1f} MB; the limit is {limit_mb} MB.", code="too_large")
    uploaded.seek(0)
    data = uploaded.read()
    structure = _PDF_STREAM.sub(b"stream endstream", data) if data.startswith(b"%PDF-") else data
    if _HIDDEN_MARKUP.search(structure):
        raise ValidationError(
            "This file has a web page or a script hidden inside it, so it is not accepted.", code="polyglot"
        )
    name = display_name(getattr(uploaded, "name", ""))
    if data.startswith(b"%PDF-"):
        if images_only:
            raise ValidationError("Only a JPEG, PNG or WebP image is accepted here.", code="type")
        return _checked_pdf(data, name, structure)
    return _checked_image(data, name, images_only)


def _check_name(name):
    # Browsers send a bare file name; separators, "..", control characters or a name longer than a
    # file system allows come only from crafted requests.
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError(f"The file name is longer than {MAX_NAME_LENGTH} characters; shorten it.", code="name")
    if re.search(r"[\x00-\x1f\x7f/\\]", name) or name.strip() in {".", ".."}:
        raise ValidationError(
            "The file name contains folder separators or control characters; rename the file.", code="name"
        )


def sha256_of(content):
    digest = hashlib.sha256()
    for chunk in content.chunks():
        digest.update(chunk)
    content.seek(0)
    return digest.hexdigest()


def make_thumbnail(content, pixels=THUMBNAIL_PIXELS):
    """A JPEG no larger than `pixels` on its longest side, from an already checked image."""
    content.seek(0)
    with Image.open(content) as image:
        # A JPEG decodes straight at 1/2 to 1/8 of its size: a fraction of the time and memory.
        image.draft("RGB", (pixels, pixels))
        if image.mode.startswith("I;16"):
            image = image.convert("I")  # Pillow shrinks 32-bit grey but not 16-bit
        image.thumbnail((pixels, pixels))
        if image.mode == "I":
            image = image.point(lambda value: value / 256).convert("L")  # 16-bit grey to 8 bits, once small
        if image.mode not in ("RGB", "L"):
            background = Image.new("RGB", image.size, "white")
            background.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
            image = background
        out = io.BytesIO()
        image.save(out, "JPEG", quality=85)
    content.seek(0)
    return ContentFile(out.getvalue())


def _named_as(name, extension):
    """The display name ends with the real type's extension ('photo.jpg' holding a PDF -> 'photo.pdf')."""
    stem, current = os.path.splitext(name)
    aliases = {"jpg": {"jpg", "jpeg"}}.get(extension, {extension})
    return name if current[1:].lower() in aliases else f"{stem or 'file'}.{extension}"


def _checked_pdf(data, name, structure):
    damaged = ValidationError("This PDF is incomplete or damaged; upload the whole file.", code="truncated")
    if b"%%EOF" not in data[-2048:]:
        raise damaged
    active = ValidationError(
        "This PDF contains scripts, attachments or launch actions, which are not accepted; "
        "print it to a new PDF or scan it instead.",
        code="active_content",
    )
    if _PDF_ACTIVE_CONTENT.search(data) or _PDF_ACTIVE_KEY.search(_unescaped_names(structure)):
        raise active
    too_complex = ValidationError(
        "This PDF is too complex to check; print it to a new PDF or scan it instead.", code="too_complex"
    )
    if len(structure) > MAX_PDF_STRUCTURE_BYTES:
        raise too_complex
    # Only cross-reference and object streams are decoded here, never page contents or images.
    with apply_configuration(
        zlib_maximum_output_length=MAX_PDF_STRUCTURE_BYTES,
        lzw_maximum_output_length=MAX_PDF_STRUCTURE_BYTES,
        run_length_maximum_output_length=MAX_PDF_STRUCTURE_BYTES,
        stream_decoding_work_maximum_length=MAX_PDF_STRUCTURE_BYTES,
    ):
        reader = _pdf_reader(data)
        if reader is None or not isinstance(_pdf_catalog(reader), DictionaryObject):
            raise damaged
        if reader.is_encrypted:
            # Encrypted strings and streams cannot be searched without decrypting them (AES needs a
            # crypto library the clinic does not ship), and a password the clinic lacks locks the record.
            raise ValidationError(
                "This PDF is password-protected or encrypted, so it cannot be checked; save or print it as "
                "a new PDF without protection and upload that.",
                code="encrypted",
            )
        try:
            found = _pdf_active_content(reader, len(structure))
        except (_TooComplex, LimitReachedError) as exc:
            raise too_complex from exc
        except Exception as exc:  # pypdf raises many kinds for objects it cannot read
            raise damaged from exc
    if found:
        raise active
    content = ContentFile(data)
    return CheckedUpload(content, "application/pdf", "pdf", _named_as(name, "pdf"), len(data), sha256_of(content))


class _TooComplex(Exception):
    pass


def _unescaped_names(structure):
    def unescape(match):
        return _PDF_NAME_ESCAPE.sub(lambda escape: bytes([int(escape[1], 16)]), match[0])

    return _PDF_ESCAPED_NAME.sub(unescape, structure)


def _pdf_reader(data):
    """pypdf's reader for `data`, or None if it cannot be read even the way a viewer repairs a file."""
    for attempt in (data, data + b"\nstartxref\n0\n%%EOF\n"):
        # The second attempt has no usable pointer to the cross-reference table, so pypdf rebuilds it
        # by scanning for objects, as viewers do with a file that lost its table or its end.
        with suppress(Exception):  # pypdf raises many kinds for unreadable data
            return PdfReader(io.BytesIO(attempt), strict=False)
    return None


def _pdf_catalog(reader):
    # A file with no document catalog has no pages: whatever a repair found in it is not a document.
    try:
        return reader.trailer.get("/Root", None).get_object()
    except Exception:  # a missing, dangling or unreadable /Root
        return None


def _pdf_active_content(reader, structure_bytes):
    """The first active-content name found in any object of the PDF, or None.

    Every object pypdf can resolve is visited: those listed in the cross-reference table and those
    packed (compressed) in object streams. Names come back unescaped from pypdf's parser. References
    are not followed, since the object they point to is visited on its own.
    """
    numbers = [(number, generation) for generation, table in reader.xref.items() for number in table]
    numbers += [(number, 0) for number in reader.xref_objStm]
    if len(numbers) > MAX_PDF_OBJECTS:
        raise _TooComplex(f"{len(numbers)} objects")
    for number in {stream for stream, _ in reader.xref_objStm.values()}:
        structure_bytes += len(reader.get_object(number).get_data())
        if structure_bytes > MAX_PDF_STRUCTURE_BYTES:
            raise _TooComplex("object streams")
    budget = MAX_PDF_ITEMS
    roots = [reader.trailer] + [IndirectObject(number, generation, reader) for number, generation in numbers]
    for root in roots:
        stack = [root.get_object() if isinstance(root, IndirectObject) else root]
        while stack:
            item = stack.pop()
            budget -= 1
            if budget < 0:
                raise _TooComplex("items")
            if isinstance(item, DictionaryObject):  # a stream's dictionary too, not its data
                for key, value in dict.items(item):
                    if key in _PDF_ACTIVE_NAMES:
                        return key
                    stack.append(value)
            elif isinstance(item, ArrayObject):
                stack.extend(list.__iter__(item))
            elif isinstance(item, NameObject) and item in _PDF_ACTIVE_NAMES:
                return str(item)
    return None


def _checked_image(data, name, images_only=False):
    accepted = "a JPEG, PNG or WebP image" if images_only else ACCEPTED_DESCRIPTION
    refused = ValidationError(f"Only {accepted} is accepted; this file is not one of them.", code="type")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as image:
                if image.format not in _IMAGE_TYPES:
                    raise refused
                _check_image_cost(image)
                image_format = image.format
                image.load()
                # In place: a turned copy would hold a second full-size image in memory.
                ImageOps.exif_transpose(image, in_place=True)
                upright = image
        except ValidationError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ValidationError("This image is too large to process.", code="too_many_pixels") from exc
        except Exception as exc:  # Pillow raises many kinds for unreadable or truncated data.
            if data[:4] in (b"\x89PNG", b"\xff\xd8\xff\xe0", b"\xff\xd8\xff\xe1", b"RIFF"):
                raise ValidationError("This image is damaged or incomplete; upload it again.", code="damaged") from exc
            raise refused from exc
    content_type, extension = _IMAGE_TYPES[image_format]
    # Pillow's savers take comments, EXIF, XMP, ICC profiles and text chunks from `info` when not told
    # otherwise; keep only a palette's transparency (pixels, not metadata).
    upright.info = {key: value for key, value in upright.info.items() if key == "transparency"}
    out = io.BytesIO()
    if image_format == "JPEG":
        (upright if upright.mode in ("RGB", "L") else upright.convert("RGB")).save(out, "JPEG", quality=90)
    elif image_format == "WEBP":
        # method 2 of 0-6: half the encoding time of the default 4, files ~2 % larger.
        upright.save(out, "WEBP", method=2)  # no exif/icc/xmp arguments: metadata is not copied
    else:
        upright.save(out, image_format)  # no exif/icc arguments: metadata is not copied
    content = ContentFile(out.getvalue())
    return CheckedUpload(
        content,
        content_type,
        extension,
        _named_as(name, extension),
        out.tell(),
        sha256_of(content),
        upright.width,
        upright.height,
    )


def _check_image_cost(image):
    """Refuse, from the header alone, an image whose decoding would cost too much time or memory."""
    pixels = image.width * image.height
    bytes_per_pixel = 1 if image.mode in ("1", "L", "P") else 2 if image.mode.startswith("I;16") else 4
    most = min(MAX_IMAGE_PIXELS, MAX_WEBP_PIXELS) if image.format == "WEBP" else MAX_IMAGE_PIXELS
    if pixels > most or pixels * bytes_per_pixel > MAX_IMAGE_DECODED_BYTES:
        raise ValidationError("This image is too large to process.", code="too_many_pixels")


# --- storing, all or nothing ---------------------------------------------------------------------


@contextmanager
def stored_or_removed(field="file"):
    """Files stored in the block (through `store`) are removed again if anything in it fails.

    A full disk, a storage backend's error, a failed thumbnail or a database error after the file
    was written all end the same way for the person uploading: no row, no file, and a
    ValidationError for `field` saying so (the cause goes to the error log). A ValidationError from
    the block (a refused file, a duplicate) passes through unchanged.
    """
    written = []
    try:
        yield written
    except BaseException as exc:
        for storage, name in written:
            _remove(storage, name)
        if isinstance(exc, ValidationError) or not isinstance(exc, Exception):
            raise
        logger.error("Upload not stored (%s): %s", type(exc).__name__, exc, exc_info=exc)
        raise ValidationError({field: NOT_STORED}, code="not_stored") from exc


def store(field_file, filename, content, written):
    """Save `content` into a FileField (not the row), noting its name in `written` before a byte is
    written: a write that fails half-way (ENOSPC, EIO, a broken connection to S3) is removed too.

    Does what FieldFile.save does, but with the stored name known before the write starts.
    """
    storage = field_file.storage
    # Every upload_to here makes a random name (uuid4), so the name removed on failure is this one's.
    name = field_file.field.generate_filename(field_file.instance, filename)
    written.append((storage, name))
    stored = storage.save(name, content, max_length=field_file.field.max_length)
    if stored != name:
        written.append((storage, stored))
    field_file.name = stored
    setattr(field_file.instance, field_file.field.attname, stored)
    field_file._committed = True
    return stored


def _remove(storage, name):
    try:
        storage.delete(name)  # a name never written is no error (local folder and S3 alike)
    except Exception:
        # The upload fails either way; an operator can remove this file by its name.
        logger.exception("Could not remove %s after a failed upload", name)
