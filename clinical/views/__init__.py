"""The clinical pages, by concern: charting.py (a doctor's day, the chart, visits and records) and
plans.py (treatment plans and procedures). Every view is `Permitted` and writes through services."""

from .charting import (
    AmendRecordView,
    ChartView,
    ChartVisitView,
    MyDayView,
    NewRecordView,
    PrescriptionView,
    RecordDetailView,
    RecordEditView,
    SignRecordView,
    StartVisitView,
    VitalsView,
)
from .plans import (
    PlanCreateView,
    PlanDetailView,
    PlanEditView,
    PlanStatusView,
    ProcedureCreateView,
    ProcedureEditView,
)

__all__ = [
    "AmendRecordView",
    "ChartView",
    "ChartVisitView",
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
    "VitalsView",
]
