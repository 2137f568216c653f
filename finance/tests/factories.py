"""Finance rows built directly (tests of the rules go through finance.services)."""

import io
from datetime import timedelta
from decimal import Decimal

import factory
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from clinic.uploads import check_upload
from clinical.models import Procedure
from clinical.tests.factories import ProcedureFactory
from finance.models import ClosedMonth, Expense, ExpenseCategory, OtherIncome, Payment, PaymentMethod
from finance.services import record_expense
from scheduling.models import Appointment
from scheduling.tests.factories import AppointmentFactory, local
from staff.roles import MANAGER, RECEPTIONIST
from staff.tests.factories import DoctorFactory, UserFactory


def manager_user():
    return UserFactory(roles=[MANAGER], is_staff=True)


class CategoryFactory(factory.django.DjangoModelFactory):
    """The seeded categories (rent, salaries, ...) exist from the migration; this makes new ones."""

    class Meta:
        model = ExpenseCategory
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Category {n}")


class ExpenseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Expense

    date = factory.LazyFunction(timezone.localdate)
    amount = Decimal("120.00")
    # Seeded by a migration; a transactional test's flush removes it, so make it again if needed.
    category = factory.LazyFunction(lambda: ExpenseCategory.objects.get_or_create(name="Supplies")[0])
    reason = "Gloves, 20 boxes"
    paid_to = "MedSupply Ltd"
    method = PaymentMethod.BANK_TRANSFER
    recorded_by = factory.LazyFunction(manager_user)


class OtherIncomeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OtherIncome

    date = factory.LazyFunction(timezone.localdate)
    amount = Decimal("45.00")
    source = OtherIncome.Source.LAB
    description = "Blood panel for a referring practice"
    payer = "Hillside Surgery"
    recorded_by = factory.LazyFunction(manager_user)


class CompletedVisitFactory(AppointmentFactory):
    """A visit two days ago, completed, with a doctor whose consultation costs 60.00."""

    doctor = factory.SubFactory(DoctorFactory, consultation_fee=Decimal("60.00"))
    start = factory.LazyFunction(lambda: local(timezone.localdate() - timedelta(days=2), 10))
    status = Appointment.Status.COMPLETED


class DoneProcedureFactory(ProcedureFactory):
    status = Procedure.Status.DONE
    performed_date = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=1))
    fee = Decimal("35.00")


class PaymentFactory(factory.django.DjangoModelFactory):
    """A payment for a completed visit at the doctor's fee."""

    class Meta:
        model = Payment

    appointment = factory.SubFactory(CompletedVisitFactory)
    patient = factory.SelfAttribute("appointment.patient")
    fee = factory.SelfAttribute("appointment.doctor.consultation_fee")
    amount = factory.SelfAttribute("fee")
    method = PaymentMethod.CARD
    date = factory.LazyFunction(timezone.localdate)
    receipt_number = factory.Sequence(lambda n: f"T-{n:06d}")
    recorded_by = factory.LazyFunction(lambda: UserFactory(roles=[RECEPTIONIST]))


class ClosedMonthFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClosedMonth

    month = factory.LazyFunction(lambda: (timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=1))
    closed_by = factory.LazyFunction(manager_user)


def png_bytes(size=(8, 8), colour=(200, 30, 30)):
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def expense_with_receipt():
    """An expense recorded through the service with a scanned receipt (a real PNG, checked)."""
    upload = SimpleUploadedFile("till-receipt.png", png_bytes(), content_type="image/png")
    return record_expense(
        recorded_by=manager_user(),
        receipt=check_upload(upload),
        date=timezone.localdate(),
        amount=Decimal("42.00"),
        category=CategoryFactory(name="Supplies"),
        reason="Printer paper",
        paid_to="Office Depot",
        method=PaymentMethod.CARD,
    )
