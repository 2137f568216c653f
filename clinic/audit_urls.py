from django.urls import path

from . import audit_views

app_name = "audit"

urlpatterns = [
    path("", audit_views.AuditSearchView.as_view(), name="search"),
    path("patients/<int:pk>/", audit_views.PatientAccessView.as_view(), name="patient"),
]
