"""The finance actions in finance.services: recording, paying, reversing, closing a month.

The last section races real threads, each on its own connection, at one visit and one entry.
"""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from clinic.tests.concurrency import at_once as run_at_once
from clinic.uploads import check_upload
from clinical.models import Procedure
from finance.models import (
    ClosedMonth,
    Expense,
    ExpenseCategory,
    LockedEntryError,
    OtherIncome,
    Payment,
    PaymentMethod,
    first_of_month,
    month_label,
)
from finance.services import (
    close_month,
    record_expense,
    record_other_income,
    record_payment,
    reverse_entry,
    save_entry,
)
from finance.tests.factories import (
    CategoryFactory,
    ClosedMonthFactory,
    CompletedVisitFactory,
    DoneProcedureFactory,
    ExpenseFactory,
    OtherIncomeFactory,
    PaymentFactory,
    manager_user,
)
from scheduling.models import Appointment
from staff.roles import MANAGER, RECEPTIONIST
from staff.tests.factories import UserFactory

THREADS = 8
RECEIPT_NUMBER = re.compile(r"\d{4}-\d{6}")


def today():
    return timezone.localdate()


def last_month():
    return first_of_month(first_of_month(today()) - timedelta(days=1))


def month_before_last():
    return first_of_month(last_month() - timedelta(days=1))


def stored(entry):
    return type(entry).objects.get(pk=entry.pk)


def messages(excinfo):
    return " ".join(excinfo.value.messages)


@pytest.fixture
def manager(db):
    return manager_user()


@pytest.fixture
def receptionist(db):
    return UserFactory(roles=[RECEPTIONIST])


def expense_fields(**fields):
    return {
        "category": ExpenseCategory.objects.get(name="Rent"),
        "amount": Decimal("1500.00"),
        "reason": "March rent",
        "paid_to": "Harbour Properties",
        "method": PaymentMethod.BANK_TRANSFER,
        **fields,
    }


def pay(item, by, amount=None, **kwargs):
    fee = item.fee if isinstance(item, Procedure) else item.doctor.consultation_fee
    return record_payment(
        item=item, amount=fee if amount is None else amount, method=PaymentMethod.CARD, received_by=by, **kwargs
    )


# --- recording expenses and other incomes -------------------------------------------------------


@pytest.mark.django_db
def test_record_expense_saves_it_with_who_recorded_it(manager):
    expense = record_expense(recorded_by=manager, **expense_fields(date=last_month()))

    saved = stored(expense)
    assert saved.recorded_by == manager
    assert (saved.amount, saved.date, saved.reason) == (Decimal("1500.00"), last_month(), "March rent")
    assert saved.recorded_at is not None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"amount": Decimal("0")}, "amount"),
        ({"amount": Decimal("-10.00")}, "amount"),
        ({"date": timezone.localdate() + timedelta(days=1)}, "date"),
        ({"reason": ""}, "reason"),
        ({"method": "bitcoin"}, "method"),
    ],
)
def test_record_expense_validates_before_saving(manager, fields, field):
    with pytest.raises(ValidationError) as excinfo:
        record_expense(recorded_by=manager, **expense_fields(**fields))

    assert field in excinfo.value.message_dict
    assert not Expense.objects.exists()


@pytest.mark.django_db
def test_record_expense_refuses_a_closed_month_on_the_date(manager):
    ClosedMonthFactory(month=last_month())

    with pytest.raises(ValidationError) as excinfo:
        record_expense(recorded_by=manager, **expense_fields(date=last_month()))

    assert excinfo.value.message_dict["date"] == [
        f"{month_label(last_month())} is closed; date the entry in an open month."
    ]
    assert not Expense.objects.exists()


@pytest.mark.django_db
def test_record_expense_stores_a_checked_receipt_under_a_random_name(manager, settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }
    pdf = b"%PDF-1.4\n1 0 obj<< /Type /Catalog >>endobj\ntrailer<< /Root 1 0 R >>\n%%EOF\n"
    receipt = check_upload(SimpleUploadedFile("Rent March (landlord).pdf", pdf))

    expense = record_expense(recorded_by=manager, receipt=receipt, **expense_fields())

    saved = stored(expense)
    assert (saved.receipt_name, saved.receipt_type) == ("Rent March (landlord).pdf", "application/pdf")
    assert re.fullmatch(r"receipts/\d{4}/[0-9a-f]{32}\.pdf", saved.receipt.name)
    assert (tmp_path / saved.receipt.name).read_bytes() == pdf


@pytest.mark.django_db
def test_record_other_income_saves_it_with_who_recorded_it(manager):
    income = record_other_income(
        recorded_by=manager,
        amount=Decimal("250.00"),
        source=OtherIncome.Source.DONATION,
        description="Friends of the clinic",
        payer="Rotary Club",
    )

    saved = stored(income)
    assert (saved.recorded_by, saved.amount, saved.date) == (manager, Decimal("250.00"), today())


@pytest.mark.django_db
def test_record_other_income_validates_before_saving(manager):
    with pytest.raises(ValidationError) as excinfo:
        record_other_income(recorded_by=manager, amount=Decimal("0.00"), source="lottery", description="")

    assert set(excinfo.value.message_dict) >= {"amount", "source", "description"}
    assert not OtherIncome.objects.exists()


@pytest.mark.django_db
def test_save_entry_keeps_who_first_recorded_a_changed_entry(manager):
    income = OtherIncomeFactory(recorded_by=manager)
    income.amount = Decimal("55.00")

    save_entry(income, by=UserFactory(roles=[MANAGER]))

    assert (stored(income).amount, stored(income).recorded_by) == (Decimal("55.00"), manager)


@pytest.mark.django_db
def test_save_entry_validates_a_changed_entry(manager):
    ClosedMonthFactory(month=last_month())
    expense = ExpenseFactory(date=today())
    expense.date = last_month()

    with pytest.raises(ValidationError) as excinfo:
        save_entry(expense, by=manager)

    assert list(excinfo.value.message_dict) == ["date"]
    assert stored(expense).date == today()


# --- payments -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_completed_visit_is_paid_at_the_doctors_consultation_fee(receptionist):
    visit = CompletedVisitFactory()

    payment = pay(visit, receptionist)

    saved = stored(payment)
    assert (saved.appointment, saved.procedure, saved.patient) == (visit, None, visit.patient)
    assert (saved.fee, saved.amount) == (Decimal("60.00"), Decimal("60.00"))
    assert (saved.recorded_by, saved.date, saved.method) == (receptionist, today(), "card")
    assert saved.fee_override_reason == ""


@pytest.mark.django_db
def test_the_fee_is_the_doctors_current_consultation_fee(receptionist):
    visit = CompletedVisitFactory()
    visit.doctor.consultation_fee = Decimal("75.50")
    visit.doctor.save()

    payment = record_payment(item=visit, amount=Decimal("75.50"), method=PaymentMethod.CASH, received_by=receptionist)

    assert stored(payment).fee == Decimal("75.50")


@pytest.mark.django_db
def test_a_done_procedure_is_paid_at_its_fee(receptionist):
    procedure = DoneProcedureFactory(fee=Decimal("35.00"))

    payment = pay(procedure, receptionist)

    saved = stored(payment)
    assert (saved.procedure, saved.appointment, saved.patient) == (procedure, None, procedure.patient)
    assert (saved.fee, saved.amount) == (Decimal("35.00"), Decimal("35.00"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "status",
    [
        Appointment.Status.SCHEDULED,
        Appointment.Status.CHECKED_IN,
        Appointment.Status.CANCELLED,
        Appointment.Status.NO_SHOW,
    ],
)
def test_only_a_completed_visit_can_be_paid(receptionist, status):
    visit = CompletedVisitFactory(status=status)

    with pytest.raises(ValidationError, match="Only a completed visit can be paid for."):
        pay(visit, receptionist)

    assert not Payment.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("status", [Procedure.Status.PLANNED, Procedure.Status.CANCELLED])
def test_only_a_done_procedure_can_be_paid(receptionist, status):
    procedure = DoneProcedureFactory(status=status)

    with pytest.raises(ValidationError, match="Only a procedure that has been done can be paid for."):
        pay(procedure, receptionist)

    assert not Payment.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("make", [CompletedVisitFactory, DoneProcedureFactory], ids=["visit", "procedure"])
def test_a_second_payment_is_refused_naming_the_first_receipt(receptionist, make):
    item = make()
    first = pay(item, receptionist)

    with pytest.raises(ValidationError) as excinfo:
        pay(item, receptionist, amount=Decimal("10.00"), fee_override_reason="Top-up")

    message = messages(excinfo)
    assert f"This was already paid on {today():%d %b %Y} (receipt {first.receipt_number}, " in message
    assert "Reverse that payment first" in message
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_a_stale_copy_of_the_visit_cannot_pay_twice(receptionist):
    visit = CompletedVisitFactory()
    copy = Appointment.objects.get(pk=visit.pk)
    pay(visit, receptionist)

    with pytest.raises(ValidationError, match="already paid"):
        pay(copy, receptionist)

    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_a_visit_can_be_paid_again_after_its_payment_was_reversed(receptionist, manager):
    visit = CompletedVisitFactory()
    first = pay(visit, receptionist)
    reverse_entry(entry=first, reason="Card charged twice", by=manager)

    second = pay(visit, receptionist, amount=Decimal("50.00"), fee_override_reason="Staff discount")

    assert second.receipt_number != first.receipt_number
    assert visit.payments.count() == 3  # the first, its refund, the new one
    with pytest.raises(ValidationError, match=second.receipt_number):
        pay(visit, receptionist)


@pytest.mark.django_db
def test_receipt_numbers_are_unique_and_read_year_dash_six_digits(receptionist):
    payments = [pay(CompletedVisitFactory(), receptionist) for _ in range(3)]
    payments.append(pay(DoneProcedureFactory(), receptionist, date=today() - timedelta(days=1)))

    numbers = [stored(p).receipt_number for p in payments]
    assert len(set(numbers)) == 4
    for payment, number in zip(payments, numbers, strict=True):
        assert RECEIPT_NUMBER.fullmatch(number)
        assert number == f"{payment.date:%Y}-{payment.pk:06d}"
        assert payment.receipt_number == number  # the returned object carries it too


@pytest.mark.django_db
@pytest.mark.parametrize("reason", ["", "   "])
def test_an_amount_other_than_the_fee_needs_a_reason(receptionist, reason):
    visit = CompletedVisitFactory()

    with pytest.raises(ValidationError) as excinfo:
        pay(visit, receptionist, amount=Decimal("45.00"), fee_override_reason=reason)

    assert excinfo.value.message_dict["fee_override_reason"] == [
        "The standard fee is £60.00; say why this amount differs."
    ]
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_an_amount_other_than_the_fee_with_a_reason_is_recorded(receptionist):
    payment = pay(
        CompletedVisitFactory(), receptionist, amount=Decimal("45.00"), fee_override_reason="  Insurance share  "
    )

    saved = stored(payment)
    assert (saved.amount, saved.fee, saved.fee_override_reason) == (
        Decimal("45.00"),
        Decimal("60.00"),
        "Insurance share",
    )


@pytest.mark.django_db
def test_a_payment_cannot_be_dated_in_a_closed_month(receptionist):
    ClosedMonthFactory(month=last_month())

    with pytest.raises(ValidationError) as excinfo:
        pay(CompletedVisitFactory(), receptionist, date=last_month())

    assert "date" in excinfo.value.message_dict
    assert not Payment.objects.exists()


# --- reversing ----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("make", [ExpenseFactory, OtherIncomeFactory, PaymentFactory])
def test_a_reversal_is_a_negative_copy_dated_today_pointing_at_the_original(manager, make):
    original = make(date=last_month(), notes="As first recorded")

    reversal = reverse_entry(entry=original, reason="  Entered twice  ", by=manager)

    saved = stored(reversal)
    assert saved.reverses == original
    assert (saved.amount, saved.date) == (-original.amount, today())
    assert (saved.reversal_reason, saved.recorded_by, saved.notes) == ("Entered twice", manager, "")
    assert saved.is_reversal and stored(original).is_reversed
    assert stored(original).reversal == saved


@pytest.mark.django_db
def test_a_reversal_copies_what_the_entry_was_for(manager):
    original = ExpenseFactory(reason="Gloves, 20 boxes", paid_to="MedSupply Ltd")

    reversal = stored(reverse_entry(entry=original, reason="Returned to supplier", by=manager))

    assert (reversal.category, reversal.reason, reversal.paid_to, reversal.method) == (
        original.category,
        original.reason,
        original.paid_to,
        original.method,
    )


@pytest.mark.django_db
def test_the_original_is_unchanged_by_its_reversal(manager):
    original = ExpenseFactory(date=last_month(), notes="As first recorded")
    before = Expense.objects.filter(pk=original.pk).values().get()

    reverse_entry(entry=original, reason="Entered twice", by=manager)

    assert Expense.objects.filter(pk=original.pk).values().get() == before


@pytest.mark.django_db
@pytest.mark.parametrize("reason", ["", "   ", None])
def test_a_reversal_needs_a_reason(manager, reason):
    original = ExpenseFactory()

    with pytest.raises(ValidationError) as excinfo:
        reverse_entry(entry=original, reason=reason, by=manager)

    assert excinfo.value.message_dict == {"reason": ["Say why the entry is reversed."]}
    assert Expense.objects.count() == 1


@pytest.mark.django_db
def test_an_entry_cannot_be_reversed_twice(manager):
    original = OtherIncomeFactory()
    reverse_entry(entry=original, reason="Entered twice", by=manager)

    with pytest.raises(ValidationError, match="This entry has already been reversed."):
        reverse_entry(entry=original, reason="Again", by=manager)

    assert OtherIncome.objects.count() == 2


@pytest.mark.django_db
def test_a_reversal_cannot_be_reversed(manager):
    reversal = reverse_entry(entry=ExpenseFactory(), reason="Entered twice", by=manager)

    with pytest.raises(ValidationError, match="This entry is itself a reversal; it cannot be reversed."):
        reverse_entry(entry=reversal, reason="Undo the undo", by=manager)

    assert Expense.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("make", [ExpenseFactory, PaymentFactory])
def test_an_entry_of_a_closed_month_is_reversed_in_the_open_month(manager, make):
    original = make(date=last_month())
    close_month(month=last_month(), by=manager)

    reversal = reverse_entry(entry=original, reason="Found in the bank statement", by=manager)

    assert stored(reversal).date == today()
    assert not ClosedMonth.objects.covering(today()).exists()
    assert stored(original).date == last_month()
    assert stored(original).amount == original.amount
    # The original is still locked after its reversal.
    with pytest.raises(LockedEntryError):
        stored(original).save()


@pytest.mark.django_db
def test_a_payment_reversal_gets_its_own_receipt_number(receptionist, manager):
    original = pay(CompletedVisitFactory(), receptionist)

    refund = reverse_entry(entry=original, reason="Refund: visit was free", by=manager)

    saved = stored(refund)
    assert saved.receipt_number != original.receipt_number
    assert saved.receipt_number == f"{saved.date:%Y}-{saved.pk:06d}"
    assert (saved.appointment, saved.patient, saved.fee_override_reason) == (original.appointment, original.patient, "")
    assert stored(original).receipt_number == original.receipt_number


# --- closing a month ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_close_month_closes_an_ended_month(manager):
    closed = close_month(month=last_month() + timedelta(days=14), by=manager, note="  Checked against the bank  ")

    saved = ClosedMonth.objects.get()
    assert saved == closed
    assert (saved.month, saved.closed_by, saved.note) == (last_month(), manager, "Checked against the bank")


@pytest.mark.django_db
@pytest.mark.parametrize("months_ahead", [0, 1], ids=["this-month", "next-month"])
def test_a_month_that_has_not_ended_cannot_be_closed(manager, months_ahead):
    month = first_of_month(today() + timedelta(days=32 * months_ahead))

    with pytest.raises(ValidationError) as excinfo:
        close_month(month=month, by=manager)

    assert excinfo.value.message_dict == {
        "month": [f"{month_label(month)} has not ended yet; close it once it is over."]
    }
    assert not ClosedMonth.objects.exists()


@pytest.mark.django_db
def test_a_month_cannot_be_closed_twice(manager):
    close_month(month=last_month(), by=manager)

    with pytest.raises(ValidationError) as excinfo:
        close_month(month=last_month(), by=UserFactory(roles=[MANAGER]))

    assert excinfo.value.message_dict == {"month": [f"{month_label(last_month())} is already closed."]}
    assert ClosedMonth.objects.get().closed_by == manager


@pytest.mark.django_db
def test_closing_a_month_locks_exactly_that_month(manager):
    before = ExpenseFactory(date=last_month() - timedelta(days=1))  # last day of the month before
    first_day = ExpenseFactory(date=last_month())
    last_day = ExpenseFactory(date=first_of_month(today()) - timedelta(days=1))
    after = ExpenseFactory(date=today())

    close_month(month=last_month(), by=manager)

    for locked in (first_day, last_day):
        locked.notes = "Changed"
        with pytest.raises(LockedEntryError):
            locked.save()
    for free in (before, after):
        free.notes = "Changed"
        free.save()
    assert sorted(Expense.objects.filter(notes="Changed").values_list("pk", flat=True)) == sorted([before.pk, after.pk])


@pytest.mark.django_db
def test_months_can_be_closed_out_of_order(manager):
    close_month(month=last_month(), by=manager)
    close_month(month=month_before_last(), by=manager)

    assert list(ClosedMonth.objects.values_list("month", flat=True)) == [last_month(), month_before_last()]


# --- real races ---------------------------------------------------------------------------------


def at_once(action, count=THREADS):
    return run_at_once(action, count)


def split(outcomes, refusal):
    """The winners (saved entries) and the losers, each refused with a message containing `refusal`."""
    won = [o for o in outcomes if isinstance(o, Payment | Expense)]
    refused = [o for o in outcomes if isinstance(o, ValidationError) and refusal in " ".join(o.messages)]
    unexpected = [o for o in outcomes if o not in won and o not in refused]
    assert not unexpected, unexpected
    return won, refused


@pytest.mark.django_db(transaction=True)
def test_desks_paying_one_visit_at_once_take_one_payment():
    visit = CompletedVisitFactory()
    desks = [UserFactory(roles=[RECEPTIONIST]) for _ in range(THREADS)]

    outcomes = at_once(lambda i: pay(visit, desks[i]))

    won, refused = split(outcomes, "already paid")
    assert len(won) == 1
    assert len(refused) == THREADS - 1
    assert all(won[0].receipt_number in " ".join(e.messages) for e in refused)
    assert Payment.objects.get().pk == won[0].pk


@pytest.mark.django_db(transaction=True)
def test_desks_paying_one_procedure_at_once_take_one_payment():
    procedure = DoneProcedureFactory()
    desk = UserFactory(roles=[RECEPTIONIST])

    won, refused = split(at_once(lambda i: pay(procedure, desk)), "already paid")

    assert (len(won), len(refused)) == (1, THREADS - 1)
    assert Payment.objects.filter(procedure=procedure).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("make", [ExpenseFactory, PaymentFactory])
def test_managers_reversing_one_entry_at_once_make_one_reversal(make):
    CategoryFactory(name="Supplies")  # seeded by a migration, and gone after an earlier test's flush
    original = make()
    managers = [manager_user() for _ in range(THREADS)]

    outcomes = at_once(lambda i: reverse_entry(entry=original, reason=f"Correction {i}", by=managers[i]))

    won, refused = split(outcomes, "already been reversed")
    assert len(won) == 1
    assert len(refused) == THREADS - 1
    model = type(original)
    assert model.objects.filter(reverses=original).get().pk == won[0].pk
    assert model.objects.count() == 2
