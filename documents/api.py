"""The documents API (/api/v1/documents/, /images/): a patient's clinical documents (with every version
of their file) and photos: list, read, upload, download, archive and restore.

The same rules as the pages, through the same code: uploads go through documents.services
(upload_document, replace_document_file, upload_image), which check a file by its bytes (clinic.uploads:
the real type, the size, images decoded and re-encoded, duplicates on the patient's record) and leave
neither a row nor a stored file when anything fails; the pages' forms check the other fields. Who sees
what is documents/access.py's: clinical roles see every document, the front desk the administrative
ones only (referrals and consent forms); a document a caller may not see answers 403 like one that
does not exist. Every read and every download writes an audit entry, as the pages' do.

Uploads take no Idempotency-Key: their file is stored before any transaction (no lock waits on
storage), and the same file sent again is refused as already on the record.
"""

import django_filters
from django import forms
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import exceptions, mixins, permissions, renderers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from clinic.api import Conflict, Endpoint, StateRefusalIsConflict, problem_responses
from clinic.api_policy import ActionPermissions
from clinic.audit import Action, record
from clinic.files import private_file_response
from clinical.api import PersonField
from patients.models import Patient
from patients.text import fold

from . import services
from .access import ANY_DOCUMENT_ACCESS, document_types_user_may_add, documents_visible_to
from .forms import ArchiveForm, DocumentUploadForm, ImageUploadForm, ReplaceFileForm
from .models import ClinicalDocument, DocumentVersion, PatientImage
from .views import _visible_or_refused

ADD_ANY_DOCUMENT = ("documents.add_clinicaldocument", "documents.add_administrative_document")


class AnyOfActionPermissions(permissions.BasePermission):
    """The pages' `any_permission` for an action: `action_any_permissions` {action: (one, of, these)},
    checked with ActionPermissions' declaration (whose value for such an action is `()`: nothing more)."""

    def has_permission(self, request, view):
        any_of = getattr(view, "action_any_permissions", {}).get(getattr(view, "action", None))
        return not any_of or any(request.user.has_perm(permission) for permission in any_of)


class FileOrProblemRenderer(renderers.JSONRenderer):
    """A file download answers with the file's own type; whatever the caller's Accept header names, an
    error on the way (403, 404) is still answered, in problem+json, instead of 406."""

    media_type = "*/*"
    format = "file"


FILE_RENDERERS = [renderers.JSONRenderer, FileOrProblemRenderer]
DOWNLOAD = OpenApiParameter(
    "download", OpenApiTypes.STR, enum=["1"], description="1: sent as an attachment (saved, not shown)."
)
STORED_TYPES = ["application/pdf", "image/jpeg", "image/png", "image/webp"]


def _file_responses(types):
    binary = OpenApiResponse(OpenApiTypes.BINARY, description="The file, as it was checked and stored.")
    return {**{(200, media): binary for media in types}, **problem_responses(403, 404)}


def _form_errors(form):
    return {
        ("non_field_errors" if field == "__all__" else field): [e["message"] for e in errors]
        for field, errors in form.errors.get_json_data().items()
    }


def checked_upload(form_class, request, **form_kwargs):
    """The page's upload form bound to the fields and the file sent (clinic.api.checked_by_form, with files)."""
    data = request.data if hasattr(request.data, "keys") else {}
    form = form_class(data=data, files=request.FILES, **form_kwargs)
    if not form.is_valid():
        raise exceptions.ValidationError(_form_errors(form))
    return form


def _id_or_400(value, field):
    if isinstance(value, bool) or not str(value).isascii() or not str(value).isdigit() or int(value) >= 2**63:
        raise exceptions.ValidationError({field: ["Send the id, a whole number."]})
    return int(value)


def _patient_for_upload(request):
    data = request.data if hasattr(request.data, "keys") else {}
    # An archived patient's record takes nothing new (as the upload pages): 404 for it.
    return get_object_or_404(Patient, pk=_id_or_400(data.get("patient", ""), "patient"), is_archived=False)


def _archive_reason(request):
    data = request.data if hasattr(request.data, "keys") else {}
    form = ArchiveForm(data={"reason": data.get("reason", "")})
    if not form.is_valid():
        raise exceptions.ValidationError(_form_errors(form))
    return form.cleaned_data["reason"]


def _id_or_404(value):
    value = str(value)
    if not value.isascii() or not value.isdigit() or int(value) >= 2**63:
        raise Http404
    return int(value)


def _restored(obj):
    """What a restore answers: the id, the patient and the state (an administrator reads no content)."""
    return {"id": obj.pk, "patient": obj.patient_id, "is_archived": obj.is_archived}


RESTORED = inline_serializer(
    "RestoredFile",
    {
        "id": serializers.IntegerField(),
        "patient": serializers.IntegerField(),
        "is_archived": serializers.BooleanField(),
    },
)


# --- serializers -----------------------------------------------------------------------------------


class DocumentVersionSerializer(serializers.ModelSerializer):
    uploaded_by = PersonField(read_only=True)
    file_url = serializers.SerializerMethodField()

    class Meta:
        model = DocumentVersion
        fields = [
            "id",
            "number",
            "original_name",
            "content_type",
            "size",
            "sha256",
            "note",
            "uploaded_by",
            "uploaded_at",
            "file_url",
        ]
        read_only_fields = fields

    def get_file_url(self, version) -> str:
        url = reverse("documents_api:document-file", kwargs={"pk": version.document_id})
        return f"{url}?version={version.number}"


class DocumentSerializer(serializers.ModelSerializer):
    """A document's details and its current file; `versions` (every file it has had) on reading one."""

    uploaded_by = PersonField(read_only=True)
    archived_by = PersonField(read_only=True)
    current_version = DocumentVersionSerializer(read_only=True)

    class Meta:
        model = ClinicalDocument
        fields = [
            "id",
            "patient",
            "doc_type",
            "title",
            "document_date",
            "appointment",
            "medical_record",
            "notes",
            "uploaded_by",
            "uploaded_at",
            "is_archived",
            "archived_at",
            "archived_by",
            "archive_reason",
            "current_version",
        ]
        read_only_fields = fields


class DocumentDetailSerializer(DocumentSerializer):
    versions = DocumentVersionSerializer(many=True, read_only=True)

    class Meta(DocumentSerializer.Meta):
        fields = [*DocumentSerializer.Meta.fields, "versions"]
        read_only_fields = fields


class DocumentUploadSerializer(serializers.Serializer):
    """Sent as multipart/form-data. The front desk files referrals and consent forms only, and links no
    medical record."""

    patient = serializers.IntegerField()
    doc_type = serializers.ChoiceField(ClinicalDocument.Type.choices)
    title = serializers.CharField(max_length=200)
    document_date = serializers.DateField()
    appointment = serializers.IntegerField(required=False)
    medical_record = serializers.IntegerField(required=False)
    notes = serializers.CharField(required=False, allow_blank=True)
    file = serializers.FileField(help_text="A PDF, JPEG, PNG or WebP file (checked by its content).")


class DocumentReplaceSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The corrected file; every earlier version is kept.")
    note = serializers.CharField(max_length=300, help_text="What changed.")


class FileArchiveSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class ImageSerializer(serializers.ModelSerializer):
    uploaded_by = PersonField(read_only=True)
    archived_by = PersonField(read_only=True)
    file_url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()

    class Meta:
        model = PatientImage
        fields = [
            "id",
            "patient",
            "body_site",
            "taken_on",
            "description",
            "appointment",
            "original_name",
            "content_type",
            "size",
            "sha256",
            "width",
            "height",
            "uploaded_by",
            "uploaded_at",
            "is_archived",
            "archived_at",
            "archived_by",
            "archive_reason",
            "file_url",
            "thumbnail_url",
        ]
        read_only_fields = fields

    def get_file_url(self, image) -> str:
        return reverse("documents_api:image-file", kwargs={"pk": image.pk})

    def get_thumbnail_url(self, image) -> str:
        return reverse("documents_api:image-thumbnail", kwargs={"pk": image.pk})


class ImageUploadSerializer(serializers.Serializer):
    """Sent as multipart/form-data."""

    patient = serializers.IntegerField()
    body_site = serializers.CharField(max_length=100)
    taken_on = serializers.DateField()
    description = serializers.CharField(required=False, allow_blank=True)
    appointment = serializers.IntegerField(required=False)
    file = serializers.FileField(help_text="A JPEG, PNG or WebP photo; stored re-encoded (no EXIF, no GPS).")


ARCHIVED_HELP = "true: the archived ones; false or left out: the current ones."

# --- filters ---------------------------------------------------------------------------------------


class IdFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, min_value=1, max_value=2**63 - 1, **kwargs)


class DocumentFilter(django_filters.FilterSet):
    patient = IdFilter(field_name="patient_id", required=True, help_text="The patient's id.")
    type = django_filters.ChoiceFilter(field_name="doc_type", choices=ClinicalDocument.Type.choices)
    archived = django_filters.BooleanFilter(field_name="is_archived", help_text=ARCHIVED_HELP)

    class Meta:
        model = ClinicalDocument
        fields = ["patient", "type", "archived"]


class ImageFilter(django_filters.FilterSet):
    patient = IdFilter(field_name="patient_id", required=True, help_text="The patient's id.")
    site = django_filters.CharFilter(method="by_site", max_length=100, help_text="A body site or tag (any case).")
    archived = django_filters.BooleanFilter(field_name="is_archived", help_text=ARCHIVED_HELP)

    class Meta:
        model = PatientImage
        fields = ["patient", "site", "archived"]

    def by_site(self, queryset, name, value):
        return queryset.filter(body_site_key=fold(value)) if fold(value) else queryset


class PatientFiles:
    """One patient's list (the patient must exist: 404, as the pages), current ones unless ?archived=true,
    recorded in the audit trail as the pages' lists are."""

    audit_summary = ""

    def filter_queryset(self, queryset):
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())  # a missing or bad ?patient= is a 400 here
        if "archived" not in request.query_params:
            queryset = queryset.filter(is_archived=False)
        # As the filter read it ("5.0" is 5 to a form's IntegerField, not to int()).
        patient_id = self.filterset_class.base_filters["patient"].field.clean(request.query_params["patient"])
        patient = get_object_or_404(Patient, pk=patient_id)
        page = self.paginate_queryset(queryset)
        data = self.get_serializer(page, many=True).data
        record(Action.VIEW, patient, summary=f"{self.audit_summary} (API): {len(data)} listed")
        return self.get_paginated_response(data)


class ArchiveAndRestore:
    """The archive and restore actions' work, the same for documents and photos (each viewset keeps its
    own actions and their schemas). A service's refusal of the state (already archived, not archived)
    is a 409; a missing reason a 400."""

    def _archive_with(self, request, archive):
        obj = self.get_object()
        reason = _archive_reason(request)
        with StateRefusalIsConflict():
            archive(obj, by=request.user, reason=reason)
        return self._answer(obj)

    def _restore_with(self, model, pk, restore):
        # Administrators restore files whose content they may not read: by id only, as the pages.
        obj = get_object_or_404(model, pk=_id_or_404(pk))
        with StateRefusalIsConflict():
            obj = restore(obj)
        return Response(_restored(obj))


# --- documents -------------------------------------------------------------------------------------

DOCUMENTS = ClinicalDocument.objects.select_related(
    "patient", "current_version__uploaded_by", "uploaded_by", "archived_by"
)


@extend_schema_view(
    list=extend_schema(
        summary="A patient's documents (those the caller may see)",
        responses={200: DocumentSerializer(many=True), **problem_responses(400, 404)},
    ),
    retrieve=extend_schema(
        summary="A document's details and every version of its file",
        responses={200: DocumentDetailSerializer, **problem_responses(404)},
    ),
)
class DocumentViewSet(
    Endpoint, PatientFiles, ArchiveAndRestore, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = DocumentSerializer
    filterset_class = DocumentFilter
    permission_classes = [ActionPermissions, AnyOfActionPermissions]
    audit_summary = "documents list"
    lookup_value_regex = r"\d+"
    action_permissions = {
        "list": (),
        "retrieve": (),
        "create": (),
        "replace": (),
        "file": (),
        "archive": "documents.archive_clinicaldocument",
        "restore": "documents.restore_clinicaldocument",
    }
    action_any_permissions = {
        "list": ANY_DOCUMENT_ACCESS,
        "retrieve": ANY_DOCUMENT_ACCESS,
        "file": ANY_DOCUMENT_ACCESS,
        "create": ADD_ANY_DOCUMENT,
        "replace": ("documents.change_clinicaldocument", "documents.add_administrative_document"),
    }

    def get_queryset(self):
        if self.action == "list":
            return documents_visible_to(self.request.user, DOCUMENTS.all())
        return DOCUMENTS.all()

    def get_serializer_class(self):
        return DocumentDetailSerializer if self.action == "retrieve" else DocumentSerializer

    def get_object(self):
        """The document, if the caller may see its type (403 otherwise, and for an id that is not there)."""
        queryset = DOCUMENTS.prefetch_related("versions__uploaded_by") if self.action == "retrieve" else DOCUMENTS
        # The pages' own rule (documents.views): ids reveal nothing to those who see only some types.
        return _visible_or_refused(self.request.user, queryset, _id_or_404(self.kwargs["pk"]))

    def _answer(self, document, status_code=status.HTTP_200_OK):
        document = DOCUMENTS.prefetch_related("versions__uploaded_by").get(pk=document.pk)
        data = DocumentDetailSerializer(document, context=self.get_serializer_context()).data
        location = reverse("documents_api:document-detail", kwargs={"pk": document.pk})
        return Response(data, status=status_code, headers={"Location": location})

    def retrieve(self, request, *args, **kwargs):
        document = self.get_object()
        data = self.get_serializer(document).data
        record(Action.VIEW, document)
        return Response(data)

    @extend_schema(
        summary="File a document for a patient (multipart)",
        request={"multipart/form-data": DocumentUploadSerializer},
        responses={201: DocumentDetailSerializer, **problem_responses(400, 404, 415)},
    )
    def create(self, request, *args, **kwargs):
        user = request.user
        patient = _patient_for_upload(request)
        form = checked_upload(
            DocumentUploadForm,
            request,
            patient=patient,
            types=document_types_user_may_add(user),
            clinical=user.has_perm("documents.add_clinicaldocument"),
        )
        data = dict(form.cleaned_data)
        data["uploaded"] = data.pop("file")
        document = services.upload_document(patient=patient, by=user, **data)
        return self._answer(document, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Replace a document's file with a corrected one (multipart; earlier versions are kept)",
        request={"multipart/form-data": DocumentReplaceSerializer},
        responses={201: DocumentDetailSerializer, **problem_responses(400, 403, 404, 409, 415)},
    )
    @action(detail=True, methods=["post"], url_path="versions")
    def replace(self, request, pk=None):
        document = self.get_object()
        user = request.user
        if not (user.has_perm("documents.change_clinicaldocument") or document.is_administrative):
            raise PermissionDenied
        if document.is_archived:
            raise Conflict("An archived document cannot be changed; restore it first.")
        form = checked_upload(ReplaceFileForm, request)
        with StateRefusalIsConflict():  # archived by a request that came between: 409
            services.replace_document_file(
                document=document, uploaded=form.cleaned_data["file"], by=user, note=form.cleaned_data["note"]
            )
        return self._answer(document, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Download a document's file (the current version, or ?version=<number>)",
        parameters=[
            OpenApiParameter("version", OpenApiTypes.INT, description="A version's number (default: the current one)."),
            DOWNLOAD,
        ],
        responses=_file_responses(STORED_TYPES),
    )
    @action(detail=True, methods=["get"], renderer_classes=FILE_RENDERERS)
    def file(self, request, pk=None):
        document = self.get_object()
        versions = DocumentVersion.objects.filter(document=document)
        number = request.query_params.get("version", "")
        if number:
            version = versions.filter(number=_id_or_404(number)).first()
        else:
            version = versions.filter(pk=document.current_version_id).first()
        if version is None:
            raise Http404("No such version.")
        response = private_file_response(
            version.file,
            content_type=version.content_type,
            filename=version.original_name,
            as_attachment=request.query_params.get("download") == "1",
        )
        record(Action.DOWNLOAD, version)
        return response

    @extend_schema(
        summary="Archive a document (it leaves the chart; an administrator can restore it)",
        request=FileArchiveSerializer,
        responses={200: DocumentDetailSerializer, **problem_responses(400, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def archive(self, request, pk=None):
        return self._archive_with(request, lambda document, **how: services.archive_document(document=document, **how))

    @extend_schema(
        summary="Restore an archived document (administrators: by id, without reading it)",
        request=None,
        responses={200: RESTORED, **problem_responses(404, 409)},
    )
    @action(detail=True, methods=["post"])
    def restore(self, request, pk=None):
        return self._restore_with(ClinicalDocument, pk, lambda document: services.restore_document(document=document))


# --- images ----------------------------------------------------------------------------------------

IMAGES = PatientImage.objects.select_related("patient", "uploaded_by", "archived_by")


@extend_schema_view(
    list=extend_schema(
        summary="A patient's photos", responses={200: ImageSerializer(many=True), **problem_responses(400, 404)}
    ),
    retrieve=extend_schema(summary="A photo's details", responses={200: ImageSerializer, **problem_responses(404)}),
)
class ImageViewSet(
    Endpoint, PatientFiles, ArchiveAndRestore, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = ImageSerializer
    filterset_class = ImageFilter
    audit_summary = "image gallery"
    lookup_value_regex = r"\d+"
    action_permissions = {
        "list": "documents.view_patientimage",
        "retrieve": "documents.view_patientimage",
        "create": "documents.add_patientimage",
        "file": "documents.view_patientimage",
        "thumbnail": "documents.view_patientimage",
        "archive": "documents.archive_patientimage",
        "restore": "documents.restore_patientimage",
    }

    def get_queryset(self):
        return IMAGES.all()

    def get_object(self):
        return get_object_or_404(IMAGES, pk=_id_or_404(self.kwargs["pk"]))

    def _answer(self, image, status_code=status.HTTP_200_OK):
        data = ImageSerializer(IMAGES.get(pk=image.pk), context=self.get_serializer_context()).data
        location = reverse("documents_api:image-detail", kwargs={"pk": image.pk})
        return Response(data, status=status_code, headers={"Location": location})

    def retrieve(self, request, *args, **kwargs):
        response = super().retrieve(request, *args, **kwargs)
        record(Action.VIEW, self.get_object())
        return response

    @extend_schema(
        summary="Add a photo to a patient's record (multipart)",
        request={"multipart/form-data": ImageUploadSerializer},
        responses={201: ImageSerializer, **problem_responses(400, 404, 415)},
    )
    def create(self, request, *args, **kwargs):
        patient = _patient_for_upload(request)
        form = checked_upload(ImageUploadForm, request, patient=patient)
        data = dict(form.cleaned_data)
        data["uploaded"] = data.pop("file")
        image = services.upload_image(patient=patient, by=request.user, **data)
        return self._answer(image, status.HTTP_201_CREATED)

    @extend_schema(summary="Download a photo", parameters=[DOWNLOAD], responses=_file_responses(STORED_TYPES[1:]))
    @action(detail=True, methods=["get"], renderer_classes=FILE_RENDERERS)
    def file(self, request, pk=None):
        image = self.get_object()
        response = private_file_response(
            image.file,
            content_type=image.content_type,
            filename=image.original_name,
            as_attachment=request.query_params.get("download") == "1",
        )
        record(Action.DOWNLOAD, image)
        return response

    @extend_schema(summary="A photo's thumbnail (JPEG)", responses=_file_responses(["image/jpeg"]))
    @action(detail=True, methods=["get"], renderer_classes=FILE_RENDERERS)
    def thumbnail(self, request, pk=None):
        # Not recorded, as on the pages: thumbnails come by the dozen with a gallery, whose list is.
        image = self.get_object()
        return private_file_response(image.thumbnail, content_type="image/jpeg", filename="thumbnail.jpg")

    @extend_schema(
        summary="Archive a photo (it leaves the chart; an administrator can restore it)",
        request=FileArchiveSerializer,
        responses={200: ImageSerializer, **problem_responses(400, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def archive(self, request, pk=None):
        return self._archive_with(request, lambda image, **how: services.archive_image(image=image, **how))

    @extend_schema(
        summary="Restore an archived photo (administrators)",
        request=None,
        responses={200: RESTORED, **problem_responses(404, 409)},
    )
    @action(detail=True, methods=["post"])
    def restore(self, request, pk=None):
        return self._restore_with(PatientImage, pk, lambda image: services.restore_image(image=image))
