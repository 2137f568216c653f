from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.views.generic import CreateView, DetailView, FormView, TemplateView, UpdateView, View

from clinic.audit import RecordsAccess
from clinic.forms import add_service_errors
from clinic.idempotency import OncePerSubmission
from clinic.views import PermissionFirstMixin
from patients.models import Patient
from scheduling.models import Appointment

from . import services
from .forms import (
    AmendmentForm,
    MedicalRecordForm,
    MedicationFormSet,
    ProcedureForm,
    SignForm,
    TreatmentPlanForm,
    VitalsForm,
)
from .models import MedicalRecord, Procedure, TreatmentPlan
from .queries import chart_timeline, my_day

RECORDS = MedicalRecord.objects.select_related("patient", "author", "signed_by", "appointment__doctor__user")


class MyDayView(PermissionRequiredMixin, RecordsAccess, TemplateView):
    """A doctor's appointments today: each one click from starting, charting and completing."""

    audit_summary = "my day (today's patients)"
    permission_required = "clinical.add_medicalrecord"
    template_name = "clinical/my_day.html"

    def get_context_data(self, **kwargs):
        doctor = getattr(self.request.user, "doctor", None)
        today = timezone.localdate()
        appointments = my_day(doctor, today) if doctor else []
        return super().get_context_data(doctor=doctor, today=today, appointments=appointments, **kwargs)


class ChartView(PermissionRequiredMixin, RecordsAccess, DetailView):
    permission_required = "clinical.view_medicalrecord"
    audit_summary = "chart"
    model = Patient
    template_name = "clinical/chart.html"
    context_object_name = "patient"

    def get_context_data(self, **kwargs):
        status = self.request.GET.get("plan_status", "")
        if status not in TreatmentPlan.Status.values:
            status = ""
        patient = self.object
        return super().get_context_data(
            allergies=patient.allergies.filter(is_active=True),
            conditions=patient.conditions.filter(status="active"),
            timeline=chart_timeline(patient, status, self.request.user),
            plan_status=status,
            plan_statuses=TreatmentPlan.Status.choices,
            **kwargs,
        )


class _AppointmentActionView(OncePerSubmission, PermissionRequiredMixin, View):
    http_method_names = ["post"]

    def post(self, request, pk):
        appointment = get_object_or_404(Appointment.objects.select_related("patient", "doctor__user"), pk=pk)
        try:
            record = self.act(appointment, request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return HttpResponseRedirect(appointment.get_absolute_url())
        return HttpResponseRedirect(record.get_absolute_url() if record.is_signed else _edit_url(record))


class StartVisitView(_AppointmentActionView):
    """Start the consultation and open the visit's record."""

    permission_required = ("clinical.add_medicalrecord", "scheduling.start_visit_appointment")

    def act(self, appointment, user):
        return services.start_visit(appointment=appointment, by=user)


class ChartVisitView(_AppointmentActionView):
    """Open (or begin) the record of a visit already under way."""

    permission_required = "clinical.add_medicalrecord"

    def act(self, appointment, user):
        return services.record_for_visit(appointment=appointment, by=user)


def _edit_url(record):
    from django.urls import reverse

    return reverse("clinical:record_edit", args=[record.pk])


class NewRecordView(OncePerSubmission, PermissionRequiredMixin, View):
    """A record outside a visit (a phone consultation, a result review). One per form shown."""

    permission_required = "clinical.add_medicalrecord"
    http_method_names = ["post"]

    def post(self, request, patient_pk):
        patient = get_object_or_404(Patient, pk=patient_pk, is_archived=False)
        record = MedicalRecord.objects.create(patient=patient, author=request.user)
        return HttpResponseRedirect(_edit_url(record))


class RecordDetailView(PermissionRequiredMixin, RecordsAccess, DetailView):
    permission_required = "clinical.view_medicalrecord"
    queryset = RECORDS.prefetch_related("medications", "amendments__author", "patient__allergies")
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
            **kwargs,
        )


class RecordEditView(OncePerSubmission, PermissionRequiredMixin, RecordsAccess, UpdateView):
    """The author's draft: findings, vitals, diagnosis and medications in one form."""

    permission_required = "clinical.change_medicalrecord"
    queryset = RECORDS
    form_class = MedicalRecordForm
    template_name = "clinical/record_form.html"
    context_object_name = "record"

    def get_object(self, queryset=None):
        record = super().get_object(queryset)
        if not services.can_edit(record, self.request.user):
            raise PermissionDenied("Only the author edits a draft; signed records are amended.")
        return record

    def get_context_data(self, **kwargs):
        if "medications" not in kwargs:
            kwargs["medications"] = MedicationFormSet(instance=self.object, prefix="meds")
        return super().get_context_data(conflicts=self.object.allergy_conflicts(), **kwargs)

    def post(self, request, *args, **kwargs):
        self.object = self.get_object()
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


class SignRecordView(OncePerSubmission, PermissionRequiredMixin, View):
    permission_required = "clinical.sign_medicalrecord"
    http_method_names = ["post"]

    def post(self, request, pk):
        record = get_object_or_404(RECORDS, pk=pk)
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


class AmendRecordView(OncePerSubmission, PermissionFirstMixin, RecordsAccess, FormView):
    permission_required = "clinical.amend_medicalrecord"
    form_class = AmendmentForm
    template_name = "clinical/amend.html"
    audit_summary = "amendment form"

    def audit_object(self):
        return self.record

    def load(self, **kwargs):
        self.record = get_object_or_404(RECORDS, pk=kwargs["pk"])
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


class PrescriptionView(PermissionRequiredMixin, RecordsAccess, DetailView):
    """A printable prescription of a signed record (print stylesheet; the browser's print-to-PDF)."""

    audit_summary = "prescription"
    permission_required = "clinical.view_medicalrecord"
    queryset = RECORDS.filter(status=MedicalRecord.Status.SIGNED).prefetch_related("medications")
    template_name = "clinical/prescription.html"
    context_object_name = "record"

    def get_context_data(self, **kwargs):
        doctor = getattr(self.object.author, "doctor", None)
        return super().get_context_data(doctor=doctor, **kwargs)


class VitalsView(OncePerSubmission, PermissionFirstMixin, RecordsAccess, FormView):
    """Vital signs on a visit: nurses record them before the doctor sees the patient."""

    audit_summary = "vital signs form"

    def audit_object(self):
        return self.appointment

    permission_required = "clinical.record_vitals_medicalrecord"
    form_class = VitalsForm
    template_name = "clinical/vitals.html"

    def load(self, **kwargs):
        self.appointment = get_object_or_404(
            Appointment.objects.select_related("patient", "doctor__user"), pk=kwargs["pk"]
        )

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


class _CreatedByMixin:
    """Create views of clinical work: who created it, and a word that it was saved."""

    def form_valid(self, form):
        form.instance.created_by = self.request.user
        response = super().form_valid(form)
        messages.success(self.request, f"{self.model._meta.verbose_name.capitalize()} saved.")
        return response


class PlanCreateView(OncePerSubmission, PermissionFirstMixin, _CreatedByMixin, CreateView):
    permission_required = "clinical.add_treatmentplan"
    model = TreatmentPlan
    form_class = TreatmentPlanForm
    template_name = "clinical/plan_form.html"

    def load(self, **kwargs):
        self.patient = get_object_or_404(Patient, pk=kwargs["patient_pk"], is_archived=False)

    def get_initial(self):
        return {"doctor": getattr(self.request.user, "doctor", None)}

    def get_context_data(self, **kwargs):
        return super().get_context_data(patient=self.patient, **kwargs)

    def form_valid(self, form):
        form.instance.patient = self.patient
        return super().form_valid(form)


class PlanDetailView(PermissionRequiredMixin, RecordsAccess, DetailView):
    permission_required = "clinical.view_treatmentplan"
    queryset = TreatmentPlan.objects.select_related("patient", "doctor__user", "created_by")
    template_name = "clinical/plan_detail.html"
    context_object_name = "plan"

    def get_context_data(self, **kwargs):
        procedures = list(self.object.procedures.select_related("performed_by", "appointment").order_by("pk"))
        counted = [p for p in procedures if p.status != Procedure.Status.CANCELLED]
        done = sum(p.status == Procedure.Status.DONE for p in counted)
        return super().get_context_data(
            procedures=procedures,
            done=done,
            planned=len(counted),
            next_statuses=[
                (s, TreatmentPlan.Status(s).label)
                for s in TreatmentPlan.Status.values
                if s in self.object.allowed_next()
            ],
            **kwargs,
        )


class PlanEditView(OncePerSubmission, PermissionRequiredMixin, RecordsAccess, UpdateView):
    permission_required = "clinical.change_treatmentplan"
    queryset = TreatmentPlan.objects.select_related("patient").exclude(status__in=["completed", "cancelled"])
    form_class = TreatmentPlanForm
    template_name = "clinical/plan_form.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(patient=self.object.patient, **kwargs)


class PlanStatusView(OncePerSubmission, PermissionRequiredMixin, View):
    permission_required = "clinical.change_treatmentplan"
    http_method_names = ["post"]

    def post(self, request, pk):
        plan = get_object_or_404(TreatmentPlan, pk=pk)
        status = request.POST.get("status", "")
        if status not in TreatmentPlan.Status.values:
            messages.error(request, "Unknown status.")
        else:
            try:
                plan.move_to(status)
                messages.success(request, f"Plan is now {plan.get_status_display().lower()}.")
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
        return HttpResponseRedirect(plan.get_absolute_url())


class _ProcedureFormMixin:
    model = Procedure
    form_class = ProcedureForm
    template_name = "clinical/procedure_form.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "patient": self.patient}

    def get_context_data(self, **kwargs):
        return super().get_context_data(patient=self.patient, **kwargs)

    def get_success_url(self):
        return self.object.get_absolute_url()


class ProcedureCreateView(OncePerSubmission, PermissionFirstMixin, _ProcedureFormMixin, _CreatedByMixin, CreateView):
    permission_required = "clinical.add_procedure"

    def load(self, **kwargs):
        self.patient = get_object_or_404(Patient, pk=kwargs["patient_pk"], is_archived=False)

    def get_initial(self):
        initial = {"performed_by": self.request.user if hasattr(self.request.user, "doctor") else None}
        for name in ("plan", "appointment"):
            value = self.request.GET.get(name, "")
            if value.isascii() and value.isdigit():
                initial[name] = int(value)
        return initial


class ProcedureEditView(OncePerSubmission, PermissionRequiredMixin, _ProcedureFormMixin, RecordsAccess, UpdateView):
    permission_required = "clinical.change_procedure"
    queryset = Procedure.objects.select_related("patient", "plan", "appointment").exclude(status="cancelled")

    def get_object(self, queryset=None):
        procedure = super().get_object(queryset)
        self.patient = procedure.patient
        return procedure
