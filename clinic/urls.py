"""The site's URLs: each app's own, included by name (the project package imports no app)."""

from django.contrib import admin
from django.urls import include, path

from clinic.favicon import favicon

urlpatterns = [
    path("", include("scheduling.home_urls")),
    path("accounts/", include("staff.account_urls")),
    path("patients/", include("patients.urls")),
    path("appointments/", include("scheduling.urls")),
    path("reminders/", include("reminders.urls")),
    path("waitlist/", include("waitlist.urls")),
    path("calendar/", include("scheduling.feed_urls")),
    path("staff/", include("staff.urls")),
    path("clinical/", include("clinical.urls")),
    path("finance/", include("finance.urls")),
    path("documents/", include("documents.urls")),
    path("audit/", include("clinic.audit_urls")),
    path("session/", include("clinic.session_urls")),
    # The JSON API: its schema and documentation, then each app's resources under /api/v1/.
    path("api/", include("clinic.api_urls")),
    path("api/v1/", include("staff.api_urls")),
    path("api/v1/", include("patients.api_urls")),
    path("api/v1/", include("scheduling.api_urls")),
    path("api/v1/", include("clinical.api_urls")),
    path("api/v1/", include("documents.api_urls")),
    path("api/v1/", include("finance.api_urls")),
    # FHIR R4 read and search, over the same records, permissions and audit trail.
    path("fhir/R4/", include("fhir_r4.urls")),
    path("admin/", admin.site.urls),
    path("favicon.ico", favicon, name="favicon"),
]

handler403 = "clinic.views.permission_denied"
handler500 = "clinic.views.server_error"  # 503 "try again" when the database could not serve the request
