"""Categories, the filtered total, and other income with its patient."""

from decimal import Decimal

import pytest
from django.urls import reverse

from finance import services
from finance.models import Expense, ExpenseCategory, OtherIncome, PaymentMethod
from finance.money import format_money
from finance.tests.admin_pages import (
    category,
    expense_form,
    filtered_total,
    income_form,
    last_month_end,
    last_month_start,
    select_options,
    text,
    today,
    url,
)
from finance.tests.factories import (
    ExpenseFactory,
    OtherIncomeFactory,
    PaymentFactory,
)
from patients.tests.factories import PatientFactory
from staff.roles import MANAGER
from staff.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_manager_adds_a_category_and_it_is_offered_for_expenses(manager):
    response = manager.post(
        url("expensecategory_add"),
        {"name": "Training", "description": "Courses and conferences", "is_active": "on", "_save": "Save"},
    )

    assert response.status_code == 302
    training = ExpenseCategory.objects.get(name="Training")
    assert select_options(manager.get(url("expense_add")), "category")["Training"] == str(training.pk)
    manager.post(url("expense_add"), expense_form(category=str(training.pk)))
    assert Expense.objects.get().category == training


def test_a_category_name_is_unique_whatever_its_case(manager):
    response = manager.post(url("expensecategory_add"), {"name": "rent", "is_active": "on", "_save": "Save"})

    assert response.status_code == 200
    assert "This category exists." in text(response)
    assert ExpenseCategory.objects.filter(name__iexact="rent").count() == 1


def test_retiring_a_category_hides_it_from_new_expenses_but_keeps_old_ones(manager):
    utilities = category("Utilities")
    old = ExpenseFactory(category=utilities, reason="Electricity")

    response = manager.post(
        url("expensecategory_change", utilities.pk),
        {"name": "Utilities", "description": utilities.description, "_save": "Save"},  # "active" unticked
    )

    assert response.status_code == 302
    utilities.refresh_from_db()
    assert not utilities.is_active
    assert "Utilities" not in select_options(manager.get(url("expense_add")), "category")
    old.refresh_from_db()
    assert old.category == utilities
    # The old expense's own form still shows (and keeps) its category.
    assert select_options(manager.get(url("expense_change", old.pk)), "category")["Utilities"] == str(utilities.pk)
    kept = manager.post(
        url("expense_change", old.pk), expense_form(category=str(utilities.pk), reason="Electricity Q1")
    )
    assert kept.status_code == 302
    old.refresh_from_db()
    assert (old.category, old.reason) == (utilities, "Electricity Q1")


@pytest.fixture
def expenses(manager):
    """Nine expenses across this month and last, categories, methods and recorders; one reversed."""
    alice = UserFactory(username="alice", first_name="Alice", last_name="Moss", roles=[MANAGER], is_staff=True)
    bob = UserFactory(username="bob", first_name="Bob", last_name="Reyes", roles=[MANAGER], is_staff=True)
    rent, supplies, utilities = category("Rent"), category("Supplies"), category("Utilities")
    first, last = last_month_start(), last_month_end()
    card, bank, cash = PaymentMethod.CARD, PaymentMethod.BANK_TRANSFER, PaymentMethod.CASH
    rows = {
        "rent": ExpenseFactory(
            date=first,
            amount="1200.00",
            category=rent,
            method=bank,
            recorded_by=alice,
            reason="Rent",
            paid_to="Harbour Estates",
        ),
        "gloves": ExpenseFactory(
            date=first,
            amount="84.20",
            category=supplies,
            method=card,
            recorded_by=bob,
            reason="Gloves, 20 boxes",
            paid_to="MedSupply Ltd",
        ),
        "power": ExpenseFactory(
            date=last,
            amount="310.45",
            category=utilities,
            method=bank,
            recorded_by=alice,
            reason="Electricity",
            paid_to="GridPower",
        ),
        "syringes": ExpenseFactory(
            date=last,
            amount="56.10",
            category=supplies,
            method=cash,
            recorded_by=bob,
            reason="Syringes",
            paid_to="MedSupply Ltd",
            notes="urgent order",
        ),
        "rent2": ExpenseFactory(
            date=today(),
            amount="1200.00",
            category=rent,
            method=bank,
            recorded_by=alice,
            reason="Rent",
            paid_to="Harbour Estates",
        ),
        "water": ExpenseFactory(
            date=today(),
            amount="42.75",
            category=utilities,
            method=card,
            recorded_by=bob,
            reason="Water",
            paid_to="Clearwater plc",
        ),
        "masks": ExpenseFactory(
            date=today(),
            amount="19.99",
            category=supplies,
            method=card,
            recorded_by=alice,
            reason="Masks",
            paid_to="Boots",
        ),
        "swabs": ExpenseFactory(
            date=today(),
            amount="80.50",
            category=supplies,
            method=cash,
            recorded_by=bob,
            reason="Swabs",
            paid_to="MedSupply Ltd",
        ),
    }
    rows["swabs_back"] = services.reverse_entry(entry=rows["swabs"], reason="Returned unopened", by=alice)
    rows["alice"], rows["bob"] = alice, bob
    return rows


# Hand-computed from the fixture above.
TOTAL_FILTERS = {
    "no filter": ({}, "2913.49"),  # 1200 + 84.20 + 310.45 + 56.10 + 1200 + 42.75 + 19.99 + 80.50 − 80.50
    "category Supplies": ({"category": "Supplies"}, "160.29"),  # 84.20 + 56.10 + 19.99 + 80.50 − 80.50
    "category Rent": ({"category": "Rent"}, "2400.00"),
    "method card": ({"method__exact": "card"}, "146.94"),  # 84.20 + 42.75 + 19.99
    "method cash": ({"method__exact": "cash"}, "56.10"),  # 56.10 + 80.50 − 80.50
    "recorded by alice": ({"recorded_by": "alice"}, "2649.94"),  # 1200 + 310.45 + 1200 + 19.99 − 80.50
    "recorded by bob": ({"recorded_by": "bob"}, "263.55"),  # 84.20 + 56.10 + 42.75 + 80.50
    "search MedSupply": ({"q": "medsupply"}, "140.30"),  # 84.20 + 56.10 + 80.50 − 80.50
    "search notes": ({"q": "urgent"}, "56.10"),
    "search category name": ({"q": "utilities"}, "353.20"),  # 310.45 + 42.75
    "originals": ({"reversal": "originals"}, "2993.99"),
    "reversals": ({"reversal": "reversals"}, "-80.50"),
    "reversed": ({"reversal": "reversed"}, "80.50"),
    "card, searched": ({"method__exact": "card", "q": "masks"}, "19.99"),
}


def resolve(expenses, params):
    resolved = {}
    for key, value in params.items():
        if key == "category":
            resolved["category__id__exact"] = category(value).pk
        elif key == "recorded_by":
            resolved["recorded_by__id__exact"] = expenses[value].pk
        else:
            resolved[key] = value
    return resolved


@pytest.mark.parametrize("params, expected", TOTAL_FILTERS.values(), ids=TOTAL_FILTERS.keys())
def test_the_filtered_total_is_the_sum_of_the_filtered_rows(manager, expenses, params, expected):
    response = manager.get(url("expense_changelist"), resolve(expenses, params))

    assert response.status_code == 200
    assert filtered_total(response) == format_money(Decimal(expected))
    shown = response.context["cl"].result_list
    assert sum((e.amount for e in shown), Decimal(0)) == Decimal(expected)


def test_the_filtered_total_for_last_month_by_date_hierarchy(manager, expenses):
    month = last_month_start()
    response = manager.get(url("expense_changelist"), {"date__year": month.year, "date__month": month.month})

    assert filtered_total(response) == "£1,650.75"  # 1200 + 84.20 + 310.45 + 56.10
    assert {e.reason for e in response.context["cl"].result_list} == {
        "Rent",
        "Gloves, 20 boxes",
        "Electricity",
        "Syringes",
    }


def test_the_filtered_total_for_this_month_is_net_of_the_reversal(manager, expenses):
    response = manager.get(url("expense_changelist"), {"date__year": today().year, "date__month": today().month})

    assert filtered_total(response) == "£1,262.74"  # 1200 + 42.75 + 19.99 + 80.50 − 80.50
    assert "Total of the 5 entries" in text(response)


def test_the_filtered_total_counts_every_row_not_just_the_page(manager, expenses, monkeypatch):
    from finance.admin import ExpenseAdmin

    monkeypatch.setattr(ExpenseAdmin, "list_per_page", 2)
    response = manager.get(url("expense_changelist"))

    assert len(response.context["cl"].result_list) == 2
    assert filtered_total(response) == "£2,913.49"
    assert "Total of the 9 entries" in text(response)


def test_an_empty_filter_shows_a_zero_total(manager, expenses):
    response = manager.get(url("expense_changelist"), {"q": "nothing matches this"})
    assert filtered_total(response) == "£0.00"


def test_the_other_income_total_follows_the_source_filter(manager):
    OtherIncomeFactory(amount="45.00", source=OtherIncome.Source.LAB)
    OtherIncomeFactory(amount="120.00", source=OtherIncome.Source.DONATION)
    lab = OtherIncomeFactory(amount="30.25", source=OtherIncome.Source.LAB)
    services.reverse_entry(entry=lab, reason="Sample lost", by=manager.user)

    assert filtered_total(manager.get(url("otherincome_changelist"))) == "£165.00"
    assert filtered_total(manager.get(url("otherincome_changelist"), {"source__exact": "lab"})) == "£45.00"
    assert filtered_total(manager.get(url("otherincome_changelist"), {"source__exact": "donation"})) == "£120.00"


def test_the_payment_total_is_net_of_refunds(manager):
    PaymentFactory(amount="60.00")
    refunded = PaymentFactory(amount="45.00", fee_override_reason="Concession")
    services.reverse_entry(entry=refunded, reason="Refund", by=manager.user)

    response = manager.get(url("payment_changelist"))
    assert filtered_total(response) == "£60.00"
    assert filtered_total(manager.get(url("payment_changelist"), {"reversal": "reversals"})) == "−£45.00"


def test_the_patient_autocomplete_finds_the_patient(manager):
    patient = PatientFactory(first_name="Imogen", last_name="Thackeray")
    PatientFactory(first_name="Someone", last_name="Else")

    response = manager.get(
        reverse("admin:autocomplete"),
        {"term": "Thackeray", "app_label": "finance", "model_name": "otherincome", "field_name": "patient"},
    )

    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["id"] for r in results] == [str(patient.pk)]


def test_the_other_income_form_uses_the_autocomplete_and_saves_the_patient(manager):
    patient = PatientFactory()
    page = text(manager.get(url("otherincome_add")))
    assert "admin-autocomplete" in page
    assert reverse("admin:autocomplete") in page

    response = manager.post(url("otherincome_add"), income_form(patient=str(patient.pk), source="service"))

    assert response.status_code == 302
    income = OtherIncome.objects.get()
    assert (income.patient, income.source, income.recorded_by) == (patient, "service", manager.user)
