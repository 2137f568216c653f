"""Series against real races, each thread on its own connection: a series and a single booking of one of
its times at the same instant, and the same series booked from several tabs at once. The database and
the booking service decide; a series is booked whole or not at all."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from clinic.tests.concurrency import at_once
from patients.tests.factories import PatientFactory
from scheduling import services
from scheduling.models import Appointment, Series
from scheduling.series import OccurrenceRefused, Rule, book_series, load_doctor, plan_series
from scheduling.tests.factories import local
from staff.tests.factories import DoctorFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
COUNT = 6
LENGTH = timedelta(minutes=30)


def next_monday():
    today = timezone.localdate()
    return today + timedelta(days=7 - today.weekday())


def _series_for(patient, doctor, clerk):
    first = local(next_monday(), 9)
    rule = Rule("weeks", 1, (0,), count=COUNT)
    occurrences = plan_series(patient=patient, doctor=doctor, first_start=first, length=LENGTH, rule=rule)
    assert not any(o.problem for o in occurrences)

    def book():
        return book_series(
            patient=patient,
            doctor=doctor,
            first_start=first,
            length=LENGTH,
            rule=rule,
            reason="",
            chosen=occurrences,
            booked_by=clerk,
        )

    return occurrences, book


@pytest.mark.parametrize("round_", range(3))
def test_a_series_and_a_single_booking_of_one_of_its_times_at_once(round_):
    clerk = UserFactory()
    doctor = load_doctor(DoctorFactory().pk)
    patient, other = PatientFactory(), PatientFactory()
    occurrences, book = _series_for(patient, doctor, clerk)
    contested = occurrences[3].start

    def act(i):
        if i == 0:
            return book()
        return services.book_appointment(
            patient=other, doctor=doctor, start=contested, end=contested + LENGTH, booked_by=clerk
        )

    series_outcome, single_outcome = at_once(act, 2)

    booked_series = Appointment.objects.filter(patient=patient).count()
    if isinstance(single_outcome, Appointment):
        assert isinstance(series_outcome, OccurrenceRefused) and series_outcome.occurrence.number == 4
        assert booked_series == 0 and not Series.objects.exists()
    else:
        assert isinstance(single_outcome, ValidationError), single_outcome
        assert isinstance(series_outcome, tuple) and len(series_outcome[1]) == COUNT
        assert booked_series == COUNT
    assert Appointment.objects.filter(doctor=doctor, start=contested).count() == 1


def test_the_same_series_from_four_tabs_at_once_is_booked_once():
    clerk = UserFactory()
    doctor = load_doctor(DoctorFactory().pk)
    patient = PatientFactory()
    _, book = _series_for(patient, doctor, clerk)

    outcomes = at_once(lambda i: book(), 4)

    won = [o for o in outcomes if isinstance(o, tuple)]
    refused = [o for o in outcomes if isinstance(o, OccurrenceRefused)]
    assert len(won) == 1 and len(refused) == 3, outcomes
    assert Series.objects.count() == 1
    assert Appointment.objects.filter(patient=patient).count() == COUNT
