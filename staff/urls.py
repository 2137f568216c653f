from django.urls import path

from . import views

app_name = "staff"

urlpatterns = [
    path("", views.StaffListView.as_view(), name="list"),
    path("new/", views.StaffCreateView.as_view(), name="create"),
    path("<int:pk>/edit/", views.StaffUpdateView.as_view(), name="edit"),
    path("<int:pk>/deactivate/", views.StaffActivationView.as_view(), name="deactivate"),
    path("<int:pk>/reactivate/", views.StaffActivationView.as_view(activate=True), name="reactivate"),
    path("<int:pk>/doctor/", views.DoctorProfileView.as_view(), name="doctor_profile"),
    path("doctors/", views.DoctorListView.as_view(), name="doctors"),
]
