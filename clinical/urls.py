from django.urls import path

from . import views

app_name = "clinical"

urlpatterns = [
    path("my-day/", views.MyDayView.as_view(), name="my_day"),
    path("unsigned-notes/", views.UnsignedNotesView.as_view(), name="unsigned_notes"),
    path("patients/<int:pk>/", views.ChartView.as_view(), name="chart"),
    path("patients/<int:patient_pk>/records/new/", views.NewRecordView.as_view(), name="record_create"),
    path("patients/<int:patient_pk>/plans/new/", views.PlanCreateView.as_view(), name="plan_create"),
    path("patients/<int:patient_pk>/procedures/new/", views.ProcedureCreateView.as_view(), name="procedure_create"),
    path("visits/<int:pk>/start/", views.StartVisitView.as_view(), name="visit_start"),
    path("visits/<int:pk>/record/", views.ChartVisitView.as_view(), name="visit_record"),
    path("visits/<int:pk>/vitals/", views.VitalsView.as_view(), name="vitals"),
    path("records/<int:pk>/", views.RecordDetailView.as_view(), name="record"),
    path("records/<int:pk>/edit/", views.RecordEditView.as_view(), name="record_edit"),
    path("records/<int:pk>/sign/", views.SignRecordView.as_view(), name="record_sign"),
    path("records/<int:pk>/amend/", views.AmendRecordView.as_view(), name="record_amend"),
    path("records/<int:pk>/prescription/", views.PrescriptionView.as_view(), name="prescription"),
    path("records/<int:pk>/allergy-check/", views.AllergyCheckView.as_view(), name="allergy_check"),
    path("lookups/icd10/", views.Icd10LookupView.as_view(), name="icd10_lookup"),
    path("lookups/drugs/", views.DrugLookupView.as_view(), name="drug_lookup"),
    path("plans/<int:pk>/", views.PlanDetailView.as_view(), name="plan"),
    path("plans/<int:pk>/edit/", views.PlanEditView.as_view(), name="plan_edit"),
    path("plans/<int:pk>/status/", views.PlanStatusView.as_view(), name="plan_status"),
    path("procedures/<int:pk>/edit/", views.ProcedureEditView.as_view(), name="procedure_edit"),
]
