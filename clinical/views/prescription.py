"""The prescription of a signed record, at the address it has always had: since printing became PDFs on the
letterhead (documents/printouts.py), the documents app provides the file through clinical.slots.PRESCRIPTION
(clinical does not import documents); the record page links to the documents app's printouts directly."""

from django.http import Http404
from django.views.generic import View

from clinic.audit import RecordsAccess
from clinic.permissions import Permitted

from ..models import MedicalRecord
from ..slots import PRESCRIPTION
from .charting import RECORDS, _RecordMixin


class PrescriptionView(_RecordMixin, Permitted, RecordsAccess, View):
    """The prescription PDF of a signed record (a draft, or a record without medicines: 404)."""

    audit_summary = "prescription"
    permission_required = "clinical.view_medicalrecord"
    records = RECORDS.filter(status=MedicalRecord.Status.SIGNED)
    http_method_names = ["get"]

    def get(self, request, *args, **kwargs):
        for answer in PRESCRIPTION.collect(record=self.object, user=request.user):
            if answer:
                self.audit_summary = answer["summary"]
                return answer["response"]
        raise Http404("No prescription to print.")
