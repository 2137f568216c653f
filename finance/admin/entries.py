"""What the three kinds of money entry share in the admin: the total of the filtered rows, exports,
read-only when locked, and reversal (a wrong entry is reversed, never deleted)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, OuterRef, Q, Subquery, Sum
from django.db.models.functions import TruncMonth
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from clinic import audit
from clinic.admin import ClinicModelAdmin, NoDeleteAdmin
from clinic.forms import add_service_errors

from .. import exports, services
from ..models import ClosedMonth, month_label
from ..money import format_money


class ReversalFilter(admin.SimpleListFilter):
    title = "reversals"
    parameter_name = "reversal"

    def lookups(self, request, model_admin):
        return [("originals", "Original entries"), ("reversals", "Reversals"), ("reversed", "Reversed entries")]

    def queryset(self, request, queryset):
        if self.value() == "originals":
            return queryset.filter(reverses__isnull=True)
        if self.value() == "reversals":
            return queryset.filter(reverses__isnull=False)
        if self.value() == "reversed":
            return queryset.filter(has_reversal=True)
        return queryset


class RecordedByFilter(admin.RelatedOnlyFieldListFilter):
    """The staff who recorded at least one entry, found by probing the (recorded_by, date) index once a
    person: Django's own filter reads the recorded_by of every entry in the table on every list view."""

    def field_choices(self, field, request, model_admin):
        recorded = Exists(model_admin.model.objects.filter(**{self.field_path: OuterRef("pk")}))
        ordering = self.field_admin_ordering(field, request, model_admin)
        return field.get_choices(include_blank=False, limit_choices_to=Q(recorded), ordering=ordering)


class ReverseForm(forms.Form):
    reason = forms.CharField(
        max_length=300, widget=forms.Textarea(attrs={"rows": 3}), help_text="Kept with the reversal for good."
    )


def _has_reversal(obj):
    # Annotated by MoneyEntryAdmin.get_queryset; asked directly for an object saved in this request.
    return obj.has_reversal if hasattr(obj, "has_reversal") else obj.is_reversed


def _in_closed_month(obj):
    return obj.in_closed_month if hasattr(obj, "in_closed_month") else obj.month_is_closed()


class MoneyEntryAdmin(NoDeleteAdmin, ClinicModelAdmin):
    """Shared by the three kinds of entry: total of the filtered rows, exports, read-only when locked, reversal."""

    records_access = False  # RecordsAdminAccess turns it on where entries name patients

    change_list_template = "admin/finance/change_list.html"
    change_form_template = "admin/finance/change_form.html"
    date_hierarchy = "date"
    list_per_page = 50
    # A filtered list (a month, a method) counts only its own rows, not the whole table's as well.
    show_full_result_count = False
    ordering = ["-date", "-id"]
    export_name = ""
    export_columns = []

    def get_queryset(self, request):
        model = self.model
        return (
            super()
            .get_queryset(request)
            .annotate(entry_month=TruncMonth("date"))
            .annotate(
                # A scalar subquery, not EXISTS: PostgreSQL turned the EXISTS into one hash of every
                # entry's reverses_id built on each list view (19 ms at 77,000 payments); this
                # probes the reverses_id index for the page's rows only.
                reversal_pk=Subquery(model.objects.filter(reverses=OuterRef("pk")).values("pk")[:1]),
                in_closed_month=Exists(ClosedMonth.objects.filter(month=OuterRef("entry_month"))),
            )
            .annotate(has_reversal=ExpressionWrapper(Q(reversal_pk__isnull=False), output_field=BooleanField()))
        )

    # --- columns -------------------------------------------------------------------------
    @admin.display(description="amount", ordering="amount")
    def amount_column(self, obj):
        return format_html('<span class="money{}">{}</span>', " negative" if obj.amount < 0 else "", obj.amount_display)

    @admin.display(description="state")
    def state(self, obj):
        notes = []
        if obj.reverses_id:
            notes.append(f"Reversal of #{obj.reverses_id}: {obj.reversal_reason}")
        if obj.has_reversal:
            notes.append("Reversed")
        if obj.in_closed_month:
            notes.append("Month closed")
        return "; ".join(notes) or "—"

    # --- permissions ---------------------------------------------------------------------
    def is_locked(self, obj):
        return obj is not None and bool(obj.reverses_id or _has_reversal(obj) or _in_closed_month(obj))

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not self.is_locked(obj)

    def can_reverse(self, request, obj):
        return (
            obj is not None
            and not obj.reverses_id
            and not _has_reversal(obj)
            # Reversing adds an entry; and only those who keep the books see them (a receptionist
            # takes payments but does not refund them).
            and request.user.has_perm(f"finance.add_{self.opts.model_name}")
            and request.user.has_perm(f"finance.view_{self.opts.model_name}")
        )

    # --- saving through the services -------------------------------------------------------
    def save_model(self, request, obj, form, change):
        services.save_entry(obj, by=request.user, receipt=getattr(form, "checked_receipt", None))

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as error:
            if request.method != "POST" or hasattr(request, "entry_not_saved"):
                raise
            # The service refused a form that was valid (a receipt that could not be stored, say):
            # the admin's transaction is rolled back; show the same form again with the reason.
            request.entry_not_saved = error
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        error = getattr(request, "entry_not_saved", None)
        if error is None:
            return form

        class NotSaved(form):
            def clean(self):
                cleaned = super().clean()
                add_service_errors(self, error, {"receipt": "receipt_file"})
                return cleaned

        return NotSaved

    # --- pages ---------------------------------------------------------------------------
    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        export = self.admin_site.admin_view(self.export_view)
        return [
            path("export/csv/", export, {"fmt": "csv"}, name=f"{prefix}_csv"),
            path("export/xlsx/", export, {"fmt": "xlsx"}, name=f"{prefix}_xlsx"),
            path("<int:pk>/reverse/", self.admin_site.admin_view(self.reverse_view), name=f"{prefix}_reverse"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None)
        if context and isinstance(context.get("cl"), ChangeList):
            # The same filtered queryset the list shows, before pagination.
            summary = context["cl"].queryset.aggregate(total=Sum("amount"), count=Count("pk"))
            context["filtered_total"] = format_money(summary["total"] or 0)
            context["filtered_count"] = summary["count"]
            context["export_query"] = request.GET.urlencode()
            context["export_info"] = f"admin:{self.opts.app_label}_{self.opts.model_name}"
        return response

    def export_view(self, request, fmt):
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except admin.options.IncorrectLookupParameters:
            return HttpResponseRedirect(reverse(f"admin:finance_{self.opts.model_name}_changelist") + "?e=1")
        rows = changelist.get_queryset(request)
        if self.records_access:
            asked = f'"{changelist.query}"' if changelist.query else "all"
            listed = self.opts.verbose_name_plural
            summary = f"admin export ({fmt}) of {listed}: {asked}, {changelist.result_count} rows"
            audit.record(audit.Action.SEARCH, summary=summary)
        respond = exports.xlsx_response if fmt == "xlsx" else exports.csv_response
        return respond(self.export_name, self.export_columns, rows)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        extra_context = {
            **(extra_context or {}),
            "can_reverse": self.can_reverse(request, obj),
            "lock_reason": self.lock_reason(obj),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def lock_reason(self, obj):
        if obj is None:
            return ""
        if _in_closed_month(obj):
            return f"{month_label(obj.date)} is closed: this entry is final."
        if obj.reverses_id:
            return "This entry is a reversal; it cannot be changed."
        if _has_reversal(obj):
            return "This entry has been reversed; it cannot be changed."
        return ""

    def reverse_view(self, request, pk):
        if not self.has_view_permission(request):  # before the lookup: a 404 must not reveal an entry
            raise PermissionDenied
        obj = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.can_reverse(request, obj):
            if obj.reverses_id or _has_reversal(obj):
                messages.error(request, "This entry is a reversal or has already been reversed.")
                return HttpResponseRedirect(reverse(f"admin:finance_{self.opts.model_name}_change", args=[pk]))
            raise PermissionDenied
        form = ReverseForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                reversal = services.reverse_entry(entry=obj, reason=form.cleaned_data["reason"], by=request.user)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(
                    request, f"Reversed: {obj} is cancelled by #{reversal.pk} ({reversal.amount_display}) dated today."
                )
                return HttpResponseRedirect(reverse(f"admin:finance_{self.opts.model_name}_change", args=[reversal.pk]))
        if request.method == "GET" and self.records_access:
            audit.record(audit.Action.VIEW, obj, summary="admin: the reversal form")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Reverse {self.opts.verbose_name}",
            "entry": obj,
            "form": form,
            "today": timezone.localdate(),
        }
        return TemplateResponse(request, "admin/finance/reverse.html", context)


def _recorded_by(obj):
    return obj.recorded_by.get_full_name() or obj.recorded_by.username


def _reversal_of(obj):
    return obj.reverses_id or ""


_ENTRY_TAIL = [
    ("Currency", exports.currency),
    ("Reversal of entry", _reversal_of),
    ("Reversal reason", lambda o: o.reversal_reason),
    ("Recorded by", _recorded_by),
    ("Recorded at", lambda o: timezone.localtime(o.recorded_at).strftime("%Y-%m-%d %H:%M")),
    ("Notes", lambda o: o.notes),
]
