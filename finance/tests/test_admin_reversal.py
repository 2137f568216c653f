"""Reversing an entry in the admin."""

import re
from decimal import Decimal

import pytest

from finance import services
from finance.models import Expense, Payment
from finance.tests.admin_pages import (
    ENTRY_MODELS,
    last_month_start,
    text,
    today,
    url,
)
from finance.tests.factories import (
    ClosedMonthFactory,
    ExpenseFactory,
    PaymentFactory,
)

pytestmark = pytest.mark.django_db


def an_entry(model_name):
    if model_name == "payment":
        return PaymentFactory()
    return ENTRY_MODELS[model_name][1](amount=Decimal("64.00"))


@pytest.mark.parametrize("model_name", ["expense", "otherincome", "payment"])
def test_the_change_page_offers_reversal(manager, model_name):
    entry = an_entry(model_name)
    page = text(manager.get(url(f"{model_name}_change", entry.pk)))
    assert f'href="{url(f"{model_name}_reverse", entry.pk)}"' in page
    assert "Reverse this entry" in page


@pytest.mark.parametrize("model_name", ["expense", "otherincome", "payment"])
def test_the_reverse_page_shows_the_form(manager, model_name):
    entry = an_entry(model_name)
    response = manager.get(url(f"{model_name}_reverse", entry.pk))

    assert response.status_code == 200
    page = text(response)
    assert 'name="reason"' in page
    assert f"−{entry.amount_display}" in page
    assert "dated today" in page


@pytest.mark.parametrize("model_name", ["expense", "otherincome", "payment"])
@pytest.mark.parametrize("reason", ["", "   "])
def test_reversing_without_a_reason_shows_an_error(manager, model_name, reason):
    entry = an_entry(model_name)
    response = manager.post(url(f"{model_name}_reverse", entry.pk), {"reason": reason})

    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    assert 'class="errorlist' in text(response)
    assert type(entry).objects.count() == 1


@pytest.mark.parametrize("model_name", ["expense", "otherincome", "payment"])
def test_reversing_with_a_reason_records_the_negative_entry(manager, model_name):
    entry = an_entry(model_name)
    model = type(entry)
    response = manager.post(url(f"{model_name}_reverse", entry.pk), {"reason": "Charged twice"})

    reversal = model.objects.get(reverses=entry)
    assert response.status_code == 302
    assert response["Location"] == url(f"{model_name}_change", reversal.pk)
    assert reversal.amount == -entry.amount
    assert reversal.date == today()
    assert reversal.reversal_reason == "Charged twice"
    assert reversal.recorded_by == manager.user
    entry.refresh_from_db()
    assert entry.amount > 0  # the original stays as it was
    follow = manager.get(response["Location"])
    assert "This entry is a reversal; it cannot be changed." in text(follow)


def test_a_refunded_payment_gets_a_receipt_number_and_the_visit_is_due_again(manager):
    payment = an_entry("payment")
    manager.post(url("payment_reverse", payment.pk), {"reason": "Patient was not charged for this"})

    refund = Payment.objects.get(reverses=payment)
    assert refund.amount == Decimal("-60.00")
    assert refund.patient == payment.patient
    assert refund.appointment == payment.appointment
    assert re.fullmatch(rf"{today():%Y}-0*{refund.pk}", refund.receipt_number)
    assert not services.paid_payments(payment.appointment).exists()


@pytest.mark.parametrize("model_name", ["expense", "otherincome", "payment"])
def test_reversing_twice_is_refused(manager, model_name):
    entry = an_entry(model_name)
    manager.post(url(f"{model_name}_reverse", entry.pk), {"reason": "Wrong amount"})
    reversal = type(entry).objects.get(reverses=entry)

    again = manager.post(url(f"{model_name}_reverse", entry.pk), {"reason": "Once more"})
    assert again.status_code == 302
    assert again["Location"] == url(f"{model_name}_change", entry.pk)
    assert "already been reversed" in text(manager.get(again["Location"]))
    of_reversal = manager.post(url(f"{model_name}_reverse", reversal.pk), {"reason": "Undo"})
    assert of_reversal.status_code == 302
    assert type(entry).objects.count() == 2
    page = text(manager.get(url(f"{model_name}_change", entry.pk)))
    assert "Reverse this entry" not in page


def test_an_entry_in_a_closed_month_can_still_be_reversed_today(manager):
    old = ExpenseFactory(date=last_month_start(), amount=Decimal("200.00"))
    ClosedMonthFactory(month=last_month_start())

    response = manager.post(url("expense_reverse", old.pk), {"reason": "Invoice was cancelled"})

    assert response.status_code == 302
    reversal = Expense.objects.get(reverses=old)
    assert reversal.amount == Decimal("-200.00")
    assert reversal.date == today()


def test_reversing_an_unknown_entry_is_not_found(manager):
    assert manager.get(url("expense_reverse", 987654)).status_code == 404
