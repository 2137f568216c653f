"""Payments due counts only a few pages past the one asked for (clinic/paginators.py), and lists the same rows."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clinic.models import AuditEntry
from clinic.paginators import BoundedCountPaginator
from finance import queries
from finance.tests.factories import CompletedVisitFactory, PaymentFactory
from patients.tests.factories import PatientFactory
from scheduling.tests.factories import local
from staff.tests.factories import DoctorFactory

DUE = "/finance/due/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def thirty_unpaid_visits():
    doctor = DoctorFactory(consultation_fee=Decimal("60.00"))
    patient = PatientFactory()
    today = timezone.localdate()
    visits = [
        CompletedVisitFactory(patient=patient, doctor=doctor, start=local(today - timedelta(days=day + 1), 10))
        for day in range(31)
    ]
    PaymentFactory(appointment=visits[-1])  # paid: not due
    return visits[:-1]


@pytest.fixture
def one_page_ahead(monkeypatch):
    monkeypatch.setattr(BoundedCountPaginator, "pages_ahead", 0)


def test_a_long_list_says_there_are_more_than_it_counted(reception, thirty_unpaid_visits, one_page_ahead):
    first = reception.get(DUE)

    paginator = first.context["paginator"]
    assert (paginator.count, paginator.more, paginator.count_shown) == (25, True, "25+")
    assert "More than 25 are waiting" in first.content.decode()
    summary = AuditEntry.objects.filter(summary__startswith="payments due").latest("pk").summary
    assert summary == "payments due (visits): all, 25+ found"


def test_the_pages_hold_the_same_rows_in_the_same_order(reception, thirty_unpaid_visits, one_page_ahead):
    first = reception.get(DUE)
    second = reception.get(DUE, {"page": 2})

    listed = list(first.context["object_list"]) + list(second.context["object_list"])
    assert listed == list(queries.unpaid_visits()) == sorted(thirty_unpaid_visits, key=lambda v: v.start, reverse=True)
    # Reaching the last page, the count is exact again.
    assert (second.context["paginator"].count, second.context["paginator"].more) == (30, False)
    assert "More than" not in second.content.decode()


def test_a_short_list_counts_exactly(reception, thirty_unpaid_visits):
    response = reception.get(DUE)

    assert (response.context["paginator"].count, response.context["paginator"].more) == (30, False)
    assert response.context["paginator"].num_pages == 2


def test_the_count_reads_no_further_than_it_needs(reception, thirty_unpaid_visits, one_page_ahead):
    """SELECT COUNT(*) FROM (… LIMIT 26): one page and one row more, however long the list."""
    paginator = BoundedCountPaginator(queries.unpaid_visits(), 25)
    with CaptureQueriesContext(connection) as captured:
        paginator.page(1)
    (count,) = [q["sql"] for q in captured.captured_queries if "COUNT(" in q["sql"]]
    assert "LIMIT 26" in count
    assert (paginator.count, paginator.more) == (25, True)


def test_the_page_links_say_there_are_more_pages_than_counted(reception, thirty_unpaid_visits, monkeypatch):
    from finance.views import PaymentsDueView

    monkeypatch.setattr(PaymentsDueView, "paginate_by", 5)
    monkeypatch.setattr(BoundedCountPaginator, "pages_ahead", 1)
    html = reception.get(DUE).content.decode()
    assert "Page 1 of 2 or more" in html and 'rel="next"' in html
    assert "Page 6 of 6<" in reception.get(DUE, {"page": 6}).content.decode()  # the end: counted exactly
