"""The admin site and shared admin behaviour."""

from django.contrib import admin
from django.urls import path

from clinic import audit


class ClinicAdminSite(admin.AdminSite):
    site_header = "Clinic administration"
    site_title = "Clinic admin"

    def get_urls(self):
        from clinic.views import view_on_site

        # The "view on site" shortcut, with a permission check Django's own lacks (clinic/views.py).
        checked = path("r/<int:content_type_id>/<path:object_id>/", self.admin_view(view_on_site), name="view_on_site")
        return [checked if getattr(url, "name", None) == "view_on_site" else url for url in super().get_urls()]

    def autocomplete_view(self, request):
        # A search box for a patient field answers with patients' names: recorded like any search.
        response = super().autocomplete_view(request)
        if response.status_code == 200:
            field = ".".join(request.GET.get(key, "") for key in ("app_label", "model_name", "field_name"))
            audit.record(audit.Action.SEARCH, summary=f'admin autocomplete {field}: "{request.GET.get("term", "")}"')
        return response


class NoDeleteAdmin:
    """Records with history are archived or deactivated, never deleted from the admin."""

    def has_delete_permission(self, request, obj=None):
        return False


class RecordsAdminAccess:
    """Admin pages that show patients' data are recorded in the audit trail like the app's own:
    an object's page as a view, a list (searched or not) as a search with what was asked and how
    many rows answered."""

    records_access = True

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            original = getattr(response, "context_data", {}).get("original")
            if original is not None:
                audit.record(audit.Action.VIEW, original, summary="admin")
        return response

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl") if response.status_code == 200 else None
        if changelist is not None:
            asked = f'"{changelist.query}"' if changelist.query else "list"
            filters = ", filtered" if changelist.get_filters_params() else ""
            listed = self.model._meta.verbose_name_plural
            summary = f"admin {listed}: {asked}{filters}, {changelist.result_count} found"
            audit.record(audit.Action.SEARCH, summary=summary)
        return response
