"""A treatment plan changes only through clinical.services and its lifecycle, in the app and the
admin alike (tests/test_one_door.py checks every app's views, admin and forms for writes)."""

import pytest
from django.core.exceptions import ValidationError

from clinic.lifecycle import InvalidTransition
from clinical import services
from clinical.models import TreatmentPlan
from clinical.tests.factories import TreatmentPlanFactory
from staff.tests.factories import UserFactory


@pytest.mark.django_db
@pytest.mark.parametrize("status", sorted(TreatmentPlan.CLOSED))
def test_a_closed_plan_is_not_edited_through_the_service(status):
    plan = TreatmentPlanFactory(status=status, goals="As it was")
    plan.goals = "Changed later"

    with pytest.raises(ValidationError, match="plan cannot be changed"):
        services.update_plan(plan=plan, by=UserFactory())

    assert TreatmentPlan.objects.get(pk=plan.pk).goals == "As it was"


@pytest.mark.django_db
def test_a_plan_status_goes_through_the_lifecycle_not_the_edit():
    plan = TreatmentPlanFactory(status=TreatmentPlan.Status.ACTIVE)
    plan.status = TreatmentPlan.Status.DRAFT

    with pytest.raises(InvalidTransition, match="This plan is active; it cannot become draft."):
        plan.save()


@pytest.mark.django_db
def test_the_plan_admin_lists_its_procedures_read_only(rf):
    """Even a superuser cannot delete or change a plan's procedures through the plan's admin page."""
    from django.contrib import admin

    from clinical.admin import ProcedureInline

    request = rf.get("/")
    request.user = UserFactory(is_superuser=True, is_staff=True)
    inline = ProcedureInline(TreatmentPlan, admin.site)
    plan = TreatmentPlanFactory()
    assert [a for a in ("add", "change", "delete") if getattr(inline, f"has_{a}_permission")(request, plan)] == []
