"""Expenses, other incomes, patient payments and monthly reports (issue #4)."""

from django.apps import AppConfig


class FinanceConfig(AppConfig):
    name = "finance"
    verbose_name = "Finance"

    def ready(self):
        from scheduling.views import APPOINTMENT_PAGE

        from . import queries, signals  # noqa: F401

        APPOINTMENT_PAGE.register(queries.appointment_page_charges)
