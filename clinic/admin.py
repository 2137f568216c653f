"""The admin site and shared admin behaviour."""

import re
from datetime import date, datetime, time

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.contrib.admin.widgets import AutocompleteSelect, AutocompleteSelectMultiple
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db import models
from django.http import HttpResponseNotAllowed
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.text import capfirst

from clinic import audit
from clinic.forms import AdminSignInForm, ModelMultipleChoiceField, as_lookup_value


class ClinicAdminSite(admin.AdminSite):
    site_header = "Clinic administration"
    site_title = "Clinic admin"
    login_form = AdminSignInForm
    # Admins that installed apps register by themselves and this site does not show: django-tasks-db's raw
    # task rows (not guarded against hostile input like the clinic's); "Background work" shows what staff need.
    not_shown = frozenset({"django_tasks_db.admin"})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from clinic.models import WorkerHeartbeat

        # Registered here, not at import: this module is imported while admin.site itself is being built.
        self.register(WorkerHeartbeat, BackgroundWorkAdmin)

    def register(self, model_or_iterable, admin_class=None, **options):
        if admin_class is not None and admin_class.__module__ in self.not_shown:
            return
        super().register(model_or_iterable, admin_class, **options)

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
    """The clinic's ModelAdmin (see HostileInputAdmin).

    A filtered list does not also count the whole table ("12 results (200,000 total)"): on lists that
    grow with the clinic's history that second count read every row on every page view."""

    show_full_result_count = False


_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")  # ASCII digits: int() also reads "٢٠٢٦"


def month_filter(field_name, *, months_back=24, months_ahead=0):
    """A list filter by calendar month (in the clinic's time zone) of a date or date-time field.

    Instead of Django's date hierarchy, whose year links come from SELECT DISTINCT over every row of
    the table (a full scan of 200,000 appointments on each view of the list): the months offered are
    worked out from today, with no query, and the chosen one filters a range the field's index reads.
    Any month can be asked for in the address (?<field>_month=2019-03); nonsense is ignored."""

    class MonthFilter(admin.SimpleListFilter):
        title = "month"
        parameter_name = f"{field_name}_month"

        def lookups(self, request, model_admin):
            today = timezone.localdate()
            first = today.year * 12 + today.month - 1
            months = range(first + months_ahead, first - months_back - 1, -1)
            return [(f"{m // 12:04d}-{m % 12 + 1:02d}", date(m // 12, m % 12 + 1, 1).strftime("%B %Y")) for m in months]

        def queryset(self, request, queryset):
            match = _MONTH.fullmatch(self.value() or "")
            if not match:
                return queryset
            year, month = int(match[1]), int(match[2])
            if not (1 <= year <= 9998 and 1 <= month <= 12):
                return queryset
            start = date(year, month, 1)
            end = date(year + month // 12, month % 12 + 1, 1)
            if isinstance(queryset.model._meta.get_field(field_name), models.DateTimeField):
                start, end = (timezone.make_aware(datetime.combine(day, time.min)) for day in (start, end))
            return queryset.filter(**{f"{field_name}__gte": start, f"{field_name}__lt": end})

    return MonthFilter


def related_filter(*select_related):
    """Django's filter by a related object, naming each choice without a query per choice
    (a doctor is named from its user: one query for all doctors instead of one more per doctor)."""

    class RelatedFilter(admin.RelatedFieldListFilter):
        def field_choices(self, field, request, model_admin):
            choices = field.related_model._default_manager.select_related(*select_related)
            ordering = self.field_admin_ordering(field, request, model_admin)
            if ordering:
                choices = choices.order_by(*ordering)
            return [(choice.pk, str(choice)) for choice in choices]

    return RelatedFilter


class ClinicTabularInline(HostileInputAdmin, admin.TabularInline):
    """The clinic's tabular inline (see HostileInputAdmin)."""


class BackgroundWorkAdmin(ClinicModelAdmin):
    """ "Background work": each worker (alive or not), tasks waiting, running and failed (clinic/worker.py).
    The page replaces the list of worker heartbeats; nothing here is added, changed or deleted."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        view = self.admin_site.admin_view(self.status_view)
        return [path("", view, name="clinic_workerheartbeat_changelist")]

    def status_view(self, request):
        from clinic import worker

        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Background work",
            "state": worker.status(),
            "alive_seconds": int(settings.WORKER_ALIVE_SECONDS),
            "periodic": sorted(settings.PERIODIC_TASKS.items()),
        }
        return TemplateResponse(request, "admin/clinic/background_work.html", context)
