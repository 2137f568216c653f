"""The finance admin runs the same number of queries for a few entries and for many (no N+1).

Each test measures a page with three entries of each kind, adds forty more spread over months,
categories, methods, sources, recorders, visits and procedures, with reversals and closed months,
measures again and compares. A warm-up request first, so one-off caches (content types,
permissions, the session) count in neither measurement.
"""

import calendar
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from finance import services
from finance.models import Expense, ExpenseCategory, OtherIncome, Payment, PaymentMethod
from finance.tests.factories import (
    CategoryFactory,
    ClosedMonthFactory,
    CompletedVisitFactory,
    DoneProcedureFactory,
    ExpenseFactory,
    OtherIncomeFactory,
    PaymentFactory,
)
from patients.tests.factories import PatientFactory
from staff.roles import MANAGER
from staff.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# Ceilings as well: constant but wasteful would still be a regression.
# Lists that show patients (payments, other incomes) add their audit entry: 2 queries, 3 on PostgreSQL.
MAX_CHANGELIST = 18
MAX_REPORT = 18
MAX_EXPORT = 15
METHODS = list(PaymentMethod)
SOURCES = list(OtherIncome.Source)


def months_ago(count, day):
    """`day` of the month `count` months before this one (clamped to the month's length)."""
    first = timezone.localdate().replace(day=1)
    for _ in range(count):
        first = (first - timedelta(days=1)).replace(day=1)
    return first.replace(day=min(day, calendar.monthrange(first.year, first.month)[1]))


def measure(client, url, data=None):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, data)
        assert response.status_code == 200
        if response.streaming:
            b"".join(response.streaming_content)  # a streamed export queries while it is read
    return len(captured)


def assert_does_not_grow(client, url, add_more, data=None, ceiling=MAX_CHANGELIST):
    client.get(url, data)  # warm-up
    few = measure(client, url, data)
    add_more()
    many = measure(client, url, data)
    assert many == few, f"{url}: {few} queries with a few entries, {many} with many"
    assert few <= ceiling, few


class Books:
    """Entries of every kind, grown in steps; a month is closed once its entries are in."""

    def __init__(self):
        self.recorders = [
            UserFactory(first_name=name, last_name="Clerk", roles=[MANAGER], is_staff=True)
            for name in ("Ann", "Ben", "Cat", "Dan")
        ]
        self.categories = list(ExpenseCategory.objects.all()) + [CategoryFactory(name="Laundry", is_active=False)]

    def expense(self, i, day):
        return ExpenseFactory(
            date=day,
            amount=Decimal("10.00") + i,
            category=self.categories[i % len(self.categories)],
            method=METHODS[i % len(METHODS)],
            recorded_by=self.recorders[i % len(self.recorders)],
            reason=f"Expense {i}",
            receipt=f"receipts/2020/{i:032x}.png" if i % 3 == 0 else "",
            receipt_name="slip.png" if i % 3 == 0 else "",
            receipt_type="image/png" if i % 3 == 0 else "",
        )

    def otherincome(self, i, day):
        return OtherIncomeFactory(
            date=day,
            amount=Decimal("5.00") + i,
            source=SOURCES[i % len(SOURCES)],
            patient=PatientFactory() if i % 2 else None,
            recorded_by=self.recorders[i % len(self.recorders)],
            description=f"Income {i}",
        )

    def payment(self, i, day):
        recorder = self.recorders[i % len(self.recorders)]
        method = METHODS[i % len(METHODS)]
        if i % 2:
            procedure = DoneProcedureFactory(performed_date=day, fee=Decimal("35.00"), name=f"Procedure {i}")
            return PaymentFactory(
                appointment=None,
                procedure=procedure,
                patient=procedure.patient,
                fee=procedure.fee,
                amount=procedure.fee,
                date=day,
                method=method,
                recorded_by=recorder,
            )
        visit = CompletedVisitFactory(doctor__consultation_fee=Decimal("60.00") + i % 3 * 15)
        return PaymentFactory(appointment=visit, date=day, method=method, recorded_by=recorder)

    def grow(self, kind, count, *, months, first=0):
        """`count` entries of `kind` over the given months ago (0 = this month, dated today), every
        fifth reversed (the reversal is dated today)."""
        make = getattr(self, kind)
        entries = []
        for n in range(count):
            i = first + n
            ago = months[n % len(months)]
            day = timezone.localdate() if ago == 0 else months_ago(ago, 1 + (i * 7) % 31)
            entries.append(make(i, day))
        for entry in entries[::5]:
            services.reverse_entry(entry=entry, reason=f"Correction of {entry.pk}", by=self.recorders[0])
        return entries

    def close(self, *months):
        for ago in months:
            ClosedMonthFactory(month=months_ago(ago, 1), closed_by=self.recorders[1])


@pytest.fixture
def books():
    return Books()


KINDS = {"expense": Expense, "otherincome": OtherIncome, "payment": Payment}


def grown(books, kind):
    """Three entries now (one this month, one two months ago, closed, one reversed); then forty more."""
    books.grow(kind, 3, months=[0, 2])
    books.close(2)

    def add_more():
        books.grow(kind, 40, months=[0, 1, 3, 4, 5, 6, 7, 8], first=3)
        books.close(3, 5, 7)

    return add_more


# --- the changelists ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_changelist(manager, books, kind):
    url = reverse(f"admin:finance_{kind}_changelist")
    assert_does_not_grow(manager, url, grown(books, kind))

    response = manager.get(url)
    model = KINDS[kind]
    assert response.context["cl"].result_count == model.objects.count() > 40
    assert model.objects.filter(reverses__isnull=False).count() == 1 + 8
    page = response.content.decode()
    assert "Month closed" in page and "Reversed" in page  # the annotated states really are on the page


@pytest.mark.parametrize("kind", KINDS)
def test_filtered_changelist(manager, books, kind):
    url = reverse(f"admin:finance_{kind}_changelist")
    today = timezone.localdate()
    data = {"date__year": today.year, "date__month": today.month, "reversal": "originals", "method__exact": "card"}
    if kind == "otherincome":
        data = {**data, "method__exact": None, "source__exact": "lab", "q": "Income"}
    data = {key: value for key, value in data.items() if value is not None}
    assert_does_not_grow(manager, url, grown(books, kind), data)


# --- the report and a month -----------------------------------------------------------------------


def test_monthly_report(manager, books):
    url = reverse("admin:finance_monthlyreport_changelist")
    year = months_ago(2, 1).year
    for kind in KINDS:
        books.grow(kind, 3, months=[0, 2])
    books.close(2)

    def add_more():
        for kind in KINDS:
            books.grow(kind, 40, months=[0, 1, 3, 4, 5, 6, 7, 8], first=3)
        books.close(1, 3, 4, 8)
        CategoryFactory(name="Training")

    assert_does_not_grow(manager, url, add_more, {"year": year}, ceiling=MAX_REPORT)
    assert manager.get(url, {"year": year}).context["report"].totals.expense_total > 0


def test_month_page(manager, books):
    today = timezone.localdate()
    url = reverse("admin:finance_monthlyreport_month", args=[today.year, today.month])
    for kind in KINDS:
        books.grow(kind, 3, months=[0, 2])
    books.close(2)

    def add_more():
        for kind in KINDS:
            books.grow(kind, 40, months=[0, 1, 3], first=3)
        books.close(1)

    assert_does_not_grow(manager, url, add_more, ceiling=MAX_REPORT)
    detail = manager.get(url).context["detail"]
    assert len(detail.expenses) > 15 and len(detail.incomes) > 15


# --- the exports ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export(manager, books, kind, fmt):
    url = reverse(f"admin:finance_{kind}_{fmt}")
    assert_does_not_grow(manager, url, grown(books, kind), ceiling=MAX_EXPORT)


def test_filtered_csv_export(manager, books):
    url = reverse("admin:finance_expense_csv")
    today = timezone.localdate()
    data = {"date__year": today.year, "date__month": today.month, "category__id__exact": books.categories[1].pk}
    books.grow("expense", 3, months=[0, 2])
    books.close(2)

    def add_more():
        books.grow("expense", 40, months=[0, 1, 3], first=3)
        books.close(1, 3)

    assert_does_not_grow(manager, url, add_more, data, ceiling=MAX_EXPORT)
    assert (
        Expense.objects.filter(date__year=today.year, date__month=today.month, category=books.categories[1]).count() > 1
    )
