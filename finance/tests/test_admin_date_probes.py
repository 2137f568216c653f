"""The finance admin's date drill-down lists the same years and months as Django's, found by probes."""

from datetime import date

import pytest
from django.db import connection
from django.db.models import Max, Min
from django.test.utils import CaptureQueriesContext

from finance.models import Expense
from finance.templatetags.entry_dates import _ProbedDates
from finance.tests.factories import ExpenseFactory

pytestmark = pytest.mark.django_db

DATES = [date(2023, 3, 9), date(2023, 11, 30), date(2025, 1, 1), date(2025, 6, 15), date(2025, 12, 31)]


@pytest.fixture
def expenses():
    return [ExpenseFactory(date=day) for day in DATES]


def test_years_with_entries_are_the_ones_django_lists(expenses):
    probed = _ProbedDates(Expense.objects.all(), None)
    probed.aggregate(first=Min("date"), last=Max("date"))
    with CaptureQueriesContext(connection) as captured:
        years = probed.dates("date", "year")
    assert years == list(Expense.objects.dates("date", "year")) == [date(2023, 1, 1), date(2025, 1, 1)]
    assert len(captured) == 1  # one query of probes, however many years


@pytest.mark.parametrize("year", [2023, 2024, 2025])
def test_months_of_a_year_are_the_ones_django_lists(expenses, year):
    in_year = Expense.objects.filter(date__year=year)
    assert _ProbedDates(in_year, year).dates("date", "month") == list(in_year.dates("date", "month"))


def test_the_changelist_links_the_years_with_entries(manager, expenses):
    page = manager.get("/admin/finance/expense/").content.decode()
    assert "?date__year=2023" in page and "?date__year=2025" in page and "?date__year=2024" not in page
    page = manager.get("/admin/finance/expense/", {"date__year": 2025}).content.decode()
    assert "date__month=6" in page and "date__month=12" in page and "date__month=2&" not in page
