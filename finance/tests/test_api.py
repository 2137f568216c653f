"""The finance API: who keeps the books, closed months refused 409, amounts as Decimal strings, reversals,
payments taken at the front desk, the monthly report, replays with Idempotency-Key, bounded lists."""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinic.models import AuditEntry
from finance.models import Expense, ExpenseCategory, OtherIncome, Payment
from finance.tests.factories import (
    ClosedMonthFactory,
    CompletedVisitFactory,
    DoneProcedureFactory,
    ExpenseFactory,
    OtherIncomeFactory,
    PaymentFactory,
)
from patients.tests.factories import PatientFactory
from staff.roles import ADMINISTRATOR, DOCTOR, MANAGER, NURSE, RECEPTIONIST

pytestmark = pytest.mark.django_db

EXPENSES = reverse("finance_api:expense-list")
INCOMES = reverse("finance_api:other-income-list")
PAYMENTS = reverse("finance_api:payment-list")
PROBLEM = "application/problem+json"


def last_month():
    return (timezone.localdate().replace(day=1) - datetime.timedelta(days=1)).replace(day=1)


def supplies():
    return ExpenseCategory.objects.get_or_create(name="Supplies")[0]


def new_expense(**changes):
    return {
        "date": timezone.localdate().isoformat(),
        "amount": "1234.50",
        "category": supplies().pk,
        "reason": "Перчатки, 20 коробок",
        "paid_to": "Łódź Medical Sp. z o.o.",
        "method": "bank_transfer",
        "notes": "",
        **changes,
    }


def new_income(**changes):
    return {
        "date": timezone.localdate().isoformat(),
        "amount": "45.00",
        "source": "lab",
        "description": "血液検査 for a referring practice",
        "payer": "Þórsdóttir Ćwiek Lab",
        **changes,
    }


# --- who keeps the books ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [(MANAGER, 200), (ADMINISTRATOR, 200), (RECEPTIONIST, 403), (DOCTOR, 403), (NURSE, 403), (None, 403)],
)
def test_the_books_are_read_by_managers_and_administrators_only(api_for, role, status):
    api = api_for(role)
    for url in (EXPENSES, INCOMES, PAYMENTS, reverse("finance_api:expense-category-list")):
        response = api.get(url)
        assert response.status_code == status, (url, response.content[:200])
    year = reverse("finance_api:monthly-report", kwargs={"year": timezone.localdate().year})
    assert api.get(year).status_code == status


@pytest.mark.parametrize("role", [DOCTOR, NURSE, RECEPTIONIST])
def test_roles_that_keep_no_books_cannot_record_an_expense(api_for, role):
    response = api_for(role).post(EXPENSES, new_expense(), format="json")
    assert response.status_code == 403 and response["Content-Type"] == PROBLEM
    assert not Expense.objects.exists()


# --- money is a Decimal, answered as a string ----------------------------------------------------------


def test_an_expense_is_recorded_through_the_service_and_its_amount_is_an_exact_string(api_for):
    api = api_for(MANAGER)
    response = api.post(EXPENSES, new_expense(amount="0.10"), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["amount"] == "0.10" and isinstance(body["amount"], str)
    assert body["category_name"] == "Supplies" and body["reason"] == "Перчатки, 20 коробок"
    assert body["reversed_by"] is None and body["month_closed"] is False
    assert response["Location"] == reverse("finance_api:expense-detail", kwargs={"pk": body["id"]})
    expense = Expense.objects.get()
    assert expense.amount == Decimal("0.10") and expense.recorded_by == api.user
    # Three dimes are three tenths, not 0.30000000000000004.
    for _ in range(2):
        api.post(EXPENSES, new_expense(amount="0.10"), format="json")
    month = timezone.localdate().strftime("%Y-%m")
    listed = api.get(EXPENSES, {"month": month}).json()["results"]
    assert sum(Decimal(e["amount"]) for e in listed) == Decimal("0.30")


def test_field_errors_are_400_problem_json_with_the_forms_messages(api_for):
    api = api_for(MANAGER)
    response = api.post(EXPENSES, new_expense(reason="", paid_to=""), format="json")
    assert response.status_code == 400 and response["Content-Type"] == PROBLEM
    assert {"reason", "paid_to"} <= set(response.json()["errors"])
    response = api.post(EXPENSES, new_expense(amount="0"), format="json")
    assert response.status_code == 400 and "above zero" in response.json()["errors"]["amount"][0]
    future = (timezone.localdate() + datetime.timedelta(days=3)).isoformat()
    response = api.post(EXPENSES, new_expense(date=future), format="json")
    assert response.status_code == 400 and "future" in response.json()["errors"]["date"][0]


def test_an_inactive_category_is_refused_like_in_the_admin(api_for):
    retired = ExpenseCategory.objects.create(name="Ôld lease", is_active=False)
    response = api_for(MANAGER).post(EXPENSES, new_expense(category=retired.pk), format="json")
    assert response.status_code == 400 and "category" in response.json()["errors"]


# --- closed months ------------------------------------------------------------------------------------


def test_an_expense_dated_in_a_closed_month_is_409_with_the_services_message(api_for):
    ClosedMonthFactory(month=last_month())
    response = api_for(MANAGER).post(EXPENSES, new_expense(date=last_month().isoformat()), format="json")
    assert response.status_code == 409, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == 409 and body["type"].endswith("/conflict")
    assert f"{last_month():%B %Y} is closed" in body["detail"]
    assert list(body["errors"]) == ["date"]
    assert not Expense.objects.exists()


def test_a_field_error_is_told_first_then_the_closed_month(api_for):
    """The admin's form checks the entry's rules (the closed month among them) once its fields are valid."""
    ClosedMonthFactory(month=last_month())
    api = api_for(MANAGER)
    response = api.post(EXPENSES, new_expense(date=last_month().isoformat(), paid_to=""), format="json")
    assert response.status_code == 400 and "paid_to" in response.json()["errors"]
    response = api.post(EXPENSES, new_expense(date=last_month().isoformat()), format="json")
    assert response.status_code == 409


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(day=st.integers(min_value=0, max_value=27))
def test_any_day_of_a_closed_month_is_refused_and_reversals_go_in_today(api_for, day):
    closed = last_month()
    if not ClosedMonthFactory._meta.model.objects.filter(month=closed).exists():
        ClosedMonthFactory(month=closed)
    api = api_for(MANAGER)
    date = (closed + datetime.timedelta(days=day)).isoformat()
    assert api.post(INCOMES, new_income(date=date), format="json").status_code == 409
    assert api.post(EXPENSES, new_expense(date=date), format="json").status_code == 409


def test_other_incomes_and_payments_honour_closed_months_too(api_for):
    ClosedMonthFactory(month=last_month())
    in_closed = last_month().isoformat()
    manager = api_for(MANAGER)
    assert manager.post(INCOMES, new_income(date=in_closed), format="json").status_code == 409
    visit = CompletedVisitFactory()
    response = api_for(RECEPTIONIST).post(
        PAYMENTS, {"appointment": visit.pk, "amount": "60.00", "method": "cash", "date": in_closed}, format="json"
    )
    assert response.status_code == 409 and "closed" in response.json()["detail"]
    assert not OtherIncome.objects.exists() and not Payment.objects.exists()


def test_an_entry_of_a_closed_month_is_reversed_today_and_shown_final(api_for):
    entry = ExpenseFactory(date=last_month())
    ClosedMonthFactory(month=last_month())
    api = api_for(MANAGER)
    shown = api.get(reverse("finance_api:expense-detail", kwargs={"pk": entry.pk})).json()
    assert shown["month_closed"] is True
    url = reverse("finance_api:expense-reverse", kwargs={"pk": entry.pk})
    response = api.post(url, {"reason": "Doppelt gebucht — Rechnung Nr. 7"}, format="json")
    assert response.status_code == 201, response.content
    reversal = response.json()
    assert reversal["amount"] == "-120.00" and reversal["reverses"] == entry.pk
    assert reversal["date"] == timezone.localdate().isoformat()
    assert (
        api.get(reverse("finance_api:expense-detail", kwargs={"pk": entry.pk})).json()["reversed_by"]
        == (reversal["id"])
    )
    again = api.post(url, {"reason": "again"}, format="json")
    assert again.status_code == 409 and "already been reversed" in again.json()["detail"]
    of_reversal = reverse("finance_api:expense-reverse", kwargs={"pk": reversal["id"]})
    assert api.post(of_reversal, {"reason": "undo"}, format="json").status_code == 409


def test_a_reversal_needs_a_reason(api_for):
    entry = OtherIncomeFactory()
    url = reverse("finance_api:other-income-reverse", kwargs={"pk": entry.pk})
    response = api_for(MANAGER).post(url, {"reason": ""}, format="json")
    assert response.status_code == 400 and "reason" in response.json()["errors"]
    assert not OtherIncome.objects.filter(reverses=entry).exists()


# --- replays ------------------------------------------------------------------------------------------


def test_a_replayed_expense_is_recorded_once(api_for):
    api = api_for(MANAGER)
    key = str(uuid.uuid4())
    first = api.post(EXPENSES, new_expense(), format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == 201
    again = api.post(EXPENSES, new_expense(), format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert again.status_code == 303 and again["Location"] == first["Location"]
    assert Expense.objects.count() == 1


def test_a_replayed_payment_and_refund_are_done_once(api_for):
    visit = CompletedVisitFactory()
    desk = api_for(RECEPTIONIST)
    key = str(uuid.uuid4())
    taken = {"appointment": visit.pk, "amount": "60.00", "method": "card"}
    first = desk.post(PAYMENTS, taken, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == 201, first.content
    assert desk.post(PAYMENTS, taken, format="json", HTTP_IDEMPOTENCY_KEY=key).status_code == 303
    manager = api_for(MANAGER)
    refund = reverse("finance_api:payment-reverse", kwargs={"pk": first.json()["id"]})
    key = str(uuid.uuid4())
    assert manager.post(refund, {"reason": "Paid twice"}, format="json", HTTP_IDEMPOTENCY_KEY=key).status_code == 201
    assert manager.post(refund, {"reason": "Paid twice"}, format="json", HTTP_IDEMPOTENCY_KEY=key).status_code == 303
    assert Payment.objects.count() == 2


def test_an_income_replay_key_is_the_callers_own(api_for):
    key = str(uuid.uuid4())
    assert api_for(MANAGER).post(INCOMES, new_income(), format="json", HTTP_IDEMPOTENCY_KEY=key).status_code == 201
    other = api_for(ADMINISTRATOR).post(INCOMES, new_income(), format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert other.status_code == 403
    assert OtherIncome.objects.count() == 1


# --- payments ----------------------------------------------------------------------------------------


def test_the_front_desk_takes_a_payment_and_reads_its_receipt_but_neither_lists_nor_refunds(api_for):
    visit = CompletedVisitFactory(patient=PatientFactory(first_name="Zoë", last_name="Nguyễn"))
    desk = api_for(RECEPTIONIST)
    response = desk.post(PAYMENTS, {"appointment": visit.pk, "amount": "60.00", "method": "cash"}, format="json")
    assert response.status_code == 201, response.content
    payment = response.json()
    assert payment["amount"] == "60.00" and payment["fee"] == "60.00" and payment["receipt_number"]
    assert payment["patient_name"] == "Zoë Nguyễn" and payment["date"] == timezone.localdate().isoformat()
    receipt = desk.get(response["Location"])
    assert receipt.status_code == 200 and receipt.json()["receipt_number"] == payment["receipt_number"]
    viewed = AuditEntry.objects.filter(action=AuditEntry.Action.VIEW).latest("id")
    assert viewed.patient_id == visit.patient_id and viewed.user == desk.user
    assert desk.get(PAYMENTS).status_code == 403
    refund = reverse("finance_api:payment-reverse", kwargs={"pk": payment["id"]})
    assert desk.post(refund, {"reason": "x"}, format="json").status_code == 403


def test_paying_twice_is_409_naming_the_first_payment(api_for):
    paid = PaymentFactory()
    response = api_for(RECEPTIONIST).post(
        PAYMENTS, {"appointment": paid.appointment_id, "amount": "60.00", "method": "cash"}, format="json"
    )
    assert response.status_code == 409
    body = response.json()
    assert paid.receipt_number in body["detail"]
    assert body["payment"] == reverse("finance_api:payment-detail", kwargs={"pk": paid.pk})


def test_a_different_amount_needs_a_reason_and_only_done_work_is_paid(api_for):
    desk = api_for(RECEPTIONIST)
    procedure = DoneProcedureFactory()
    cheaper = {"procedure": procedure.pk, "amount": "20.00", "method": "card"}
    response = desk.post(PAYMENTS, cheaper, format="json")
    assert response.status_code == 400 and "fee_override_reason" in response.json()["errors"]
    response = desk.post(PAYMENTS, {**cheaper, "fee_override_reason": "Ermäßigung für Studierende"}, format="json")
    assert response.status_code == 201 and response.json()["amount"] == "20.00"
    booked = CompletedVisitFactory(status="booked")
    response = desk.post(PAYMENTS, {"appointment": booked.pk, "amount": "60.00", "method": "cash"}, format="json")
    assert response.status_code == 400 and "completed" in response.json()["detail"]
    both = {"appointment": booked.pk, "procedure": procedure.pk, "amount": "1.00", "method": "cash"}
    assert desk.post(PAYMENTS, both, format="json").status_code == 400
    missing = {"appointment": 987654321, "amount": "1.00", "method": "cash"}
    response = desk.post(PAYMENTS, missing, format="json")
    assert response.status_code == 400 and "appointment" in response.json()["errors"]


# --- lists: filters, audit, bounded queries ---------------------------------------------------------------


def test_expenses_are_filtered_by_month_and_category(api_for):
    rent = ExpenseCategory.objects.create(name="Миете")
    ExpenseFactory(date=last_month(), category=rent)
    ExpenseFactory(date=timezone.localdate(), category=rent)
    ExpenseFactory(date=timezone.localdate())
    api = api_for(MANAGER)
    this_month = timezone.localdate().strftime("%Y-%m")
    assert len(api.get(EXPENSES, {"month": this_month}).json()["results"]) == 2
    assert len(api.get(EXPENSES, {"month": this_month, "category": rent.pk}).json()["results"]) == 1
    assert len(api.get(EXPENSES, {"category": rent.pk}).json()["results"]) == 2
    for bad in ({"month": "2026-13"}, {"month": "March"}, {"category": 987654321}):
        response = api.get(EXPENSES, bad)
        assert response.status_code == 400 and set(bad) <= set(response.json()["errors"]), bad


def test_listing_payments_is_audited_as_a_search(api_for):
    PaymentFactory()
    api = api_for(MANAGER)
    assert api.get(PAYMENTS, {"month": timezone.localdate().strftime("%Y-%m")}).status_code == 200
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.SEARCH).latest("id")
    assert entry.user == api.user and "payments (API)" in entry.summary


def _queries(api, url):
    with CaptureQueriesContext(connection) as captured:
        response = api.get(url, {"page_size": 100})
    assert response.status_code == 200
    return len(captured), len(response.json()["results"])


@pytest.mark.parametrize(
    ("url", "make"),
    [
        (EXPENSES, lambda: ExpenseFactory(category=ExpenseCategory.objects.create(name=f"Kat {uuid.uuid4()}"))),
        (INCOMES, lambda: OtherIncomeFactory(patient=PatientFactory())),
        (PAYMENTS, PaymentFactory),
    ],
)
def test_a_list_takes_as_many_queries_for_thirty_entries_as_for_three(api_for, url, make):
    api = api_for(MANAGER)
    for _ in range(3):
        make()
    _queries(api, url)  # once before counting: the first call of a token also reads what is cached after
    few, listed = _queries(api, url)
    assert listed == 3
    for _ in range(27):
        make()
    ExpenseFactory(date=last_month())
    ClosedMonthFactory(month=last_month())
    many, listed = _queries(api, url)
    assert listed >= 30
    assert many == few, f"{few} queries for 3, {many} for 30"
    assert many <= 8


# --- the monthly report --------------------------------------------------------------------------------


def test_the_monthly_report_sums_in_decimal_strings(api_for):
    today = timezone.localdate()
    ExpenseFactory(amount=Decimal("0.10"))
    ExpenseFactory(amount=Decimal("0.20"))
    OtherIncomeFactory(amount=Decimal("45.55"), source="donation")
    PaymentFactory()
    api = api_for(MANAGER)
    report = api.get(reverse("finance_api:monthly-report", kwargs={"year": today.year})).json()
    month = report["months"][today.month - 1]
    assert month["expense_total"] == "0.30"
    assert month["income_total"] == "105.55"  # 60.00 paid + 45.55 donated
    assert month["net"] == "105.25"
    keys = [column["key"] for column in report["income_columns"]]
    assert month["incomes"][keys.index("donation")] == "45.55"
    assert report["totals"]["net"] == "105.25" and today.year in report["years"]
    detail = api.get(reverse("finance_api:month-report", kwargs={"year": today.year, "month": today.month})).json()
    assert detail["payment_count"] == 1 and detail["payment_total"] == "60.00"
    assert [e["amount"] for e in detail["expenses"]] == ["0.10", "0.20"]
    assert detail["net"] == "105.25"


@pytest.mark.parametrize(("year", "month"), [(1899, 1), (9999, 1), (2026, 13), (2026, 0)])
def test_a_month_that_cannot_be_is_404(api_for, year, month):
    api = api_for(MANAGER)
    response = api.get(reverse("finance_api:month-report", kwargs={"year": year, "month": month}))
    assert response.status_code == 404 and response["Content-Type"] == PROBLEM
