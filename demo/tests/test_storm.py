"""The booking storm of `make bench`, small: it books what it says, checks what it says, and paces itself."""

import pytest

from demo.bench.storm import run_storm
from patients.tests.factories import PatientFactory
from scheduling.models import Appointment
from staff.roles import RECEPTIONIST
from staff.tests.factories import DoctorFactory, UserFactory


@pytest.fixture
def front_desk(db):
    UserFactory(roles=[RECEPTIONIST])
    DoctorFactory.create_batch(2)
    PatientFactory.create_batch(16)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("rate", [None, 40])
def test_a_small_storm_books_every_slot_once_and_finds_the_trail_intact(front_desk, rate):
    result = run_storm(clients=4, bookings_per_client=3, racers=3, rate=rate)

    assert (result["bookings"], result["errors"], result["overlapping_pairs"]) == (12, 0, 0)
    assert Appointment.objects.filter(reason="storm").count() == 12
    assert result["bookings_without_audit_entry"] == 0 and result["audit_problems"] == []
    assert result["same_slot_race"]["booked"] == 1 and result["same_slot_race"]["refused"] == 2
    if rate:
        # 12 bookings offered at 40 a second take about a quarter of a second at least, whatever the speed.
        assert result["seconds"] >= 0.2 and result["offered_per_second"] == 40
