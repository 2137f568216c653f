"""The clinical pages, by concern: charting.py (a doctor's day, visits and records), chart.py (the
patient's chart), prescription.py, and plans.py (treatment plans and procedures). Every view is
`Permitted` and writes through services."""

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
from .prescription import PrescriptionView

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
