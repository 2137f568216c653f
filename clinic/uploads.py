"""Checking an uploaded file by its content before anything is stored.

What a file is comes from its bytes, never from its name or the browser's claim. PDF, JPEG, PNG and
WebP are accepted. Images are fully decoded by Pillow (with a decompression-bomb limit) and stored
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
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from PIL import Image, ImageOps

ACCEPTED_DESCRIPTION = "a PDF, JPEG, PNG or WebP file"
# Images above this many pixels are refused before decoding (Pillow's bomb check, made an error).
MAX_IMAGE_PIXELS = 50_000_000
_IMAGE_TYPES = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}
# PDF features that run code or launch programs when a file is opened.
# Long names are looked for everywhere; the short "/JS" key only in the PDF's own structure (outside
# its streams), because 3 bytes turn up by chance in the compressed data of a large scan.
_PDF_ACTIVE_CONTENT = re.compile(rb"/(JavaScript|Launch|EmbeddedFiles?|RichMedia)\b")
_PDF_SCRIPT_KEY = re.compile(rb"/JS\b")
_PDF_STREAM = re.compile(rb"stream\r?\n.*?endstream", re.DOTALL)
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
        return _checked_pdf(data, name)
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
        image.thumbnail((pixels, pixels))
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


def _checked_pdf(data, name):
    if b"%%EOF" not in data[-2048:]:
        raise ValidationError("This PDF is incomplete or damaged; upload the whole file.", code="truncated")
    if _PDF_ACTIVE_CONTENT.search(data) or _PDF_SCRIPT_KEY.search(_PDF_STREAM.sub(b"", data)):
        raise ValidationError(
            "This PDF contains scripts, attachments or launch actions, which are not accepted; "
            "print it to a new PDF or scan it instead.",
            code="active_content",
        )
    content = ContentFile(data)
    return CheckedUpload(content, "application/pdf", "pdf", _named_as(name, "pdf"), len(data), sha256_of(content))


def _checked_image(data, name, images_only=False):
    accepted = "a JPEG, PNG or WebP image" if images_only else ACCEPTED_DESCRIPTION
    refused = ValidationError(f"Only {accepted} is accepted; this file is not one of them.", code="type")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as image:
                if image.format not in _IMAGE_TYPES:
                    raise refused
                if image.width * image.height > MAX_IMAGE_PIXELS:
                    raise ValidationError("This image is too large to process.", code="too_many_pixels")
                image_format = image.format
                image.load()
                upright = ImageOps.exif_transpose(image)
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
        upright.convert("RGB").save(out, "JPEG", quality=90)
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
