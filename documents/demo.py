"""Demo documents and photos for `seed_demo`: lab results, referrals and consent forms as readable
PDFs, a corrected result with two versions, an archived duplicate, and wound photos followed over
weeks. Idempotent: nothing is added once any document exists. Files go through the same services
(and checks) as uploads."""

import functools
import io
import logging
import random
import unicodedata
from datetime import timedelta
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from fontTools.ttLib import TTFont
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFilter
from unidecode import unidecode

from clinical.models import MedicalRecord
from staff.models import User

from . import services
from .models import ClinicalDocument

T = ClinicalDocument.Type
# DejaVu Sans 2.37 cut down to Latin, Greek and Cyrillic (a third of the glyphs, loaded in half the time);
# Bitstream Vera licence with public-domain DejaVu changes, and how it was cut: fonts/LICENSE.txt.
FONT = Path(__file__).resolve().parent / "fonts" / "DejaVuSans-LatinGreekCyrillic.ttf"
RIGHT_TO_LEFT = {"R", "AL", "AN"}
# fpdf2 subsets the font through fontTools, which logs every table it touches at INFO.
logging.getLogger("fontTools").setLevel(logging.WARNING)
LAB_TESTS = [
    ("Full blood count", ["Haemoglobin 138 g/L (130-170)", "White cells 6.2 x10^9/L", "Platelets 251 x10^9/L"]),
    ("HbA1c", ["HbA1c 58 mmol/mol (target below 53)"]),
    ("Lipid profile", ["Total cholesterol 5.9 mmol/L", "LDL 3.8 mmol/L", "HDL 1.1 mmol/L", "Triglycerides 2.1 mmol/L"]),
    ("Renal function", ["Creatinine 88 umol/L", "eGFR 82 mL/min/1.73m2", "Potassium 4.3 mmol/L"]),
    ("Thyroid function", ["TSH 2.1 mU/L (0.4-4.0)", "Free T4 14 pmol/L"]),
]


def text_pdf(title, lines):
    """A one-page PDF with readable text in DejaVu Sans (shipped in documents/fonts, so any name in
    Latin, Greek or Cyrillic script prints as written, on any machine)."""
    pdf = FPDF(format="A4")
    pdf.set_creator("Clinic demo data")
    pdf.add_font("DejaVuSans", fname=str(FONT))
    pdf.add_page()
    pdf.set_font("DejaVuSans", size=16)
    pdf.multi_cell(0, 10, printable(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVuSans", size=11)
    for line in lines:
        pdf.multi_cell(0, 8, printable(line), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


@functools.cache
def _font_characters():
    return frozenset(TTFont(FONT, lazy=True).getBestCmap())


def printable(text):
    """The text as the font can print it without text shaping: characters it lacks (CJK, emoji) and
    right-to-left scripts (which would come out unjoined and backwards) are transliterated, or "?"."""
    known = _font_characters()
    return "".join(
        char
        if ord(char) in known and unicodedata.bidirectional(char) not in RIGHT_TO_LEFT
        else (unidecode(char) or "?")
        for char in text
    )


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


def seed_documents(seed=2026, today=None, written=None):
    """Returns how many documents and images were added (0 when they exist already). Each file
    stored is added to `written` as (storage, name), for removal if the demo fails later."""
    today = today or timezone.localdate()
    if ClinicalDocument.objects.exists():
        return 0
    written = [] if written is None else written
    with transaction.atomic():
        return _seed(seed, today, written)


def _kept(written, stored):
    """Note the files of a document (every version) or an image just stored; returns it."""
    if isinstance(stored, ClinicalDocument):
        files = [version.file for version in stored.versions.all()]
    else:
        files = [stored.file, stored.thumbnail]
    written.extend((file.storage, file.name) for file in files if file)
    return stored


def _seed(seed, today, written):
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
        _kept(
            written,
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
            ),
        )
        made += 1
        if index % 3 == 0:
            _kept(
                written,
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
                ),
            )
            made += 1
        if index % 4 == 0:
            _kept(
                written,
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
                ),
            )
            made += 1
    if records:
        made += _corrections(records[0], doctor, written)
        made += _wound_series(records[1 % len(records)].patient, nurse, today, written)
    return made


def _corrections(record, doctor, written):
    """A result corrected by the lab (two versions) and a mistaken upload archived with a reason."""
    patient, day = record.patient, timezone.localtime(record.appointment.start).date()
    lines = ["Vitamin D 31 nmol/L (insufficient)"]
    document = _kept(
        written,
        services.upload_document(
            patient=patient,
            uploaded=_pdf("vitamin-d.pdf", "Vitamin D", lines),
            doc_type=T.LAB_RESULT,
            title="Vitamin D",
            document_date=day,
            by=doctor,
            appointment=record.appointment,
        ),
    )
    services.replace_document_file(
        document=document,
        uploaded=_pdf("vitamin-d-corrected.pdf", "Vitamin D (corrected)", ["Vitamin D 46 nmol/L (adequate)"]),
        by=doctor,
        note="The lab re-issued the report: the first run was haemolysed.",
    )
    _kept(written, document)
    wrong = _kept(
        written,
        services.upload_document(
            patient=patient,
            uploaded=_pdf("ecg.pdf", "ECG report", ["Sinus rhythm, 72 bpm"]),
            doc_type=T.IMAGING_REPORT,
            title="ECG report",
            document_date=day,
            by=doctor,
        ),
    )
    services.archive_document(document=wrong, by=doctor, reason="Filed on the wrong patient's record.")
    return 2


def _wound_series(patient, nurse, today, written):
    """Four photos of one leg ulcer over six weeks, and two of a mole."""
    made = 0
    for day in (42, 28, 14, 3):
        _kept(
            written,
            services.upload_image(
                patient=patient,
                uploaded=SimpleUploadedFile(
                    f"IMG_{day}.jpg", wound_photo(42 - day, seed=day), content_type="image/jpeg"
                ),
                body_site="Left shin",
                taken_on=today - timedelta(days=day),
                description="Venous leg ulcer, after cleaning, before dressing.",
                by=nurse,
            ),
        )
        made += 1
    for day in (90, 5):
        _kept(
            written,
            services.upload_image(
                patient=patient,
                uploaded=SimpleUploadedFile(
                    f"MOLE_{day}.jpg", wound_photo(14, seed=day + 7), content_type="image/jpeg"
                ),
                body_site="Mole, right shoulder",
                taken_on=today - timedelta(days=day),
                description="Monitoring for change in size or colour.",
                by=nurse,
            ),
        )
        made += 1
    return made
