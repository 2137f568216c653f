"""The clinical pages, by concern: charting.py (a doctor's day, visits and records), chart.py (the
patient's chart), prescription.py, plans.py (treatment plans and procedures) and lookups.py (what
the record form's script asks while a doctor types). Every view is `Permitted` and writes through
services."""

from .chart import ChartView
from .charting import (
    AmendRecordView,
    ChartVisitView,
    MyDayView,
    NewRecordView,
    RecordDetailView,
    RecordEditView,
    SignRecordView,
    StartVisitView,
    UnsignedNotesView,
    VitalsView,
)
from .lookups import AllergyCheckView, DrugLookupView, Icd10LookupView
from .plans import (
    PlanCreateView,
    PlanDetailView,
    PlanEditView,
    PlanStatusView,
    ProcedureCreateView,
    ProcedureEditView,
)
from .prescription import PrescriptionView

__all__ = [
    "AllergyCheckView",
    "AmendRecordView",
    "ChartView",
    "ChartVisitView",
    "DrugLookupView",
    "Icd10LookupView",
    "MyDayView",
    "NewRecordView",
    "PlanCreateView",
    "PlanDetailView",
    "PlanEditView",
    "PlanStatusView",
    "PrescriptionView",
    "ProcedureCreateView",
    "ProcedureEditView",
    "RecordDetailView",
    "RecordEditView",
    "SignRecordView",
    "StartVisitView",
    "UnsignedNotesView",
    "VitalsView",
]
