"""The clinical API (/api/v1/records/, /plans/, /procedures/): medical records, treatment plans and
procedures, for clinical roles only (a receptionist's token reads no diagnoses: 403).

Every write goes through clinical.services, checked first by the page's own form
(clinic.api.checked_by_form): a doctor opens a draft (new_record, or record_for_visit for a visit),
saves it with its medications (save_draft through the page's medication formset), signs it
(sign_record: an allergy clash is refused with 409 until `acknowledge_allergies` is sent, as the page
asks for its tick box) and amends it once signed (amend_record). A signed record never changes: any
change answers 409. Only the author edits or signs a draft (403 for anyone else, as the page).
Every read of a record, plan or procedure, and every list, writes an audit entry like the pages do.
"""

import django_filters
from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from clinic.api import (
    IDEMPOTENCY_KEY,
    Conflict,
    Endpoint,
    StateRefusalIsConflict,
    checked_by_form,
    conflict_from,
    done_once,
    problem_responses,
)
from clinic.audit import Action, record
from clinic.lifecycle import InvalidTransition, allowed_next
from patients.models import Patient
from scheduling.models import Appointment

from . import icd10, services
from .forms import AmendmentForm, MedicalRecordForm, MedicationFormSet, ProcedureForm, SignForm, TreatmentPlanForm
from .models import Amendment, MedicalRecord, Medication, Procedure, TreatmentPlan
from .models.records import SignedRecordError

RECORD_FIELDS = list(MedicalRecordForm.Meta.fields)
MEDICATION_FIELDS = ["drug", "strength", "dose", "route", "frequency", "duration", "instructions"]
MEDICATIONS_PREFIX = "meds"


# --- serializers: what is read ---------------------------------------------------------------------


class StaffNameSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


def _person(user):
    if user is None:
        return None
    return {"id": user.pk, "name": user.get_full_name() or user.get_username()}


class PersonField(serializers.Field):
    """A member of staff as {id, name} (their name, not their account details)."""

    def to_representation(self, user):
        return _person(user)


PersonField = extend_schema_field(StaffNameSerializer(allow_null=True))(PersonField)


class MedicationSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(
        required=False, help_text="On saving: a row already on the record (its id) is changed; without one, added."
    )

    class Meta:
        model = Medication
        fields = ["id", *MEDICATION_FIELDS]


class AmendmentSerializer(serializers.ModelSerializer):
    author = PersonField(read_only=True)

    class Meta:
        model = Amendment
        fields = ["id", "section", "text", "reason", "author", "created_at"]
        read_only_fields = ["id", "author", "created_at"]


class Icd10Serializer(serializers.Serializer):
    code = serializers.CharField()
    system = serializers.CharField(help_text="ICD-10-CM")
    title = serializers.CharField(allow_null=True)


class AllergyConflictSerializer(serializers.Serializer):
    drug = serializers.CharField()
    allergy = serializers.CharField(help_text="The allergy's substance.")
    severity = serializers.CharField()
    reason = serializers.CharField(allow_null=True)


def _conflicts(conflicts):
    return [
        {
            "drug": c.drug,
            "allergy": c.allergy.substance,
            "severity": c.allergy.get_severity_display(),
            "reason": c.reason,
        }
        for c in conflicts
    ]


class MedicalRecordSerializer(serializers.ModelSerializer):
    """A medical record: findings, vital signs, the diagnosis with its ICD-10 codes, medications and
    (once signed) amendments. `allergy_conflicts`: the prescribed drugs that clash with an active allergy."""

    author = PersonField(read_only=True)
    signed_by = PersonField(read_only=True)
    vitals_recorded_by = PersonField(read_only=True)
    icd10 = serializers.SerializerMethodField()
    bmi = serializers.DecimalField(max_digits=5, decimal_places=1, read_only=True, allow_null=True)
    medications = MedicationSerializer(many=True, read_only=True)
    amendments = AmendmentSerializer(many=True, read_only=True)
    allergy_conflicts = serializers.SerializerMethodField()

    class Meta:
        model = MedicalRecord
        fields = [
            "id",
            "patient",
            "appointment",
            "status",
            "author",
            "created_at",
            "updated_at",
            "signed_at",
            "signed_by",
            *RECORD_FIELDS,
            "icd10",
            "bmi",
            "vitals_recorded_by",
            "medications",
            "allergy_conflicts",
            "allergy_conflicts_acknowledged",
            "amendments",
        ]
        read_only_fields = fields

    @extend_schema_field(Icd10Serializer(many=True))
    def get_icd10(self, obj):
        return [{"code": code, "system": "ICD-10-CM", "title": icd10.title(code)} for code in obj.icd10_list()]

    @extend_schema_field(AllergyConflictSerializer(many=True))
    def get_allergy_conflicts(self, obj):
        return _conflicts(obj.allergy_conflicts())


class RecordWriteSerializer(serializers.ModelSerializer):
    """What a doctor sends to save a draft: the record form's fields and, when given, the whole list of
    medications (rows with an id are kept and changed, rows without are added, rows left out are removed)."""

    medications = MedicationSerializer(many=True, required=False)

    class Meta:
        model = MedicalRecord
        fields = [*RECORD_FIELDS, "medications"]
        extra_kwargs = {name: {"required": False} for name in RECORD_FIELDS}


class RecordCreateSerializer(RecordWriteSerializer):
    """Open a draft: for a visit under way (`appointment`: its record, the one already started or a new
    one) or outside a visit (`patient`: a phone consultation, a result review). Exactly one of them."""

    patient = serializers.IntegerField(required=False)
    appointment = serializers.IntegerField(required=False)

    class Meta(RecordWriteSerializer.Meta):
        fields = ["patient", "appointment", *RecordWriteSerializer.Meta.fields]


class SignRecordSerializer(serializers.Serializer):
    acknowledge_allergies = serializers.BooleanField(
        required=False,
        default=False,
        help_text="True when the allergy warning was seen and the drugs are prescribed deliberately.",
    )


class ProcedureSerializer(serializers.ModelSerializer):
    created_by = PersonField(read_only=True)
    patient = serializers.IntegerField(source="patient_id", required=False, help_text="On creating: the patient.")

    class Meta:
        model = Procedure
        fields = ["id", "patient", *ProcedureForm.Meta.fields, "created_by", "created_at"]
        read_only_fields = ["id", "created_by", "created_at"]


class TreatmentPlanSerializer(serializers.ModelSerializer):
    """A treatment plan; `procedures` under it, `done` of `planned` (cancelled ones not counted)."""

    created_by = PersonField(read_only=True)
    patient = serializers.IntegerField(source="patient_id", required=False, help_text="On creating: the patient.")
    procedures = ProcedureSerializer(many=True, read_only=True)
    done = serializers.SerializerMethodField()
    planned = serializers.SerializerMethodField()
    next_statuses = serializers.SerializerMethodField()

    class Meta:
        model = TreatmentPlan
        fields = [
            "id",
            "patient",
            *TreatmentPlanForm.Meta.fields,
            "status",
            "next_statuses",
            "created_by",
            "created_at",
            "updated_at",
            "procedures",
            "done",
            "planned",
        ]
        read_only_fields = ["id", "status", "created_by", "created_at", "updated_at"]

    def _counted(self, plan):
        return [p for p in plan.procedures.all() if p.status != Procedure.Status.CANCELLED]

    def get_done(self, plan) -> int:
        return sum(p.status == Procedure.Status.DONE for p in self._counted(plan))

    def get_planned(self, plan) -> int:
        return len(self._counted(plan))

    @extend_schema_field(
        serializers.ListField(child=serializers.CharField(), help_text="The statuses the plan may move to now.")
    )
    def get_next_statuses(self, plan):
        allowed = allowed_next(plan)
        return [value for value in TreatmentPlan.Status.values if value in allowed]


@extend_schema_field({"type": "string", "description": "draft, active, on_hold, completed or cancelled."})
class PlanStatusChoice(serializers.ChoiceField):
    """Not an enum in the schema: the plan's own `status` is that enum, and one choice set in two
    components needs a name in ENUM_NAME_OVERRIDES (clinic/settings.py) to pass --fail-on-warn."""


class PlanStatusSerializer(serializers.Serializer):
    status = PlanStatusChoice(TreatmentPlan.Status.choices)


# --- filters: one patient's records, plans and procedures ------------------------------------------


class IdFilter(django_filters.NumberFilter):
    """An id: a whole number within the column's range (a decimal or a huge one is a 400, not a 500)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, min_value=1, max_value=2**63 - 1, **kwargs)


class PatientFilter(django_filters.FilterSet):
    """The chart's lists are a patient's: `patient` is required (as the chart page is one patient's)."""

    patient = IdFilter(field_name="patient_id", required=True, help_text="The patient's id.")


class RecordFilter(PatientFilter):
    status = django_filters.ChoiceFilter(choices=MedicalRecord.Status.choices)

    class Meta:
        model = MedicalRecord
        fields = ["patient", "status"]


class PlanFilter(PatientFilter):
    status = django_filters.ChoiceFilter(choices=TreatmentPlan.Status.choices)

    class Meta:
        model = TreatmentPlan
        fields = ["patient", "status"]


class ProcedureFilter(PatientFilter):
    plan = IdFilter(field_name="plan_id", help_text="Only the procedures of this plan.")
    status = django_filters.ChoiceFilter(choices=Procedure.Status.choices)

    class Meta:
        model = Procedure
        fields = ["patient", "plan", "status"]


# --- shared ----------------------------------------------------------------------------------------


def _located(data, route, pk, status_code=status.HTTP_200_OK):
    return Response(data, status=status_code, headers={"Location": reverse(route, kwargs={"pk": pk})})


def _id_or_400(value, field):
    """An id sent in the body: a positive integer, or a 400 naming the field."""
    if isinstance(value, bool) or not str(value).isascii() or not str(value).isdigit() or int(value) >= 2**63:
        raise exceptions.ValidationError({field: ["Send the id, a whole number."]})
    return int(value)


def _sent(request):
    """The fields sent (a JSON body that is not an object sends none)."""
    return request.data if hasattr(request.data, "keys") else {}


def _chart_patient(data):
    """The patient a new entry is for, named in the body (an archived patient's chart takes nothing new)."""
    return get_object_or_404(Patient, pk=_id_or_400(data.get("patient", ""), "patient"), is_archived=False)


class ChartEntries:
    """One kind of a patient's chart entries. A list (as the chart shows them): the patient must exist
    (404, as the chart page), and the list is recorded in the audit trail as the chart page is; so is one
    entry read. A write answers with the entry read back (the list's joins) and its Location."""

    audit_noun = ""
    detail_route = ""

    def filter_queryset(self, queryset):
        # ?patient= (required) picks a list; one record, plan or procedure is found by its id alone.
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())  # a missing or bad ?patient= is a 400 here
        patient = get_object_or_404(Patient, pk=int(request.query_params["patient"]))
        page = self.paginate_queryset(queryset)
        data = self.get_serializer(page, many=True).data
        record(Action.VIEW, patient, summary=f"{self.audit_noun} (API): {len(data)} listed")
        return self.get_paginated_response(data)

    def retrieve(self, request, *args, **kwargs):
        response = super().retrieve(request, *args, **kwargs)
        record(Action.VIEW, self.get_object())
        return response

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, **kwargs)

    def _answer(self, entry, status_code=status.HTTP_200_OK):
        entry = self.get_queryset().get(pk=entry.pk)
        data = self.serializer_class(entry, context=self.get_serializer_context()).data
        return _located(data, self.detail_route, entry.pk, status_code)


# --- medical records -------------------------------------------------------------------------------

RECORDS = MedicalRecord.objects.select_related(
    "patient", "author", "signed_by", "vitals_recorded_by", "appointment"
).prefetch_related("medications", "amendments__author", "patient__allergies")


def _medications_data(record, rows):
    """The page's medication formset data for `rows` (the list sent): the record's rows not sent are
    deleted, rows sent with an id change that row, rows without one are added. Also returns, for each
    form of the formset, the row's place in the list sent (None for a row deleted), to name errors."""
    if not isinstance(rows, list):
        raise exceptions.ValidationError({"medications": ["Send a list of medications."]})
    existing = list(record.medications.all()) if record.pk else []
    by_id = {m.pk: m for m in existing}
    sent, added = {}, []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise exceptions.ValidationError({f"medications[{i}]": ["Send each medication as an object."]})
        if row.get("id") is not None:
            pk = _id_or_400(row["id"], f"medications[{i}].id")
            if pk not in by_id or pk in sent:
                raise exceptions.ValidationError({f"medications[{i}].id": ["No such medication on this record."]})
            sent[pk] = (i, row)
        else:
            added.append((i, row))
    prefix = MEDICATIONS_PREFIX
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(existing) + len(added)),
        f"{prefix}-INITIAL_FORMS": str(len(existing)),
    }
    forms = [(m, *sent.get(m.pk, (None, None))) for m in existing] + [(None, i, row) for i, row in added]
    for n, (stored, _, row) in enumerate(forms):
        values = {name: getattr(stored, name) for name in MEDICATION_FIELDS} if stored else {}
        values.update({name: row[name] for name in MEDICATION_FIELDS if row is not None and name in row})
        for name, value in values.items():
            data[f"{prefix}-{n}-{name}"] = "" if value is None else value
        if stored is not None:
            data[f"{prefix}-{n}-id"] = stored.pk
            if row is None:
                data[f"{prefix}-{n}-DELETE"] = "on"
    return data, [place for _, place, _ in forms]


def _medications_formset(record, rows):
    data, places = _medications_data(record, rows)
    formset = MedicationFormSet(data, instance=record, prefix=MEDICATIONS_PREFIX)
    if not formset.is_valid():
        errors = {}
        if formset.non_form_errors():
            errors["medications"] = list(formset.non_form_errors())
        for place, form in zip(places, formset.forms, strict=True):
            for field, messages in (form.errors if place is not None else {}).items():
                errors[f"medications[{place}].{field}"] = list(messages)
        raise exceptions.ValidationError(errors)
    return formset


def _may_edit_or_refuse(record, user):
    """A signed record answers 409 (it never changes); someone else's draft 403 (as the page)."""
    if record.is_signed:
        raise Conflict("A signed record cannot be changed; add an amendment.")
    if not services.can_edit(record, user):
        raise PermissionDenied("Only the author edits a draft; signed records are amended.")


def _save_draft(record, data, user):
    """The record form's fields sent (the rest kept) and, when sent, the medications; one service call."""
    fields = {key: data[key] for key in data if key in RECORD_FIELDS}
    form = checked_by_form(MedicalRecordForm, fields, instance=record)
    medications = _medications_formset(record, data["medications"]) if "medications" in data else None
    try:
        return services.save_draft(record=form.save(commit=False), by=user, medications=medications)
    except SignedRecordError as error:  # signed by a request that came between
        raise conflict_from(error) from error


@extend_schema_view(
    list=extend_schema(
        summary="A patient's medical records",
        responses={200: MedicalRecordSerializer(many=True), **problem_responses(400, 404)},
    ),
    retrieve=extend_schema(
        summary="A medical record", responses={200: MedicalRecordSerializer, **problem_responses(404)}
    ),
    update=extend_schema(
        summary="Save the author's draft (all its fields)",
        request=RecordWriteSerializer,
        responses={200: MedicalRecordSerializer, **problem_responses(400, 404, 409)},
    ),
    partial_update=extend_schema(
        summary="Save some fields of the author's draft",
        request=RecordWriteSerializer,
        responses={200: MedicalRecordSerializer, **problem_responses(400, 404, 409)},
    ),
)
class MedicalRecordViewSet(
    Endpoint, ChartEntries, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = MedicalRecordSerializer
    filterset_class = RecordFilter
    audit_noun = "medical records"
    detail_route = "clinical_api:record-detail"
    action_permissions = {
        "list": "clinical.view_medicalrecord",
        "retrieve": "clinical.view_medicalrecord",
        "create": "clinical.add_medicalrecord",
        "update": "clinical.change_medicalrecord",
        "partial_update": "clinical.change_medicalrecord",
        "sign": "clinical.sign_medicalrecord",
        "amend": "clinical.amend_medicalrecord",
    }

    def get_queryset(self):
        return RECORDS.all()

    @extend_schema(
        summary="Open a draft record (for a visit under way, or for a patient outside a visit)",
        request=RecordCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: MedicalRecordSerializer,
            200: MedicalRecordSerializer,
            **problem_responses(400, 403, 404, 409),
        },
    )
    def create(self, request, *args, **kwargs):
        return done_once(request, lambda: self._open(request))

    def _open(self, request):
        data, user = request.data, request.user
        if not hasattr(data, "keys"):
            raise exceptions.ValidationError({"non_field_errors": ["Send an object."]})
        has_patient, has_visit = data.get("patient") is not None, data.get("appointment") is not None
        if has_patient == has_visit:
            raise exceptions.ValidationError({"patient": ["Send either a patient or an appointment (a visit)."]})
        content = any(key in data for key in [*RECORD_FIELDS, "medications"])
        with transaction.atomic():
            if has_visit:
                pk = _id_or_400(data["appointment"], "appointment")
                visit = get_object_or_404(Appointment.objects.select_related("patient", "doctor__user"), pk=pk)
                before = MedicalRecord.objects.filter(appointment=visit).values_list("pk", flat=True).first()
                opened = services.record_for_visit(appointment=visit, by=user)
                created = before is None
            else:
                pk = _id_or_400(data["patient"], "patient")
                patient = get_object_or_404(Patient, pk=pk, is_archived=False)
                fields = {key: data[key] for key in data if key in RECORD_FIELDS}
                form = checked_by_form(MedicalRecordForm, fields, instance=MedicalRecord(patient=patient))
                opened = services.new_record(patient=patient, by=user, record=form.save(commit=False))
                created = True
                content = "medications" in data
            if content:
                _may_edit_or_refuse(opened, user)
                opened = _save_draft(RECORDS.get(pk=opened.pk), data, user)
        return self._answer(opened, status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def update(self, request, *args, **kwargs):
        draft = self.get_object()
        _may_edit_or_refuse(draft, request.user)
        if not hasattr(request.data, "keys"):
            raise exceptions.ValidationError({"non_field_errors": ["Send an object."]})
        with transaction.atomic():
            saved = _save_draft(draft, request.data, request.user)
        return self._answer(saved)

    @extend_schema(
        summary="Sign the author's draft (it can then only be amended)",
        request=SignRecordSerializer,
        responses={200: MedicalRecordSerializer, **problem_responses(400, 404, 409)},
        description="A record cannot be signed without a diagnosis (400). When a prescribed drug clashes with "
        "an active allergy the signature is refused with 409 (`allergy_conflicts` lists them) until "
        "`acknowledge_allergies` is true. A signed record answers 409.",
    )
    @action(detail=True, methods=["post"])
    def sign(self, request, pk=None):
        draft = self.get_object()
        _may_edit_or_refuse(draft, request.user)
        form = checked_by_form(SignForm, _sent(request))
        try:
            signed = services.sign_record(
                record=draft, by=request.user, acknowledge_allergies=form.cleaned_data["acknowledge_allergies"]
            )
        except ValidationError as error:
            allergy = getattr(error, "error_dict", {}).get("acknowledge_allergies")
            if allergy:
                raise Conflict(
                    allergy[0].messages[0],
                    errors={"acknowledge_allergies": [m for e in allergy for m in e.messages]},
                    extra={"allergy_conflicts": _conflicts(draft.allergy_conflicts())},
                ) from error
            if isinstance(error, SignedRecordError) or not hasattr(error, "error_dict"):
                raise conflict_from(error) from error  # signed meanwhile
            raise
        return self._answer(signed)

    @extend_schema(
        summary="Amend a signed record (the record itself never changes)",
        request=AmendmentSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: AmendmentSerializer, **problem_responses(400, 404, 409)},
    )
    @action(detail=True, methods=["post"], url_path="amendments")
    def amend(self, request, pk=None):
        signed = self.get_object()

        def add():
            if not signed.is_signed:
                raise Conflict("A draft is edited, not amended.")
            form = checked_by_form(AmendmentForm, _sent(request))
            data = form.cleaned_data
            amendment = services.amend_record(
                record=signed, by=request.user, section=data["section"], text=data["text"], reason=data["reason"]
            )
            return _located(
                AmendmentSerializer(amendment).data, "clinical_api:record-detail", signed.pk, status.HTTP_201_CREATED
            )

        return done_once(request, add)


# --- treatment plans -------------------------------------------------------------------------------

PLANS = TreatmentPlan.objects.select_related("patient", "doctor__user", "created_by").prefetch_related(
    "procedures__created_by"
)


@extend_schema_view(
    list=extend_schema(
        summary="A patient's treatment plans",
        responses={200: TreatmentPlanSerializer(many=True), **problem_responses(400, 404)},
    ),
    retrieve=extend_schema(
        summary="A treatment plan with its procedures",
        responses={200: TreatmentPlanSerializer, **problem_responses(404)},
    ),
    create=extend_schema(
        summary="Make a treatment plan for a patient",
        parameters=[IDEMPOTENCY_KEY],
        responses={201: TreatmentPlanSerializer, **problem_responses(400, 404)},
    ),
    update=extend_schema(
        summary="Edit an open plan", responses={200: TreatmentPlanSerializer, **problem_responses(400, 404, 409)}
    ),
    partial_update=extend_schema(
        summary="Edit some fields of an open plan",
        responses={200: TreatmentPlanSerializer, **problem_responses(400, 404, 409)},
    ),
)
class TreatmentPlanViewSet(
    Endpoint,
    ChartEntries,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = TreatmentPlanSerializer
    filterset_class = PlanFilter
    audit_noun = "treatment plans"
    detail_route = "clinical_api:plan-detail"
    action_permissions = {
        "list": "clinical.view_treatmentplan",
        "retrieve": "clinical.view_treatmentplan",
        "create": "clinical.add_treatmentplan",
        "update": "clinical.change_treatmentplan",
        "partial_update": "clinical.change_treatmentplan",
        "status": "clinical.change_treatmentplan",
    }

    def get_queryset(self):
        return PLANS.all()

    def create(self, request, *args, **kwargs):
        def make():
            data = _sent(request)
            patient = _chart_patient(data)
            form = checked_by_form(TreatmentPlanForm, data)
            plan = services.create_plan(plan=form.save(commit=False), patient=patient, by=request.user)
            return self._answer(plan, status.HTTP_201_CREATED)

        return done_once(request, make)

    def update(self, request, *args, **kwargs):
        plan = self.get_object()
        if not plan.is_open:
            raise Conflict(f"A {plan.get_status_display().lower()} plan cannot be changed.")
        data = _sent(request)
        form = checked_by_form(TreatmentPlanForm, data, instance=plan)
        with StateRefusalIsConflict():  # closed by a request that came between: 409
            plan = services.update_plan(plan=form.save(commit=False), by=request.user)
        return self._answer(plan)

    @extend_schema(
        summary="Move a plan along its lifecycle (draft, active, on hold, completed, cancelled)",
        request=PlanStatusSerializer,
        responses={200: TreatmentPlanSerializer, **problem_responses(400, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def status(self, request, pk=None):
        plan = self.get_object()
        serializer = PlanStatusSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            services.change_plan_status(plan=plan, status=serializer.validated_data["status"], by=request.user)
        except InvalidTransition as error:
            raise conflict_from(error) from error
        return self._answer(plan)


# --- procedures ------------------------------------------------------------------------------------

PROCEDURES = Procedure.objects.select_related("patient", "plan", "appointment", "created_by")


@extend_schema_view(
    list=extend_schema(
        summary="A patient's procedures", responses={200: ProcedureSerializer(many=True), **problem_responses(400, 404)}
    ),
    retrieve=extend_schema(summary="A procedure", responses={200: ProcedureSerializer, **problem_responses(404)}),
    create=extend_schema(
        summary="Record a procedure (linked to a plan of the patient's or a visit)",
        parameters=[IDEMPOTENCY_KEY],
        responses={201: ProcedureSerializer, **problem_responses(400, 404)},
    ),
    update=extend_schema(
        summary="Edit a procedure (planned, then done or cancelled)",
        responses={200: ProcedureSerializer, **problem_responses(400, 404, 409)},
    ),
    partial_update=extend_schema(
        summary="Edit some fields of a procedure",
        responses={200: ProcedureSerializer, **problem_responses(400, 404, 409)},
    ),
)
class ProcedureViewSet(
    Endpoint,
    ChartEntries,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = ProcedureSerializer
    filterset_class = ProcedureFilter
    audit_noun = "procedures"
    detail_route = "clinical_api:procedure-detail"
    action_permissions = {
        "list": "clinical.view_procedure",
        "retrieve": "clinical.view_procedure",
        "create": "clinical.add_procedure",
        "update": "clinical.change_procedure",
        "partial_update": "clinical.change_procedure",
    }

    def get_queryset(self):
        return PROCEDURES.all()

    def create(self, request, *args, **kwargs):
        def make():
            data = _sent(request)
            patient = _chart_patient(data)
            # What the page's form starts with: planned, no fee.
            defaults = {"status": Procedure.Status.PLANNED, "fee": "0.00"}
            fields = {**defaults, **{key: data[key] for key in data if key != "patient"}}
            form = checked_by_form(ProcedureForm, fields, instance=Procedure(patient=patient), patient=patient)
            procedure = services.save_procedure(procedure=form.save(commit=False), by=request.user)
            return self._answer(procedure, status.HTTP_201_CREATED)

        return done_once(request, make)

    def update(self, request, *args, **kwargs):
        procedure = self.get_object()
        if procedure.status == Procedure.Status.CANCELLED:
            raise Conflict("A cancelled procedure cannot be changed.")
        data = _sent(request)
        fields = {key: data[key] for key in data if key != "patient"}
        form = checked_by_form(ProcedureForm, fields, instance=procedure, patient=procedure.patient)
        # A status its lifecycle does not allow, or cancelled by a request that came between: 409.
        with StateRefusalIsConflict():
            procedure = services.save_procedure(procedure=form.save(commit=False), by=request.user)
        return self._answer(procedure)
