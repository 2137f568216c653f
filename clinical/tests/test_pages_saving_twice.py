"""Double submits create one thing."""

import uuid

import pytest
from django.urls import reverse

from clinic.tests.submissions import token_on
from clinical.models import MedicalRecord, Procedure, TreatmentPlan
from clinical.tests.factories import (
    TreatmentPlanFactory,
)
from clinical.tests.pages import (
    Status,
    plan_form,
    procedure_form,
    signed_record,
    text,
    visit,
)
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_plan_create_submitted_twice_creates_one_plan(doctor, doctor_client):
    patient = PatientFactory()
    url = reverse("clinical:plan_create", args=[patient.pk])
    page = doctor_client.get(url)
    assert page.context["form"].initial["doctor"] == doctor
    data = plan_form(doctor, client_token=token_on(page))

    first, second = doctor_client.post(url, data), doctor_client.post(url, data)

    plan = TreatmentPlan.objects.get()
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == plan.get_absolute_url()
    assert (plan.patient, plan.doctor, plan.created_by, plan.status) == (patient, doctor, doctor_client.user, "draft")
    # A fresh form (a new token) makes a second plan.
    doctor_client.post(url, plan_form(doctor, client_token=str(uuid.uuid4())))
    assert TreatmentPlan.objects.count() == 2


def test_procedure_create_submitted_twice_creates_one_procedure(doctor, doctor_client):
    plan = TreatmentPlanFactory(doctor=doctor)
    url = reverse("clinical:procedure_create", args=[plan.patient.pk])
    page = doctor_client.get(url, {"plan": plan.pk})
    assert page.context["form"].initial["plan"] == plan.pk
    assert page.context["form"].initial["performed_by"] == doctor_client.user
    data = procedure_form(plan=plan.pk, client_token=token_on(page))

    first, second = doctor_client.post(url, data), doctor_client.post(url, data)

    procedure = Procedure.objects.get()
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == plan.get_absolute_url()
    assert (procedure.patient, procedure.plan, procedure.created_by) == (plan.patient, plan, doctor_client.user)
    assert "0 of 1 done" in text(doctor_client.get(plan.get_absolute_url()))


def test_new_record_posted_twice_creates_one_record(doctor_client):
    patient = PatientFactory()
    chart = doctor_client.get(reverse("clinical:chart", args=[patient.pk]))
    token = token_on(chart)
    url = reverse("clinical:record_create", args=[patient.pk])

    first = doctor_client.post(url, {"client_token": token})
    second = doctor_client.post(url, {"client_token": token})

    record = MedicalRecord.objects.get()
    assert first["Location"] == second["Location"] == reverse("clinical:record_edit", args=[record.pk])
    assert (record.patient, record.author, record.appointment, record.status) == (
        patient,
        doctor_client.user,
        None,
        "draft",
    )
    doctor_client.post(url, {"client_token": str(uuid.uuid4())})
    assert MedicalRecord.objects.count() == 2


def test_starting_a_visit_twice_opens_one_record(doctor, doctor_client):
    appointment = visit(doctor, status=Status.CHECKED_IN)
    url = reverse("clinical:visit_start", args=[appointment.pk])

    first = doctor_client.post(url)
    second = doctor_client.post(url, follow=True)

    record = MedicalRecord.objects.get()
    assert first["Location"] == reverse("clinical:record_edit", args=[record.pk])
    assert (record.appointment, record.author, record.patient) == (appointment, doctor_client.user, appointment.patient)
    appointment.refresh_from_db()
    assert appointment.status == Status.IN_PROGRESS
    # The second click opens the same record: no second record, no error.
    assert second.redirect_chain[-1][0] == reverse("clinical:record_edit", args=[record.pk])
    # Charting the visit (twice) opens the same record.
    for _ in range(2):
        response = doctor_client.post(reverse("clinical:visit_record", args=[appointment.pk]))
        assert response["Location"] == reverse("clinical:record_edit", args=[record.pk])
    assert MedicalRecord.objects.count() == 1


def test_a_visit_not_checked_in_cannot_be_started(doctor, doctor_client):
    appointment = visit(doctor, status=Status.SCHEDULED)
    response = doctor_client.post(reverse("clinical:visit_start", args=[appointment.pk]))
    assert response["Location"] == appointment.get_absolute_url()
    assert not MedicalRecord.objects.exists()
    appointment.refresh_from_db()
    assert appointment.status == Status.SCHEDULED


def test_charting_a_signed_visit_opens_the_record_not_a_new_one(doctor, doctor_client):
    appointment = visit(doctor, status=Status.COMPLETED)
    record = signed_record(doctor.user, appointment.patient, appointment=appointment)
    response = doctor_client.post(reverse("clinical:visit_record", args=[appointment.pk]))
    assert response["Location"] == record.get_absolute_url()
    assert MedicalRecord.objects.count() == 1
