"""Treatment plans and procedures: created and edited through clinical.services."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.views.generic import CreateView, DetailView, UpdateView, View

from clinic.audit import RecordsAccess
from clinic.forms import add_service_errors
from clinic.idempotency import OncePerSubmission
from clinic.lifecycle import allowed_next
from clinic.permissions import Permitted
from patients.models import Patient

from .. import services
from ..forms import ProcedureForm, TreatmentPlanForm
from ..models import Procedure, TreatmentPlan


class _SavedThroughService:
    """Create and edit views of plans and procedures: the form checks the input, `submit(form)` (a
    service call) writes it, and a service's refusal shows on the form."""

    def get_object(self, queryset=None):
        return self.object

    def form_valid(self, form):
        try:
            self.object = self.submit(form)
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, f"{self.object._meta.verbose_name.capitalize()} saved.")
        return HttpResponseRedirect(self.get_success_url())


class PlanCreateView(OncePerSubmission, Permitted, _SavedThroughService, CreateView):
    permission_required = "clinical.add_treatmentplan"
    form_class = TreatmentPlanForm
    template_name = "clinical/plan_form.html"

    def load(self, *, patient_pk, **kwargs):
        self.patient = get_object_or_404(Patient, pk=patient_pk, is_archived=False)

    def get_initial(self):
        return {"doctor": getattr(self.request.user, "doctor", None)}

    def get_context_data(self, **kwargs):
        return super().get_context_data(patient=self.patient, **kwargs)

    def submit(self, form):
        return services.create_plan(plan=form.instance, patient=self.patient, by=self.request.user)


class PlanDetailView(Permitted, RecordsAccess, DetailView):
    permission_required = "clinical.view_treatmentplan"
    template_name = "clinical/plan_detail.html"
    context_object_name = "plan"

    def load(self, *, pk, **kwargs):
        self.object = get_object_or_404(
            TreatmentPlan.objects.select_related("patient", "doctor__user", "created_by"), pk=pk
        )

    def get_object(self, queryset=None):
        return self.object

    def get_context_data(self, **kwargs):
        plan, user = self.object, self.request.user
        procedures = list(plan.procedures.select_related("performed_by", "appointment").order_by("pk"))
        counted = [p for p in procedures if p.status != Procedure.Status.CANCELLED]
        done = sum(p.status == Procedure.Status.DONE for p in counted)
        may_change = user.has_perm("clinical.change_treatmentplan")
        may_edit_procedures = user.has_perm("clinical.change_procedure")
        for procedure in procedures:
            procedure.editable = may_edit_procedures and procedure.status != Procedure.Status.CANCELLED
        allowed = allowed_next(plan)
        return super().get_context_data(
            procedures=procedures,
            done=done,
            planned=len(counted),
            can_edit=may_change and plan.is_open,
            can_add_procedure=user.has_perm("clinical.add_procedure") and plan.is_open,
            next_statuses=[(s, label) for s, label in TreatmentPlan.Status.choices if may_change and s in allowed],
            **kwargs,
        )


class PlanEditView(OncePerSubmission, Permitted, RecordsAccess, _SavedThroughService, UpdateView):
    permission_required = "clinical.change_treatmentplan"
    form_class = TreatmentPlanForm
    template_name = "clinical/plan_form.html"

    def load(self, *, pk, **kwargs):
        plans = TreatmentPlan.objects.select_related("patient").exclude(status__in=TreatmentPlan.CLOSED)
        self.object = get_object_or_404(plans, pk=pk)

    def get_context_data(self, **kwargs):
        return super().get_context_data(patient=self.object.patient, **kwargs)

    def submit(self, form):
        return services.update_plan(plan=form.instance, by=self.request.user)


class PlanStatusView(OncePerSubmission, Permitted, View):
    permission_required = "clinical.change_treatmentplan"
    http_method_names = ["post"]

    def load(self, *, pk, **kwargs):
        self.plan = get_object_or_404(TreatmentPlan, pk=pk)

    def post(self, request, pk):
        plan = self.plan
        status = request.POST.get("status", "")
        if status not in TreatmentPlan.Status.values:
            messages.error(request, "Unknown status.")
        else:
            try:
                services.change_plan_status(plan=plan, status=status, by=request.user)
                messages.success(request, f"Plan is now {plan.get_status_display().lower()}.")
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
        return HttpResponseRedirect(plan.get_absolute_url())


class _ProcedureFormMixin(_SavedThroughService):
    form_class = ProcedureForm
    template_name = "clinical/procedure_form.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "patient": self.patient}

    def get_context_data(self, **kwargs):
        return super().get_context_data(patient=self.patient, **kwargs)

    def get_success_url(self):
        return self.object.get_absolute_url()

    def submit(self, form):
        return services.save_procedure(procedure=form.instance, by=self.request.user)


class ProcedureCreateView(OncePerSubmission, Permitted, _ProcedureFormMixin, CreateView):
    permission_required = "clinical.add_procedure"

    def load(self, *, patient_pk, **kwargs):
        self.patient = get_object_or_404(Patient, pk=patient_pk, is_archived=False)

    def get_initial(self):
        initial = {"performed_by": self.request.user if hasattr(self.request.user, "doctor") else None}
        for name in ("plan", "appointment"):
            value = self.request.GET.get(name, "")
            if value.isascii() and value.isdigit():
                initial[name] = int(value)
        return initial


class ProcedureEditView(OncePerSubmission, Permitted, _ProcedureFormMixin, RecordsAccess, UpdateView):
    permission_required = "clinical.change_procedure"

    def load(self, *, pk, **kwargs):
        procedures = Procedure.objects.select_related("patient", "plan", "appointment")
        self.object = get_object_or_404(procedures.exclude(status=Procedure.Status.CANCELLED), pk=pk)
        self.patient = self.object.patient
