"""A year of demo finances for `seed_demo`: consultation fees, past visits paid at the desk, the
clinic's expenses and other incomes month by month, a few reversals, and closed months.

Idempotent: it does nothing once any expense exists. Rows are bulk-created (fast, still checked by
the database guards); months are closed last, up to the one before last month, so a manager can
try closing last month.
"""

import random
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from clinic.uploads import check_upload
from clinical.models import Procedure
from patients.models import Patient
from scheduling.models import Appointment
from staff.models import Doctor, User

from . import services
from .models import ClosedMonth, Expense, ExpenseCategory, OtherIncome, Payment, PaymentMethod, first_of_month

FEES = {"General practice": "60.00", "Cardiology": "120.00", "Paediatrics": "70.00", "Dermatology": "90.00"}
DEFAULT_FEE = "75.00"
S = Appointment.Status

# (category, reason, paid to, low, high, method, times a month)
MONTHLY = [
    ("Rent", "Premises rent", "Riverside Estates Ltd", 3500, 3500, PaymentMethod.BANK_TRANSFER, 1),
    ("Salaries", "Staff salaries", "Payroll", 11800, 12400, PaymentMethod.BANK_TRANSFER, 1),
    ("Utilities", "Electricity", "Northgrid Energy", 310, 520, PaymentMethod.BANK_TRANSFER, 1),
    ("Utilities", "Water", "Thames Water", 60, 95, PaymentMethod.BANK_TRANSFER, 1),
    ("Utilities", "Telephone and internet", "Fibrelink", 89, 89, PaymentMethod.CARD, 1),
    ("Supplies", "Gloves, syringes and dressings", "MedSupply Ltd", 180, 640, PaymentMethod.CARD, 3),
    ("Supplies", "Printer paper and toner", "Office Depot", 35, 120, PaymentMethod.CARD, 1),
    ("Maintenance", "Cleaning contract", "BrightClean", 420, 420, PaymentMethod.BANK_TRANSFER, 1),
]
OCCASIONAL = [
    ("Equipment", "ECG machine", "CardioTech UK", 4200, 4200),
    ("Equipment", "Examination couch", "ClinicFurnish", 650, 650),
    ("Equipment", "Laptop for reception", "PC World Business", 899, 899),
    ("Maintenance", "Boiler repair", "Heatwise Plumbing", 240, 380),
    ("Maintenance", "Autoclave service", "SterilServ", 180, 180),
    ("Other", "Professional indemnity insurance", "MDU", 1450, 1450),
    ("Other", "Accountant's fees", "Lane & Co", 600, 600),
]
INCOMES = [
    (OtherIncome.Source.LAB, "Blood tests for Hillside Surgery", "Hillside Surgery", 25, 140, 6),
    (OtherIncome.Source.SERVICE, "Medical certificate", "", 30, 45, 4),
    (OtherIncome.Source.SERVICE, "Travel vaccination consultation", "", 40, 85, 2),
]
DONORS = ["Riverside Rotary Club", "The Hale Foundation", "Anonymous donor"]
DISCOUNTS = [("Student discount", Decimal("0.80")), ("Hardship, agreed by the manager", Decimal("0.50"))]
# The smallest well-formed PDF: the demo's scanned receipts (checked like any upload).
DEMO_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def _money(rnd, low, high):
    return Decimal(rnd.randint(int(low * 100), int(high * 100))) / 100


def _months(today, count=12):
    month = first_of_month(today)
    months = []
    for _ in range(count):
        months.append(month)
        month = first_of_month(month - timedelta(days=1))
    return list(reversed(months))


def _days_of(month, today):
    day = month
    while day.month == month.month and day <= today:
        yield day
        day += timedelta(days=1)


def set_consultation_fees():
    for doctor in Doctor.objects.select_related("specialty").filter(consultation_fee=0):
        doctor.consultation_fee = Decimal(FEES.get(doctor.specialty.name, DEFAULT_FEE))
        doctor.save(update_fields=["consultation_fee"])


def seed_finances(seed=2026, today=None, written=None):
    """Returns the number of entries made (0 when the demo finances exist already). The receipts
    stored are added to `written` as (storage, name), for removal if the demo fails later."""
    today = today or timezone.localdate()
    set_consultation_fees()
    if Expense.objects.exists():
        return 0
    rnd = random.Random(f"{seed}-finance")
    manager = User.objects.get(username="manager")
    reception = User.objects.get(username="reception")
    with transaction.atomic():
        payments = _payments(rnd, today, reception)
        expenses = _expenses(rnd, today, manager, [] if written is None else written)
        incomes = _incomes(rnd, today, manager)
        _corrections(today, manager, reception)
        for month in _months(today)[:-2]:  # all but last month and this one
            ClosedMonth.objects.get_or_create(month=month, defaults={"closed_by": manager})
    return payments + expenses + incomes


def first_past_visit_day(today):
    """The first day of the demo's past year of visits (nothing older belongs to the demo)."""
    return _months(today)[0]


def seed_past_visits(seed=2026, today=None, per_day=12):
    """Completed visits over the past year, before the demo week, for the clinical and finance demo
    history: about `per_day` a weekday, one visit at a time in the clinic, so nobody overlaps.
    Returns how many were made."""
    today = today or timezone.localdate()
    if Appointment.objects.filter(start__date__lt=today - timedelta(days=8)).exists():
        return 0
    rnd = random.Random(f"{seed}-past-visits")
    reception = User.objects.get(username="reception")
    doctors = list(Doctor.objects.order_by("pk"))
    patients = list(Patient.objects.order_by("pk"))
    reasons = ["Follow-up", "New problem", "Blood pressure review", "Repeat prescription", "Skin check", "Chest pain"]
    visits = []
    day = first_past_visit_day(today)
    slots = range(17)  # half-hour slots 08:30-16:30
    while day < today - timedelta(days=8):
        if day.weekday() < 5:
            # Half-hour slots 08:30-16:30, one visit each: no consultation is longer than 30 minutes.
            for slot in rnd.sample(slots, _visits_on_a_day(rnd, per_day, len(slots))):
                doctor = rnd.choice(doctors)
                start = timezone.make_aware(datetime.combine(day, time(8, 30)) + timedelta(minutes=30 * slot))
                end = start + timedelta(minutes=min(doctor.consultation_minutes, 30))
                visits.append(
                    Appointment(
                        patient=rnd.choice(patients),
                        doctor=doctor,
                        start=start,
                        end=end,
                        reason=rnd.choice(reasons),
                        status=S.COMPLETED,
                        booked_by=reception,
                        checked_in_at=start - timedelta(minutes=5),
                        checked_in_by=reception,
                        started_at=start,
                        completed_at=end,
                    )
                )
        day += timedelta(days=1)
    return len(Appointment.objects.bulk_create(visits))


def _visits_on_a_day(rnd, per_day, most):
    """About `per_day` (10-14 for the default 12); below 1, a visit on that share of the weekdays."""
    if per_day < 1:
        return 1 if rnd.random() < per_day else 0
    per_day, spread = int(per_day), min(2, int(per_day) // 5)
    return rnd.randint(max(1, per_day - spread), min(most, per_day + spread))


def _payment(rnd, item, fee, day, reception):
    amount, reason = fee, ""
    if rnd.random() < 0.06:
        reason, share = rnd.choice(DISCOUNTS)
        amount = (fee * share).quantize(Decimal("0.01"))
    return Payment(
        patient_id=item.patient_id,
        appointment=item if isinstance(item, Appointment) else None,
        procedure=item if isinstance(item, Procedure) else None,
        fee=fee,
        amount=amount,
        fee_override_reason=reason,
        date=day,
        method=rnd.choices([PaymentMethod.CARD, PaymentMethod.CASH, PaymentMethod.INSURANCE], [70, 20, 10])[0],
        recorded_by=reception,
        receipt_number=f"demo-{rnd.getrandbits(48):x}",
    )


def _payments(rnd, today, reception):
    fees = {d.pk: d.consultation_fee for d in Doctor.objects.all()}
    # Completed visits and done procedures: all paid but the latest few (left for "Payments due").
    visits = list(Appointment.objects.filter(status=S.COMPLETED).order_by("start"))
    rows = [_payment(rnd, v, fees[v.doctor_id], timezone.localtime(v.start).date(), reception) for v in visits[:-3]]
    done = list(Procedure.objects.filter(status=Procedure.Status.DONE, fee__gt=0).order_by("performed_date", "pk"))
    rows += [_payment(rnd, p, p.fee, max(p.performed_date, _months(today)[0]), reception) for p in done[:-1]]
    made = Payment.objects.bulk_create(rows)
    for payment in made:  # the same numbering as services._number_receipt
        payment.receipt_number = f"{payment.date:%Y}-{payment.pk:06d}"
    Payment.objects.bulk_update(made, ["receipt_number"])
    return len(made)


def _expenses(rnd, today, manager, written):
    categories = {c.name: c for c in ExpenseCategory.objects.all()}
    rows = []
    for month in _months(today):
        days = list(_days_of(month, today))
        for name, reason, paid_to, low, high, method, times in MONTHLY:
            for _ in range(times):
                if name == "Salaries" and month == first_of_month(today):
                    continue  # this month's salaries are paid at its end
                day = days[0] if name == "Rent" else days[-1] if name == "Salaries" else rnd.choice(days)
                rows.append(
                    Expense(
                        date=day,
                        amount=_money(rnd, low, high),
                        category=categories[name],
                        reason=f"{reason}, {month:%B}",
                        paid_to=paid_to,
                        method=method,
                        recorded_by=manager,
                    )
                )
        if rnd.random() < 0.45:
            name, reason, paid_to, low, high = rnd.choice(OCCASIONAL)
            rows.append(
                Expense(
                    date=rnd.choice(days),
                    amount=_money(rnd, low, high),
                    category=categories[name],
                    reason=reason,
                    paid_to=paid_to,
                    method=PaymentMethod.BANK_TRANSFER,
                    recorded_by=manager,
                )
            )
    made = Expense.objects.bulk_create(rows)
    receipt = check_upload(_demo_pdf())
    for expense in [e for e in made if e.category.name == "Equipment"]:
        services.attach_receipt(expense, receipt)
        written.append((expense.receipt.storage, expense.receipt.name))
    Expense.objects.bulk_update(made, ["receipt", "receipt_name", "receipt_type"])
    return len(made)


def _demo_pdf():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("scanned-invoice.pdf", DEMO_PDF, content_type="application/pdf")


def _incomes(rnd, today, manager):
    rows = []
    for month in _months(today):
        days = list(_days_of(month, today))
        for source, description, payer, low, high, times in INCOMES:
            for _ in range(rnd.randint(times // 2, times)):
                rows.append(
                    OtherIncome(
                        date=rnd.choice(days),
                        amount=_money(rnd, low, high),
                        source=source,
                        description=description,
                        payer=payer,
                        recorded_by=manager,
                    )
                )
        if month.month in (3, 6, 9, 12) or rnd.random() < 0.15:
            rows.append(
                OtherIncome(
                    date=rnd.choice(days),
                    amount=Decimal(rnd.choice([250, 500, 1000])),
                    source=OtherIncome.Source.DONATION,
                    description="Donation towards equipment",
                    payer=rnd.choice(DONORS),
                    recorded_by=manager,
                )
            )
    return len(OtherIncome.objects.bulk_create(rows))


def _corrections(today, manager, reception):
    """A duplicate expense reversed, and a payment taken again at the right amount: what corrections look like."""
    last_month = first_of_month(first_of_month(today) - timedelta(days=1))
    supplies = Expense.objects.filter(category__name="Supplies", date__gte=last_month).order_by("date").first()
    if supplies:
        duplicate = services.record_expense(
            recorded_by=manager,
            date=supplies.date,
            amount=supplies.amount,
            category=supplies.category,
            reason=supplies.reason,
            paid_to=supplies.paid_to,
            method=supplies.method,
        )
        services.reverse_entry(entry=duplicate, reason="Entered twice; the invoice was paid once.", by=manager)
    paid = Payment.objects.filter(date__gte=last_month, appointment__isnull=False, fee_override_reason="")
    paid = paid.select_related("appointment").order_by("date").first()
    if paid:
        services.reverse_entry(entry=paid, reason="Charged the full fee; the patient is a student.", by=reception)
        services.record_payment(
            item=paid.appointment,
            amount=(paid.fee * Decimal("0.80")).quantize(Decimal("0.01")),
            method=paid.method,
            received_by=reception,
            fee_override_reason="Student discount",
        )
