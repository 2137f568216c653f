"""The patients API (/api/v1/patients/): find, read, register, edit, archive and restore patients;
allergies and conditions for clinical roles only. Every write goes through patients.services with
the page's own form checking what was sent (clinic.api.checked_by_form)."""

import django_filters
from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from clinic.api import IDEMPOTENCY_KEY, Endpoint, checked_by_form, done_once, problem_responses
from clinic.audit import Action, record

from . import services
from .forms import AllergyForm, ConditionForm, PatientArchiveForm, PatientCreateForm, PatientForm
from .models import Allergy, Condition, Patient
from .search import NAME_ORDER, TOO_SHORT, too_short

HISTORY_PERMISSIONS = ("patients.view_allergy", "patients.view_condition")


class AllergySerializer(serializers.ModelSerializer):
    class Meta:
        model = Allergy
        fields = ["id", "substance", "reaction", "severity", "is_active", "recorded_at"]
        read_only_fields = ["id", "recorded_at"]


class ConditionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Condition
        fields = ["id", "name", "icd10_code", "onset_date", "status", "resolved_date", "notes", "recorded_at"]
        read_only_fields = ["id", "recorded_at"]


class PatientSerializer(serializers.ModelSerializer):
    """A patient. `allergies` and `conditions` are null for a caller whose role reads no clinical history."""

    allergies = serializers.SerializerMethodField()
    conditions = serializers.SerializerMethodField()
    confirm_not_duplicate = serializers.BooleanField(
        write_only=True,
        required=False,
        default=False,
        help_text="On registering: true when a likely duplicate (same name and birth date, or phone) was checked.",
    )

    class Meta:
        model = Patient
        fields = [
            "id",
            "mrn",
            *PatientForm.Meta.fields,
            "is_archived",
            "allergies_checked_at",
            "created_at",
            "updated_at",
            "allergies",
            "conditions",
            "confirm_not_duplicate",
        ]
        read_only_fields = ["id", "mrn", "is_archived", "allergies_checked_at", "created_at", "updated_at"]

    def _reads_history(self):
        request = self.context.get("request")
        return bool(request and request.user.has_perms(HISTORY_PERMISSIONS))

    @extend_schema_field(AllergySerializer(many=True, allow_null=True))
    def get_allergies(self, patient):
        if not self._reads_history():
            return None
        return AllergySerializer(patient.allergies.all(), many=True).data

    @extend_schema_field(ConditionSerializer(many=True, allow_null=True))
    def get_conditions(self, patient):
        if not self._reads_history():
            return None
        return ConditionSerializer(patient.conditions.all(), many=True).data

    def validate(self, attrs):
        form_class = PatientForm if self.instance else PatientCreateForm
        self.form = checked_by_form(form_class, self.initial_data, instance=self.instance or Patient())
        return attrs

    def update(self, instance, validated_data):
        return services.save_patient(patient=self.form.save(commit=False))


class ArchiveSerializer(serializers.Serializer):
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=255,
        help_text="Required when the patient has appointments still to come (they are cancelled with it).",
    )


class PatientFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search",
        max_length=100,
        help_text="Name, MRN, phone or date of birth, as on the patient list (at least two letters).",
    )
    archived = django_filters.BooleanFilter(
        field_name="is_archived", help_text="Archived records only (default: current)."
    )

    class Meta:
        model = Patient
        fields = ["q", "archived"]

    def search(self, queryset, name, value):
        if too_short(value):
            raise serializers.ValidationError({"q": [TOO_SHORT]})
        return queryset.search(value).order_by(*NAME_ORDER) if value.strip() else queryset


def _created(request, patient, status_code=status.HTTP_201_CREATED, serializer_class=PatientSerializer):
    data = serializer_class(patient, context={"request": request}).data
    location = reverse("patients_api:patient-detail", kwargs={"pk": patient.pk})
    return Response(data, status=status_code, headers={"Location": location})


@extend_schema_view(
    list=extend_schema(
        summary="Find patients", responses={200: PatientSerializer(many=True), **problem_responses(400)}
    ),
    retrieve=extend_schema(summary="A patient", responses={200: PatientSerializer, **problem_responses(404)}),
    create=extend_schema(
        summary="Register a patient",
        parameters=[IDEMPOTENCY_KEY],
        responses={201: PatientSerializer, **problem_responses(400)},
    ),
    update=extend_schema(
        summary="Edit a patient's details", responses={200: PatientSerializer, **problem_responses(400, 404)}
    ),
    partial_update=extend_schema(
        summary="Edit some of a patient's details", responses={200: PatientSerializer, **problem_responses(400, 404)}
    ),
)
class PatientViewSet(
    Endpoint,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = PatientSerializer
    filterset_class = PatientFilter
    action_permissions = {
        "list": "patients.view_patient",
        "retrieve": "patients.view_patient",
        "create": "patients.add_patient",
        "update": "patients.change_patient",
        "partial_update": "patients.change_patient",
        "archive": "patients.archive_patient",
        "restore": "patients.archive_patient",
        "add_allergy": ("patients.view_patient", "patients.add_allergy"),
        "add_condition": ("patients.view_patient", "patients.add_condition"),
    }

    def get_queryset(self):
        patients = Patient.objects.all()
        if self.action == "list":
            archived = self.request.query_params.get("archived", "").lower() in ("true", "1")
            patients = patients.filter(is_archived=archived)
        if self.action in ("update", "partial_update", "archive"):
            patients = patients.filter(is_archived=False)  # restored first, then edited (as on the pages)
        if self.action == "restore":
            patients = patients.filter(is_archived=True)
        if self.request.user.has_perms(HISTORY_PERMISSIONS):
            patients = patients.prefetch_related("allergies", "conditions")
        return patients

    def paginate_queryset(self, queryset):
        # A search lists in name order; without one, the newest registrations first (as the page).
        self.paginator.ordering = "last_name" if self.request.query_params.get("q", "").strip() else "-id"
        return super().paginate_queryset(queryset)

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        query = request.query_params.get("q", "").strip()
        asked = f'"{query}"' if query else "newest registrations"
        record(Action.SEARCH, summary=f"patients (API): {asked}, {len(response.data['results'])} listed")
        return response

    def retrieve(self, request, *args, **kwargs):
        response = super().retrieve(request, *args, **kwargs)
        record(Action.VIEW, self.get_object())
        return response

    def create(self, request, *args, **kwargs):
        def register():
            serializer = self.get_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            return _created(request, services.register_patient(patient=serializer.form.save(commit=False)))

        return done_once(request, register)

    def update(self, request, *args, **kwargs):
        response = super().update(request, *args, **kwargs)
        response["Location"] = reverse("patients_api:patient-detail", kwargs={"pk": kwargs["pk"]})
        return response

    @extend_schema(
        summary="Archive a patient (their appointments still to come are cancelled)",
        request=ArchiveSerializer,
        responses={200: PatientSerializer, **problem_responses(400, 404)},
    )
    @action(detail=True, methods=["post"])
    def archive(self, request, pk=None):
        patient = self.get_object()
        form = checked_by_form(PatientArchiveForm, request.data)
        services.archive_patient(patient=patient, by=request.user, reason=form.cleaned_data["reason"])
        patient.refresh_from_db()
        return _created(request, patient, status.HTTP_200_OK)

    @extend_schema(
        summary="Restore an archived patient",
        request=None,
        responses={200: PatientSerializer, **problem_responses(404)},
    )
    @action(detail=True, methods=["post"])
    def restore(self, request, pk=None):
        patient = services.restore_patient(patient=self.get_object())
        return _created(request, patient, status.HTTP_200_OK)

    def _add_history(self, request, form_class, serializer_class):
        patient = self.get_object()
        if patient.is_archived:
            return Response(status=status.HTTP_404_NOT_FOUND)
        form = checked_by_form(form_class, request.data, instance=form_class._meta.model(patient=patient))
        item = services.save_history_item(form.save(commit=False), patient=patient, by=request.user)
        location = reverse("patients_api:patient-detail", kwargs={"pk": patient.pk})
        return Response(serializer_class(item).data, status=status.HTTP_201_CREATED, headers={"Location": location})

    @extend_schema(
        summary="Record an allergy",
        request=AllergySerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: AllergySerializer, **problem_responses(400, 404)},
    )
    @action(detail=True, methods=["post"], url_path="allergies")
    def add_allergy(self, request, pk=None):
        return done_once(request, lambda: self._add_history(request, AllergyForm, AllergySerializer))

    @extend_schema(
        summary="Record a condition (ICD-10 coded)",
        request=ConditionSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: ConditionSerializer, **problem_responses(400, 404)},
    )
    @action(detail=True, methods=["post"], url_path="conditions")
    def add_condition(self, request, pk=None):
        return done_once(request, lambda: self._add_history(request, ConditionForm, ConditionSerializer))
