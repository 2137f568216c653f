"""Filing, replacing, archiving and restoring documents and images.

Every upload is checked by its content (clinic.uploads) before anything is stored; a failure at any
later step (a full disk half-way through the file or its thumbnail, the storage backend, the
database) removes what was written, so a refused or failed upload leaves neither a row nor a file,
and the person is told next to the file field. Files of saved records are never deleted.
"""

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from clinic.audit import lock_rows
from clinic.uploads import check_upload, make_thumbnail, store, stored_or_removed

from .access import documents_visible_to
from .models import ClinicalDocument, DocumentVersion, PatientImage

VIEW_IMAGES = "documents.view_patientimage"


def _checked(uploaded, **options):
    try:
        return check_upload(uploaded, **options)
    except ValidationError as error:
        raise ValidationError({"file": error.messages}) from error


def already_on_record(patient, sha256, viewer):
    """Where an identical file already is on this patient's record, among what `viewer` may see, in words;
    '' if nowhere. A copy the viewer may not see does not count: naming it (or even refusing because of it)
    would tell a receptionist that a clinical document with that content and title exists."""
    visible = documents_visible_to(viewer, ClinicalDocument.objects.filter(patient=patient))
    version = DocumentVersion.objects.filter(document__in=visible, sha256=sha256).select_related("document").first()
    if version is not None:
        document = version.document
        return f"the document '{document.title}' ({document.document_date:%d %b %Y}, version {version.number})"
    if not viewer.has_perm(VIEW_IMAGES):
        return ""
    image = PatientImage.objects.filter(patient=patient, sha256=sha256).first()
    if image is not None:
        return f"the image '{image.body_site}' taken {image.taken_on:%d %b %Y}"
    return ""


def _refuse_duplicate(patient, checked, by):
    where = already_on_record(patient, checked.sha256, by)
    if where:
        raise ValidationError({"file": f"This exact file is already on the patient's record as {where}."})


def _store(field_file, checked, written, extension=None):
    store(field_file, f"upload.{extension or checked.extension}", checked.content, written)


def _check_links(patient, appointment=None, medical_record=None):
    if patient.is_archived:
        raise ValidationError("This patient's record is archived; restore it before filing anything new.")
    if appointment is not None and appointment.patient_id != patient.pk:
        raise ValidationError({"appointment": "This appointment belongs to another patient."})
    if medical_record is not None and medical_record.patient_id != patient.pk:
        raise ValidationError({"medical_record": "This record belongs to another patient."})


def _check_date(field, day):
    if day and day > timezone.localdate():
        raise ValidationError({field: "The date cannot be in the future."})


def upload_document(
    *, patient, uploaded, doc_type, title, document_date, by, appointment=None, medical_record=None, notes=""
):
    _check_links(patient, appointment, medical_record)
    _check_date("document_date", document_date)
    checked = _checked(uploaded)
    # The file is stored before the transaction: no database lock waits on storage (S3 can be slow).
    with stored_or_removed() as written:
        version = _stored_version(checked, by, "", written)
        with transaction.atomic():
            _refuse_duplicate(patient, checked, by)
            document = _new_document(patient, appointment, medical_record, doc_type, title, document_date, notes, by)
            _make_current(document, version)
    return document


def _new_document(patient, appointment, medical_record, doc_type, title, document_date, notes, by):
    document = ClinicalDocument(
        patient=patient,
        appointment=appointment,
        medical_record=medical_record,
        doc_type=doc_type,
        title=title.strip(),
        document_date=document_date,
        notes=notes,
        uploaded_by=by,
    )
    document.full_clean()
    document.save()
    return document


def _stored_version(checked, by, note, written):
    """A version whose file is already in storage, not yet saved (its document and number come later)."""
    version = DocumentVersion(
        original_name=checked.display_name,
        content_type=checked.content_type,
        size=checked.size,
        sha256=checked.sha256,
        uploaded_by=by,
        note=note.strip(),
    )
    _store(version.file, checked, written)
    return version


def _make_current(document, version):
    """Number the version after the document's latest, save it and make it the current one."""
    latest = document.versions.order_by("-number").values_list("number", flat=True).first() or 0
    version.document, version.number = document, latest + 1
    version.save()
    document.current_version = version
    document.save(update_fields=["current_version"])
    return version


def replace_document_file(*, document, uploaded, by, note=""):
    """Add a new version; every earlier one stays, viewable and downloadable."""
    checked = _checked(uploaded)
    with stored_or_removed() as written:
        version = _stored_version(checked, by, note, written)  # stored before any lock, as above
        return _replace(document, checked, version)


def _replace(document, checked, version):
    with transaction.atomic():
        # Lock the document row only: PostgreSQL cannot lock the nullable side of the outer join.
        document = (
            lock_rows(ClinicalDocument.objects, of=("self",)).select_related("current_version").get(pk=document.pk)
        )
        if document.is_archived:
            raise ValidationError("An archived document cannot be changed; restore it first.")
        if document.current_version_id and document.current_version.sha256 == checked.sha256:
            raise ValidationError({"file": "This file is identical to the current version."})
        return _make_current(document, version)


def _archive(model, obj, by, reason):
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why it is archived."})
    with transaction.atomic():
        obj = lock_rows(model.objects).get(pk=obj.pk)
        if obj.is_archived:
            raise ValidationError("It is already archived.")
        obj.is_archived, obj.archived_at, obj.archived_by, obj.archive_reason = True, timezone.now(), by, reason
        obj.save(update_fields=["is_archived", "archived_at", "archived_by", "archive_reason"])
    return obj


def _restore(model, obj):
    with transaction.atomic():
        obj = lock_rows(model.objects).get(pk=obj.pk)
        if not obj.is_archived:
            raise ValidationError("It is not archived.")
        # The archive details stay until the next archive: who hid it and why is still useful.
        obj.is_archived = False
        obj.save(update_fields=["is_archived"])
    return obj


def archive_document(*, document, by, reason):
    return _archive(ClinicalDocument, document, by, reason)


def restore_document(*, document):
    return _restore(ClinicalDocument, document)


def upload_image(*, patient, uploaded, body_site, taken_on, by, description="", appointment=None):
    _check_links(patient, appointment)
    _check_date("taken_on", taken_on)
    if not (body_site or "").strip():
        raise ValidationError({"body_site": "Say where on the body (or a tag)."})
    checked = _checked(uploaded, images_only=True)
    with stored_or_removed() as written:
        image = PatientImage(
            patient=patient,
            appointment=appointment,
            body_site=body_site,
            taken_on=taken_on,
            description=description,
            original_name=checked.display_name,
            content_type=checked.content_type,
            size=checked.size,
            sha256=checked.sha256,
            width=checked.width,
            height=checked.height,
            uploaded_by=by,
        )
        # Stored before the transaction: no database lock waits on storage.
        _store(image.file, checked, written)
        store(image.thumbnail, "thumb.jpg", make_thumbnail(checked.content), written)
        image.full_clean()
        with transaction.atomic():
            _refuse_duplicate(patient, checked, by)
            image.save()
    return image


def archive_image(*, image, by, reason):
    return _archive(PatientImage, image, by, reason)


def restore_image(*, image):
    return _restore(PatientImage, image)


def file_printout(*, printout, by):
    """File a generated letter (documents/printouts.py: prescription, visit summary, sick note, referral) as a
    document of the patient, linked to its record and visit. It goes through upload_document like any file:
    checked by content, refused if the identical PDF is already filed (the same letter on the same day gives
    the same bytes), and nothing is left stored if any step fails."""
    record = printout.record
    uploaded = SimpleUploadedFile(printout.filename, printout.pdf(), content_type="application/pdf")
    return upload_document(
        patient=record.patient,
        uploaded=uploaded,
        doc_type=printout.kind.doc_type,
        title=printout.title,
        document_date=printout.letter.issued_on,
        by=by,
        appointment=record.appointment,
        medical_record=record,
        notes=f"Printed from the record signed {timezone.localtime(record.signed_at):%d %b %Y} ({printout.reference}).",
    )
