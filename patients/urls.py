from django.urls import path

from . import views

app_name = "patients"

urlpatterns = [
    path("", views.PatientListView.as_view(), name="list"),
    path("new/", views.PatientCreateView.as_view(), name="create"),
    path("<int:pk>/", views.PatientDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", views.PatientUpdateView.as_view(), name="edit"),
    path("<int:pk>/archive/", views.PatientArchiveView.as_view(), name="archive"),
    path("<int:pk>/access/", views.PatientAccessView.as_view(), name="access"),
    path("<int:pk>/restore/", views.PatientRestoreView.as_view(), name="restore"),
    path("<int:pk>/allergies/checked/", views.AllergiesCheckedView.as_view(), name="allergies_checked"),
    path("<int:patient_pk>/allergies/new/", views.AllergyCreateView.as_view(), name="allergy_create"),
    path("<int:patient_pk>/allergies/<int:pk>/", views.AllergyUpdateView.as_view(), name="allergy_edit"),
    path("<int:patient_pk>/conditions/new/", views.ConditionCreateView.as_view(), name="condition_create"),
    path("<int:patient_pk>/conditions/<int:pk>/", views.ConditionUpdateView.as_view(), name="condition_edit"),
]
