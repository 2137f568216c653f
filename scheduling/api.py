"""The scheduling API (/api/v1/): free slots, and appointments: list, read, book, reschedule, and each
step of the lifecycle (confirm, check in and its undo, no-show, start, complete, cancel).

Every write goes through scheduling.services, the functions the pages call; the booking and
rescheduling forms of the pages (scheduling.forms) check what was sent, so the same bounds hold (the
length, the booking horizon, a doctor taking appointments). Times are ISO 8601 with their UTC offset,
answered in the clinic's zone (settings.TIME_ZONE) and stored in UTC. A time already taken is answered
409 with the appointment it clashes with (`conflict`).
"""

from datetime import datetime, time, timedelta

import django_filters
from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from clinic.api import (
    IDEMPOTENCY_KEY,
    Conflict,
    Endpoint,
    checked_by_form,
    django_errors,
    done_once,
    is_overlap,
    problem_responses,
)
from clinic.api_policy import Cursor
from clinic.audit import Action, record
from clinic.forms import BoundedDateField
from clinic.lifecycle import allowed_next
from patients.models import Patient

from . import services
from .forms import BookingForm, RescheduleForm, SlotSearchForm
from .models import MAX_MINUTES, MIN_MINUTES, Appointment
from .slots import free_slots
from .views import BEFORE_COMPLETING

MAX_ID = 2**63 - 1  # beyond it SQLite cannot even bind a number (a 500 instead of a 404 or 400)
SLOT_DAYS = SlotSearchForm.DAYS  # how far one free-slot search looks, as on the page
SLOT_LIMIT = SlotSearchForm.MAX_PAGES * 20  # as many as the page shows before "Later days"
LIST_DAYS = 366  # the longest date range an appointment list may ask for
# The booking form's fields that are the API's `start` (it asks for a date and a time).
FORM_FIELDS = {"date": "start", "time": "start", "slot": "start"}

Status = Appointment.Status


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 instant with its UTC offset: a wall time without one is ambiguous on the nights the
    clocks change, so it is refused rather than guessed."""

    def to_internal_value(self, value):
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value.strip())
            except ValueError:
                parsed = None
            if parsed is not None and parsed.tzinfo is None:
                raise serializers.ValidationError(
                    "Give the time with its UTC offset (ISO 8601), for example 2026-03-02T09:30:00+00:00."
                )
        return super().to_internal_value(value)


def _id_field(**kwargs):
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


# --- what the API answers -------------------------------------------------------------------------------


class AppointmentSerializer(serializers.ModelSerializer):
    patient_name = serializers.CharField(source="patient.full_name", read_only=True)
    doctor_name = serializers.CharField(source="doctor.__str__", read_only=True)
    minutes = serializers.SerializerMethodField()

    class Meta:
        model = Appointment
        fields = [
            "id",
            "patient",
            "patient_name",
            "doctor",
            "doctor_name",
            "start",
            "end",
            "minutes",
            "reason",
            "status",
            "booked_at",
            "confirmed_at",
            "checked_in_at",
            "started_at",
            "completed_at",
            "cancelled_at",
            "cancellation_reason",
            "no_show_at",
        ]
        read_only_fields = fields

    def get_minutes(self, appointment) -> int:
        return int(appointment.duration.total_seconds() // 60)


class ConflictSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    doctor = serializers.IntegerField(source="doctor_id")


CONFLICT_RESPONSE = OpenApiResponse(
    inline_serializer(
        "ConflictProblem",
        {
            "type": serializers.URLField(),
            "title": serializers.CharField(),
            "status": serializers.IntegerField(),
            "detail": serializers.CharField(),
            "errors": serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False),
            "conflict": ConflictSerializer(allow_null=True, help_text="The appointment holding the time."),
        },
    ),
    description="The time is taken (the doctor or the patient has an appointment then): `conflict` names it.",
)


class SlotSerializer(serializers.Serializer):
    doctor = serializers.IntegerField(source="doctor.pk")
    doctor_name = serializers.CharField(source="doctor.__str__")
    specialty = serializers.IntegerField(source="doctor.specialty_id")
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


# --- what callers send ----------------------------------------------------------------------------------


class BookSerializer(serializers.Serializer):
    patient = _id_field()
    doctor = _id_field()
    start = AwareDateTimeField(help_text="ISO 8601 with the UTC offset.")
    minutes = serializers.IntegerField(
        min_value=MIN_MINUTES,
        max_value=MAX_MINUTES,
        required=False,
        allow_null=True,
        help_text="Length; the doctor's usual consultation length when not sent.",
    )
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class RescheduleSerializer(serializers.Serializer):
    start = AwareDateTimeField(help_text="ISO 8601 with the UTC offset.")
    doctor = _id_field(required=False, help_text="Another doctor; the same one when not sent.")
    minutes = serializers.IntegerField(
        min_value=MIN_MINUTES,
        max_value=MAX_MINUTES,
        required=False,
        allow_null=True,
        help_text="Length; the appointment's own when not sent.",
    )


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=255, help_text="Why it is cancelled (required, as on the page).")


class CompleteSerializer(serializers.Serializer):
    anyway = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Complete even though the visit's notes are missing, empty or unsigned (refused with them "
        "listed under `anyway` otherwise, as the page asks first).",
    )


class SlotQuerySerializer(serializers.Serializer):
    doctor = _id_field(required=False)
    specialty = _id_field(required=False)
    patient = _id_field(required=False, help_text="Also skip the times this patient is booked.")
    date_from = serializers.DateField(required=False, help_text="The first day (clinic-local); today by default.")
    date_to = serializers.DateField(
        required=False, help_text=f"The last day; at most {SLOT_DAYS} days from the first (the default)."
    )
    minutes = serializers.IntegerField(min_value=MIN_MINUTES, max_value=MAX_MINUTES, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=SLOT_LIMIT, required=False, default=20)

    def validate(self, attrs):
        first = attrs.get("date_from") or timezone.localdate()
        last = attrs.get("date_to") or first + timedelta(days=SLOT_DAYS - 1)
        if last < first:
            raise serializers.ValidationError({"date_to": ["Must not be before date_from."]})
        if (last - first).days >= SLOT_DAYS:
            raise serializers.ValidationError({"date_to": [f"One search looks at most {SLOT_DAYS} days ahead."]})
        attrs["days"] = (last - first).days + 1
        return attrs


# --- the pages' forms on what was sent ------------------------------------------------------------------


def _checked_time(form_class, *, doctor, start, minutes, **more):
    """The page's booking (or rescheduling) form bound to doctor, the local date and time of `start`, and
    `start` itself as an offered slot, so the very instant is kept, also in the hour the clocks repeat."""
    local = timezone.localtime(start)
    data = {
        "doctor": str(doctor),
        "date": local.date().isoformat(),
        "time": local.time().isoformat(),
        "minutes": "" if minutes is None else str(minutes),
        "slot": f"{doctor}@{start.isoformat()}",
        **more,
    }
    try:
        return checked_by_form(form_class, data)
    except serializers.ValidationError as exc:
        errors = {}
        for field, messages in exc.detail.items():
            errors.setdefault(FORM_FIELDS.get(field, field), []).extend(messages)
        raise serializers.ValidationError(errors) from None


def _refused(exc, would_be):
    """A service's refusal: 409 with the appointment holding the time when it is an overlap."""
    if not is_overlap(exc):
        return exc
    clash = would_be.conflicts().order_by("start", "id").first()
    return Conflict(
        "That time is taken.",
        errors=django_errors(exc),
        extra={"conflict": ConflictSerializer(clash).data if clash else None},
    )


def _answer(appointment, status_code=status.HTTP_200_OK):
    appointment = Appointment.objects.with_people().get(pk=appointment.pk)
    location = reverse("scheduling_api:appointment-detail", kwargs={"pk": appointment.pk})
    return Response(AppointmentSerializer(appointment).data, status=status_code, headers={"Location": location})


# --- free slots -----------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Free slots of a doctor or a specialty",
        description="The same search as the Free slots page: each doctor's weekly hours less their appointments "
        f"(and the patient's, when given), {SLOT_DAYS} days at most, in time order.",
        parameters=[SlotQuerySerializer],
        responses={200: SlotSerializer(many=True), **problem_responses(400)},
    )
)
class FreeSlotViewSet(Endpoint, viewsets.ViewSet):
    action_permissions = {"list": "scheduling.view_appointment"}

    def list(self, request):
        query = SlotQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        asked = query.validated_data
        form = checked_by_form(
            SlotSearchForm,
            {
                "doctor": asked.get("doctor", ""),
                "specialty": asked.get("specialty", ""),
                "date": asked.get("date_from", ""),
                "minutes": asked.get("minutes", ""),
            },
        )
        patient = None
        if asked.get("patient"):
            patient = Patient.objects.filter(pk=asked["patient"], is_archived=False).first()
            if patient is None:
                raise serializers.ValidationError({"patient": ["No such patient (or the record is archived)."]})
        data = form.cleaned_data
        first = asked.get("date_from")
        start_from = timezone.make_aware(datetime.combine(first, time.min)) if first else timezone.now()
        slots = free_slots(
            doctor=data["doctor"],
            specialty=data["specialty"],
            start_from=start_from,
            days=asked["days"],
            length=timedelta(minutes=data["minutes"]) if data["minutes"] else None,
            patient=patient,
            limit=asked["limit"],
        )
        return Response(SlotSerializer(slots, many=True).data)


# --- appointments ---------------------------------------------------------------------------------------


class IdFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField


class LocalDateFilter(django_filters.DateFilter):
    field_class = BoundedDateField


class DateRangeForm(forms.Form):
    def clean(self):
        data = super().clean()
        first, last = data.get("date_from"), data.get("date_to")
        if first and last and last < first:
            self.add_error("date_to", "Must not be before date_from.")
        elif first and last and (last - first).days >= LIST_DAYS:
            self.add_error("date_to", f"One list covers at most {LIST_DAYS} days.")
        return data


class AppointmentFilter(django_filters.FilterSet):
    date_from = LocalDateFilter(method="starts_from", help_text="Starting on or after this (clinic-local) day.")
    date_to = LocalDateFilter(method="starts_until", help_text="Starting on or before this (clinic-local) day.")
    doctor = IdFilter(field_name="doctor_id", min_value=1, max_value=MAX_ID, help_text="A doctor's id.")
    patient = IdFilter(field_name="patient_id", min_value=1, max_value=MAX_ID, help_text="A patient's id.")
    status = django_filters.MultipleChoiceFilter(choices=Status.choices, help_text="One or more statuses.")

    class Meta:
        model = Appointment
        fields = ["date_from", "date_to", "doctor", "patient", "status"]
        form = DateRangeForm

    def starts_from(self, queryset, name, value):
        return queryset.filter(start__gte=timezone.make_aware(datetime.combine(value, time.min)))

    def starts_until(self, queryset, name, value):
        return queryset.filter(start__lt=timezone.make_aware(datetime.combine(value + timedelta(days=1), time.min)))


class ByStart(Cursor):
    ordering = ("start", "id")


def _appointment_step(summary, *, request=None, responses=None):
    return extend_schema(
        summary=summary,
        request=request,
        responses=responses or {200: AppointmentSerializer, **problem_responses(400, 404)},
    )


@extend_schema_view(
    list=extend_schema(
        summary="Appointments, in start order",
        responses={200: AppointmentSerializer(many=True), **problem_responses(400)},
    ),
    retrieve=extend_schema(summary="An appointment", responses={200: AppointmentSerializer, **problem_responses(404)}),
)
class AppointmentViewSet(Endpoint, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = AppointmentSerializer
    filterset_class = AppointmentFilter
    pagination_class = ByStart
    # The page each action stands for names the same permission (scheduling/urls.py, views.py).
    action_permissions = {
        "list": "scheduling.view_appointment",
        "retrieve": "scheduling.view_appointment",
        "create": "scheduling.add_appointment",
        "reschedule": "scheduling.change_appointment",
        "cancel": "scheduling.cancel_appointment",
        "confirm": "scheduling.change_appointment",
        "check_in": "scheduling.check_in_appointment",
        "undo_check_in": "scheduling.check_in_appointment",
        "no_show": "scheduling.check_in_appointment",
        "start": "scheduling.start_visit_appointment",
        "complete": "scheduling.start_visit_appointment",
    }

    def get_queryset(self):
        return Appointment.objects.with_people()

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        params = request.query_params
        asked = ", ".join(
            f"{key}={','.join(params.getlist(key))}" for key in AppointmentFilter.Meta.fields if key in params
        )
        listed = response.data["results"]
        # One patient's appointments are entries of that patient's trail, when any were seen (an id
        # asked for that names nobody must not become the entry's patient).
        patients = {row["patient"] for row in listed}
        record(
            Action.SEARCH,
            summary=f"appointments (API): {asked or 'all'}, {len(listed)} listed"[:300],
            patient_id=patients.pop() if "patient" in params and len(patients) == 1 else None,
        )
        return response

    def retrieve(self, request, *args, **kwargs):
        appointment = self.get_object()
        response = Response(self.get_serializer(appointment).data)
        record(Action.VIEW, appointment)
        return response

    @extend_schema(
        summary="Book an appointment",
        request=BookSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: AppointmentSerializer, **problem_responses(400), 409: CONFLICT_RESPONSE},
    )
    def create(self, request):
        def book():
            sent = BookSerializer(data=request.data)
            sent.is_valid(raise_exception=True)
            asked = sent.validated_data
            patient = Patient.objects.filter(pk=asked["patient"]).first()
            if patient is None:
                raise serializers.ValidationError({"patient": ["No such patient."]})
            form = _checked_time(
                BookingForm,
                doctor=asked["doctor"],
                start=asked["start"],
                minutes=asked.get("minutes"),
                reason=asked["reason"],
            )
            data = form.cleaned_data
            try:
                appointment = services.book_appointment(
                    patient=patient,
                    doctor=data["doctor"],
                    start=data["start"],
                    end=data["end"],
                    reason=data["reason"],
                    booked_by=request.user,
                )
            except DjangoValidationError as exc:
                would_be = Appointment(patient=patient, doctor=data["doctor"], start=data["start"], end=data["end"])
                raise _refused(exc, would_be) from exc
            return _answer(appointment, status.HTTP_201_CREATED)

        return done_once(request, book)

    @_appointment_step(
        "Reschedule (another time, length or doctor)",
        request=RescheduleSerializer,
        responses={200: AppointmentSerializer, **problem_responses(400, 404), 409: CONFLICT_RESPONSE},
    )
    @action(detail=True, methods=["post"])
    def reschedule(self, request, pk=None):
        appointment = self.get_object()
        sent = RescheduleSerializer(data=request.data)
        sent.is_valid(raise_exception=True)
        asked = sent.validated_data
        minutes = asked.get("minutes") or int(appointment.duration.total_seconds() // 60)
        form = _checked_time(
            RescheduleForm, doctor=asked.get("doctor", appointment.doctor_id), start=asked["start"], minutes=minutes
        )
        data = form.cleaned_data
        try:
            moved = services.reschedule_appointment(
                appointment=appointment, doctor=data["doctor"], start=data["start"], end=data["end"], by=request.user
            )
        except DjangoValidationError as exc:
            would_be = Appointment(
                pk=appointment.pk,
                patient_id=appointment.patient_id,
                doctor=data["doctor"],
                start=data["start"],
                end=data["end"],
            )
            raise _refused(exc, would_be) from exc
        return _answer(moved)

    @_appointment_step("Cancel, saying why (its time is free again)", request=CancelSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        appointment = self.get_object()
        sent = CancelSerializer(data=request.data)
        sent.is_valid(raise_exception=True)
        services.cancel_appointment(appointment=appointment, reason=sent.validated_data["reason"], by=request.user)
        return _answer(appointment)

    def _step(self, service):
        appointment = self.get_object()
        service(appointment=appointment, by=self.request.user)
        return _answer(appointment)

    @_appointment_step("Mark confirmed")
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        return self._step(services.confirm_appointment)

    @_appointment_step("Check the patient in (on the appointment's day)")
    @action(detail=True, methods=["post"], url_path="check-in")
    def check_in(self, request, pk=None):
        return self._step(services.check_in)

    @_appointment_step("Undo a check-in (before the visit starts)")
    @action(detail=True, methods=["post"], url_path="undo-check-in")
    def undo_check_in(self, request, pk=None):
        return self._step(services.undo_check_in)

    @_appointment_step("Mark a no-show (after the appointment's start)")
    @action(detail=True, methods=["post"], url_path="no-show")
    def no_show(self, request, pk=None):
        return self._step(services.mark_no_show)

    @_appointment_step("Start the visit")
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        return self._step(services.start_visit)

    @_appointment_step("Complete the visit", request=CompleteSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        appointment = self.get_object()
        sent = CompleteSerializer(data=request.data)
        sent.is_valid(raise_exception=True)
        if not sent.validated_data["anyway"] and Status.COMPLETED in allowed_next(appointment):
            found = BEFORE_COMPLETING.collect(appointment=appointment, user=request.user)
            concerns = [concern["text"] for provider in found for concern in provider]
            if concerns:
                raise serializers.ValidationError({"anyway": [*concerns, "Send anyway: true to complete regardless."]})
        services.complete_visit(appointment=appointment, by=request.user)
        return _answer(appointment)
