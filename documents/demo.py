"""Demo documents and photos for `seed_demo`: lab results, referrals and consent forms as readable
PDFs, a corrected result with two versions, an archived duplicate, and wound photos followed over
weeks. Idempotent: nothing is added once any document exists. Files go through the same services
(and checks) as uploads."""

import io
import random
from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw, ImageFilter

from clinical.models import MedicalRecord
from staff.models import User

from . import services
from .models import ClinicalDocument

T = ClinicalDocument.Type
LAB_TESTS = [
    ("Full blood count", ["Haemoglobin 138 g/L (130-170)", "White cells 6.2 x10^9/L", "Platelets 251 x10^9/L"]),
    ("HbA1c", ["HbA1c 58 mmol/mol (target below 53)"]),
    ("Lipid profile", ["Total cholesterol 5.9 mmol/L", "LDL 3.8 mmol/L", "HDL 1.1 mmol/L", "Triglycerides 2.1 mmol/L"]),
    ("Renal function", ["Creatinine 88 umol/L", "eGFR 82 mL/min/1.73m2", "Potassium 4.3 mmol/L"]),
    ("Thyroid function", ["TSH 2.1 mU/L (0.4-4.0)", "Free T4 14 pmol/L"]),
]


def text_pdf(title, lines):
    """A one-page PDF with readable text (Helvetica), built by hand: no extra dependency for demo data."""

    def escape(text):
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    content = "BT /F1 16 Tf 60 780 Td (" + escape(title) + ") Tj /F1 11 Tf"
    for line in lines:
        content += " 0 -22 Td (" + escape(line) + ") Tj"
    content += " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]"
        " /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1"))
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def wound_photo(day, seed):
    """A healing wound: smaller and paler as the days go by."""
    rnd = random.Random(seed)
    image = Image.new("RGB", (800, 600), (224, 182, 160))
    radius = max(40, 170 - int(day * 2.8))
    redness = max(150, 205 - day)
    ImageDraw.Draw(image).ellipse(
        (400 - radius, 300 - radius * 0.7, 400 + radius, 300 + radius * 0.7),
        fill=(redness, 70 + rnd.randint(0, 20), 70),
    )
    image = image.filter(ImageFilter.GaussianBlur(3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def _pdf(name, title, lines):
    return SimpleUploadedFile(name, text_pdf(title, lines), content_type="application/pdf")


def seed_documents(seed=2026, today=None):
    """Returns how many documents and images were added (0 when they exist already)."""
    today = today or timezone.localdate()
    if ClinicalDocument.objects.exists():
        return 0
    with transaction.atomic():
        return _seed(seed, today)


def _seed(seed, today):
    rnd = random.Random(f"{seed}-documents")
    doctor = User.objects.get(username="doctor")
    nurse = User.objects.get(username="nurse")
    reception = User.objects.get(username="reception")
    records = list(
        MedicalRecord.objects.filter(status=MedicalRecord.Status.SIGNED, appointment__isnull=False)
        .select_related("patient", "appointment")
        .order_by("-appointment__start")[:12]
    )
    made = 0
    for index, record in enumerate(records):
        patient, visit_day = record.patient, timezone.localtime(record.appointment.start).date()
        title, lines = LAB_TESTS[index % len(LAB_TESTS)]
        services.upload_document(
            patient=patient,
            uploaded=_pdf(
                f"{title.lower().replace(' ', '-')}.pdf",
                f"{title}: {patient.full_name}, {visit_day:%d %b %Y}",
                [f"Lab no. L{40210 + index}", *lines],
            ),
            doc_type=T.LAB_RESULT,
            title=title,
            document_date=visit_day,
            by=doctor,
            appointment=record.appointment,
            medical_record=record,
        )
        made += 1
        if index % 3 == 0:
            services.upload_document(
                patient=patient,
                uploaded=_pdf(
                    "referral.pdf",
                    f"Referral letter, {visit_day:%d %b %Y}",
                    [f"Ref HS-{1200 + index}", f"Dear colleague, please see {patient.full_name}."],
                ),
                doc_type=T.REFERRAL,
                title="Referral from Hillside Surgery",
                document_date=visit_day - timedelta(days=rnd.randint(3, 20)),
                by=reception,
            )
            made += 1
        if index % 4 == 0:
            services.upload_document(
                patient=patient,
                uploaded=_pdf(
                    "consent.pdf",
                    f"Consent form, {visit_day:%d %b %Y}",
                    [f"Form C-{300 + index}: I, {patient.full_name}, consent."],
                ),
                doc_type=T.CONSENT,
                title="Consent to minor procedure",
                document_date=visit_day,
                by=reception,
            )
            made += 1
    if records:
        made += _corrections(records[0], doctor)
        made += _wound_series(records[1 % len(records)].patient, nurse, today)
    return made


def _corrections(record, doctor):
    """A result corrected by the lab (two versions) and a mistaken upload archived with a reason."""
    patient, day = record.patient, timezone.localtime(record.appointment.start).date()
    lines = ["Vitamin D 31 nmol/L (insufficient)"]
    document = services.upload_document(
        patient=patient,
        uploaded=_pdf("vitamin-d.pdf", "Vitamin D", lines),
        doc_type=T.LAB_RESULT,
        title="Vitamin D",
        document_date=day,
        by=doctor,
        appointment=record.appointment,
    )
    services.replace_document_file(
        document=document,
        uploaded=_pdf("vitamin-d-corrected.pdf", "Vitamin D (corrected)", ["Vitamin D 46 nmol/L (adequate)"]),
        by=doctor,
        note="The lab re-issued the report: the first run was haemolysed.",
    )
    wrong = services.upload_document(
        patient=patient,
        uploaded=_pdf("ecg.pdf", "ECG report", ["Sinus rhythm, 72 bpm"]),
        doc_type=T.IMAGING_REPORT,
        title="ECG report",
        document_date=day,
        by=doctor,
    )
    services.archive_document(document=wrong, by=doctor, reason="Filed on the wrong patient's record.")
    return 2


def _wound_series(patient, nurse, today):
    """Four photos of one leg ulcer over six weeks, and two of a mole."""
    made = 0
    for day in (42, 28, 14, 3):
        services.upload_image(
            patient=patient,
            uploaded=SimpleUploadedFile(f"IMG_{day}.jpg", wound_photo(42 - day, seed=day), content_type="image/jpeg"),
            body_site="Left shin",
            taken_on=today - timedelta(days=day),
            description="Venous leg ulcer, after cleaning, before dressing.",
            by=nurse,
        )
        made += 1
    for day in (90, 5):
        services.upload_image(
            patient=patient,
            uploaded=SimpleUploadedFile(f"MOLE_{day}.jpg", wound_photo(14, seed=day + 7), content_type="image/jpeg"),
            body_site="Mole, right shoulder",
            taken_on=today - timedelta(days=day),
            description="Monitoring for change in size or colour.",
            by=nurse,
        )
        made += 1
    return made
