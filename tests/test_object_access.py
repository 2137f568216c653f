"""Object-level access: the checks a role passes but the object refuses, where the apps' own tests
do not already make them.

Already covered elsewhere, and not repeated here:
- another doctor's draft refused on its edit and sign pages, nothing changed
  (clinical/tests/test_pages_records.py::test_doctor_cannot_edit_or_sign_another_doctors_draft, and the
  services in clinical/tests/test_signing.py);
- archived documents and photos: gone from the chart, the list and the gallery, still readable by
  doctors and nurses from their own page, refused (files included) to every other role, restored
  by administrators only, who see titles and never content (documents/tests/test_views_replace_and_archive.py,
  documents/tests/test_permissions.py::test_who_may_read and the archived-page tests);
- locked finance entries (closed month, reversed, reversal) opening read-only, a POST refused with
  the row unchanged, no delete page, no delete action (finance/tests/test_admin_expenses.py).

What is added: a draft refused to another doctor whatever state it is in (no diagnosis, an allergy
warning the other doctor "acknowledges"), a visit another doctor is charting, the admin as a way
round the author rule; an open entry moved into a closed month and a closed month's receipt
replaced, both through the admin.
"""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from clinic.tests.adminforms import form_data
from clinic.tests.files import stored_files
from clinic.uploads import check_upload
from clinical import services as clinical_services
from clinical.models import MedicalRecord
from clinical.tests.factories import MedicalRecordFactory, MedicationFactory
from finance import services as finance_services
from finance.models import Expense, PaymentMethod
from finance.tests.factories import CategoryFactory, ClosedMonthFactory, ExpenseFactory
from patients.tests.factories import AllergyFactory
from scheduling.models import Appointment
from scheduling.tests.factories import AppointmentFactory, local
from staff.roles import DOCTOR, MANAGER
from staff.tests.factories import DoctorFactory, UserFactory

pytestmark = pytest.mark.django_db


def snapshot(record):
    """Everything about a record a refused request must leave as it was."""
    return (
        MedicalRecord.objects.filter(pk=record.pk).values().get(),
        list(record.medications.values_list("pk", "drug")),
        MedicalRecord.objects.count(),
    )


# --- a doctor's draft is the author's -------------------------------------------------------------


def test_another_doctor_cannot_sign_a_draft_that_is_not_ready_either(doctor_client):
    # The author check comes first: the refusal says nothing about what the draft lacks.
    theirs = MedicalRecordFactory(author=DoctorFactory().user, diagnosis="")
    before = snapshot(theirs)

    response = doctor_client.post(reverse("clinical:record_sign", args=[theirs.pk]))

    assert response.status_code == 403
    assert "diagnosis" not in response.content.decode().lower()
    assert snapshot(theirs) == before


def test_another_doctor_cannot_acknowledge_an_allergy_warning_and_sign(doctor_client):
    theirs = MedicalRecordFactory(author=DoctorFactory().user)
    AllergyFactory(patient=theirs.patient, substance="Penicillin")
    MedicationFactory(record=theirs, drug="Penicillin V")
    before = snapshot(theirs)

    response = doctor_client.post(reverse("clinical:record_sign", args=[theirs.pk]), {"acknowledge_allergies": "on"})

    assert response.status_code == 403
    assert snapshot(theirs) == before
    theirs.refresh_from_db()
    assert (theirs.status, theirs.allergy_conflicts_acknowledged) == (MedicalRecord.Status.DRAFT, "")


def test_charting_a_visit_another_doctor_is_charting_opens_no_record_of_ones_own(doctor_client):
    colleague = DoctorFactory()
    visit = AppointmentFactory(
        doctor=colleague,
        start=local(timezone.localdate(), 10),
        status=Appointment.Status.IN_PROGRESS,
        checked_in_at=timezone.now(),
        started_at=timezone.now(),
    )
    theirs = clinical_services.record_for_visit(appointment=visit, by=colleague.user)
    before = snapshot(theirs)

    response = doctor_client.post(reverse("clinical:visit_record", args=[visit.pk]), follow=True)

    # Sent to the visit's one record, whose form is the colleague's: refused.
    assert response.redirect_chain == [(reverse("clinical:record_edit", args=[theirs.pk]), 302)]
    assert response.status_code == 403
    assert snapshot(theirs) == before
    assert MedicalRecord.objects.get(appointment=visit).author == colleague.user


def staff_doctor():
    """A doctor who is also staff: by mistake, or by an administrator's tick in the user admin
    (see test_admin_access.py's findings). The admin must not be a way round the author rule."""
    user = UserFactory(roles=[DOCTOR], is_staff=True)
    client = Client()
    client.force_login(user)
    client.user = user
    return client


def test_a_doctor_in_the_admin_cannot_edit_another_doctors_draft():
    client = staff_doctor()
    theirs = MedicalRecordFactory(author=DoctorFactory().user, diagnosis="Their diagnosis")
    url = reverse("admin:clinical_medicalrecord_change", args=[theirs.pk])

    page = client.get(url)
    if page.status_code == 200 and page.context["has_change_permission"]:
        data = form_data(page)
        data["diagnosis"] = "Mine now"
        client.post(url, data)

    theirs.refresh_from_db()
    assert theirs.diagnosis == "Their diagnosis"


def test_a_doctor_in_the_admin_edits_their_own_draft():
    # The control for the finding above: the same form, posted by the author, saves.
    client = staff_doctor()
    mine = MedicalRecordFactory(author=client.user, diagnosis="First thoughts")
    url = reverse("admin:clinical_medicalrecord_change", args=[mine.pk])
    data = form_data(client.get(url))
    data["diagnosis"] = "Acute tonsillitis"

    response = client.post(url, data)

    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.diagnosis == "Acute tonsillitis"


# --- a closed month is final, in the admin too ------------------------------------------------------


def last_month_day():
    return timezone.localdate().replace(day=1) - timedelta(days=1)


def png_upload(name="receipt.png", colour=(200, 30, 30)):
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


@pytest.mark.parametrize("persona", ["manager", "administrator"])
def test_an_open_entry_cannot_be_moved_into_a_closed_month_through_the_admin(persona, request):
    client = request.getfixturevalue(persona)
    closed = ClosedMonthFactory(month=last_month_day().replace(day=1))
    expense = ExpenseFactory(amount=Decimal("80.00"))
    before = Expense.objects.filter(pk=expense.pk).values().get()
    url = reverse("admin:finance_expense_change", args=[expense.pk])
    data = form_data(client.get(url))
    data["date"] = last_month_day().isoformat()

    response = client.post(url, data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["date"] == [f"{closed.month:%B %Y} is closed; date the entry in an open month."]
    assert Expense.objects.filter(pk=expense.pk).values().get() == before


@pytest.mark.parametrize("persona", ["manager", "administrator"])
def test_a_closed_months_receipt_cannot_be_replaced_through_the_admin(persona, request, media):
    client = request.getfixturevalue(persona)
    expense = finance_services.record_expense(
        recorded_by=UserFactory(roles=[MANAGER], is_staff=True),
        receipt=check_upload(png_upload("till.png")),
        date=last_month_day(),
        amount=Decimal("42.00"),
        category=CategoryFactory(name="Supplies"),
        reason="Printer paper",
        paid_to="Office Depot",
        method=PaymentMethod.CARD,
    )
    ClosedMonthFactory(month=last_month_day().replace(day=1))
    before, files_before = Expense.objects.filter(pk=expense.pk).values().get(), stored_files(media)
    url = reverse("admin:finance_expense_change", args=[expense.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert not page.context["has_change_permission"]
    assert 'name="receipt_file"' not in page.content.decode()
    data = {
        "date": expense.date.isoformat(),
        "amount": "42.00",
        "category": str(expense.category_id),
        "reason": "Printer paper",
        "paid_to": "Office Depot",
        "method": PaymentMethod.CARD,
        "notes": "",
        "receipt_file": png_upload("other.png", colour=(30, 200, 30)),
    }

    response = client.post(url, data)

    assert response.status_code == 403
    assert Expense.objects.filter(pk=expense.pk).values().get() == before
    assert stored_files(media) == files_before
