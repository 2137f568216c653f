"""Clinical documents (with every version of their file) and patient images.

Files are private: stored under random names (clinic.uploads), never reachable by a URL of their
own, and served only by permission-checked views. Nothing is ever deleted from storage: replacing
a document's file adds a version; archiving hides a document or image and keeps it.
"""

from django.conf import settings
from django.db import models
from django.urls import reverse

from clinic.audit import Audited
from clinic.uploads import random_name
from patients.models import Patient
from patients.text import fold


# The callers checked the content; `filename` ends with the extension found in it.
def document_upload_to(instance, filename):
    return random_name("documents", filename.rsplit(".", 1)[-1])


def image_upload_to(instance, filename):
    return random_name("images", filename.rsplit(".", 1)[-1])


def thumbnail_upload_to(instance, filename):
    return random_name("thumbnails", "jpg")


class Archivable(models.Model):
    """Archived rows leave the chart but stay, with who archived them, when and why."""

    is_archived = models.BooleanField("archived", default=False)
    archived_at = models.DateTimeField(null=True, blank=True)
    archived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    archive_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        abstract = True


class StoredFile(models.Model):
    """What the application knows about a stored file (the bytes live in the storage backend)."""

    original_name = models.CharField("file name", max_length=160)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    sha256 = models.CharField("SHA-256", max_length=64, db_index=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True


class ClinicalDocument(Audited, Archivable):
    class Type(models.TextChoices):
        LAB_RESULT = "lab_result", "Lab result"
        REFERRAL = "referral", "Referral"
        CONSENT = "consent", "Consent form"
        IMAGING_REPORT = "imaging_report", "Imaging report"
        PRESCRIPTION = "prescription", "Prescription"
        OTHER = "other", "Other"

    # Reception files these for a patient and may see them; everything else is clinical.
    ADMINISTRATIVE = frozenset({Type.REFERRAL, Type.CONSENT})

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="documents")
    appointment = models.ForeignKey(
        "scheduling.Appointment", null=True, blank=True, on_delete=models.PROTECT, related_name="documents"
    )
    medical_record = models.ForeignKey(
        "clinical.MedicalRecord", null=True, blank=True, on_delete=models.PROTECT, related_name="documents"
    )
    doc_type = models.CharField("type", max_length=20, choices=Type.choices)
    title = models.CharField(max_length=200)
    document_date = models.DateField("date of the document")
    notes = models.TextField(blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)
    # The newest version, kept here so lists need no subquery; every version stays in DocumentVersion.
    current_version = models.OneToOneField(
        "DocumentVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-document_date", "-id"]
        permissions = [
            ("view_administrative_document", "Can view referrals and consent forms"),
            ("add_administrative_document", "Can file referrals and consent forms"),
            ("archive_clinicaldocument", "Can archive documents"),
            ("restore_clinicaldocument", "Can restore archived documents"),
        ]
        indexes = [
            models.Index(fields=["patient", "is_archived", "-document_date"], name="document_patient_list"),
            models.Index(fields=["patient", "doc_type"], name="document_patient_type"),
        ]

    def __str__(self):
        return f"{self.title} ({self.get_doc_type_display()}, {self.document_date:%d %b %Y})"

    def get_absolute_url(self):
        return reverse("documents:detail", args=[self.pk])

    @property
    def is_administrative(self):
        return self.doc_type in self.ADMINISTRATIVE

    @property
    def sha256(self):
        return self.current_version.sha256 if self.current_version_id else ""


class DocumentVersion(Audited, StoredFile):
    document = models.ForeignKey(ClinicalDocument, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    file = models.FileField(upload_to=document_upload_to, max_length=200)
    note = models.CharField("what changed", max_length=300, blank=True)

    class Meta:
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["document", "number"], name="document_version_number")]

    def __str__(self):
        return f"Version {self.number} of {self.document.title}"

    def audit_patient_id(self):
        return self.document.patient_id

    def get_absolute_url(self):
        return reverse("documents:download", args=[self.pk])


class PatientImage(Audited, Archivable, StoredFile):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="images")
    body_site = models.CharField(
        max_length=100, help_text="Where on the body, or a tag: 'left shin', 'sacrum', 'mole, right shoulder'."
    )
    # Folded (case and accents) so "Left shin" and "left shin " are one group in the gallery.
    body_site_key = models.CharField(max_length=100, blank=True, editable=False)
    taken_on = models.DateField("date taken")
    description = models.TextField(blank=True)
    file = models.FileField(upload_to=image_upload_to, max_length=200)
    thumbnail = models.FileField(upload_to=thumbnail_upload_to, max_length=200)
    width = models.PositiveIntegerField(null=True)
    height = models.PositiveIntegerField(null=True)
    appointment = models.ForeignKey(
        "scheduling.Appointment", null=True, blank=True, on_delete=models.PROTECT, related_name="images"
    )

    class Meta:
        ordering = ["body_site_key", "taken_on", "id"]
        permissions = [
            ("archive_patientimage", "Can archive patient images"),
            ("restore_patientimage", "Can restore archived patient images"),
        ]
        indexes = [models.Index(fields=["patient", "is_archived", "body_site_key", "taken_on"], name="image_gallery")]

    def __str__(self):
        return f"{self.body_site}, {self.taken_on:%d %b %Y}"

    def get_absolute_url(self):
        return reverse("documents:image", args=[self.pk])

    def save(self, *args, **kwargs):
        self.body_site = " ".join(self.body_site.split())
        self.body_site_key = fold(self.body_site)
        super().save(*args, **kwargs)
