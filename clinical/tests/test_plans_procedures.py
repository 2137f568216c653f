"""Treatment plans move only along sensible transitions; procedures are linked to a plan or a visit
of the same patient, are done only on a real date not in the future, and never cost less than nothing."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from clinic.lifecycle import InvalidTransition, allowed_next
from clinical import services
from clinical.models import Procedure, TreatmentPlan
from clinical.tests.factories import ProcedureFactory, TreatmentPlanFactory
from scheduling.tests.factories import AppointmentFactory
from staff.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

S = TreatmentPlan.Status

ALLOWED = [
    (S.DRAFT, S.ACTIVE),
    (S.DRAFT, S.CANCELLED),
    (S.ACTIVE, S.ON_HOLD),
    (S.ACTIVE, S.COMPLETED),
    (S.ACTIVE, S.CANCELLED),
    (S.ON_HOLD, S.ACTIVE),
    (S.ON_HOLD, S.CANCELLED),
]
REFUSED = [(source, target) for source in S for target in S if (source, target) not in ALLOWED]


def ids(pairs):
    return [f"{source.value}->{target.value}" for source, target in pairs]


def stored(obj):
    return type(obj).objects.get(pk=obj.pk)


def move(plan, status):
    return services.change_plan_status(plan=plan, status=status, by=UserFactory())


# --- treatment plan transitions -----------------------------------------------------------------


def test_the_transition_table_is_the_one_written_down():
    """The table the tests below walk is the model's own, so neither can drift from the other."""
    assert sorted(ALLOWED) == sorted((s, t) for s, targets in TreatmentPlan.TRANSITIONS.items() for t in targets)
    assert len(REFUSED) == len(S) * len(S) - len(ALLOWED)


@pytest.mark.parametrize(("source", "target"), ALLOWED, ids=ids(ALLOWED))
def test_an_allowed_transition_changes_the_status(source, target):
    plan = TreatmentPlanFactory(status=source, start_date=date(2024, 1, 15))

    move(plan, target)

    assert plan.status == target
    assert stored(plan).status == target


@pytest.mark.parametrize(("source", "target"), REFUSED, ids=ids(REFUSED))
def test_a_disallowed_transition_is_refused(source, target):
    plan = TreatmentPlanFactory(status=source)

    with pytest.raises(InvalidTransition) as excinfo:
        move(plan, target)

    assert excinfo.value.messages == [f"This plan is {source.label.lower()}; it cannot become {target.label.lower()}."]
    assert stored(plan).status == source


def test_activating_a_plan_without_a_start_date_starts_it_today():
    plan = TreatmentPlanFactory(start_date=None)

    move(plan, S.ACTIVE)

    assert stored(plan).start_date == timezone.localdate()


def test_activating_a_plan_keeps_its_start_date():
    plan = TreatmentPlanFactory(start_date=date(2024, 3, 1))

    move(plan, S.ACTIVE)

    assert stored(plan).start_date == date(2024, 3, 1)


def test_the_transition_is_checked_against_the_stored_status():
    """A page opened before someone else cancelled the plan cannot bring it back to life."""
    plan = TreatmentPlanFactory(status=S.DRAFT)
    move(TreatmentPlan.objects.get(pk=plan.pk), S.CANCELLED)

    with pytest.raises(ValidationError, match="This plan is cancelled; it cannot become active."):
        move(plan, S.ACTIVE)

    assert stored(plan).status == S.CANCELLED


def test_a_plan_walks_its_whole_life():
    plan = TreatmentPlanFactory()

    for status in (S.ACTIVE, S.ON_HOLD, S.ACTIVE, S.COMPLETED):
        move(plan, status)

    assert stored(plan).status == S.COMPLETED
    assert allowed_next(plan) == set()


@pytest.mark.parametrize("status", list(S), ids=[s.value for s in S])
def test_allowed_next_lists_the_allowed_transitions(status):
    assert allowed_next(TreatmentPlanFactory(status=status)) == {t for s, t in ALLOWED if s == status}


def test_the_expected_end_cannot_be_before_the_start():
    plan = TreatmentPlanFactory(start_date=date(2024, 3, 1), expected_end_date=date(2024, 2, 29))

    with pytest.raises(ValidationError) as excinfo:
        plan.full_clean()

    assert excinfo.value.message_dict == {"expected_end_date": ["The expected end cannot be before the start."]}


@pytest.mark.parametrize(
    ("start", "end"),
    [(date(2024, 3, 1), date(2024, 3, 1)), (date(2024, 3, 1), date(2024, 6, 1)), (None, date(2024, 6, 1))],
    ids=["same-day", "later", "no-start"],
)
def test_an_expected_end_on_or_after_the_start_is_accepted(start, end):
    TreatmentPlanFactory(start_date=start, expected_end_date=end).full_clean()


# --- procedures: linked to a plan or a visit of the same patient --------------------------------


def test_a_procedure_on_a_plan_is_valid():
    ProcedureFactory().full_clean()


def test_a_procedure_on_a_visit_is_valid():
    appointment = AppointmentFactory()
    ProcedureFactory(plan=None, appointment=appointment, patient=appointment.patient).full_clean()


def test_a_procedure_needs_a_plan_or_a_visit():
    procedure = ProcedureFactory.build(plan=None, appointment=None, patient=TreatmentPlanFactory().patient)

    with pytest.raises(ValidationError) as excinfo:
        procedure.full_clean()

    assert "Link the procedure to a treatment plan or an appointment." in excinfo.value.messages


def test_the_database_refuses_a_procedure_without_a_plan_or_a_visit():
    procedure = ProcedureFactory.build(plan=None, appointment=None, patient=TreatmentPlanFactory().patient)
    procedure.created_by.save()

    with pytest.raises(IntegrityError), transaction.atomic():
        procedure.save()

    assert not Procedure.objects.exists()


def test_the_database_refuses_unlinking_a_procedure():
    procedure = ProcedureFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        Procedure.objects.filter(pk=procedure.pk).update(plan=None)

    assert stored(procedure).plan_id == procedure.plan_id


def test_a_plan_of_another_patient_is_refused():
    procedure = ProcedureFactory()
    procedure.plan = TreatmentPlanFactory()

    with pytest.raises(ValidationError) as excinfo:
        procedure.full_clean()

    assert excinfo.value.messages == ["The plan or appointment belongs to another patient."]


def test_an_appointment_of_another_patient_is_refused():
    procedure = ProcedureFactory()
    procedure.appointment = AppointmentFactory()

    with pytest.raises(ValidationError) as excinfo:
        procedure.full_clean()

    assert excinfo.value.messages == ["The plan or appointment belongs to another patient."]


def test_a_plan_and_a_visit_of_the_same_patient_are_accepted_together():
    procedure = ProcedureFactory()
    procedure.appointment = AppointmentFactory(patient=procedure.patient)

    procedure.full_clean()


# --- procedures: done, dates and fee ------------------------------------------------------------


def test_a_procedure_done_needs_the_date_it_was_performed():
    procedure = ProcedureFactory()
    procedure.status = Procedure.Status.DONE

    with pytest.raises(ValidationError) as excinfo:
        procedure.full_clean()

    assert "Enter the date the procedure was performed." in excinfo.value.message_dict["performed_date"]


def test_the_database_refuses_a_procedure_done_without_a_date():
    procedure = ProcedureFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        Procedure.objects.filter(pk=procedure.pk).update(status=Procedure.Status.DONE)

    assert stored(procedure).status == Procedure.Status.PLANNED


def test_a_procedure_cannot_be_marked_done_in_the_future():
    tomorrow = timezone.localdate() + timedelta(days=1)
    procedure = ProcedureFactory()
    procedure.status, procedure.performed_date = Procedure.Status.DONE, tomorrow

    with pytest.raises(ValidationError) as excinfo:
        procedure.full_clean()

    assert excinfo.value.message_dict == {"performed_date": ["A procedure cannot be marked done in the future."]}


@pytest.mark.parametrize("days_ago", [0, 1, 400])
def test_a_procedure_done_today_or_earlier_is_accepted(days_ago):
    performed = timezone.localdate() - timedelta(days=days_ago)
    ProcedureFactory(status=Procedure.Status.DONE, performed_date=performed).full_clean()


def test_a_planned_procedure_may_be_scheduled_in_the_future():
    ProcedureFactory(scheduled_date=timezone.localdate() + timedelta(days=30)).full_clean()


def test_a_negative_fee_is_refused():
    procedure = ProcedureFactory()
    procedure.fee = Decimal("-0.01")

    with pytest.raises(ValidationError) as excinfo:
        procedure.full_clean()

    assert excinfo.value.message_dict == {"fee": ["Ensure this value is greater than or equal to 0."]}


def test_the_database_refuses_a_negative_fee():
    procedure = ProcedureFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        Procedure.objects.filter(pk=procedure.pk).update(fee=Decimal("-5.00"))

    assert stored(procedure).fee == Decimal("25.00")


def test_a_free_procedure_is_accepted():
    ProcedureFactory(fee=Decimal("0.00")).full_clean()


# --- procedures: their lifecycle ------------------------------------------------------------------

PROCEDURE_ALLOWED = [
    (Procedure.Status.PLANNED, Procedure.Status.DONE),
    (Procedure.Status.PLANNED, Procedure.Status.CANCELLED),
]
PROCEDURE_REFUSED = [
    (source, target)
    for source in Procedure.Status
    for target in Procedure.Status
    if source != target and (source, target) not in PROCEDURE_ALLOWED
]


def test_the_procedure_table_is_the_one_written_down():
    table = Procedure.lifecycle.table
    assert sorted(PROCEDURE_ALLOWED) == sorted((s, t) for s, targets in table.items() for t in targets)


@pytest.mark.parametrize(("source", "target"), PROCEDURE_REFUSED, ids=ids(PROCEDURE_REFUSED))
def test_a_procedure_cannot_go_back_or_leave_done_or_cancelled(source, target):
    """Done is what finance charges for, cancelled is history: neither moves again, whoever saves."""
    procedure = ProcedureFactory(status=source, performed_date=timezone.localdate())
    procedure = stored(procedure)
    procedure.status = target

    with pytest.raises(InvalidTransition, match=f"This procedure is {source.label.lower()}; it cannot be marked"):
        procedure.save()

    assert stored(procedure).status == source


def test_the_procedure_service_checks_the_stored_status():
    """A form opened while the procedure was planned cannot undo its being done meanwhile."""
    procedure = ProcedureFactory()
    stale = stored(procedure)
    done = stored(procedure)
    done.status, done.performed_date = Procedure.Status.DONE, timezone.localdate()
    services.save_procedure(procedure=done, by=UserFactory())

    stale.status = Procedure.Status.CANCELLED
    with pytest.raises(InvalidTransition, match="This procedure is done; it cannot be marked cancelled."):
        services.save_procedure(procedure=stale, by=UserFactory())

    assert stored(procedure).status == Procedure.Status.DONE


def test_a_planned_procedure_is_done_through_the_service():
    procedure = stored(ProcedureFactory())
    procedure.status, procedure.performed_date = Procedure.Status.DONE, timezone.localdate()

    services.save_procedure(procedure=procedure, by=UserFactory())

    assert stored(procedure).status == Procedure.Status.DONE
