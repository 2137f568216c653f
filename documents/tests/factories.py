"""Documents and images built through the services (the files are real and checked), for tests."""

import io
from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image, ImageDraw

from documents import services
from documents.models import ClinicalDocument
from patients.tests.factories import PatientFactory
from staff.roles import DOCTOR
from staff.tests.factories import UserFactory

_counter = iter(range(10**9))


def pdf_bytes(text="Lab report"):
    """A small well-formed PDF; `text` makes its bytes (and SHA-256) differ."""
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        + f"% {text}\n".encode()
        + b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )


def photo_bytes(image_format="JPEG", size=(640, 480), seed=None):
    """A photo-like image (a lesion on skin); each `seed` gives different pixels."""
    seed = next(_counter) if seed is None else seed
    image = Image.new("RGB", size, (225, 185, 165))
    r = 40 + seed % 60
    ImageDraw.Draw(image).ellipse(
        (size[0] // 2 - r, size[1] // 2 - r, size[0] // 2 + r, size[1] // 2 + r), fill=(170, 40 + seed % 100, 50)
    )
    out = io.BytesIO()
    image.save(out, image_format)
    return out.getvalue()


def pdf_upload(name="result.pdf", text=None):
    return SimpleUploadedFile(name, pdf_bytes(text or f"document {next(_counter)}"), content_type="application/pdf")


def photo_upload(name="photo.jpg", **kwargs):
    return SimpleUploadedFile(name, photo_bytes(**kwargs), content_type="image/jpeg")


def clinician():
    return UserFactory(roles=[DOCTOR])


def make_document(patient=None, by=None, doc_type=ClinicalDocument.Type.LAB_RESULT, title="Full blood count", **kwargs):
    return services.upload_document(
        patient=patient or PatientFactory(),
        uploaded=kwargs.pop("uploaded", None) or pdf_upload(),
        doc_type=doc_type,
        title=title,
        document_date=kwargs.pop("document_date", timezone.localdate() - timedelta(days=2)),
        by=by or clinician(),
        **kwargs,
    )


def make_image(patient=None, by=None, body_site="Left shin", **kwargs):
    return services.upload_image(
        patient=patient or PatientFactory(),
        uploaded=kwargs.pop("uploaded", None) or photo_upload(),
        body_site=body_site,
        taken_on=kwargs.pop("taken_on", timezone.localdate() - timedelta(days=1)),
        by=by or clinician(),
        **kwargs,
    )
