"""Expenses, other incomes, patient payments and monthly reports (issue #4)."""

from django.apps import AppConfig


class FinanceConfig(AppConfig):
    name = "finance"
    verbose_name = "Finance"

    def ready(self):
        from . import signals  # noqa: F401
