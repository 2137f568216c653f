"""A doctor's day, the chart, visits and their records (start, chart, vital signs, sign, amend)."""

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.views.generic import DetailView, FormView, ListView, TemplateView, UpdateView, View

from clinic.audit import RecordsAccess
from clinic.forms import add_service_errors
from clinic.idempotency import OncePerSubmission
from clinic.lifecycle import allowed_next
from clinic.permissions import Permitted
from patients.models import Patient
from scheduling.forms import DayForm
from scheduling.models import Appointment

from .. import services
from ..forms import (
    AmendmentForm,
    MedicalRecordForm,
    MedicationFormSet,
    SignForm,
    VitalsForm,
)
from ..models import MedicalRecord
from ..queries import my_day
from ..slots import RECORD_PAGE
from ..worklist import unsigned_notes

RECORDS = MedicalRecord.objects.select_related("patient", "author", "signed_by", "appointment__doctor__user")
Visit = Appointment.Status


def _edit_url(record):
    return reverse("clinical:record_edit", args=[record.pk])


def visit_actions(appointment, user):
    """What a doctor's day offers on a visit now: buttons that POST (url, label, next, primary)."""
    actions = []
    if appointment.status == Visit.IN_PROGRESS and user.has_perm("clinical.add_medicalrecord"):
        actions.append({"url": reverse("clinical:visit_record", args=[appointment.pk]), "label": "Chart"})
    if Visit.COMPLETED in allowed_next(appointment) and user.has_perm("scheduling.start_visit_appointment"):
        url, back = reverse("scheduling:complete", args=[appointment.pk]), reverse("clinical:my_day")
        actions.append({"url": url, "label": "Complete", "next": back, "primary": True})
    if Visit.IN_PROGRESS in allowed_next(appointment) and user.has_perm("scheduling.start_visit_appointment"):
        url = reverse("clinical:visit_start", args=[appointment.pk])
        actions.append({"url": url, "label": "Start visit", "primary": True})
    return actions


class MyDayView(Permitted, RecordsAccess, TemplateView):
    """A doctor's appointments today: each one click from starting, charting and completing."""

    audit_summary = "my day (today's patients)"
    permission_required = "clinical.add_medicalrecord"
    template_name = "clinical/my_day.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        doctor = getattr(user, "doctor", None)
        day = DayForm(self.request.GET or None).day()  # ?date=; a bad one is today
        appointments = my_day(doctor, day) if doctor else []
        for appointment in appointments:
            appointment.actions = visit_actions(appointment, user)
            appointment.waiting = appointment.status in Appointment.RESCHEDULABLE
        return super().get_context_data(
            doctor=doctor,
            today=day,
            is_today=day == timezone.localdate(),
            previous=day - timedelta(days=1),
            following=day + timedelta(days=1),
            appointments=appointments,
            unsigned=unsigned_notes(user).count(),
            **kwargs,
        )


class UnsignedNotesView(Permitted, RecordsAccess, ListView):
    """The doctor's own drafts not yet signed, oldest first: a list to work through."""

    audit_summary = "unsigned notes"
    permission_required = "clinical.add_medicalrecord"
    template_name = "clinical/unsigned_notes.html"
    context_object_name = "records"
    paginate_by = 25

    def get_queryset(self):
        return unsigned_notes(self.request.user)


class _VisitActionView(OncePerSubmission, Permitted, View):
    http_method_names = ["post"]

    def load(self, *, pk, **kwargs):
        self.appointment = get_object_or_404(Appointment.objects.select_related("patient", "doctor__user"), pk=pk)

    def post(self, request, pk):
        appointment = self.appointment
        try:
            record = self.act(appointment, request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return HttpResponseRedirect(appointment.get_absolute_url())
        return HttpResponseRedirect(record.get_absolute_url() if record.is_signed else _edit_url(record))


class StartVisitView(_VisitActionView):
    """Start the consultation and open the visit's record."""

    permission_required = ("clinical.add_medicalrecord", "scheduling.start_visit_appointment")

    def act(self, appointment, user):
        return services.start_visit(appointment=appointment, by=user)


class ChartVisitView(_VisitActionView):
    """Open (or begin) the record of a visit already under way."""

    permission_required = "clinical.add_medicalrecord"

    def act(self, appointment, user):
        return services.record_for_visit(appointment=appointment, by=user)


class NewRecordView(OncePerSubmission, Permitted, View):
    """A record outside a visit (a phone consultation, a result review). One per form shown."""

    permission_required = "clinical.add_medicalrecord"
    http_method_names = ["post"]

    def load(self, *, patient_pk, **kwargs):
        self.patient = get_object_or_404(Patient, pk=patient_pk, is_archived=False)

    def post(self, request, patient_pk):
        record = services.new_record(patient=self.patient, by=request.user)
        return HttpResponseRedirect(_edit_url(record))


class _RecordMixin:
    """A record page: the record is looked up (after the permission check) from `records`."""

    records = RECORDS

    def load(self, *, pk, **kwargs):
        self.object = get_object_or_404(self.records, pk=pk)

    def get_object(self, queryset=None):
        return self.object


class RecordDetailView(_RecordMixin, Permitted, RecordsAccess, DetailView):
    permission_required = "clinical.view_medicalrecord"
    records = RECORDS.prefetch_related("medications", "amendments__author", "patient__allergies")
    template_name = "clinical/record_detail.html"
    context_object_name = "record"

    def get_context_data(self, **kwargs):
        record, user = self.object, self.request.user
        return super().get_context_data(
            conflicts=record.allergy_conflicts(),
            can_edit=services.can_edit(record, user) and user.has_perm("clinical.change_medicalrecord"),
            can_sign=services.can_edit(record, user) and user.has_perm("clinical.sign_medicalrecord"),
            can_amend=record.is_signed and user.has_perm("clinical.amend_medicalrecord"),
            sign_form=kwargs.pop("sign_form", None) or SignForm(),
            **RECORD_PAGE.context(record=record, user=user),
            **kwargs,
        )


class RecordEditView(OncePerSubmission, _RecordMixin, Permitted, RecordsAccess, UpdateView):
    """The author's draft: findings, vitals, diagnosis and medications in one form."""

    permission_required = "clinical.change_medicalrecord"
    form_class = MedicalRecordForm
    template_name = "clinical/record_form.html"
    context_object_name = "record"

    def load(self, **kwargs):
        super().load(**kwargs)
        if not services.can_edit(self.object, self.request.user):
            raise PermissionDenied("Only the author edits a draft; signed records are amended.")

    def get_context_data(self, **kwargs):
        if "medications" not in kwargs:
            kwargs["medications"] = MedicationFormSet(instance=self.object, prefix="meds")
        kwargs["medications"].mark_allergy_conflicts(self.object)
        return super().get_context_data(conflicts=self.object.allergy_conflicts(), **kwargs)

    def post(self, request, *args, **kwargs):
        form = self.get_form()
        medications = MedicationFormSet(request.POST, instance=self.object, prefix="meds")
        if form.is_valid() and medications.is_valid():
            try:
                services.save_draft(record=form.instance, by=request.user, medications=medications)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, "Draft saved.")
                if "sign" in request.POST:
                    return HttpResponseRedirect(self.object.get_absolute_url() + "#sign")
                return HttpResponseRedirect(_edit_url(self.object))
        return self.render_to_response(self.get_context_data(form=form, medications=medications))


class SignRecordView(OncePerSubmission, _RecordMixin, Permitted, View):
    permission_required = "clinical.sign_medicalrecord"
    http_method_names = ["post"]

    def post(self, request, pk):
        record = self.object
        if record.is_signed:
            # A second click on "Sign record": the record is signed, which is what was asked.
            messages.info(request, "This record is already signed.")
            return HttpResponseRedirect(record.get_absolute_url())
        form = SignForm(request.POST)
        form.is_valid()
        try:
            services.sign_record(
                record=record, by=request.user, acknowledge_allergies=form.cleaned_data.get("acknowledge_allergies")
            )
        except ValidationError as error:
            add_service_errors(form, error)
            view = RecordDetailView(request=request, kwargs={"pk": pk}, args=())
            view.object = record
            return view.render_to_response(view.get_context_data(object=record, sign_form=form), status=400)
        messages.success(request, "Record signed. It can now only be amended.")
        return HttpResponseRedirect(record.get_absolute_url())


class AmendRecordView(OncePerSubmission, Permitted, RecordsAccess, FormView):
    permission_required = "clinical.amend_medicalrecord"
    form_class = AmendmentForm
    template_name = "clinical/amend.html"
    audit_summary = "amendment form"

    def audit_object(self):
        return self.record

    def load(self, *, pk, **kwargs):
        self.record = get_object_or_404(RECORDS, pk=pk)
        if not self.record.is_signed:
            raise Http404("Only signed records are amended")

    def get_context_data(self, **kwargs):
        return super().get_context_data(record=self.record, **kwargs)

    def form_valid(self, form):
        data = form.cleaned_data
        services.amend_record(
            record=self.record,
            by=self.request.user,
            section=data["section"],
            text=data["text"],
            reason=data["reason"],
        )
        messages.success(self.request, "Amendment added.")
        return HttpResponseRedirect(self.record.get_absolute_url())


class VitalsView(OncePerSubmission, Permitted, RecordsAccess, FormView):
    """Vital signs on a visit: nurses record them before the doctor sees the patient."""

    audit_summary = "vital signs form"
    permission_required = "clinical.record_vitals_medicalrecord"
    form_class = VitalsForm
    template_name = "clinical/vitals.html"

    def audit_object(self):
        return self.appointment

    def load(self, *, pk, **kwargs):
        self.appointment = get_object_or_404(Appointment.objects.select_related("patient", "doctor__user"), pk=pk)

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["instance"] = self.appointment.medical_records.first()
        return kwargs

    def get_context_data(self, **kwargs):
        return super().get_context_data(appointment=self.appointment, **kwargs)

    def form_valid(self, form):
        values = {name: form.cleaned_data[name] for name in form.fields}
        try:
            services.record_vitals(appointment=self.appointment, by=self.request.user, values=values)
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, "Vital signs recorded.")
        return HttpResponseRedirect(self.appointment.get_absolute_url())
