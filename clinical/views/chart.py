"""A patient's chart: allergies, conditions and the timeline of visits, records, plans and files."""

from django.shortcuts import get_object_or_404
from django.views.generic import DetailView

from clinic.audit import RecordsAccess
from clinic.permissions import Permitted
from patients.models import Condition, Patient

from ..models import TreatmentPlan
from ..queries import chart_timeline


class ChartView(Permitted, RecordsAccess, DetailView):
    permission_required = "clinical.view_medicalrecord"
    audit_summary = "chart"
    template_name = "clinical/chart.html"
    context_object_name = "patient"

    def load(self, *, pk, **kwargs):
        self.object = get_object_or_404(Patient, pk=pk)

    def get_object(self, queryset=None):
        return self.object

    def get_context_data(self, **kwargs):
        status = self.request.GET.get("plan_status", "")
        if status not in TreatmentPlan.Status.values:
            status = ""
        patient = self.object
        return super().get_context_data(
            allergies=patient.allergies.filter(is_active=True),
            conditions=patient.conditions.filter(status=Condition.Status.ACTIVE),
            timeline=chart_timeline(patient, status, self.request.user),
            plan_status=status,
            plan_statuses=TreatmentPlan.Status.choices,
            **kwargs,
        )
