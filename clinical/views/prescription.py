"""A prescription of a signed record."""

from django.views.generic import DetailView

from clinic.audit import RecordsAccess
from clinic.permissions import Permitted

from ..models import MedicalRecord
from .charting import RECORDS, _RecordMixin


class PrescriptionView(_RecordMixin, Permitted, RecordsAccess, DetailView):
    """A printable prescription of a signed record (print stylesheet; the browser's print-to-PDF)."""

    audit_summary = "prescription"
    permission_required = "clinical.view_medicalrecord"
    records = RECORDS.filter(status=MedicalRecord.Status.SIGNED).prefetch_related("medications")
    template_name = "clinical/prescription.html"
    context_object_name = "record"

    def get_context_data(self, **kwargs):
        doctor = getattr(self.object.author, "doctor", None)
        return super().get_context_data(doctor=doctor, **kwargs)
