"""The managers' workplace: expenses, other incomes, payments, closed months and the monthly report.

Every write goes through finance/services.py. Entries in a closed month, reversals and reversed
entries open read-only; a wrong entry is reversed (a button on its page), never deleted.
"""

import datetime

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Exists, OuterRef, Sum
from django.db.models.functions import TruncMonth
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from clinic import audit
from clinic.admin import ClinicModelAdmin, NoDeleteAdmin, RecordsAdminAccess
from clinic.files import private_file_response
from clinic.forms import add_service_errors
from clinic.uploads import ACCEPTED_DESCRIPTION, check_upload

from . import exports, reports, services
from .models import ClosedMonth, Expense, ExpenseCategory, MonthlyReport, OtherIncome, Payment, month_label
from .money import format_money


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


class ReverseForm(forms.Form):
    reason = forms.CharField(
        max_length=300, widget=forms.Textarea(attrs={"rows": 3}), help_text="Kept with the reversal for good."
    )


def _has_reversal(obj):
    # Annotated by EntryAdmin.get_queryset; asked directly for an object saved in this request.
    return obj.has_reversal if hasattr(obj, "has_reversal") else obj.is_reversed


def _in_closed_month(obj):
    return obj.in_closed_month if hasattr(obj, "in_closed_month") else obj.month_is_closed()


class EntryAdmin(NoDeleteAdmin, ClinicModelAdmin):
    """Shared by the three kinds of entry: total of the filtered rows, exports, read-only when locked, reversal."""

    records_access = False  # RecordsAdminAccess turns it on where entries name patients

    change_list_template = "admin/finance/change_list.html"
    change_form_template = "admin/finance/change_form.html"
    date_hierarchy = "date"
    list_per_page = 50
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
                has_reversal=Exists(model.objects.filter(reverses=OuterRef("pk"))),
                in_closed_month=Exists(ClosedMonth.objects.filter(month=OuterRef("entry_month"))),
            )
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


class ExpenseAdminForm(forms.ModelForm):
    receipt_file = forms.FileField(
        label="Receipt",
        required=False,
        help_text=f"Optional: {ACCEPTED_DESCRIPTION}. A new file replaces the one shown (which is kept in storage).",
    )

    class Meta:
        model = Expense
        fields = ["date", "amount", "category", "reason", "paid_to", "method", "notes"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "category" in self.fields:
            current = self.instance.category_id if self.instance.pk else None
            self.fields["category"].queryset = ExpenseCategory.objects.filter(is_active=True) | (
                ExpenseCategory.objects.filter(pk=current)
            )

    def clean_receipt_file(self):
        uploaded = self.cleaned_data.get("receipt_file")
        if uploaded:
            self.checked_receipt = check_upload(uploaded)
        return uploaded


@admin.register(Expense)
class ExpenseAdmin(EntryAdmin):
    form = ExpenseAdminForm
    list_display = [
        "date",
        "category",
        "reason",
        "paid_to",
        "amount_column",
        "method",
        "receipt_link",
        "recorded_by",
        "state",
    ]
    list_display_links = ["date", "reason"]
    list_filter = ["date", "category", "method", ("recorded_by", admin.RelatedOnlyFieldListFilter), ReversalFilter]
    list_select_related = ["category", "recorded_by"]
    search_fields = ["reason", "paid_to", "notes", "category__name"]
    readonly_fields = ["current_receipt", "recorded_by", "recorded_at", "reverses", "reversal_reason"]
    export_name = "expenses"
    export_columns = [
        ("Date", lambda o: o.date.isoformat()),
        ("Category", lambda o: o.category.name),
        ("Reason", lambda o: o.reason),
        ("Paid to", lambda o: o.paid_to),
        ("Method", lambda o: o.get_method_display()),
        ("Amount", lambda o: o.amount),
        ("Receipt", lambda o: o.receipt_name),
        *_ENTRY_TAIL,
    ]

    def get_fields(self, request, obj=None):
        fields = ["date", "amount", "category", "reason", "paid_to", "method", "receipt_file", "notes"]
        if obj is not None:
            fields[6:7] = (
                ["current_receipt", "receipt_file"] if self.has_change_permission(request, obj) else ["current_receipt"]
            )
            fields += ["recorded_by", "recorded_at"]
            if obj.reverses_id:
                fields += ["reverses", "reversal_reason"]
        return fields

    @admin.display(description="receipt")
    def receipt_link(self, obj):
        if not obj.receipt:
            return "—"
        return format_html('<a href="{}">Receipt</a>', reverse("admin:finance_expense_receipt", args=[obj.pk]))

    @admin.display(description="current receipt")
    def current_receipt(self, obj):
        if not obj.receipt:
            return "None"
        url = reverse("admin:finance_expense_receipt", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.receipt_name or "Receipt")

    def get_urls(self):
        view = self.admin_site.admin_view(self.receipt_view)
        return [path("<int:pk>/receipt/", view, name="finance_expense_receipt"), *super().get_urls()]

    def receipt_view(self, request, pk):
        """Receipts are private files: only through this permission-checked view, never a public URL."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        expense = get_object_or_404(Expense, pk=pk)
        if not expense.receipt:
            raise Http404("This expense has no receipt.")
        return private_file_response(
            expense.receipt,
            content_type=expense.receipt_type,
            filename=expense.receipt_name or expense.receipt.name.rsplit("/", 1)[-1],
        )


class OtherIncomeAdminForm(forms.ModelForm):
    class Meta:
        model = OtherIncome
        fields = ["date", "amount", "source", "description", "payer", "patient", "notes"]


@admin.register(OtherIncome)
class OtherIncomeAdmin(RecordsAdminAccess, EntryAdmin):
    form = OtherIncomeAdminForm
    list_display = ["date", "source", "description", "payer", "patient", "amount_column", "recorded_by", "state"]
    list_display_links = ["date", "description"]
    list_filter = ["date", "source", ("recorded_by", admin.RelatedOnlyFieldListFilter), ReversalFilter]
    list_select_related = ["patient", "recorded_by"]
    search_fields = ["description", "payer", "notes", "patient__last_name", "patient__first_name", "patient__mrn"]
    autocomplete_fields = ["patient"]
    readonly_fields = ["recorded_by", "recorded_at", "reverses", "reversal_reason"]
    export_name = "other-incomes"
    export_columns = [
        ("Date", lambda o: o.date.isoformat()),
        ("Source", lambda o: o.get_source_display()),
        ("Description", lambda o: o.description),
        ("Payer", lambda o: o.payer),
        ("Patient MRN", lambda o: o.patient.mrn if o.patient else ""),
        ("Patient", lambda o: o.patient.full_name if o.patient else ""),
        ("Amount", lambda o: o.amount),
        *_ENTRY_TAIL,
    ]

    def get_fields(self, request, obj=None):
        fields = ["date", "amount", "source", "description", "payer", "patient", "notes"]
        if obj is not None:
            fields += ["recorded_by", "recorded_at"]
            if obj.reverses_id:
                fields += ["reverses", "reversal_reason"]
        return fields


def _paid_for(obj):
    if obj.procedure_id:
        return f"Procedure: {obj.procedure.name}"
    visit = obj.appointment
    return f"Visit {timezone.localtime(visit.start):%d %b %Y %H:%M} with {visit.doctor}"


@admin.register(Payment)
class PaymentAdmin(RecordsAdminAccess, EntryAdmin):
    """Payments are taken at the front desk (Payments due); here they are found, exported and refunded."""

    list_display = [
        "date",
        "receipt_number",
        "patient",
        "paid_for",
        "amount_column",
        "fee_column",
        "method",
        "recorded_by",
        "state",
    ]
    list_display_links = ["date", "receipt_number"]
    list_filter = ["date", "method", ("recorded_by", admin.RelatedOnlyFieldListFilter), ReversalFilter]
    list_select_related = ["patient", "recorded_by", "procedure", "appointment__doctor__user"]
    search_fields = ["receipt_number", "patient__last_name", "patient__first_name", "patient__mrn"]
    fields = [
        "receipt_number",
        "date",
        "patient",
        "paid_for",
        "fee",
        "amount",
        "fee_override_reason",
        "method",
        "notes",
        "recorded_by",
        "recorded_at",
        "reverses",
        "reversal_reason",
    ]
    readonly_fields = fields
    export_name = "payments"
    export_columns = [
        ("Date", lambda o: o.date.isoformat()),
        ("Receipt", lambda o: o.receipt_number),
        ("Patient MRN", lambda o: o.patient.mrn),
        ("Patient", lambda o: o.patient.full_name),
        ("For", _paid_for),
        ("Standard fee", lambda o: o.fee),
        ("Amount", lambda o: o.amount),
        ("Reason for a different amount", lambda o: o.fee_override_reason),
        ("Method", lambda o: o.get_method_display()),
        *_ENTRY_TAIL,
    ]

    @admin.display(description="for")
    def paid_for(self, obj):
        return _paid_for(obj)

    @admin.display(description="standard fee")
    def fee_column(self, obj):
        return format_money(obj.fee) + (" (changed)" if obj.fee_overridden else "")

    def has_add_permission(self, request):
        return False  # taken from the visit or procedure at the front desk: finance:due

    def has_change_permission(self, request, obj=None):
        return False  # a receipt given to a patient never changes; it is refunded by a reversal


@admin.register(ExpenseCategory)
class ExpenseCategoryAdmin(NoDeleteAdmin, ClinicModelAdmin):
    list_display = ["name", "description", "is_active", "expense_count"]
    list_filter = ["is_active"]
    search_fields = ["name", "description"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(entries=Count("expenses"))

    @admin.display(description="expenses", ordering="entries")
    def expense_count(self, obj):
        return obj.entries


class CloseMonthForm(forms.ModelForm):
    month = forms.TypedChoiceField(coerce=datetime.date.fromisoformat)

    class Meta:
        model = ClosedMonth
        fields = ["month", "note"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "month" not in self.fields:  # the read-only page of a month already closed
            return
        self.fields["month"].choices = [
            (m.isoformat(), month_label(m)) for m in reports.closable_months(timezone.localdate())
        ]
        self.fields["month"].help_text = (
            "Every expense, income and payment dated in this month becomes final: nothing can be added, "
            "changed or removed there again. Corrections are then reversals dated in an open month."
        )


@admin.register(ClosedMonth)
class ClosedMonthAdmin(NoDeleteAdmin, ClinicModelAdmin):
    form = CloseMonthForm
    list_display = ["__str__", "closed_by", "closed_at", "note"]
    list_select_related = ["closed_by"]
    readonly_fields = ["closed_by", "closed_at"]

    def has_change_permission(self, request, obj=None):
        return False

    def get_fields(self, request, obj=None):
        return ["month", "note"] if obj is None else ["month", "note", "closed_by", "closed_at"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["month", "note", "closed_by", "closed_at"]

    def save_model(self, request, obj, form, change):
        closed = services.close_month(month=form.cleaned_data["month"], by=request.user, note=obj.note)
        obj.pk, obj.month = closed.pk, closed.month


@admin.register(MonthlyReport)
class MonthlyReportAdmin(ClinicModelAdmin):
    """The report replaces this entry's changelist: /admin/finance/monthlyreport/?year=2026."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path("", self.admin_site.admin_view(self.report_view), name="finance_monthlyreport_changelist"),
            path(
                "<int:year>/<int:month>/",
                self.admin_site.admin_view(self.month_view),
                name="finance_monthlyreport_month",
            ),
        ]

    def month_view(self, request, year, month):
        """A month's drill-down: its expenses and other incomes one by one, its payments by method."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        if not (1 <= month <= 12 and 1900 <= year <= timezone.localdate().year + 1):
            raise Http404("No such month.")
        detail = reports.month_detail(year, month)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{month_label(detail.month)}",
            "detail": detail,
        }
        return TemplateResponse(request, "admin/finance/month.html", context)

    def report_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        today = timezone.localdate()
        try:
            year = int(request.GET.get("year", today.year))
        except ValueError:
            year = today.year
        year = min(max(year, 1900), today.year + 1)
        report = reports.monthly_report(year, today)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Monthly report {year}",
            "report": report,
            "today": today,
            "previous_year": year - 1,
            "next_year": year + 1 if year < today.year else None,
            "can_close": request.user.has_perm("finance.add_closedmonth"),
        }
        return TemplateResponse(request, "admin/finance/report.html", context)
