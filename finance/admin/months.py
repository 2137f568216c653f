"""Closing a month (its entries become final) and the monthly report with its drill-down."""

import datetime

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from clinic.admin import ClinicModelAdmin, NoDeleteAdmin

from .. import reports, services
from ..models import ClosedMonth, MonthlyReport, month_label


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
