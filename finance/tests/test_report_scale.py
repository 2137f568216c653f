"""The monthly report reads a month or a year as a date range, so its cost follows that range, not the books.

The month's drill-down once filtered EXTRACT(MONTH FROM date) over the whole year (PostgreSQL read and
discarded the other eleven months; SQLite called a Python function per row), and the year's report
grouped by that EXTRACT. Here: the SQL has no month extraction, PostgreSQL's plan reads only the
month (nothing removed by a filter) and sums the year from the (date, amount) index alone, and the
figures equal plain Python sums over the rows, at year ends and across leap-year Februaries.
"""

import datetime
import json
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finance.models import ExpenseCategory, OtherIncome, Payment
from finance.reports import month_detail, monthly_report
from finance.tests.factories import (
    CompletedVisitFactory,
    ExpenseFactory,
    OtherIncomeFactory,
    PaymentFactory,
    manager_user,
)

pytestmark = pytest.mark.django_db

MONEY_TABLES = ("finance_payment", "finance_expense", "finance_otherincome")


def money_queries(queries):
    return [q["sql"] for q in queries if any(f'"{table}"' in q["sql"] for table in MONEY_TABLES)]


@pytest.fixture
def books():
    """Payments in every month of 2024, a leap year, and on both sides of its year ends."""
    visit = CompletedVisitFactory()
    days = [datetime.date(2024, month, day) for month in range(1, 13) for day in (1, 15, 28)]
    days += [datetime.date(2023, 12, 31), datetime.date(2024, 2, 29), datetime.date(2025, 1, 1)]
    for day in days:
        PaymentFactory(appointment=visit, date=day, amount=Decimal("10.50"))
    return days


def test_the_month_and_the_year_are_read_as_date_ranges(books):
    with CaptureQueriesContext(connection) as month:
        detail = month_detail(2024, 2)
    with CaptureQueriesContext(connection) as year:
        report = monthly_report(2024, timezone.localdate())

    assert detail.payment_count == 4  # the 1st, 15th, 28th and 29th
    assert report.months[1].incomes[0].amount == Decimal("42.00")
    for sql in money_queries(month.captured_queries) + money_queries(year.captured_queries):
        assert "EXTRACT" not in sql.upper() and "django_date_extract" not in sql, sql


def _plan_nodes(plan):
    yield plan
    for child in plan.get("Plans", []):
        yield from _plan_nodes(child)


def _explain(sql):
    with connection.cursor() as cursor:
        # Tiny test tables would be read whole whatever the filter; this asks what an index can do.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return [node for node in _plan_nodes(plan[0]["Plan"]) if node.get("Relation Name") == "finance_payment"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plan")
def test_postgresql_reads_only_the_month_and_sums_the_year_from_the_index(books):
    with CaptureQueriesContext(connection) as month:
        month_detail(2024, 2)
    with CaptureQueriesContext(connection) as year:
        monthly_report(2024, timezone.localdate())
    [month_sql] = [sql for sql in money_queries(month.captured_queries) if '"finance_payment"' in sql]
    [year_sql] = [sql for sql in money_queries(year.captured_queries) if 'SUM("finance_payment"' in sql]

    with transaction.atomic():
        month_scans = _explain(month_sql)
        year_scans = _explain(year_sql)

    assert month_scans and all(scan["Node Type"].startswith("Index") for scan in month_scans), month_scans
    assert sum(scan.get("Rows Removed by Filter", 0) for scan in month_scans) == 0
    assert sum(scan["Actual Rows"] for scan in month_scans) == 4
    assert [(scan["Node Type"], scan["Index Name"]) for scan in year_scans] == [
        ("Index Only Scan", "payment_date_amount")
    ]
    assert sum(scan.get("Rows Removed by Filter", 0) for scan in year_scans) == 0


# Days around the year ends of a leap year (2024) and the years either side, and its February.
EDGES = [
    datetime.date(*day)
    for day in [
        (2023, 12, 1),
        (2023, 12, 31),
        (2024, 1, 1),
        (2024, 1, 31),
        (2024, 2, 1),
        (2024, 2, 28),
        (2024, 2, 29),
        (2024, 3, 1),
        (2024, 11, 30),
        (2024, 12, 1),
        (2024, 12, 31),
        (2025, 1, 1),
        (2025, 2, 28),
        (2025, 3, 1),
    ]
]
days = st.one_of(st.sampled_from(EDGES), st.dates(datetime.date(2023, 12, 1), datetime.date(2025, 3, 31)))
cents = st.integers(1, 500_000).map(lambda n: Decimal(n) / 100)
entry = st.tuples(st.sampled_from(["payment", "refund", "expense", "income"]), days, cents, st.integers(0, 2))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=st.lists(entry, min_size=1, max_size=25))
def test_month_and_year_figures_are_the_sums_of_their_rows(entries):
    with transaction.atomic():
        _check_against_python_sums(entries)
        transaction.set_rollback(True)


def _check_against_python_sums(entries):
    visit, manager = CompletedVisitFactory(), manager_user()
    categories = [ExpenseCategory.objects.get_or_create(name=name)[0] for name in ("Rent", "Salaries", "Supplies")]
    sources = [OtherIncome.Source.LAB, OtherIncome.Source.DONATION, OtherIncome.Source.OTHER]
    payments, expenses, incomes = defaultdict(Decimal), defaultdict(Decimal), defaultdict(Decimal)
    for kind, day, amount, pick in entries:
        month = (day.year, day.month)
        if kind in ("payment", "refund"):
            paid = PaymentFactory(appointment=visit, date=day, amount=amount, recorded_by=manager)
            payments[month] += amount
            if kind == "refund":
                # A refund counts in the month it is recorded, which may be the next year.
                refund_day = day + datetime.timedelta(days=pick * 20)
                Payment.objects.create(
                    reverses=paid,
                    reversal_reason="Refunded",
                    date=refund_day,
                    amount=-amount,
                    fee=paid.fee,
                    method=paid.method,
                    patient=paid.patient,
                    appointment=visit,
                    receipt_number=f"R-{paid.pk}",
                    recorded_by=manager,
                )
                payments[(refund_day.year, refund_day.month)] -= amount
        elif kind == "expense":
            ExpenseFactory(date=day, amount=amount, category=categories[pick], recorded_by=manager)
            expenses[(month, categories[pick].pk)] += amount
        else:
            OtherIncomeFactory(date=day, amount=amount, source=sources[pick], recorded_by=manager)
            incomes[(month, sources[pick])] += amount

    today = timezone.localdate()
    for year in (2023, 2024, 2025):
        report = monthly_report(year, today)
        sources_shown = [key for key, _ in report.income_columns]
        for row in report.months:
            month = (year, row.month.month)
            assert row.incomes[0].amount == payments[month]
            for source in sources:
                assert row.incomes[sources_shown.index(source)].amount == incomes[(month, source)]
            shown = {category.pk: cell.amount for category, cell in zip(report.categories, row.expenses, strict=True)}
            for category in categories:
                assert shown.get(category.pk, Decimal(0)) == expenses[(month, category.pk)]
        assert report.totals.income_total == sum((v for m, v in payments.items() if m[0] == year), Decimal(0)) + sum(
            (v for (m, _), v in incomes.items() if m[0] == year), Decimal(0)
        )
        assert report.totals.expense_total == sum((v for (m, _), v in expenses.items() if m[0] == year), Decimal(0))

    for year, month in {(day.year, day.month) for _, day, _, _ in entries}:
        detail = month_detail(year, month)
        assert detail.payment_total == payments[(year, month)]
        assert detail.expense_total == sum((v for (m, _), v in expenses.items() if m == (year, month)), Decimal(0))
        assert detail.income_total == payments[(year, month)] + sum(
            (v for (m, _), v in incomes.items() if m == (year, month)), Decimal(0)
        )
