"""The finance models' own rules: amounts, dates, reversals, closed months, categories, payments, money.

Closed months are tried on every model path (clean, save, delete, the queryset); the raw-SQL path,
which only the database triggers stop, is in test_guards.py.
"""

from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from finance import services
from finance.models import (
    ClosedMonth,
    Expense,
    ExpenseCategory,
    LockedEntryError,
    OtherIncome,
    Payment,
    first_of_month,
    month_label,
)
from finance.money import format_money
from finance.reports import monthly_report
from finance.tests.factories import (
    ClosedMonthFactory,
    CompletedVisitFactory,
    DoneProcedureFactory,
    ExpenseFactory,
    OtherIncomeFactory,
    PaymentFactory,
    manager_user,
)

pytestmark = pytest.mark.django_db

ENTRY_FACTORIES = [
    pytest.param(ExpenseFactory, id="expense"),
    pytest.param(OtherIncomeFactory, id="other-income"),
    pytest.param(PaymentFactory, id="payment"),
]


def today():
    return timezone.localdate()


def last_month():
    """The first day of the month before this one (always ended, so it can be closed)."""
    return first_of_month(first_of_month(today()) - timedelta(days=1))


def last_day_of_last_month():
    return first_of_month(today()) - timedelta(days=1)


def close(month=None):
    return ClosedMonthFactory(month=month or last_month())


def stored(entry):
    return type(entry).objects.get(pk=entry.pk)


def errors_of(entry):
    with pytest.raises(ValidationError) as excinfo:
        entry.full_clean()
    return excinfo.value.message_dict


@contextmanager
def refused_by_the_database():
    # atomic(): on PostgreSQL the failed statement must not poison the test's transaction.
    with pytest.raises(IntegrityError), transaction.atomic():
        yield


def unsaved(factory, **fields):
    """An entry built but not saved; a payment gets a saved completed visit to be for."""
    if factory is PaymentFactory:
        fields.setdefault("appointment", CompletedVisitFactory())
    return factory.build(**fields)


# --- amounts ------------------------------------------------------------------------------------


@pytest.mark.parametrize("factory", ENTRY_FACTORIES)
@pytest.mark.parametrize("amount", ["0.00", "-0.01", "-120.00"])
def test_an_amount_of_zero_or_below_is_refused_on_the_amount(factory, amount):
    errors = errors_of(unsaved(factory, amount=Decimal(amount)))

    assert errors["amount"] == ["Enter an amount above zero."]


@pytest.mark.parametrize("factory", ENTRY_FACTORIES)
def test_the_smallest_positive_amount_is_accepted(factory):
    entry = factory(amount=Decimal("0.01"), **({"fee_override_reason": "Waived"} if factory is PaymentFactory else {}))

    entry.full_clean()

    assert stored(entry).amount == Decimal("0.01")


def test_amounts_keep_their_exact_decimal_value():
    for amount in ("0.10", "0.20", "1234567.89"):
        ExpenseFactory(amount=Decimal(amount))

    amounts = list(Expense.objects.order_by("amount").values_list("amount", flat=True))
    assert amounts == [Decimal("0.10"), Decimal("0.20"), Decimal("1234567.89")]
    assert all(type(amount) is Decimal for amount in amounts)


def test_sums_of_amounts_are_exact_not_floating_point():
    ExpenseFactory(amount=Decimal("0.10"))
    ExpenseFactory(amount=Decimal("0.20"))

    total = Expense.objects.aggregate(total=Sum("amount"))["total"]

    assert total == Decimal("0.30")
    assert format_money(total) == "£0.30"


def test_the_monthly_report_sums_many_small_amounts_exactly():
    """0.10 has no exact binary form: a hundred of them must still make 10.00, and a month whose
    income and expenses are equal must come out at exactly zero, not a hair below it."""
    OtherIncome.objects.bulk_create([OtherIncomeFactory.build(amount=Decimal("0.10")) for _ in range(100)])
    ExpenseFactory(amount=Decimal("10.00"))

    month = monthly_report(today().year, today()).months[today().month - 1]

    assert month.income_total == Decimal("10.00")
    assert month.expense_total == Decimal("10.00")
    assert month.net == 0
    assert not month.net < 0  # the report marks a month below zero as negative


def test_the_largest_amount_fits_and_comes_back_exactly():
    entry = ExpenseFactory.build(amount=Decimal("9999999999.99"))
    entry.full_clean()
    entry.save()

    assert stored(entry).amount == Decimal("9999999999.99")


@pytest.mark.parametrize("amount", ["10000000000.00", "0.001", "12.345"])
def test_too_many_digits_are_refused_on_the_amount(amount):
    errors = errors_of(ExpenseFactory.build(amount=Decimal(amount)))

    assert list(errors) == ["amount"]


# --- dates --------------------------------------------------------------------------------------


@pytest.mark.parametrize("factory", ENTRY_FACTORIES)
def test_an_entry_cannot_be_dated_in_the_future(factory):
    entry = factory(date=today())
    entry.date = today() + timedelta(days=1)

    assert errors_of(entry)["date"] == ["An entry cannot be dated in the future."]


def test_an_entry_can_be_dated_today_and_in_the_past():
    for day in (today(), last_month(), today() - timedelta(days=400)):
        unsaved(ExpenseFactory, date=day).full_clean()


def test_a_new_entry_is_dated_today_by_default():
    assert Expense().date == today()


# --- the check constraint: what only the database sees -----------------------------------------


@pytest.mark.parametrize("factory", ENTRY_FACTORIES)
@pytest.mark.parametrize("amount", ["-5.00", "0.00"])
def test_the_database_refuses_an_original_of_zero_or_below(factory, amount):
    with refused_by_the_database():
        factory(amount=Decimal(amount))

    assert not factory._meta.model.objects.filter(amount__lte=0).exists()


@pytest.mark.parametrize("factory", ENTRY_FACTORIES)
def test_the_database_refuses_a_positive_reversal(factory):
    original = factory()

    with refused_by_the_database():
        factory(reverses=original, amount=original.amount, reversal_reason="Entered twice")

    assert not factory._meta.model.objects.filter(reverses=original).exists()


@pytest.mark.parametrize("factory", ENTRY_FACTORIES)
def test_the_database_refuses_a_reversal_without_a_reason(factory):
    original = factory()

    with refused_by_the_database():
        factory(reverses=original, amount=-original.amount, reversal_reason="")

    assert not factory._meta.model.objects.filter(reverses=original).exists()


@pytest.mark.parametrize("factory", ENTRY_FACTORIES)
def test_the_database_accepts_a_negative_reversal_with_a_reason(factory):
    """The control for the three refusals above."""
    original = factory()

    reversal = factory(reverses=original, amount=-original.amount, reversal_reason="Entered twice")

    assert stored(original).reversal == reversal
    assert reversal.is_reversal and stored(original).is_reversed


def test_the_database_refuses_a_raw_update_making_an_original_negative():
    entry = ExpenseFactory()

    with refused_by_the_database():
        Expense.objects.filter(pk=entry.pk).update(amount=Decimal("-1.00"))

    assert stored(entry).amount == Decimal("120.00")


# --- closed months: clean() ---------------------------------------------------------------------


@pytest.mark.parametrize("factory", ENTRY_FACTORIES)
def test_clean_puts_a_closed_month_on_the_date(factory):
    entry = factory(date=last_month())
    close()

    assert errors_of(entry)["date"] == [f"{month_label(last_month())} is closed; date the entry in an open month."]


def test_clean_accepts_a_date_in_an_open_month_beside_a_closed_one():
    close()

    ExpenseFactory.build(date=today()).full_clean()


# --- closed months: save() and delete() ---------------------------------------------------------


@pytest.mark.parametrize("factory", ENTRY_FACTORIES)
def test_a_new_entry_cannot_be_saved_into_a_closed_month(factory):
    close()

    with pytest.raises(LockedEntryError, match="is closed; its entries cannot change"):
        factory(date=last_day_of_last_month())

    assert not factory._meta.model.objects.exists()


@pytest.mark.parametrize("factory", ENTRY_FACTORIES)
def test_an_entry_in_a_closed_month_cannot_be_saved_with_a_change(factory):
    entry = factory(date=last_month(), notes="As recorded")
    amount = entry.amount
    close()
    entry.notes = "Changed afterwards"
    entry.amount = Decimal("1.00")

    with pytest.raises(LockedEntryError):
        entry.save()

    assert (stored(entry).notes, stored(entry).amount) == ("As recorded", amount)


def test_an_entry_in_a_closed_month_cannot_be_saved_even_unchanged():
    entry = ExpenseFactory(date=last_month())
    close()

    with pytest.raises(LockedEntryError):
        stored(entry).save()


def test_a_stale_copy_cannot_move_an_entry_out_of_a_closed_month():
    """The copy in memory says an open month; the stored row is in a closed one: the row decides."""
    entry = ExpenseFactory(date=last_month())
    copy = stored(entry)
    close()
    copy.date = today()
    copy.notes = "Moved out"

    with pytest.raises(LockedEntryError):
        copy.save()

    assert (stored(entry).date, stored(entry).notes) == (last_month(), "")


def test_an_entry_cannot_be_moved_into_a_closed_month():
    entry = ExpenseFactory(date=today())
    close()
    entry.date = last_day_of_last_month()

    with pytest.raises(LockedEntryError) as excinfo:
        entry.save()

    # The message names the closed month, not the open one the entry is in now.
    assert excinfo.value.messages == [f"{month_label(last_month())} is closed; its entries cannot change."]

    assert stored(entry).date == today()


def test_an_entry_in_an_open_month_beside_a_closed_one_can_be_changed():
    entry = ExpenseFactory(date=today())
    close()
    entry.amount = Decimal("99.99")
    entry.save()

    assert stored(entry).amount == Decimal("99.99")


@pytest.mark.parametrize("factory", ENTRY_FACTORIES)
def test_an_entry_in_a_closed_month_cannot_be_deleted(factory):
    entry = factory(date=last_month())
    close()

    with pytest.raises(LockedEntryError, match="cannot be deleted"):
        entry.delete()

    assert factory._meta.model.objects.filter(pk=entry.pk).exists()


def test_a_stale_copy_dated_in_an_open_month_cannot_delete_a_closed_months_entry():
    entry = ExpenseFactory(date=last_month())
    copy = stored(entry)
    close()
    copy.date = today()

    with pytest.raises(LockedEntryError):
        copy.delete()

    assert Expense.objects.filter(pk=entry.pk).exists()


def test_an_entry_in_an_open_month_can_be_deleted():
    entry = ExpenseFactory(date=today())
    close()

    entry.delete()

    assert not Expense.objects.filter(pk=entry.pk).exists()


# --- closed months: the queryset ----------------------------------------------------------------


@pytest.fixture
def one_closed_one_open():
    closed = ExpenseFactory(date=last_month(), notes="closed")
    open_ = ExpenseFactory(date=today(), notes="open")
    close()
    return closed, open_


def test_queryset_update_touching_a_closed_month_is_refused(one_closed_one_open):
    with pytest.raises(LockedEntryError, match="cannot be changed"):
        Expense.objects.update(notes="Bulk change")

    assert sorted(Expense.objects.values_list("notes", flat=True)) == ["closed", "open"]


def test_queryset_delete_touching_a_closed_month_is_refused(one_closed_one_open):
    with pytest.raises(LockedEntryError, match="cannot be deleted"):
        Expense.objects.all().delete()

    assert Expense.objects.count() == 2


def test_queryset_update_moving_rows_into_a_closed_month_is_refused(one_closed_one_open):
    _, open_ = one_closed_one_open

    with pytest.raises(LockedEntryError):
        Expense.objects.filter(pk=open_.pk).update(date=last_day_of_last_month())

    assert stored(open_).date == today()


def test_queryset_update_and_delete_of_open_months_only_are_allowed(one_closed_one_open):
    closed, open_ = one_closed_one_open

    assert Expense.objects.filter(date__gte=first_of_month(today())).update(notes="Bulk change") == 1
    assert stored(open_).notes == "Bulk change"
    Expense.objects.filter(pk=open_.pk).delete()

    assert list(Expense.objects.all()) == [closed]


def test_queryset_update_and_delete_with_no_closed_month_are_allowed():
    ExpenseFactory(date=last_month())
    ExpenseFactory(date=today())

    assert Expense.objects.update(notes="Bulk change") == 2
    Expense.objects.all().delete()

    assert not Expense.objects.exists()


# --- reversals are final ------------------------------------------------------------------------


@pytest.fixture
def reversed_expense():
    original = ExpenseFactory()
    reversal = services.reverse_entry(entry=original, reason="Entered twice", by=manager_user())
    return stored(original), stored(reversal)


def test_a_reversed_entry_cannot_be_saved_again(reversed_expense):
    original, _ = reversed_expense
    original.amount = Decimal("1.00")

    with pytest.raises(LockedEntryError, match="A reversed entry, or a reversal, cannot be changed"):
        original.save()

    assert stored(original).amount == Decimal("120.00")


def test_a_reversal_cannot_be_saved_again(reversed_expense):
    _, reversal = reversed_expense
    reversal.reversal_reason = "Another reason"

    with pytest.raises(LockedEntryError, match="A reversed entry, or a reversal, cannot be changed"):
        reversal.save()

    assert stored(reversal).reversal_reason == "Entered twice"


def test_neither_a_reversed_entry_nor_its_reversal_can_be_deleted(reversed_expense):
    # Deleting the reversal would silently undo the correction; deleting the original would orphan it.
    original, reversal = reversed_expense

    for entry in (original, reversal):
        with pytest.raises(LockedEntryError, match="cannot be deleted"):
            entry.delete()
        with pytest.raises(LockedEntryError, match="cannot be deleted"):
            Expense.objects.filter(pk=entry.pk).delete()

    assert Expense.objects.filter(pk__in=[original.pk, reversal.pk]).count() == 2


# --- closed months themselves -------------------------------------------------------------------


def test_a_closed_month_is_stored_as_its_first_day():
    closed = ClosedMonth.objects.create(month=last_day_of_last_month(), closed_by=manager_user())

    assert ClosedMonth.objects.get(pk=closed.pk).month == last_month()
    assert str(closed) == month_label(last_month())


def test_a_closed_month_cannot_be_changed():
    closed = close()
    closed.note = "Reopened"
    closed.month = first_of_month(last_month() - timedelta(days=1))

    with pytest.raises(LockedEntryError, match="A closed month stays closed."):
        closed.save()

    assert (ClosedMonth.objects.get().month, ClosedMonth.objects.get().note) == (last_month(), "")


def test_a_closed_month_cannot_be_deleted():
    closed = close()

    with pytest.raises(LockedEntryError, match="A closed month stays closed."):
        closed.delete()

    assert ClosedMonth.objects.filter(pk=closed.pk).exists()


def test_closed_months_cannot_be_updated_or_deleted_in_bulk():
    close()

    with pytest.raises(LockedEntryError):
        ClosedMonth.objects.update(note="Reopened")
    with pytest.raises(LockedEntryError):
        ClosedMonth.objects.all().delete()
    with pytest.raises(LockedEntryError):
        ClosedMonth.objects.filter(month=last_month()).delete()

    assert ClosedMonth.objects.get().note == ""


def test_a_month_is_closed_only_once_in_the_database():
    close()

    with refused_by_the_database():
        ClosedMonth.objects.create(month=last_day_of_last_month(), closed_by=manager_user())

    assert ClosedMonth.objects.count() == 1


# --- expense categories -------------------------------------------------------------------------


def test_the_starting_categories_exist():
    names = set(ExpenseCategory.objects.values_list("name", flat=True))

    assert {"Rent", "Salaries", "Supplies", "Equipment", "Utilities", "Maintenance", "Other"} <= names


@pytest.mark.parametrize("name", ["supplies", "SUPPLIES", "Supplies"])
def test_category_names_are_unique_whatever_their_case(name):
    category = ExpenseCategory(name=name)

    assert errors_of(category)[NON_FIELD_ERRORS] == ["This category exists."]
    with refused_by_the_database():
        category.save()
    assert ExpenseCategory.objects.filter(name__iexact="supplies").count() == 1


def test_a_new_category_name_is_accepted():
    category = ExpenseCategory(name="Training")
    category.full_clean()
    category.save()

    assert ExpenseCategory.objects.get(name="Training").is_active


# --- payments -----------------------------------------------------------------------------------


def test_a_payment_for_both_a_visit_and_a_procedure_is_refused():
    procedure = DoneProcedureFactory()
    payment = PaymentFactory.build(appointment=CompletedVisitFactory(), procedure=procedure)

    assert "A payment is for one visit or one procedure." in errors_of(payment)[NON_FIELD_ERRORS]
    with refused_by_the_database():
        payment.save()
    assert not Payment.objects.exists()


def test_a_payment_for_neither_a_visit_nor_a_procedure_is_refused():
    visit = CompletedVisitFactory()
    payment = PaymentFactory.build(appointment=None, patient=visit.patient, fee=Decimal("60.00"))

    assert "A payment is for one visit or one procedure." in errors_of(payment)[NON_FIELD_ERRORS]
    with refused_by_the_database():
        payment.save()
    assert not Payment.objects.exists()


def test_a_payment_for_a_procedure_alone_is_accepted():
    procedure = DoneProcedureFactory()
    payment = PaymentFactory(appointment=None, procedure=procedure, patient=procedure.patient, fee=procedure.fee)

    payment.full_clean()

    assert stored(payment).paid_for == procedure


def test_an_amount_other_than_the_fee_needs_a_reason():
    payment = PaymentFactory.build(appointment=CompletedVisitFactory(), amount=Decimal("45.00"))
    assert payment.fee == Decimal("60.00")

    assert errors_of(payment)["fee_override_reason"] == ["The standard fee is £60.00; say why this amount differs."]


def test_a_blank_reason_does_not_count():
    payment = PaymentFactory.build(appointment=CompletedVisitFactory(), amount=Decimal("75.00"))
    payment.fee_override_reason = "   "

    assert "fee_override_reason" in errors_of(payment)


def test_an_amount_other_than_the_fee_with_a_reason_is_accepted():
    payment = PaymentFactory.build(
        appointment=CompletedVisitFactory(), amount=Decimal("45.00"), fee_override_reason="Insurance pays the rest"
    )

    payment.full_clean()
    assert payment.fee_overridden


def test_the_standard_fee_needs_no_reason():
    payment = PaymentFactory.build(appointment=CompletedVisitFactory())

    payment.full_clean()
    assert not payment.fee_overridden


def test_a_payment_reversal_needs_no_fee_reason():
    original = PaymentFactory()
    reversal = PaymentFactory.build(
        appointment=original.appointment, reverses=original, amount=-original.amount, reversal_reason="Refund"
    )

    reversal.full_clean()
    assert not reversal.fee_overridden


# --- money --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("0"), "£0.00"),
        (Decimal("5"), "£5.00"),
        (Decimal("80.5"), "£80.50"),
        (Decimal("1234.5"), "£1,234.50"),
        (Decimal("1234567.89"), "£1,234,567.89"),
        (Decimal("-80.50"), "−£80.50"),
        (Decimal("-1234.5"), "−£1,234.50"),
        (Decimal("2.005"), "£2.01"),
        (Decimal("2.675"), "£2.68"),
        (Decimal("2.004"), "£2.00"),
        (Decimal("-2.005"), "−£2.01"),
        (Decimal("999.995"), "£1,000.00"),
        (Decimal("-0.001"), "£0.00"),
        ("12.30", "£12.30"),
        (7, "£7.00"),
        (None, ""),
        ("", ""),
    ],
)
def test_format_money(value, shown):
    assert format_money(value) == shown


@pytest.mark.parametrize(
    ("currency", "shown"),
    [("EUR", "€1,234.50"), ("USD", "$1,234.50"), ("KES", "KSh 1,234.50"), ("CHF", "CHF 1,234.50")],
)
def test_format_money_in_another_currency(settings, currency, shown):
    settings.CLINIC_CURRENCY = currency

    assert format_money(Decimal("1234.5")) == shown
    assert format_money(Decimal("-1234.5")) == "−" + shown


def test_an_entry_shows_its_amount_as_money():
    assert ExpenseFactory.build(amount=Decimal("1234.5")).amount_display == "£1,234.50"
