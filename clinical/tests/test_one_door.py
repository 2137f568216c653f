"""Services are the only door: the views, admin and forms of scheduling and clinical never write
to the database themselves; they call scheduling/services.py and clinical/services.py."""

import ast
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError

from clinic.lifecycle import InvalidTransition
from clinical import services
from clinical.models import TreatmentPlan
from clinical.tests.factories import TreatmentPlanFactory
from staff.tests.factories import UserFactory

WRITES = {"save", "delete", "create", "get_or_create", "update_or_create", "bulk_create", "update", "bulk_update"}
BASE = Path(settings.BASE_DIR)
# Each app's views, admin and forms: a module, or a package split by concern.
DOORS = sorted(
    str(path.relative_to(BASE))
    for app in ("scheduling", "clinical")
    for name in ("views", "admin", "forms")
    for path in [BASE / app / f"{name}.py", *(BASE / app / name).glob("*.py")]
    if path.exists()
)


def writes_in(path):
    tree = ast.parse((BASE / path).read_text())
    return [
        f"{path}:{node.lineno} .{node.func.attr}()"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in WRITES
    ]


def test_every_door_is_checked():
    assert {"clinical/views/charting.py", "clinical/views/plans.py", "scheduling/views.py"} <= set(DOORS)
    assert len(DOORS) == 8  # __init__.py of the views package included


@pytest.mark.parametrize("path", DOORS)
def test_views_admin_and_forms_write_only_through_services(path):
    assert writes_in(path) == []


def test_the_check_sees_a_write():
    """The control: the check finds the write a view used to make itself."""
    source = "def post(self, request):\n    MedicalRecord.objects.create(patient=p, author=request.user)\n"
    tree = ast.parse(source)
    calls = [n.func.attr for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)]
    assert "create" in calls


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
