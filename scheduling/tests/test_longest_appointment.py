"""The longest appointment is a rule of the database too, so overlap searches may look back only that far.

AppointmentQuerySet.overlapping() and SQLite's overlap triggers search from MAX_MINUTES before the
time asked for (an index range, not every earlier appointment); that is right only if nothing longer
is ever stored, whatever writes it.
"""

import re
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from patients.tests.factories import PatientFactory
from scheduling.guards import DOCTOR_OVERLAP, MAX_MINUTES, PATIENT_OVERLAP, SQLITE_TRIGGERS, TOO_LONG
from scheduling.models import MAX_LENGTH, Appointment
from scheduling.slots import free_slots
from scheduling.tests.factories import local
from staff.tests.factories import DoctorFactory, UserFactory

pytestmark = pytest.mark.django_db


def next_monday():
    today = timezone.localdate()
    return today + timedelta(days=7 - today.weekday())


def at(hour, minute=0):
    return local(next_monday(), hour, minute)


def unchecked(**kwargs):
    """Written past clean(), as a careless script would."""
    kwargs.setdefault("patient", PatientFactory())
    kwargs.setdefault("doctor", DoctorFactory())
    kwargs.setdefault("booked_by", UserFactory())
    kwargs.setdefault("end", kwargs["start"] + timedelta(minutes=20))
    return Appointment(**kwargs)


def refused(name):
    return pytest.raises(IntegrityError, match=name)


def test_the_forms_and_the_database_share_one_longest_length():
    assert timedelta(minutes=MAX_MINUTES) == MAX_LENGTH


def test_database_refuses_an_active_appointment_longer_than_the_longest():
    with refused(TOO_LONG), transaction.atomic():
        unchecked(start=at(8), end=at(8) + MAX_LENGTH + timedelta(minutes=1)).save()
    assert not Appointment.objects.exists()


def test_database_refuses_a_longer_one_written_in_bulk_or_by_update():
    with refused(TOO_LONG), transaction.atomic():
        Appointment.objects.bulk_create([unchecked(start=at(8), end=at(17))])
    kept = unchecked(start=at(8))
    kept.save()
    with refused(TOO_LONG), transaction.atomic():
        Appointment.objects.filter(pk=kept.pk).update(end=at(16, 30))


def test_database_keeps_the_longest_and_a_long_cancelled_one():
    unchecked(start=at(8), end=at(8) + MAX_LENGTH).save()
    cancelled = unchecked(start=at(8), end=at(19), status=Appointment.Status.CANCELLED)
    cancelled.save()  # it holds no time, so its length does not matter
    assert Appointment.objects.count() == 2


def test_a_long_cancelled_one_cannot_come_back_to_hold_time():
    cancelled = unchecked(start=at(8), end=at(19), status=Appointment.Status.CANCELLED)
    cancelled.save()
    with refused(TOO_LONG), transaction.atomic():
        Appointment.objects.filter(pk=cancelled.pk).update(status=Appointment.Status.SCHEDULED)


def test_the_longest_appointment_still_blocks_its_last_minutes():
    """The overlap searches look back exactly far enough: a booking in the last minutes of an
    eight-hour appointment is found by overlapping(), refused by the database and not offered."""
    longest = unchecked(start=at(8), end=at(8) + MAX_LENGTH)
    longest.save()
    last_minutes = (at(15, 55), at(16, 15))
    assert list(Appointment.objects.overlapping(*last_minutes)) == [longest]
    with refused(DOCTOR_OVERLAP), transaction.atomic():
        unchecked(doctor=longest.doctor, start=last_minutes[0]).save()
    with refused(PATIENT_OVERLAP), transaction.atomic():
        unchecked(patient=longest.patient, start=last_minutes[0]).save()
    offered = free_slots(doctor=longest.doctor, start_from=at(7), days=1, limit=50)
    assert offered and all(slot.start >= at(16) or slot.end <= at(8) for slot in offered)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's overlap trigger")
@pytest.mark.parametrize("name", sorted(SQLITE_TRIGGERS))
def test_sqlite_overlap_trigger_searches_an_index_range(name):
    """The trigger's own search, planned as SQLite plans it: a range of start on the (who, start) index,
    bounded below too (unbounded, each booking read all the doctor's or patient's earlier appointments)."""
    search = re.search(r"EXISTS \((.*)\);", SQLITE_TRIGGERS[name], re.S).group(1)
    for column, value in (('NEW."end"', "'2030-01-07 10:20:00'"), ("NEW.start", "'2030-01-07 10:00:00'")):
        search = search.replace(column, value)
    search = re.sub(r"NEW\.(\w+)", "1", search)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + search)
        plan = " ".join(row[3] for row in cursor.fetchall())
    assert re.search(r"USING INDEX appointment_(doctor|patient)_start \(\w+=\? AND start>\? AND start<\?\)", plan), plan
