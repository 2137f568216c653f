"""Expenses, other incomes, patient payments and monthly reports (issue #4)."""

from django.apps import AppConfig


class FinanceConfig(AppConfig):
    name = "finance"
    verbose_name = "Finance"
