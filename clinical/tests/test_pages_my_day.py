"""The doctor's day and the chart."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from clinical.models import Procedure
from clinical.tests.factories import (
    MedicalRecordFactory,
    ProcedureFactory,
    TreatmentPlanFactory,
)
from clinical.tests.pages import (
    PlanStatus,
    Status,
    signed_record,
    text,
    visit,
)
from patients.tests.factories import AllergyFactory, ConditionFactory, PatientFactory
from staff.tests.factories import DoctorFactory

pytestmark = pytest.mark.django_db


def test_my_day_lists_todays_appointments_in_order_with_the_next_step(doctor, doctor_client):
    allergic = PatientFactory(first_name="Ada", last_name="Penn")
    AllergyFactory(patient=allergic, substance="Penicillin", severity="severe")
    later = visit(doctor, allergic, hour=14, status=Status.SCHEDULED, reason="Rash")
    arrived = visit(doctor, hour=9, status=Status.CHECKED_IN, reason="Cough")
    consulting = visit(doctor, hour=11, status=Status.IN_PROGRESS)
    done = visit(doctor, hour=8, status=Status.COMPLETED)
    record = MedicalRecordFactory(author=doctor.user, patient=done.patient, appointment=done)
    visit(DoctorFactory(), hour=10)  # a colleague's
    visit(doctor, hour=10, day=timezone.localdate() + timedelta(days=1))  # tomorrow

    response = doctor_client.get(reverse("clinical:my_day"))

    assert response.status_code == 200
    assert [a.pk for a in response.context["appointments"]] == [done.pk, arrived.pk, consulting.pk, later.pk]
    body = text(response)
    assert "Penicillin" in body and "(severe)" in body and "Rash" in body
    assert f"{allergic.age}</td>" in body
    assert reverse("clinical:visit_start", args=[arrived.pk]) in body
    assert reverse("clinical:visit_record", args=[consulting.pk]) in body
    assert reverse("scheduling:complete", args=[consulting.pk]) in body
    assert record.get_absolute_url() in body
    assert reverse("clinical:visit_start", args=[later.pk]) not in body  # not arrived yet


def test_my_day_for_a_doctor_without_a_profile_says_so(doctor_client):
    response = doctor_client.get(reverse("clinical:my_day"))
    assert response.status_code == 200
    assert "no doctor profile" in text(response)


def test_chart_shows_header_and_timeline_newest_first(doctor, doctor_client):
    patient = PatientFactory()
    AllergyFactory(patient=patient, substance="Penicillin")
    AllergyFactory(patient=patient, substance="Latex", is_active=False)
    ConditionFactory(patient=patient, name="Asthma", icd10_code="J45")
    old = visit(doctor, patient, hour=9, status=Status.COMPLETED, day=timezone.localdate() - timedelta(days=30))
    signed_record(doctor.user, patient, appointment=old, diagnosis="Old bronchitis")
    plan = TreatmentPlanFactory(patient=patient, doctor=doctor, diagnosis_summary="Asthma control")
    ProcedureFactory(plan=plan, name="Spirometry", status=Procedure.Status.DONE, performed_date=timezone.localdate())
    ProcedureFactory(plan=plan, name="Peak flow diary", status=Procedure.Status.PLANNED)

    response = doctor_client.get(reverse("clinical:chart", args=[patient.pk]))

    body = text(response)
    assert "Penicillin" in body and "Latex" not in body and "Asthma" in body
    assert "1 of 2 procedures done" in body
    timeline = response.context["timeline"]
    assert {e.kind for e in timeline} == {"visit", "record", "plan", "procedure"}
    assert [e.when for e in timeline] == sorted((e.when for e in timeline), reverse=True)
    assert timeline[-1].kind in ("visit", "record")  # the visit a month ago, with its record beside it


@pytest.mark.parametrize("status", PlanStatus.values)
def test_chart_filters_plans_by_status(status, doctor, doctor_client):
    patient = PatientFactory()
    for each in PlanStatus.values:
        TreatmentPlanFactory(patient=patient, doctor=doctor, diagnosis_summary=f"Plan {each}", status=each)

    response = doctor_client.get(reverse("clinical:chart", args=[patient.pk]), {"plan_status": status})

    plans = [e.obj.diagnosis_summary for e in response.context["timeline"] if e.kind == "plan"]
    assert plans == [f"Plan {status}"]
    assert f'<option value="{status}" selected>' in response.content.decode()


@pytest.mark.parametrize("junk", ["", "bogus", "ACTIVE", "active'--", "x" * 500])
def test_chart_ignores_an_unknown_plan_status(junk, doctor, doctor_client):
    patient = PatientFactory()
    for each in PlanStatus.values:
        TreatmentPlanFactory(patient=patient, doctor=doctor, status=each)
    response = doctor_client.get(reverse("clinical:chart", args=[patient.pk]), {"plan_status": junk})
    assert response.status_code == 200
    assert len([e for e in response.context["timeline"] if e.kind == "plan"]) == len(PlanStatus.values)
