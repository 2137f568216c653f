"""The front desk's side of finance, through the views: Payments due, taking a payment, the receipt,
the Payment card on an appointment, and the doctor's consultation fee on the doctor profile.

What the lists hold and leave out; a payment recorded by the person at the desk and its receipt; every
kind of bad amount or date refused next to its field with nothing written; paying twice; paying what is
not payable; unknown records (404 for the desk, 403 for everyone else: permission before lookup).
"""

from datetime import timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from clinical.models import Procedure
from clinical.tests.factories import ProcedureFactory
from finance import services
from finance.models import Payment, PaymentMethod
from finance.tests.factories import (
    ClosedMonthFactory,
    CompletedVisitFactory,
    DoneProcedureFactory,
    PaymentFactory,
    manager_user,
)
from patients.tests.factories import PatientFactory
from scheduling.models import Appointment
from scheduling.tests.factories import local
from staff.models import Doctor
from staff.roles import ADMINISTRATOR, DOCTOR, MANAGER, NURSE, RECEPTIONIST
from staff.tests.factories import DoctorFactory, SpecialtyFactory

pytestmark = pytest.mark.django_db

Status = Appointment.Status
DUE = reverse("finance:due")
FRIENDLY_403 = "This page is not available to you"
UNKNOWN = 987654
FEE = Decimal("60.00")


def text(response):
    return unescape(response.content.decode())


def field_errors(response, name):
    return [str(e) for e in response.context["form"].errors.get(name, [])]


def pay_url(item):
    name = "finance:pay_procedure" if isinstance(item, Procedure) else "finance:pay_visit"
    return reverse(name, args=[item.pk])


def pay_form(**fields):
    """The payment form as the browser posts it: the standard fee, by card, today."""
    data = {
        "amount": str(FEE),
        "method": PaymentMethod.CARD,
        "fee_override_reason": "",
        "date": timezone.localdate().isoformat(),
        "notes": "",
    }
    return {**data, **{name: str(value) for name, value in fields.items()}}


def completed_visit(patient=None, fee=FEE, **fields):
    doctor = DoctorFactory(consultation_fee=fee, user__first_name="Hana", user__last_name="Okafor")
    return CompletedVisitFactory(patient=patient or PatientFactory(), doctor=doctor, **fields)


def procedure_of(visit, *, name="Wound dressing", fee="35.00", status=Procedure.Status.DONE):
    """A procedure done (or planned) during `visit`."""
    performed = timezone.localdate() - timedelta(days=2) if status == Procedure.Status.DONE else None
    return ProcedureFactory(
        appointment=visit,
        plan=None,
        patient=visit.patient,
        name=name,
        fee=Decimal(fee),
        status=status,
        performed_date=performed,
    )


def pay(item, by, amount=None, **fields):
    return services.record_payment(
        item=item, amount=amount or services.standard_fee(item), method=PaymentMethod.CASH, received_by=by, **fields
    )


def last_month_end():
    return timezone.localdate().replace(day=1) - timedelta(days=1)


# --- Payments due --------------------------------------------------------------------------------


def test_payments_due_lists_completed_visits_with_a_fee_and_nothing_else(reception):
    due = completed_visit()
    scheduled = completed_visit(status=Status.SCHEDULED, start=local(timezone.localdate() + timedelta(days=1), 9))
    cancelled = completed_visit(status=Status.CANCELLED)
    free = completed_visit(fee=Decimal("0.00"))
    paid = completed_visit()
    pay(paid, reception.user)

    response = reception.get(DUE)

    assert response.status_code == 200
    listed = list(response.context["object_list"])
    assert listed == [due]
    body = text(response)
    assert f'href="{pay_url(due)}"' in body
    for other in (scheduled, cancelled, free, paid):
        assert f'href="{pay_url(other)}"' not in body
    assert "£60.00" in body
    assert due.patient.full_name in body


def test_payments_due_lists_newest_visits_first(reception):
    older = completed_visit(start=local(timezone.localdate() - timedelta(days=5), 9))
    newer = completed_visit(start=local(timezone.localdate() - timedelta(days=1), 9))

    assert list(reception.get(DUE).context["object_list"]) == [newer, older]


def test_payments_due_procedures_tab_lists_done_procedures_with_a_fee(reception):
    visit = completed_visit()
    done = procedure_of(visit, name="Wound dressing")
    planned = procedure_of(visit, name="Suture removal", status=Procedure.Status.PLANNED)
    cancelled = procedure_of(visit, name="Ear syringing", status=Procedure.Status.CANCELLED)
    free = procedure_of(visit, name="Blood pressure check", fee="0.00")
    paid = DoneProcedureFactory(name="ECG")
    pay(paid, reception.user)

    response = reception.get(DUE, {"show": "procedures"})

    assert response.status_code == 200
    assert response.context["show"] == "procedures"
    assert list(response.context["object_list"]) == [done]
    body = text(response)
    assert f'href="{pay_url(done)}"' in body
    for other in (planned, cancelled, free, paid):
        assert f'href="{pay_url(other)}"' not in body
    assert "Wound dressing" in body
    assert "£35.00" in body


def test_the_visits_tab_does_not_list_procedures_and_the_procedures_tab_does_not_list_visits(reception):
    visit = completed_visit()
    procedure = procedure_of(visit)

    visits_tab = text(reception.get(DUE))
    procedures_tab = text(reception.get(DUE, {"show": "procedures"}))

    assert pay_url(visit) in visits_tab and pay_url(procedure) not in visits_tab
    assert pay_url(procedure) in procedures_tab and pay_url(visit) not in procedures_tab


def test_a_reversed_payment_puts_the_visit_back_on_the_list(reception):
    visit = completed_visit()
    payment = pay(visit, reception.user)
    assert visit not in reception.get(DUE).context["object_list"]

    services.reverse_entry(entry=payment, reason="Charged in error", by=manager_user())

    assert list(reception.get(DUE).context["object_list"]) == [visit]
    # And it can be paid again.
    response = reception.post(pay_url(visit), pay_form())
    assert response.status_code == 302
    assert Payment.objects.filter(appointment=visit, reverses__isnull=True).count() == 2


def test_a_reversed_procedure_payment_puts_the_procedure_back_on_the_list(reception):
    procedure = DoneProcedureFactory()
    payment = pay(procedure, reception.user)
    assert not reception.get(DUE, {"show": "procedures"}).context["object_list"]

    services.reverse_entry(entry=payment, reason="Wrong patient", by=manager_user())

    assert list(reception.get(DUE, {"show": "procedures"}).context["object_list"]) == [procedure]


@pytest.mark.parametrize("show", ["visits", "procedures"])
def test_patient_search_narrows_payments_due(reception, show):
    ottilie = PatientFactory(first_name="Ottilie", last_name="Quillfeather")
    bram = PatientFactory(first_name="Bram", last_name="Brightwater")
    mine, theirs = completed_visit(ottilie), completed_visit(bram)
    if show == "procedures":
        mine, theirs = procedure_of(mine), procedure_of(theirs)

    everyone = reception.get(DUE, {"show": show}).context["object_list"]
    narrowed = reception.get(DUE, {"show": show, "q": "quillf"}).context["object_list"]
    nobody = reception.get(DUE, {"show": show, "q": "Zzyzx"}).context["object_list"]

    assert set(everyone) == {mine, theirs}
    assert list(narrowed) == [mine]
    assert list(nobody) == []


def test_payments_due_pages_long_lists(reception):
    patient = PatientFactory()
    doctor = DoctorFactory(consultation_fee=FEE)
    for day in range(30):
        CompletedVisitFactory(
            patient=patient, doctor=doctor, start=local(timezone.localdate() - timedelta(days=day + 1), 10)
        )

    first = reception.get(DUE)
    second = reception.get(DUE, {"page": 2})

    assert len(first.context["object_list"]) == 25
    assert len(second.context["object_list"]) == 5


@pytest.mark.parametrize(
    ("params", "status", "show"),
    [
        ({"show": "bogus"}, 200, "visits"),
        ({"show": ["visits", "procedures"]}, 200, "procedures"),
        ({"q": "x" * 500}, 200, "visits"),
        ({"q": "nul\x00byte"}, 200, "visits"),
        ({"q": "%_'\"<script>"}, 200, "visits"),
        ({"q": "2024-02-30"}, 200, "visits"),
        ({"show": "procedures", "q": "07700"}, 200, "procedures"),
        ({"page": "abc"}, 404, None),
        ({"page": "99999"}, 404, None),
        ({"page": "-1"}, 404, None),
    ],
)
def test_bad_parameters_on_payments_due_never_crash(reception, params, status, show):
    completed_visit()
    response = reception.get(DUE, params)

    assert response.status_code == status
    if show:
        assert response.context["show"] == show


# --- taking a payment ----------------------------------------------------------------------------


def test_the_payment_form_starts_at_the_standard_fee_and_today(reception):
    visit = completed_visit()

    response = reception.get(pay_url(visit))

    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["amount"] == FEE
    assert form.initial["date"] == timezone.localdate()
    body = text(response)
    assert 'value="60.00"' in body
    assert f'value="{timezone.localdate().isoformat()}"' in body
    assert "£60.00" in body
    assert visit.patient.full_name in body
    assert "Dr Hana Okafor" in body


def test_the_procedure_payment_form_starts_at_the_procedure_fee(reception):
    procedure = DoneProcedureFactory(name="Cryotherapy", fee=Decimal("48.50"))

    response = reception.get(pay_url(procedure))

    assert response.status_code == 200
    assert response.context["form"].initial["amount"] == Decimal("48.50")
    assert response.context["is_procedure"] is True
    assert "Cryotherapy" in text(response)


def test_recording_a_payment_saves_it_and_shows_the_receipt(reception):
    visit = completed_visit(PatientFactory(first_name="Amara", last_name="Nwosu"))

    response = reception.post(pay_url(visit), pay_form())

    payment = Payment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("finance:receipt", args=[payment.pk])
    assert payment.appointment == visit and payment.procedure is None
    assert payment.patient == visit.patient
    assert payment.recorded_by == reception.user
    assert (payment.amount, payment.fee, payment.method) == (FEE, FEE, PaymentMethod.CARD)
    assert payment.date == timezone.localdate()
    assert payment.receipt_number == f"{payment.date:%Y}-{payment.pk:06d}"
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        f"Payment of £60.00 recorded: receipt {payment.receipt_number}."
    ]

    receipt = reception.get(response["Location"])
    body = text(receipt)
    assert receipt.status_code == 200
    assert f"Receipt {payment.receipt_number}" in body
    assert "£60.00" in body
    assert "by card" in body
    assert "Amara Nwosu" in body
    assert visit.patient.mrn in body
    assert "Consultation with Dr Hana Okafor" in body
    assert "Refund" not in body
    assert reception.user.get_full_name() in body


def test_recording_a_procedure_payment(reception):
    procedure = DoneProcedureFactory(name="Cryotherapy", fee=Decimal("48.50"))

    response = reception.post(pay_url(procedure), pay_form(amount="48.50", method=PaymentMethod.CASH))

    payment = Payment.objects.get()
    assert response.status_code == 302
    assert (payment.procedure, payment.appointment) == (procedure, None)
    assert (payment.amount, payment.fee, payment.method) == (Decimal("48.50"), Decimal("48.50"), "cash")
    assert payment.recorded_by == reception.user
    body = text(reception.get(response["Location"]))
    assert "Cryotherapy (procedure" in body
    assert "by cash" in body


@pytest.mark.parametrize("reason", ["", "   "])
def test_an_amount_other_than_the_fee_needs_a_reason(reception, reason):
    visit = completed_visit()

    response = reception.post(pay_url(visit), pay_form(amount="45.00", fee_override_reason=reason))

    assert response.status_code == 200
    assert field_errors(response, "fee_override_reason") == ["The standard fee is £60.00; say why this amount differs."]
    assert "say why this amount differs" in text(response)
    assert not Payment.objects.exists()


def test_an_amount_other_than_the_fee_with_a_reason_is_recorded_and_shown_on_the_receipt(reception):
    visit = completed_visit()

    response = reception.post(pay_url(visit), pay_form(amount="45.00", fee_override_reason="Insurance pays the rest"))

    payment = Payment.objects.get()
    assert response.status_code == 302
    assert (payment.amount, payment.fee) == (Decimal("45.00"), FEE)
    assert payment.fee_override_reason == "Insurance pays the rest"
    body = text(reception.get(response["Location"]))
    assert "Standard fee" in body
    assert "£60.00 (Insurance pays the rest)" in body
    assert "£45.00" in body


def test_the_standard_fee_is_not_shown_as_changed_when_it_was_paid_in_full(reception):
    visit = completed_visit()
    response = reception.post(pay_url(visit), pay_form())
    assert "Standard fee" not in text(reception.get(response["Location"]))


@pytest.mark.parametrize(
    "amount",
    ["0", "0.00", "-5", "-60.00", "abc", "NaN", "Infinity", "1234567890123", "0.001", "", "60,00"],
)
def test_bad_amounts_are_refused_next_to_the_amount(reception, amount):
    visit = completed_visit()

    response = reception.post(pay_url(visit), pay_form(amount=amount, fee_override_reason="Discount"))

    assert response.status_code == 200
    assert field_errors(response, "amount")
    assert not Payment.objects.exists()


def test_a_date_in_the_future_is_refused_next_to_the_date(reception):
    visit = completed_visit()
    tomorrow = timezone.localdate() + timedelta(days=1)

    response = reception.post(pay_url(visit), pay_form(date=tomorrow.isoformat()))

    assert response.status_code == 200
    assert field_errors(response, "date") == ["An entry cannot be dated in the future."]
    assert not Payment.objects.exists()


def test_a_date_in_a_closed_month_is_refused_next_to_the_date(reception):
    visit = completed_visit()
    closed = ClosedMonthFactory()
    day = last_month_end()
    assert closed.month == day.replace(day=1)

    response = reception.post(pay_url(visit), pay_form(date=day.isoformat()))

    assert response.status_code == 200
    assert field_errors(response, "date") == [f"{day:%B %Y} is closed; date the entry in an open month."]
    assert not Payment.objects.exists()


@pytest.mark.parametrize(
    ("date", "error"),
    [
        ("9999-12-31", "Enter a date between 1900 and 2200."),
        ("1899-12-31", "Enter a date between 1900 and 2200."),
        ("2024-02-30", "Enter a valid date."),
        ("yesterday", "Enter a valid date."),
        ("", "This field is required."),
    ],
)
def test_impossible_dates_are_refused_next_to_the_date(reception, date, error):
    visit = completed_visit()

    response = reception.post(pay_url(visit), pay_form(date=date))

    assert response.status_code == 200
    assert field_errors(response, "date") == [error]
    assert not Payment.objects.exists()


def test_an_unknown_method_is_refused(reception):
    visit = completed_visit()

    response = reception.post(pay_url(visit), pay_form(method="bitcoin"))

    assert response.status_code == 200
    assert field_errors(response, "method")
    assert not Payment.objects.exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_paying_an_already_paid_visit_goes_to_its_receipt(reception, method):
    visit = completed_visit()
    earlier = pay(visit, reception.user)

    response = getattr(reception, method)(pay_url(visit), pay_form() if method == "post" else None)

    assert response.status_code == 302
    assert response["Location"] == reverse("finance:receipt", args=[earlier.pk])
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        f"This was already paid: receipt {earlier.receipt_number}."
    ]
    assert Payment.objects.count() == 1


def test_paying_an_already_paid_procedure_goes_to_its_receipt(reception):
    procedure = DoneProcedureFactory()
    earlier = pay(procedure, reception.user)

    response = reception.post(pay_url(procedure), pay_form(amount="35.00"))

    assert response.status_code == 302
    assert response["Location"] == reverse("finance:receipt", args=[earlier.pk])
    assert Payment.objects.count() == 1


@pytest.mark.parametrize("status", [Status.SCHEDULED, Status.CHECKED_IN, Status.IN_PROGRESS, Status.CANCELLED])
def test_a_visit_that_is_not_completed_cannot_be_paid(reception, status):
    visit = completed_visit(status=status)

    response = reception.post(pay_url(visit), pay_form())

    assert response.status_code == 200
    assert "Only a completed visit can be paid for." in text(response)
    assert not Payment.objects.exists()


@pytest.mark.parametrize("status", [Procedure.Status.PLANNED, Procedure.Status.CANCELLED])
def test_a_procedure_that_is_not_done_cannot_be_paid(reception, status):
    procedure = procedure_of(completed_visit(), status=status)

    response = reception.post(pay_url(procedure), pay_form(amount="35.00"))

    assert response.status_code == 200
    assert "Only a procedure that has been done can be paid for." in text(response)
    assert not Payment.objects.exists()


UNKNOWN_PAGES = ["finance:pay_visit", "finance:pay_procedure", "finance:receipt"]


@pytest.mark.parametrize("name", UNKNOWN_PAGES)
@pytest.mark.parametrize("role", [RECEPTIONIST, MANAGER, ADMINISTRATOR])
def test_unknown_records_are_not_found_for_the_desk(client_for, role, name):
    response = client_for(role).get(reverse(name, args=[UNKNOWN]))
    assert response.status_code == 404


@pytest.mark.parametrize("name", UNKNOWN_PAGES)
@pytest.mark.parametrize("role", [DOCTOR, NURSE, None])
def test_unknown_records_are_refused_before_they_are_looked_up(client_for, role, name):
    response = client_for(role).get(reverse(name, args=[UNKNOWN]))
    assert response.status_code == 403
    assert FRIENDLY_403 in text(response)


@pytest.mark.parametrize("role", [DOCTOR, NURSE, None])
def test_other_roles_cannot_take_a_payment(client_for, role):
    visit = completed_visit()
    response = client_for(role).post(pay_url(visit), pay_form())
    assert response.status_code == 403
    assert not Payment.objects.exists()


@pytest.mark.parametrize("role", [DOCTOR, NURSE])
def test_other_roles_cannot_read_a_receipt(client_for, role):
    payment = PaymentFactory()
    response = client_for(role).get(reverse("finance:receipt", args=[payment.pk]))
    assert response.status_code == 403
    assert payment.receipt_number not in text(response)


def test_the_receipt_of_a_reversal_reads_refund(reception):
    visit = completed_visit()
    payment = pay(visit, reception.user)
    refund = services.reverse_entry(entry=payment, reason="Charged twice", by=manager_user())

    body = text(reception.get(reverse("finance:receipt", args=[refund.pk])))

    header = body.split("<header>", 1)[1].split("</header>", 1)[0]
    assert f"Refund {refund.receipt_number}" in header
    assert "Receipt" not in header
    assert "Refunded" in body
    assert "−£60.00" in body
    assert f"receipt {payment.receipt_number}: Charged twice" in body


def test_the_refund_page_is_titled_refund(reception):
    # The title names the file when the page is saved as PDF: a refund must not be saved as a "Receipt".
    payment = pay(completed_visit(), reception.user)
    refund = services.reverse_entry(entry=payment, reason="Charged twice", by=manager_user())

    body = text(reception.get(reverse("finance:receipt", args=[refund.pk])))

    title = body.split("<title>", 1)[1].split("</title>", 1)[0]
    assert title.startswith(f"Refund {refund.receipt_number}")


# --- the Payment card on an appointment ----------------------------------------------------------


@pytest.mark.parametrize("role", [RECEPTIONIST, MANAGER, ADMINISTRATOR])
def test_the_appointment_shows_its_charges_with_record_payment_links(client_for, role):
    visit = completed_visit()
    dressing = procedure_of(visit, name="Wound dressing", fee="35.00")
    planned = procedure_of(visit, name="Suture removal", status=Procedure.Status.PLANNED)
    elsewhere = DoneProcedureFactory(name="ECG")  # another visit's

    response = client_for(role).get(reverse("scheduling:detail", args=[visit.pk]))

    assert response.status_code == 200
    charges = response.context["charges"]
    assert [(c["label"], c["fee"], c["payment"]) for c in charges] == [
        ("Consultation", FEE, None),
        ("Wound dressing", Decimal("35.00"), None),
    ]
    body = text(response)
    assert 'id="charges"' in body
    assert f'href="{pay_url(visit)}"' in body
    assert f'href="{pay_url(dressing)}"' in body
    assert f'href="{pay_url(planned)}"' not in body
    assert "Suture removal" not in body
    assert pay_url(elsewhere) not in body
    assert body.count("Record payment") == 2


def test_the_appointment_links_the_receipt_once_paid(reception):
    visit = completed_visit()
    dressing = procedure_of(visit, fee="35.00")
    consultation = pay(visit, reception.user)

    body = text(reception.get(reverse("scheduling:detail", args=[visit.pk])))

    assert f'href="{reverse("finance:receipt", args=[consultation.pk])}"' in body
    assert f"receipt {consultation.receipt_number}" in body
    assert f'href="{pay_url(visit)}"' not in body
    assert f'href="{pay_url(dressing)}"' in body  # the procedure is still to be paid


def test_the_appointment_offers_payment_again_after_a_refund(reception):
    visit = completed_visit()
    payment = pay(visit, reception.user)
    services.reverse_entry(entry=payment, reason="Charged in error", by=manager_user())

    body = text(reception.get(reverse("scheduling:detail", args=[visit.pk])))

    assert f'href="{pay_url(visit)}"' in body
    assert payment.receipt_number not in body


def test_a_doctor_with_no_fee_shows_no_charge(reception):
    visit = completed_visit(fee=Decimal("0.00"))

    response = reception.get(reverse("scheduling:detail", args=[visit.pk]))

    assert "no charge" in text(response)
    assert f'href="{pay_url(visit)}"' not in text(response)


def test_a_visit_not_yet_completed_has_no_consultation_charge(reception):
    visit = completed_visit(status=Status.CHECKED_IN)

    response = reception.get(reverse("scheduling:detail", args=[visit.pk]))

    assert response.context["charges"] == []
    assert 'id="charges"' not in text(response)


@pytest.mark.parametrize("role", [DOCTOR, NURSE])
def test_doctors_and_nurses_do_not_see_the_payment_card(client_for, role):
    visit = completed_visit()
    procedure_of(visit, fee="35.00")
    payment = pay(visit, manager_user())

    response = client_for(role).get(reverse("scheduling:detail", args=[visit.pk]))

    assert response.status_code == 200
    assert response.context["charges"] == []
    body = text(response)
    assert 'id="charges"' not in body
    assert "/finance/" not in body
    assert payment.receipt_number not in body
    assert "Record payment" not in body


# --- the doctor's consultation fee ---------------------------------------------------------------


def profile_form(doctor, **fields):
    """The doctor profile form with no working-hours rows (the formset prefix is "hours")."""
    data = {
        "specialty": doctor.specialty_id,
        "licence_number": doctor.licence_number,
        "phone": "",
        "consultation_minutes": "20",
        "consultation_fee": "60.00",
        "is_active": "on",
        "hours-TOTAL_FORMS": "0",
        "hours-INITIAL_FORMS": "0",
        "hours-MIN_NUM_FORMS": "0",
        "hours-MAX_NUM_FORMS": "1000",
    }
    return {**data, **{name: str(value) for name, value in fields.items()}}


def test_the_administrator_sets_a_doctors_consultation_fee(administrator):
    doctor = DoctorFactory(specialty=SpecialtyFactory(name="Dermatology"), hours=[])
    url = reverse("staff:doctor_profile", args=[doctor.user_id])
    assert "consultation_fee" in administrator.get(url).context["form"].fields

    response = administrator.post(url, profile_form(doctor, consultation_fee="75.50"))

    assert response.status_code == 302
    doctor.refresh_from_db()
    assert doctor.consultation_fee == Decimal("75.50")
    # The next payment for this doctor's visit starts at the new fee.
    visit = CompletedVisitFactory(doctor=doctor)
    assert administrator.get(pay_url(visit)).context["form"].initial["amount"] == Decimal("75.50")


@pytest.mark.parametrize("fee", ["-1", "-0.01", "abc", "123456789012"])
def test_a_bad_consultation_fee_is_refused(administrator, fee):
    doctor = DoctorFactory(consultation_fee=FEE, hours=[])

    response = administrator.post(
        reverse("staff:doctor_profile", args=[doctor.user_id]), profile_form(doctor, consultation_fee=fee)
    )

    assert response.status_code == 200
    assert response.context["form"].errors["consultation_fee"]
    assert Doctor.objects.get(pk=doctor.pk).consultation_fee == FEE
