"""The admin site and shared admin behaviour."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.contrib.admin.widgets import AutocompleteSelect, AutocompleteSelectMultiple
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.urls import path
from django.utils.text import capfirst

from clinic import audit
from clinic.forms import AdminSignInForm, ModelMultipleChoiceField, as_lookup_value


class ClinicAdminSite(admin.AdminSite):
    site_header = "Clinic administration"
    site_title = "Clinic admin"
    login_form = AdminSignInForm

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


# --- whatever is posted or put in the address: a message, never a 500 -------------------------------


def _key_field(db_field):
    """The field of the related model that a relation's values are looked up by."""
    remote = db_field.remote_field
    opts = remote.model._meta
    return opts.get_field(getattr(remote, "field_name", None) or opts.pk.name)


class _UsableSelection:
    # Django's autocomplete widget looks the posted ids up to show what was chosen when the form
    # comes back with an error; an id like "' OR 1=1 --" made that lookup raise (a 500).
    def optgroups(self, name, value, attr=None):
        key = _key_field(self.field)
        return super().optgroups(name, [v for v in value if as_lookup_value(key, v) is not None], attr)


def _named(db_field):
    """The select's title, which select2 copies onto the combobox it draws: the combobox is otherwise named
    only by what is chosen, so an empty one has no accessible name (axe: aria-input-field-name), and the
    page's <label for> points at the hidden <select>, not at it."""
    return {"title": capfirst(db_field.verbose_name)}


class _NamedBox:
    # The title names only the outer box; the read-only textbox select2 puts inside it is named by a small
    # script of ours (axe: aria-input-field-name), loaded after select2's own.
    @property
    def media(self):
        return super().media + forms.Media(js=["js/admin-autocomplete-names.js"])


class UsableAutocompleteSelect(_NamedBox, _UsableSelection, AutocompleteSelect):
    pass


class UsableAutocompleteSelectMultiple(_NamedBox, _UsableSelection, AutocompleteSelectMultiple):
    pass


class _ChangeList(ChangeList):
    def get_queryset(self, request, exclude_parameters=None):
        # PostgreSQL refuses a NUL byte in any text it is sent: a filter or a search holding one is
        # a wrong address (Django's "?e=1" page; the finance exports say so too), not a 500.
        if any("\x00" in value for _name, values in request.GET.lists() for value in values):
            raise IncorrectLookupParameters("A NUL byte in the address")
        return super().get_queryset(request, exclude_parameters)


class HostileInputAdmin:
    """Every ModelAdmin and inline here: posted ids, selected rows and values given in the address
    that the database cannot take become a form error, a message or are ignored, never a 500.

    Django's admin queries with posted values in three places before checking them: the
    autocomplete widget, a many-to-many choice (an id past 64 bits on SQLite), the ids of the rows
    an action is run on; the add page renders initial values from the address as they are; and a
    list filter passes a NUL byte on to PostgreSQL.
    """

    def get_changelist(self, request, **kwargs):
        return _ChangeList

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = UsableAutocompleteSelect(
                db_field, self.admin_site, attrs=_named(db_field), using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = UsableAutocompleteSelectMultiple(
                db_field, self.admin_site, attrs=_named(db_field), using=kwargs.get("using")
            )
        kwargs.setdefault("form_class", ModelMultipleChoiceField)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_changeform_initial_data(self, request):
        # /add/?start=abc prefilled a date-time widget with text it cannot split (a 500): a value
        # the field cannot take is left out, as if it had not been given.
        usable = {}
        for name, value in super().get_changeform_initial_data(request).items():
            try:
                field = self.opts.get_field(name)
            except FieldDoesNotExist:
                continue
            if not isinstance(field, models.Field):  # a reverse relation: no field on the form
                continue
            if field.many_to_many:
                key = _key_field(field)
                value = [v for v in value if as_lookup_value(key, v) is not None]
            else:
                value = as_lookup_value(field, value)
                if value is None:
                    continue
            usable[name] = value
        return usable

    def response_action(self, request, queryset):
        selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        if any(as_lookup_value(self.opts.pk, pk) is None for pk in selected):
            self.message_user(request, "Those rows could not be found; nothing was changed.", messages.WARNING)
            return None
        return super().response_action(request, queryset)


class ClinicModelAdmin(HostileInputAdmin, admin.ModelAdmin):
    """The clinic's ModelAdmin (see HostileInputAdmin)."""


class ClinicTabularInline(HostileInputAdmin, admin.TabularInline):
    """The clinic's tabular inline (see HostileInputAdmin)."""
