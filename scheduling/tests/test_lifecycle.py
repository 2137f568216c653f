"""The appointment's status machine: what may follow what, who did it and when."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from scheduling import services
from scheduling.models import Appointment, InvalidTransition
from scheduling.tests.factories import AppointmentFactory, local, tomorrow_at
from staff.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

S = Appointment.Status

# service -> (status it leads to, field stamped with the time, field holding the actor or None)
METHODS = {
    "confirm_appointment": (S.CONFIRMED, "confirmed_at", None),
    "check_in": (S.CHECKED_IN, "checked_in_at", "checked_in_by"),
    "start_visit": (S.IN_PROGRESS, "started_at", None),
    "complete_visit": (S.COMPLETED, "completed_at", None),
    "cancel_appointment": (S.CANCELLED, "cancelled_at", "cancelled_by"),
    "mark_no_show": (S.NO_SHOW, "no_show_at", None),
}

# The table's ways back (checked in -> scheduled/confirmed) are taken only by undo_check_in
# (test_undo_check_in.py): as a step of their own, confirm_appointment refuses them.
ALLOWED = [
    (source, method)
    for source in S
    for method, (target, _, _) in METHODS.items()
    if target in Appointment.TRANSITIONS[source] and (source, target) not in Appointment.WAYS_BACK
]
REFUSED = [
    (source, method)
    for source in S
    for method, (target, _, _) in METHODS.items()
    if target not in Appointment.TRANSITIONS[source] or (source, target) in Appointment.WAYS_BACK
]
REFUSED_PAIRS = [
    (source, target)
    for source in S
    for target in S
    if target != source and target not in Appointment.TRANSITIONS[source]
]
ALLOWED_PAIRS = [(source, target) for source in S for target in Appointment.TRANSITIONS[source]]


def started_a_little_earlier_today():
    """A start already past and still today, so check-in (same day) and no-show (after start) both apply."""
    now = timezone.now()
    return max(now - timedelta(minutes=10), local(timezone.localdate(), 0))


def call(appointment, method, user):
    kwargs = {"appointment": appointment, "by": user}
    if method == "cancel_appointment":
        kwargs["reason"] = "Patient phoned"
    getattr(services, method)(**kwargs)


def test_every_status_has_a_transition_entry():
    assert set(Appointment.TRANSITIONS) == set(S)
    assert len(ALLOWED) == 10
    assert len(ALLOWED_PAIRS) == 12  # the 10 steps forward and undo_check_in's 2 ways back


@pytest.mark.parametrize(("source", "method"), ALLOWED, ids=[f"{s}-{m}" for s, m in ALLOWED])
def test_allowed_transition_changes_status_and_stamps_time_and_actor(source, method):
    appointment = AppointmentFactory(start=started_a_little_earlier_today(), status=source)
    user = UserFactory()
    before = timezone.now()

    call(appointment, method, user)

    target, stamp, actor = METHODS[method]
    appointment.refresh_from_db()
    assert appointment.status == target
    assert before <= getattr(appointment, stamp) <= timezone.now()
    if actor:
        assert getattr(appointment, actor) == user


@pytest.mark.parametrize(("source", "method"), REFUSED, ids=[f"{s}-{m}" for s, m in REFUSED])
def test_refused_transition_raises_and_leaves_the_row_alone(source, method):
    appointment = AppointmentFactory(start=started_a_little_earlier_today(), status=source)

    with pytest.raises(InvalidTransition):
        call(appointment, method, UserFactory())

    appointment.refresh_from_db()
    assert appointment.status == source
    assert getattr(appointment, METHODS[method][1]) is None


@pytest.mark.parametrize(("source", "target"), REFUSED_PAIRS, ids=[f"{s}-{t}" for s, t in REFUSED_PAIRS])
def test_plain_save_of_a_refused_status_raises(source, target):
    AppointmentFactory(status=source)
    appointment = Appointment.objects.get()

    appointment.status = target
    with pytest.raises(InvalidTransition):
        appointment.save()

    assert Appointment.objects.get().status == source


@pytest.mark.parametrize(("source", "target"), ALLOWED_PAIRS, ids=[f"{s}-{t}" for s, t in ALLOWED_PAIRS])
def test_plain_save_of_an_allowed_status_goes_through(source, target):
    AppointmentFactory(status=source)
    appointment = Appointment.objects.get()

    appointment.status = target
    appointment.save()

    assert Appointment.objects.get().status == target


def test_saving_a_loaded_row_without_changing_status_is_fine():
    AppointmentFactory(status=S.COMPLETED)
    appointment = Appointment.objects.get()
    appointment.reason = "Corrected reason"
    appointment.save()
    assert Appointment.objects.get().reason == "Corrected reason"


def test_full_visit_runs_from_booking_to_completion():
    appointment = AppointmentFactory(start=started_a_little_earlier_today())
    user = UserFactory()

    for step in (services.confirm_appointment, services.check_in, services.start_visit, services.complete_visit):
        step(appointment=appointment, by=user)

    appointment.refresh_from_db()
    assert appointment.status == S.COMPLETED
    assert appointment.confirmed_at <= appointment.checked_in_at <= appointment.started_at <= appointment.completed_at


def test_a_stale_copy_cannot_undo_a_cancellation():
    appointment = AppointmentFactory()
    stale = Appointment.objects.get(pk=appointment.pk)
    services.cancel_appointment(appointment=appointment, by=UserFactory(), reason="Patient phoned")

    with pytest.raises(InvalidTransition, match="This appointment is cancelled; it cannot be marked confirmed."):
        services.confirm_appointment(appointment=stale, by=UserFactory())

    assert Appointment.objects.get().status == S.CANCELLED


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_cancel_needs_a_reason(reason):
    appointment = AppointmentFactory()

    with pytest.raises(ValidationError) as excinfo:
        services.cancel_appointment(appointment=appointment, by=UserFactory(), reason=reason)

    assert "reason" in excinfo.value.message_dict
    assert Appointment.objects.get().status == S.SCHEDULED


def test_cancel_keeps_the_reason_trimmed_and_the_actor():
    user = UserFactory()
    appointment = services.cancel_appointment(appointment=AppointmentFactory(), reason="  Feeling better ", by=user)

    appointment.refresh_from_db()
    assert appointment.status == S.CANCELLED
    assert appointment.cancellation_reason == "Feeling better"
    assert appointment.cancelled_by == user


def test_check_in_is_refused_before_the_appointment_day():
    appointment = AppointmentFactory(start=tomorrow_at(10))

    with pytest.raises(InvalidTransition, match="only on the day"):
        services.check_in(appointment=appointment, by=UserFactory())

    assert Appointment.objects.get().status == S.SCHEDULED


def test_check_in_is_refused_after_the_appointment_day():
    appointment = AppointmentFactory(start=local(timezone.localdate() - timedelta(days=1), 10))

    with pytest.raises(InvalidTransition, match="only on the day"):
        services.check_in(appointment=appointment, by=UserFactory())


def test_check_in_through_the_service_records_who_and_when():
    user = UserFactory()
    appointment = services.check_in(appointment=AppointmentFactory(start=started_a_little_earlier_today()), by=user)

    appointment.refresh_from_db()
    assert appointment.status == S.CHECKED_IN
    assert appointment.checked_in_by == user
    assert appointment.checked_in_at is not None


def test_no_show_is_refused_before_the_start():
    appointment = AppointmentFactory(start=timezone.now() + timedelta(minutes=5))

    with pytest.raises(InvalidTransition, match="after the appointment's start"):
        services.mark_no_show(appointment=appointment, by=UserFactory())

    assert Appointment.objects.get().status == S.SCHEDULED


def test_no_show_is_allowed_once_the_start_has_passed():
    appointment = AppointmentFactory(start=timezone.now() - timedelta(minutes=1))

    services.mark_no_show(appointment=appointment, by=UserFactory())

    appointment.refresh_from_db()
    assert appointment.status == S.NO_SHOW
    assert appointment.no_show_at is not None
