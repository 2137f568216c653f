"""The benchmark's seeder (demo/bench/seed.py) makes a valid clinic: nobody double-booked, every derived
field as the models' save() makes it, receipts numbered as the services number them, the closed-month
guard back in place after the history was loaded under it, and an audit trail that verifies."""

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from clinic import audit
from clinic.models import AuditEntry
from clinical.models import MedicalRecord
from demo.bench.seed import SIZES, BenchSeedError, seed_bench, seeded
from finance.models import ClosedMonth, Expense, ExpenseCategory, Payment, PaymentMethod, first_of_month
from finance.queries import unpaid_visits
from patients.models import Patient
from scheduling.models import Appointment
from staff import roles
from staff.models import User
from staff.tests.factories import UserFactory

TINY = SIZES["tiny"]


def overlaps(column):
    """Pairs of active appointments of one doctor (or patient) that overlap."""
    rows = sorted(Appointment.objects.active().values_list(column, "start", "end", "pk"))
    return [(a[3], b[3]) for a, b in zip(rows, rows[1:], strict=False) if a[0] == b[0] and b[1] < a[2]]


@pytest.fixture
def tiny_clinic(db):
    """The tiny size seeded on the demo's accounts, with a closed month inside its history."""
    UserFactory(username="reception", roles=[roles.RECEPTIONIST])
    manager = UserFactory(username="manager", roles=[roles.MANAGER])
    closed = first_of_month(first_of_month(timezone.localdate()) - timezone.timedelta(days=1))
    ClosedMonth.objects.create(month=closed, closed_by=manager)
    counts = seed_bench("tiny")
    return counts, closed


def test_tiny_set_is_a_valid_clinic(tiny_clinic):
    counts, closed = tiny_clinic
    assert Patient.objects.count() == TINY.patients
    assert Appointment.objects.count() == TINY.appointments
    assert overlaps("doctor_id") == [] and overlaps("patient_id") == []
    statuses = set(Appointment.objects.values_list("status", flat=True))
    assert {"completed", "cancelled", "no_show", "scheduled", "confirmed"} <= statuses
    assert Appointment.objects.filter(start__gt=timezone.now()).exists()

    # Paid visits have receipts numbered as finance.services numbers them; some visits are still due.
    for payment in Payment.objects.all()[:50]:
        assert payment.receipt_number == f"{payment.date:%Y}-{payment.pk:06d}"
        assert payment.appointment.status == Appointment.Status.COMPLETED
    assert Payment.objects.filter(date__gte=closed, date__lt=first_of_month(timezone.localdate())).exists()
    assert unpaid_visits().exists()
    assert MedicalRecord.objects.filter(status="signed").exists()
    assert not MedicalRecord.objects.filter(status="signed", signed_at=None).exists()

    # The trail: the bulk-loaded entries are sealed into the chain, and it verifies.
    assert AuditEntry.objects.count() >= TINY.audit_entries
    checked, _head, breaks = audit.verify()
    assert breaks == [] and checked == AuditEntry.objects.count()
    assert "tiny" in seeded()


def test_derived_fields_are_what_save_makes(tiny_clinic):
    """Saving a seeded patient again changes nothing: the seeder derived every field as save() does."""
    for patient in Patient.objects.order_by("-pk")[:20]:
        before = {f.attname: getattr(patient, f.attname) for f in Patient._meta.concrete_fields}
        patient.save()
        patient.refresh_from_db()
        after = {f.attname: getattr(patient, f.attname) for f in Patient._meta.concrete_fields}
        before.pop("updated_at"), after.pop("updated_at")
        assert after == before
    # Search finds a seeded patient by name, phone digits and MRN, as it finds one registered by hand.
    patient = Patient.objects.order_by("-pk").first()
    assert patient in Patient.objects.search(f"{patient.first_name} {patient.last_name}")
    assert patient in Patient.objects.search(patient.phone_digits[2:9])
    assert list(Patient.objects.search(patient.mrn))[0] == patient


def test_closed_month_guard_is_back_and_seeding_is_once(tiny_clinic):
    _counts, closed = tiny_clinic
    expense = Expense(
        date=closed,
        amount=10,
        category=ExpenseCategory.objects.first(),
        reason="Late invoice",
        paid_to="Someone",
        method=PaymentMethod.CASH,
        recorded_by=User.objects.get(username="manager"),
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Expense.objects.bulk_create([expense])
    with pytest.raises(BenchSeedError):
        seed_bench("tiny")
