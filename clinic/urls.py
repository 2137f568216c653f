from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from scheduling.views import DashboardView
from staff.forms import OwnPasswordChangeForm
from staff.landing import SignInView

urlpatterns = [
    path("", DashboardView.as_view(), name="home"),
    path("accounts/login/", SignInView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(form_class=OwnPasswordChangeForm),
        name="password_change",
    ),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("patients/", include("patients.urls")),
    path("appointments/", include("scheduling.urls")),
    path("staff/", include("staff.urls")),
    path("clinical/", include("clinical.urls")),
    path("finance/", include("finance.urls")),
    path("documents/", include("documents.urls")),
    path("audit/", include("clinic.audit_urls")),
    path("admin/", admin.site.urls),
]

handler403 = "clinic.views.permission_denied"
handler500 = "clinic.views.server_error"  # 503 "try again" when the database could not serve the request
