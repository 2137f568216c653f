"""Series through the services: every occurrence checked by the single booking's rules, clashes named with
other times that day, skip or pick, all or nothing when a time is taken meanwhile, and changing this one,
this and following, or the whole series, each appointment audited."""

from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from clinic.models import AuditEntry
from patients.tests.factories import PatientFactory
from scheduling import services
from scheduling.models import Appointment, Series
from scheduling.series import (
    ALL,
    FOLLOWING,
    THIS,
    OccurrenceRefused,
    Rule,
    book_series,
    cancel_series,
    load_doctor,
    move_series,
    plan_move,
    plan_series,
)
from scheduling.tests.factories import AppointmentFactory, local
from staff.tests.factories import DoctorFactory, UserFactory

pytestmark = pytest.mark.django_db

WEEKLY = Series.Unit.WEEKS
LENGTH = timedelta(minutes=30)


def next_monday(weeks_ahead=1):
    today = timezone.localdate()
    return today + timedelta(days=7 * weeks_ahead - today.weekday())


@pytest.fixture
def people():
    clerk = UserFactory()
    physio = DoctorFactory(user__last_name="Osei")
    patient = PatientFactory(first_name="Zoë", last_name="Łukasiewicz")
    return clerk, load_doctor(physio.pk), patient


def plan(patient, doctor, first, count=6, weekdays=None):
    rule = Rule(WEEKLY, 1, weekdays or (first.weekday(),), count=count)
    return plan_series(patient=patient, doctor=doctor, first_start=local(first, 9), length=LENGTH, rule=rule)


def test_each_occurrence_is_checked_like_a_single_booking(people):
    clerk, doctor, patient = people
    first = next_monday()
    AppointmentFactory(doctor=doctor, start=local(first + timedelta(weeks=2), 9, 15))  # the doctor's
    other = DoctorFactory()
    AppointmentFactory(patient=patient, doctor=other, start=local(first + timedelta(weeks=4), 8, 50))  # the patient's

    occurrences = plan(patient, doctor, first)

    assert [o.local_start.time() for o in occurrences] == [time(9)] * 6
    problems = {o.number: o.problem for o in occurrences if o.problem}
    assert set(problems) == {3, 5}
    assert "Osei already has an appointment" in problems[3]
    assert "Zoë Łukasiewicz already has an appointment" in problems[5]
    # Other times that day, none of them over the clash, nearest first offered.
    free = occurrences[2].free
    assert free and all(
        not (s.start < local(first + timedelta(weeks=2), 9, 35) and local(first + timedelta(weeks=2), 9, 15) < s.end)
        for s in free
    )
    assert all(timezone.localdate(s.start) == first + timedelta(weeks=2) for s in free)
    assert not occurrences[0].free  # a free occurrence offers nothing else


def test_hours_days_that_passed_and_archived_patients_are_named(people):
    clerk, doctor, patient = people
    doctor.working_hours.filter(weekday=2).delete()  # no Wednesdays
    doctor = load_doctor(doctor.pk)
    first = next_monday()
    occurrences = plan(patient, doctor, first, count=4, weekdays=(0, 2))
    assert [bool(o.problem) for o in occurrences] == [False, True, False, True]
    assert "does not work on Wednesdays" in occurrences[1].problem

    past = plan(patient, doctor, timezone.localdate() - timedelta(days=7), count=3)
    assert "day that has passed" in past[0].problem and not past[2].problem

    patient.is_archived = True
    patient.save()
    assert all("archived" in o.problem for o in plan(patient, doctor, first, count=2))


def test_the_preview_takes_the_same_queries_for_a_few_or_many_occurrences(people, django_assert_num_queries):
    clerk, doctor, patient = people
    first = next_monday()
    for week in range(0, 40, 3):
        AppointmentFactory(doctor=doctor, start=local(first + timedelta(weeks=week), 9))
    with django_assert_num_queries(1):
        assert len(plan(patient, doctor, first, count=3)) == 3
    with django_assert_num_queries(1):
        assert sum(1 for o in plan(patient, doctor, first, count=40) if o.problem) == 14


def test_booking_skips_and_moves_clashes_and_audits_each(people):
    clerk, doctor, patient = people
    first = next_monday()
    AppointmentFactory(doctor=doctor, start=local(first + timedelta(weeks=2), 9))
    AppointmentFactory(doctor=doctor, start=local(first + timedelta(weeks=3), 9))
    occurrences = plan(patient, doctor, first)
    third, fourth = occurrences[2], occurrences[3]
    fourth.start = fourth.free[0].start  # another time that day
    fourth.end = fourth.start + LENGTH
    chosen = [o for o in occurrences if o is not third]
    entries = AuditEntry.objects.count()

    series, booked = book_series(
        patient=patient,
        doctor=doctor,
        first_start=occurrences[0].start,
        length=LENGTH,
        rule=Rule(WEEKLY, 1, (0,), count=6),
        reason="Physiotherapy",
        chosen=chosen,
        booked_by=clerk,
    )

    assert len(booked) == 5 and series.appointments.count() == 5
    assert booked[2].start == fourth.start != local(first + timedelta(weeks=3), 9)
    assert all(a.reason == "Physiotherapy" and a.booked_by == clerk for a in booked)
    created = AuditEntry.objects.filter(action="create", object_type__icontains="appointment")
    assert created.count() >= 5
    assert AuditEntry.objects.count() >= entries + 6  # the series and each appointment


def test_a_time_taken_between_the_list_and_the_save_books_nothing(people):
    clerk, doctor, patient = people
    first = next_monday()
    occurrences = plan(patient, doctor, first)
    assert not any(o.problem for o in occurrences)
    # A colleague books the 4th's time for someone else meanwhile, through the single booking.
    services.book_appointment(patient=PatientFactory(), doctor=doctor, start=occurrences[3].start, booked_by=clerk)
    before = Appointment.objects.count()

    with pytest.raises(OccurrenceRefused) as refused:
        book_series(
            patient=patient,
            doctor=doctor,
            first_start=occurrences[0].start,
            length=LENGTH,
            rule=Rule(WEEKLY, 1, (0,), count=6),
            reason="",
            chosen=occurrences,
            booked_by=clerk,
        )

    assert refused.value.occurrence.number == 4
    assert "Nothing was saved: number 4" in str(refused.value)
    assert Appointment.objects.count() == before and not Series.objects.exists()


def test_all_skipped_is_refused(people):
    clerk, doctor, patient = people
    with pytest.raises(ValidationError):
        book_series(
            patient=patient,
            doctor=doctor,
            first_start=local(next_monday(), 9),
            length=LENGTH,
            rule=Rule(WEEKLY, 1, (0,), count=2),
            reason="",
            chosen=[],
            booked_by=clerk,
        )


def _booked(people, count=6, first=None):
    clerk, doctor, patient = people
    first = first or next_monday()
    occurrences = plan(patient, doctor, first, count=count)
    _, booked = book_series(
        patient=patient,
        doctor=doctor,
        first_start=occurrences[0].start,
        length=LENGTH,
        rule=Rule(WEEKLY, 1, (first.weekday(),), count=count),
        reason="Dressing",
        chosen=occurrences,
        booked_by=clerk,
    )
    return booked


def test_moving_this_and_following_moves_each_by_the_same_local_change(people):
    clerk, doctor, patient = people
    booked = _booked(people)
    Appointment.objects.filter(pk=booked[4].pk).update(status=Appointment.Status.COMPLETED)  # history: left alone
    third = booked[2]
    new_start = third.start + timedelta(days=1, hours=1)  # Tuesday 10:00

    occurrences, left = plan_move(appointment=third, scope=FOLLOWING, new_start=new_start, doctor=doctor)
    assert [o.appointment.pk for o in occurrences] == [booked[2].pk, booked[3].pk, booked[5].pk]
    assert [item.pk for item, _ in left] == [booked[4].pk] and left[0][1] == "completed"
    assert not any(o.problem for o in occurrences)

    moved = move_series(doctor=doctor, chosen=occurrences, by=clerk)

    assert [timezone.localtime(a.start).strftime("%a %H:%M") for a in moved] == ["Tue 10:00"] * 3
    untouched = Appointment.objects.get(pk=booked[0].pk)
    assert timezone.localtime(untouched.start).strftime("%a %H:%M") == "Mon 09:00"
    assert AuditEntry.objects.filter(action="reschedule").count() == 3


def test_moving_a_whole_series_a_week_later_does_not_trip_over_itself(people):
    clerk, doctor, patient = people
    booked = _booked(people, count=4)
    occurrences, _ = plan_move(
        appointment=booked[0], scope=ALL, new_start=booked[0].start + timedelta(weeks=1), doctor=doctor
    )
    assert not any(o.problem for o in occurrences)
    moved = move_series(doctor=doctor, chosen=occurrences, by=clerk)
    assert [a.start for a in moved] == [a.start + timedelta(weeks=1) for a in booked]


def test_a_move_onto_a_taken_time_is_listed_and_refused_whole(people):
    clerk, doctor, patient = people
    booked = _booked(people, count=3)
    AppointmentFactory(doctor=doctor, start=booked[2].start + timedelta(hours=2))
    occurrences, _ = plan_move(
        appointment=booked[0], scope=ALL, new_start=booked[0].start + timedelta(hours=2), doctor=doctor
    )
    assert [bool(o.problem) for o in occurrences] == [False, False, True]
    with pytest.raises(OccurrenceRefused):
        move_series(doctor=doctor, chosen=occurrences, by=clerk)
    assert sorted(Appointment.objects.filter(series__isnull=False).values_list("start", flat=True)) == [
        a.start for a in booked
    ]


def test_moving_to_another_doctor_checks_that_doctors_diary(people):
    clerk, doctor, patient = people
    booked = _booked(people, count=3)
    other = load_doctor(DoctorFactory().pk)
    AppointmentFactory(doctor=other, start=booked[1].start)
    occurrences, _ = plan_move(appointment=booked[0], scope=ALL, new_start=booked[0].start, doctor=other)
    assert [bool(o.problem) for o in occurrences] == [False, True, False]
    move_series(doctor=other, chosen=[occurrences[0], occurrences[2]], by=clerk)
    assert list(
        Appointment.objects.filter(series__isnull=False).order_by("start").values_list("doctor_id", flat=True)
    ) == [other.pk, doctor.pk, other.pk]


@pytest.mark.parametrize(("scope", "expected"), [(THIS, [2]), (FOLLOWING, [2, 3, 5]), (ALL, [0, 1, 2, 3, 5])])
def test_cancelling_by_scope_leaves_history_alone(people, scope, expected):
    clerk, doctor, patient = people
    booked = _booked(people)
    Appointment.objects.filter(pk=booked[4].pk).update(status=Appointment.Status.COMPLETED)

    cancelled, left = cancel_series(appointment=booked[2], scope=scope, reason="Moved away", by=clerk)

    assert sorted(a.pk for a in cancelled) == [booked[i].pk for i in expected]
    statuses = dict(Appointment.objects.filter(series__isnull=False).values_list("pk", "status"))
    assert [statuses[booked[i].pk] == "cancelled" for i in range(6)] == [i in expected for i in range(6)]
    assert set(Appointment.objects.filter(status="cancelled").values_list("cancellation_reason", flat=True)) == {
        "Moved away"
    }
    assert AuditEntry.objects.filter(action="status", summary__icontains="cancel").count() >= len(expected)
    if scope != THIS:
        assert [item.pk for item, _ in left] == [booked[4].pk]


def test_cancelling_needs_a_reason(people):
    booked = _booked(people, count=2)
    with pytest.raises(ValidationError) as error:
        cancel_series(appointment=booked[0], scope=ALL, reason="  ", by=people[0])
    assert "reason" in error.value.message_dict


@time_machine.travel(datetime(2027, 3, 1, 8, 0, tzinfo=UTC), tick=False)
def test_a_series_across_the_spring_change_is_booked_at_the_same_local_time(people, settings):
    settings.TIME_ZONE = "Europe/London"
    booked = _booked(people, count=6, first=datetime(2027, 3, 15).date())
    assert [a.local_start.strftime("%H:%M") for a in booked] == ["09:00"] * 6
    assert [a.start.astimezone(UTC).hour for a in booked] == [9, 9, 8, 8, 8, 8]


def test_the_demo_series_is_booked_once(people):
    from scheduling.demo import DEMO_SERIES_COUNT, seed_demo_series

    clerk, doctor, patient = people
    first_day = timezone.localdate() + timedelta(days=4)
    AppointmentFactory(doctor=doctor, start=local(first_day + timedelta(weeks=2), 8, 40))  # the 3rd week's slot
    made = seed_demo_series(patient=patient, doctor=doctor, booked_by=clerk, first_day=first_day)
    assert made == DEMO_SERIES_COUNT - 1
    series = Series.objects.get()
    assert {a.local_start.strftime("%a %H:%M") for a in series.appointments.all()} == {
        local(first_day, 8, 40).strftime("%a %H:%M")
    }
    assert seed_demo_series(patient=patient, doctor=doctor, booked_by=clerk, first_day=first_day) == 0
