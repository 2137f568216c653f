"""Expenses (with their receipts) and the categories they are filed under."""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from clinic.admin import ClinicModelAdmin, NoDeleteAdmin
from clinic.files import private_file_response
from clinic.uploads import ACCEPTED_DESCRIPTION, check_upload

from .. import services
from ..models import Expense, ExpenseCategory
from .entries import _ENTRY_TAIL, MoneyEntryAdmin, RecordedByFilter, ReversalFilter


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
class ExpenseAdmin(MoneyEntryAdmin):
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
    list_filter = ["date", "category", "method", ("recorded_by", RecordedByFilter), ReversalFilter]
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


@admin.register(ExpenseCategory)
class ExpenseCategoryAdmin(NoDeleteAdmin, ClinicModelAdmin):
    list_display = ["name", "description", "is_active", "expense_count"]
    list_filter = ["is_active"]
    search_fields = ["name", "description"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(entries=Count("expenses"))

    def save_model(self, request, obj, form, change):
        services.save_expense_category(category=obj)

    @admin.display(description="expenses", ordering="entries")
    def expense_count(self, obj):
        return obj.entries
