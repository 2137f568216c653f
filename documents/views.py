"""Documents and images of a patient: lists, uploads, versions, archive/restore, and the only ways
their files leave storage (permission-checked downloads, images and thumbnails)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.views.generic import FormView, TemplateView, View

from clinic.audit import Action, RecordsAccess
from clinic.files import private_file_response
from clinic.forms import add_service_errors
from clinic.idempotency import OncePerSubmission
from clinic.permissions import Permitted
from patients.models import Patient

from . import services
from .access import ANY_DOCUMENT_ACCESS, VIEW_ALL, can_view_document, document_types_user_may_add
from .forms import ArchiveForm, DocumentUploadForm, ImageUploadForm, ReplaceFileForm
from .models import ClinicalDocument, DocumentVersion, PatientImage
from .queries import archived_items, gallery, patient_documents


class PatientMixin:
    adds_files = False  # pages that file something: an archived patient's record takes nothing new

    def load(self, patient_pk, **kwargs):
        patients = Patient.objects.filter(is_archived=False) if self.adds_files else Patient.objects.all()
        self.patient = get_object_or_404(patients, pk=patient_pk)


# --- documents -----------------------------------------------------------------------------------


class PatientDocumentsView(PatientMixin, Permitted, RecordsAccess, TemplateView):
    any_permission = ANY_DOCUMENT_ACCESS
    audit_summary = "documents list"

    def audit_object(self):
        return self.patient

    template_name = "documents/patient_documents.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        doc_type = self.request.GET.get("type", "")
        if doc_type not in ClinicalDocument.Type.values:
            doc_type = ""
        current, archived = patient_documents(self.patient, user, doc_type)
        return super().get_context_data(
            patient=self.patient,
            documents=current,
            archived=archived,
            doc_type=doc_type,
            types=ClinicalDocument.Type.choices,
            can_upload=bool(document_types_user_may_add(user)),
            **kwargs,
        )


class UploadDocumentView(OncePerSubmission, PatientMixin, Permitted, FormView):
    any_permission = ("documents.add_clinicaldocument", "documents.add_administrative_document")
    template_name = "documents/upload.html"
    form_class = DocumentUploadForm
    adds_files = True
    stores_files_first = True

    def get_form_kwargs(self):
        user = self.request.user
        return {
            **super().get_form_kwargs(),
            "patient": self.patient,
            "types": document_types_user_may_add(user),
            "clinical": user.has_perm("documents.add_clinicaldocument"),
        }

    def get_initial(self):
        initial = super().get_initial()
        visit = self.request.GET.get("visit", "")
        if visit.isascii() and visit.isdigit():
            initial["appointment"] = int(visit)
        return initial

    def form_valid(self, form):
        try:
            data = dict(form.cleaned_data, uploaded=form.cleaned_data["file"])
            del data["file"]
            document = services.upload_document(patient=self.patient, by=self.request.user, **data)
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, f"'{document.title}' is on {self.patient.full_name}'s record.")
        return redirect(document)

    def get_context_data(self, **kwargs):
        return super().get_context_data(patient=self.patient, **kwargs)


def _visible_or_refused(user, queryset, pk, document=lambda obj: obj):
    """The object if the user may see its document. Someone who sees only some types gets 403 both
    for a type they may not see and for an id that does not exist, so ids reveal nothing."""
    obj = queryset.filter(pk=pk).first()
    if obj is not None and can_view_document(user, document(obj)):
        return obj
    if obj is None and user.has_perm(VIEW_ALL):
        raise Http404("No such document.")
    raise PermissionDenied


class DocumentMixin(Permitted):
    """Loads the document and refuses it (403) to a user who may not see its type."""

    def load(self, pk, **kwargs):
        self.document = _visible_or_refused(
            self.request.user,
            ClinicalDocument.objects.select_related("patient", "current_version", "uploaded_by", "archived_by"),
            pk,
        )


class DocumentDetailView(DocumentMixin, RecordsAccess, TemplateView):
    any_permission = ("documents.view_clinicaldocument", "documents.view_administrative_document")

    def audit_object(self):
        return self.document

    template_name = "documents/document_detail.html"

    def get_context_data(self, **kwargs):
        user, document = self.request.user, self.document
        may_change = user.has_perm("documents.change_clinicaldocument") or (
            document.is_administrative and user.has_perm("documents.add_administrative_document")
        )
        return super().get_context_data(
            document=document,
            patient=document.patient,
            versions=document.versions.select_related("uploaded_by"),
            can_replace=may_change and not document.is_archived,
            can_archive=user.has_perm("documents.archive_clinicaldocument") and not document.is_archived,
            can_restore=user.has_perm("documents.restore_clinicaldocument") and document.is_archived,
            **kwargs,
        )


class ReplaceDocumentView(OncePerSubmission, DocumentMixin, FormView):
    any_permission = ("documents.change_clinicaldocument", "documents.add_administrative_document")
    template_name = "documents/replace.html"
    form_class = ReplaceFileForm
    stores_files_first = True

    def load(self, pk, **kwargs):
        super().load(pk)
        user = self.request.user
        if not (user.has_perm("documents.change_clinicaldocument") or self.document.is_administrative):
            raise PermissionDenied

    def form_valid(self, form):
        try:
            version = services.replace_document_file(
                document=self.document,
                by=self.request.user,
                uploaded=form.cleaned_data["file"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, f"Version {version.number} saved; the earlier versions are kept below.")
        return redirect(self.document)

    def get_context_data(self, **kwargs):
        return super().get_context_data(document=self.document, patient=self.document.patient, **kwargs)


class ArchiveView(OncePerSubmission, FormView):
    """Shared by documents and images: a reason, then the service."""

    form_class = ArchiveForm
    template_name = "documents/archive.html"

    def form_valid(self, form):
        try:
            self.archive(form.cleaned_data["reason"])
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, "Archived: it no longer shows on the chart. An administrator can restore it.")
        return redirect(self.target)

    def get_context_data(self, **kwargs):
        return super().get_context_data(target=self.target, patient=self.target.patient, **kwargs)


class ArchiveDocumentView(DocumentMixin, ArchiveView):
    permission_required = "documents.archive_clinicaldocument"

    @property
    def target(self):
        return self.document

    def archive(self, reason):
        services.archive_document(document=self.document, by=self.request.user, reason=reason)


class ArchivedItemsView(PatientMixin, Permitted, TemplateView):
    """Archived documents and images of a patient, for the administrator who restores them: titles,
    dates and reasons only (an administrator does not read clinical content)."""

    any_permission = ("documents.restore_clinicaldocument", "documents.restore_patientimage")
    template_name = "documents/archived.html"

    def get_context_data(self, **kwargs):
        documents, images = archived_items(self.patient)
        return super().get_context_data(patient=self.patient, documents=documents, images=images, **kwargs)


class RestoreView(OncePerSubmission, View):
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        try:
            self.restore()
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"Restored '{self.target}': it shows on the chart again.")
        return redirect("documents:archived", self.target.patient_id)


class RestoreDocumentView(Permitted, RestoreView):
    permission_required = "documents.restore_clinicaldocument"

    def load(self, pk, **kwargs):
        # Administrators restore documents whose content they may not read: the lookup is by id only.
        self.target = get_object_or_404(ClinicalDocument, pk=pk)

    def restore(self):
        services.restore_document(document=self.target)


class DownloadVersionView(Permitted, RecordsAccess, View):
    any_permission = ("documents.view_clinicaldocument", "documents.view_administrative_document")
    audit_action = Action.DOWNLOAD

    def audit_object(self):
        return self.version

    def load(self, pk, **kwargs):
        self.version = _visible_or_refused(
            self.request.user, DocumentVersion.objects.select_related("document"), pk, document=lambda v: v.document
        )

    def get(self, request, pk):
        version = self.version
        return private_file_response(
            version.file,
            content_type=version.content_type,
            filename=version.original_name,
            as_attachment=request.GET.get("download") == "1",
        )


# --- images --------------------------------------------------------------------------------------


class GalleryView(PatientMixin, Permitted, RecordsAccess, TemplateView):
    permission_required = "documents.view_patientimage"
    audit_summary = "image gallery"

    def audit_object(self):
        return self.patient

    template_name = "documents/gallery.html"

    def get_context_data(self, **kwargs):
        groups, archived = gallery(self.patient, self.request.user, self.request.GET.get("site", ""))
        return super().get_context_data(patient=self.patient, groups=groups, archived=archived, **kwargs)


class UploadImageView(OncePerSubmission, PatientMixin, Permitted, FormView):
    permission_required = "documents.add_patientimage"
    template_name = "documents/image_upload.html"
    form_class = ImageUploadForm
    adds_files = True
    stores_files_first = True

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "patient": self.patient}

    def get_initial(self):
        site = self.request.GET.get("site", "")
        return {**super().get_initial(), "body_site": site[:100]}

    def form_valid(self, form):
        try:
            data = dict(form.cleaned_data, uploaded=form.cleaned_data["file"])
            del data["file"]
            image = services.upload_image(patient=self.patient, by=self.request.user, **data)
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, f"Photo of {image.body_site} ({image.taken_on:%d %b %Y}) added.")
        return redirect("documents:gallery", self.patient.pk)

    def get_context_data(self, **kwargs):
        sites = (
            PatientImage.objects.filter(patient=self.patient, is_archived=False)
            .order_by("body_site_key")
            .values_list("body_site", flat=True)
            .distinct()
        )
        return super().get_context_data(patient=self.patient, body_sites=sites, **kwargs)


class ImageMixin(Permitted, RecordsAccess):
    permission_required = "documents.view_patientimage"

    def audit_object(self):
        return self.image

    def load(self, pk, **kwargs):
        self.image = get_object_or_404(
            PatientImage.objects.select_related("patient", "uploaded_by", "archived_by"), pk=pk
        )


class ImageDetailView(ImageMixin, TemplateView):
    template_name = "documents/image_detail.html"

    def get_context_data(self, **kwargs):
        user, image = self.request.user, self.image
        return super().get_context_data(
            image=image,
            patient=image.patient,
            can_archive=user.has_perm("documents.archive_patientimage") and not image.is_archived,
            can_restore=user.has_perm("documents.restore_patientimage") and image.is_archived,
            **kwargs,
        )


class ImageFileView(ImageMixin, View):
    thumbnail = False
    audit_action = Action.DOWNLOAD

    def record_access(self, response):
        # Thumbnails come by the dozen with a gallery or a chart, whose own view is recorded.
        if not self.thumbnail:
            super().record_access(response)

    def get(self, request, pk):
        image = self.image
        if self.thumbnail:
            return private_file_response(image.thumbnail, content_type="image/jpeg", filename="thumbnail.jpg")
        return private_file_response(
            image.file,
            content_type=image.content_type,
            filename=image.original_name,
            as_attachment=request.GET.get("download") == "1",
        )


class ArchiveImageView(ImageMixin, ArchiveView):
    permission_required = "documents.archive_patientimage"

    @property
    def target(self):
        return self.image

    def archive(self, reason):
        services.archive_image(image=self.image, by=self.request.user, reason=reason)


class RestoreImageView(Permitted, RestoreView):
    permission_required = "documents.restore_patientimage"

    def load(self, pk, **kwargs):
        self.target = get_object_or_404(PatientImage, pk=pk)

    def restore(self):
        services.restore_image(image=self.target)
