"""The finance actions. Views, the admin, the demo data and the tests all call these, so no path
can record, reverse or close in a way the rules do not allow."""

import uuid

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from clinic.audit import lock_rows
from clinic.uploads import store, stored_or_removed
from clinical.models import Procedure
from scheduling.models import Appointment

from .models import ClosedMonth, Expense, OtherIncome, Payment, first_of_month, month_label
from .money import format_money


def save_entry(entry, *, by=None, receipt=None):
    """Validate and save a new or changed expense or other income (not a payment: see record_payment).

    A receipt is stored before the transaction (no database lock waits on storage); if storing it or
    saving the entry fails, the stored file is removed and the entry is not saved (ValidationError on
    "receipt")."""
    if entry.pk is None:
        entry.recorded_by = by
    if receipt is None:
        return _save_entry(entry)
    with stored_or_removed("receipt") as written:
        attach_receipt(entry, receipt, written)
        return _save_entry(entry)


def _save_entry(entry):
    with transaction.atomic():
        entry.full_clean()
        entry.save()
    return entry


def attach_receipt(expense, checked, written=None):
    """Store a CheckedUpload (clinic.uploads) under a random name; the old file, if any, is kept.
    `written` (from stored_or_removed) gets the stored name, to be removed if saving fails."""
    store(expense.receipt, f"receipt.{checked.extension}", checked.content, [] if written is None else written)
    expense.receipt_name = checked.display_name
    expense.receipt_type = checked.content_type


def record_expense(*, recorded_by, receipt=None, **fields):
    return save_entry(Expense(**fields), by=recorded_by, receipt=receipt)


def record_other_income(*, recorded_by, **fields):
    return save_entry(OtherIncome(**fields), by=recorded_by)


def standard_fee(item):
    """What the clinic charges for a visit (the doctor's consultation fee) or a procedure (its fee)."""
    if isinstance(item, Procedure):
        return item.fee
    return item.doctor.consultation_fee


def paid_payments(item):
    """The payments for a visit or procedure that stand (not reversed, not reversals)."""
    field = "procedure" if isinstance(item, Procedure) else "appointment"
    return Payment.objects.standing().filter(**{field: item})


def standing_payment_exists(field):
    """A payment that stands for the outer row (its `field`): positive and not reversed.

    Written as NOT EXISTS of a reversal rather than standing()'s LEFT JOIN … IS NULL: PostgreSQL
    misjudges that join as one row and compares every walked visit with every payment (67 ms for a
    page of payments due at 200,000 appointments); this way it probes the payment indexes per row (7 ms)."""
    reversal = Payment.objects.filter(reverses=OuterRef("pk"))
    return Exists(Payment.objects.filter(~Exists(reversal), amount__gt=0, **{field: OuterRef("pk")}))


def _check_payable(item):
    if isinstance(item, Procedure):
        if item.status != Procedure.Status.DONE:
            raise ValidationError("Only a procedure that has been done can be paid for.")
    elif item.status != Appointment.Status.COMPLETED:
        raise ValidationError("Only a completed visit can be paid for.")
    earlier = paid_payments(item).first()
    if earlier is not None:
        raise ValidationError(
            f"This was already paid on {earlier.date:%d %b %Y} (receipt {earlier.receipt_number}, "
            f"{format_money(earlier.amount)}). Reverse that payment first if it was wrong."
        )


def _number_receipt(payment):
    # Numbered from the primary key after the insert: unique and gap-free under concurrent payments.
    payment.receipt_number = f"{payment.date:%Y}-{payment.pk:06d}"
    Payment.objects.filter(pk=payment.pk).update(receipt_number=payment.receipt_number)


def _placeholder_number():
    return uuid.uuid4().hex[:20]


def record_payment(*, item, amount, method, received_by, date=None, fee_override_reason="", notes=""):
    """Record a patient's payment for a completed visit (Appointment) or a done Procedure."""
    with transaction.atomic():
        # Lock the visit or procedure so two desks cannot take the same payment twice.
        item = lock_rows(type(item).objects).get(pk=item.pk)
        if isinstance(item, Appointment):
            item = Appointment.objects.select_related("doctor").get(pk=item.pk)
        _check_payable(item)
        payment = Payment(
            patient_id=item.patient_id,
            appointment=item if isinstance(item, Appointment) else None,
            procedure=item if isinstance(item, Procedure) else None,
            fee=standard_fee(item),
            amount=amount,
            method=method,
            date=date or timezone.localdate(),
            fee_override_reason=(fee_override_reason or "").strip(),
            notes=notes,
            recorded_by=received_by,
            receipt_number=_placeholder_number(),
        )
        payment.full_clean()
        payment.save()
        _number_receipt(payment)
    return payment


def reverse_entry(*, entry, reason, by):
    """Cancel an entry with a negative one dated today that points at it; the original stays as it was."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the entry is reversed."})
    model = type(entry)
    with transaction.atomic():
        original = lock_rows(model.objects).get(pk=entry.pk)
        if original.reverses_id:
            raise ValidationError("This entry is itself a reversal; it cannot be reversed.")
        if model.objects.filter(reverses=original).exists():
            raise ValidationError("This entry has already been reversed.")
        reversal = model.objects.get(pk=original.pk)
        reversal.pk = reversal.id = None
        reversal._state.adding = True
        reversal.amount = -original.amount
        reversal.date = timezone.localdate()
        reversal.reverses = original
        reversal.reversal_reason = reason
        reversal.recorded_by = by
        reversal.notes = ""
        if model is Payment:
            reversal.receipt_number = _placeholder_number()
            reversal.fee_override_reason = ""
        try:
            reversal.full_clean(exclude=["receipt"])
            with transaction.atomic():
                reversal.save()
        except IntegrityError as exc:  # a reversal saved by someone else in the same instant
            raise ValidationError("This entry has already been reversed.") from exc
        if model is Payment:
            _number_receipt(reversal)
    return reversal


def close_month(*, month, by, note=""):
    """Make a month's entries final. Only a month that has ended can be closed."""
    month = first_of_month(month)
    if month >= first_of_month(timezone.localdate()):
        raise ValidationError({"month": f"{month_label(month)} has not ended yet; close it once it is over."})
    with transaction.atomic():
        if ClosedMonth.objects.filter(month=month).exists():
            raise ValidationError({"month": f"{month_label(month)} is already closed."})
        try:
            with transaction.atomic():
                return ClosedMonth.objects.create(month=month, closed_by=by, note=note.strip())
        except IntegrityError as exc:
            raise ValidationError({"month": f"{month_label(month)} is already closed."}) from exc


@transaction.atomic
def save_expense_category(*, category):
    """A category, new or renamed; one no longer used is made inactive, never deleted (expenses keep it)."""
    category.save()
    return category
