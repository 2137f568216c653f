"""What the record form's script asks while a doctor types (static/js/medications.js): ICD-10 codes
and titles, drug names from the formulary, and whether a drug conflicts with this patient's allergies.

Small JSON answers, at most 20 rows each, for the people who chart (add or change records). The
pages still work without them: the script only adds suggestions and early warnings.
"""

from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.views.generic import View

from clinic.permissions import Permitted

from .. import formulary, icd10, services
from ..models import MedicalRecord, Medication

CHARTING = ("clinical.add_medicalrecord", "clinical.change_medicalrecord")


class _Lookup(Permitted, View):
    any_permission = CHARTING
    http_method_names = ["get"]

    def query(self, name="q"):
        return self.request.GET.get(name, "")[:200]


class Icd10LookupView(_Lookup):
    """ICD-10-CM codes by code ("J06") or words ("pharyngitis"): code and title."""

    def get(self, request):
        results = [{"code": code, "title": title} for code, title in icd10.search(self.query())]
        return JsonResponse({"results": results})


class DrugLookupView(_Lookup):
    """Active formulary drugs whose name starts with what was typed, with common strengths and forms."""

    def get(self, request):
        results = [
            {"name": drug.name, "strengths": drug.strength_list(), "forms": drug.form_list()}
            for drug in formulary.search(self.query())
        ]
        return JsonResponse({"results": results})


class AllergyCheckView(_Lookup):
    """Whether a drug typed on this draft conflicts with the patient's allergies, in the words of the
    warning the page shows after saving (clinical/_allergy_conflict.html)."""

    permission_required = "clinical.change_medicalrecord"
    any_permission = ()

    def load(self, *, pk, **kwargs):
        records = MedicalRecord.objects.select_related("patient").prefetch_related("patient__allergies")
        self.record = get_object_or_404(records, pk=pk)
        # The same rule as the draft's own page: only its author, only while it is a draft.
        if not services.can_edit(self.record, self.request.user):
            raise PermissionDenied("Only the author checks drugs on a draft.")

    def get(self, request, pk):
        drug = " ".join(self.query("drug").split())
        conflicts = self.record.allergy_conflicts([Medication(drug=drug)]) if drug else []
        html = " ".join(render_to_string("clinical/_allergy_conflict.html", {"conflict": c}).strip() for c in conflicts)
        return JsonResponse({"drug": drug, "conflicts": len(conflicts), "html": html})
