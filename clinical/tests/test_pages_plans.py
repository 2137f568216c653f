"""Procedures and plans through the pages: status changes, editing, linking."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from clinical.models import Procedure, TreatmentPlan
from clinical.tests.factories import (
    ProcedureFactory,
    TreatmentPlanFactory,
)
from clinical.tests.pages import (
    Status,
    field_errors,
    plan_form,
    procedure_form,
    text,
    visit,
)
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_procedure_done_in_the_future_is_refused(doctor, doctor_client):
    plan = TreatmentPlanFactory(doctor=doctor)
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    url = reverse("clinical:procedure_create", args=[plan.patient.pk])
    response = doctor_client.post(
        url, procedure_form(plan=plan.pk, status=Procedure.Status.DONE, performed_date=tomorrow)
    )
    assert response.status_code == 200
    assert "A procedure cannot be marked done in the future." in field_errors(response, "performed_date")
    assert not Procedure.objects.exists()

    # Nor by editing a planned one.
    procedure = ProcedureFactory(plan=plan)
    edit = reverse("clinical:procedure_edit", args=[procedure.pk])
    response = doctor_client.post(
        edit, procedure_form(plan=plan.pk, status=Procedure.Status.DONE, performed_date=tomorrow)
    )
    assert "A procedure cannot be marked done in the future." in field_errors(response, "performed_date")
    procedure.refresh_from_db()
    assert procedure.status == Procedure.Status.PLANNED

    # Done today is fine; done without a date is not.
    response = doctor_client.post(edit, procedure_form(plan=plan.pk, status=Procedure.Status.DONE))
    assert "Enter the date the procedure was performed." in field_errors(response, "performed_date")
    today = timezone.localdate().isoformat()
    response = doctor_client.post(
        edit, procedure_form(plan=plan.pk, status=Procedure.Status.DONE, performed_date=today)
    )
    assert response.status_code == 302
    procedure.refresh_from_db()
    assert procedure.status == Procedure.Status.DONE


def test_procedure_needs_a_plan_or_a_visit_of_the_same_patient(doctor, doctor_client):
    patient = PatientFactory()
    others_plan = TreatmentPlanFactory(doctor=doctor)
    url = reverse("clinical:procedure_create", args=[patient.pk])
    response = doctor_client.post(url, procedure_form())
    assert response.status_code == 200
    assert "Link the procedure to a treatment plan or an appointment." in text(response)
    response = doctor_client.post(url, procedure_form(plan=others_plan.pk))
    assert field_errors(response, "plan")
    # A visit of this patient is enough; the procedure then sits on the chart.
    appointment = visit(doctor, patient, status=Status.IN_PROGRESS)
    response = doctor_client.post(url, procedure_form(appointment=appointment.pk))
    assert response["Location"] == reverse("clinical:chart", args=[patient.pk])
    assert Procedure.objects.get().appointment == appointment


def test_plan_edit(doctor, doctor_client):
    plan = TreatmentPlanFactory(doctor=doctor, diagnosis_summary="Before")
    url = reverse("clinical:plan_edit", args=[plan.pk])
    assert doctor_client.get(url).status_code == 200
    response = doctor_client.post(url, plan_form(doctor, diagnosis_summary="After"))
    assert response["Location"] == plan.get_absolute_url()
    plan.refresh_from_db()
    assert plan.diagnosis_summary == "After"
    # An end before the start is a field error.
    response = doctor_client.post(url, plan_form(doctor, start_date="2025-03-10", expected_end_date="2025-03-01"))
    assert "The expected end cannot be before the start." in field_errors(response, "expected_end_date")


@pytest.mark.parametrize("finished", ["completed", "cancelled"])
def test_a_finished_plan_is_not_edited(finished, doctor, doctor_client):
    plan = TreatmentPlanFactory(doctor=doctor, status=finished)
    assert doctor_client.get(reverse("clinical:plan_edit", args=[plan.pk])).status_code == 404
    body = text(doctor_client.get(plan.get_absolute_url()))
    assert reverse("clinical:plan_edit", args=[plan.pk]) not in body
    assert "Add procedure" not in body


def test_plan_status_moves_along_the_allowed_transitions(doctor, doctor_client):
    plan = TreatmentPlanFactory(doctor=doctor)
    url = reverse("clinical:plan_status", args=[plan.pk])
    page = text(doctor_client.get(plan.get_absolute_url()))
    assert "Mark active" in page and "Mark cancelled" in page and "Mark completed" not in page

    response = doctor_client.post(url, {"status": TreatmentPlan.Status.ACTIVE}, follow=True)
    assert response.redirect_chain == [(plan.get_absolute_url(), 302)]
    assert "Plan is now active." in text(response)
    plan.refresh_from_db()
    assert plan.status == TreatmentPlan.Status.ACTIVE and plan.start_date == timezone.localdate()

    for status in ("on_hold", "active", "completed"):
        doctor_client.post(url, {"status": status})
        plan.refresh_from_db()
        assert plan.status == status


@pytest.mark.parametrize(
    "current, wanted, message",
    [
        ("draft", "completed", "is draft; it cannot become completed."),
        ("draft", "on_hold", "is draft; it cannot become on hold."),
        ("active", "draft", "is active; it cannot become draft."),
        ("on_hold", "completed", "is on hold; it cannot become completed."),
        ("completed", "active", "is completed; it cannot become active."),
        ("cancelled", "active", "is cancelled; it cannot become active."),
        ("active", "bogus", "Unknown status."),
        ("active", "", "Unknown status."),
    ],
)
def test_plan_status_refused_with_a_message(current, wanted, message, doctor, doctor_client):
    plan = TreatmentPlanFactory(doctor=doctor, status=current)
    response = doctor_client.post(reverse("clinical:plan_status", args=[plan.pk]), {"status": wanted}, follow=True)
    assert response.redirect_chain == [(plan.get_absolute_url(), 302)]
    assert message in text(response)
    plan.refresh_from_db()
    assert plan.status == current


def test_plan_page_shows_progress_without_cancelled_procedures(doctor, doctor_client):
    plan = TreatmentPlanFactory(doctor=doctor)
    today = timezone.localdate()
    ProcedureFactory(plan=plan, status=Procedure.Status.DONE, performed_date=today)
    ProcedureFactory(plan=plan, status=Procedure.Status.PLANNED)
    ProcedureFactory(plan=plan, status=Procedure.Status.CANCELLED, name="Dropped test")
    response = doctor_client.get(plan.get_absolute_url())
    assert (response.context["done"], response.context["planned"]) == (1, 2)
    assert '<progress max="2" value="1"' in response.content.decode()
    assert "Dropped test" in text(response)
