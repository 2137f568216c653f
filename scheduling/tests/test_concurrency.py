"""The database's own refusal of double-booking, tested by going around the application.

The first half writes past `clean()` (bulk_create, bare save, QuerySet.update); the second half
races real threads, each on its own connection, at one slot.
"""

from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from clinic.tests.concurrency import at_once as run_at_once
from patients.tests.factories import PatientFactory
from scheduling.guards import (
    DOCTOR_OVERLAP,
    OVERLAP_NAMES,
    PATIENT_OVERLAP,
    SQLITE_TRIGGERS,
    install_sqlite_guards,
    installed_sqlite_guards,
)
from scheduling.models import Appointment
from scheduling.services import book_appointment
from scheduling.tests.factories import AppointmentFactory, local
from staff.tests.factories import DoctorFactory, UserFactory

THREADS = 10


def next_monday():
    today = timezone.localdate()
    return today + timedelta(days=7 - today.weekday())


def at(hour, minute=0):
    return local(next_monday(), hour, minute)


def unchecked(**kwargs):
    """An appointment that has not been through clean(): what a careless script would write."""
    kwargs.setdefault("patient", PatientFactory())
    kwargs.setdefault("doctor", DoctorFactory())
    kwargs.setdefault("start", at(10))
    kwargs.setdefault("end", kwargs["start"] + timedelta(minutes=20))
    kwargs.setdefault("booked_by", UserFactory())
    return Appointment(**kwargs)


@contextmanager
def refused_by_the_database(name=None):
    # atomic(): on PostgreSQL the failed statement must not poison the test's transaction.
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        yield
    if name:
        assert name in str(excinfo.value)


# --- the guard exists ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_sqlite_has_all_four_overlap_triggers_after_migrations():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite guards with triggers")
    assert installed_sqlite_guards(connection) == set(SQLITE_TRIGGERS)
    assert len(SQLITE_TRIGGERS) == 4


@pytest.mark.django_db
def test_sqlite_guards_are_reinstalled_when_missing():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite guards with triggers")
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER {DOCTOR_OVERLAP}_update")

    install_sqlite_guards(connection)
    install_sqlite_guards(connection)

    assert installed_sqlite_guards(connection) == set(SQLITE_TRIGGERS)


@pytest.mark.django_db
def test_postgresql_has_both_exclusion_constraints():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL guards with exclusion constraints")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE contype = 'x' AND conrelid = %s::regclass",
            [Appointment._meta.db_table],
        )
        names = {row[0] for row in cursor.fetchall()}
    assert names == set(OVERLAP_NAMES)


# --- writes that skip clean() -------------------------------------------------------------------


@pytest.mark.django_db
def test_bare_save_onto_a_doctors_booked_slot_is_refused():
    existing = AppointmentFactory(start=at(10))
    with refused_by_the_database(DOCTOR_OVERLAP):
        unchecked(doctor=existing.doctor, start=at(10, 10)).save()
    assert Appointment.objects.count() == 1


@pytest.mark.django_db
def test_bare_save_onto_a_patients_booked_slot_is_refused():
    existing = AppointmentFactory(start=at(10))
    with refused_by_the_database(PATIENT_OVERLAP):
        unchecked(patient=existing.patient, start=at(9, 50)).save()
    assert Appointment.objects.count() == 1


@pytest.mark.django_db
def test_bulk_create_onto_a_booked_slot_is_refused():
    existing = AppointmentFactory(start=at(10))
    with refused_by_the_database(DOCTOR_OVERLAP):
        Appointment.objects.bulk_create([unchecked(doctor=existing.doctor, start=at(10))])
    assert Appointment.objects.count() == 1


@pytest.mark.django_db
def test_bulk_create_of_two_overlapping_rows_is_refused():
    doctor = DoctorFactory()
    with refused_by_the_database():
        Appointment.objects.bulk_create(
            [unchecked(doctor=doctor, start=at(10)), unchecked(doctor=doctor, start=at(10, 5))]
        )
    assert not Appointment.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("shared", ["doctor", "patient"])
def test_update_moving_an_appointment_onto_another_is_refused(shared):
    first = AppointmentFactory(start=at(10))
    second = AppointmentFactory(start=at(14), **{shared: getattr(first, shared)})

    with refused_by_the_database(DOCTOR_OVERLAP if shared == "doctor" else PATIENT_OVERLAP):
        Appointment.objects.filter(pk=second.pk).update(start=at(10, 10), end=at(10, 30))

    assert Appointment.objects.get(pk=second.pk).start == at(14)


@pytest.mark.django_db
def test_update_moving_an_appointment_to_another_doctor_is_refused():
    first = AppointmentFactory(start=at(10))
    second = AppointmentFactory(start=at(10))

    with refused_by_the_database(DOCTOR_OVERLAP):
        Appointment.objects.filter(pk=second.pk).update(doctor=first.doctor)


@pytest.mark.django_db
def test_update_reactivating_a_cancelled_appointment_over_another_is_refused():
    cancelled = AppointmentFactory(start=at(10), status=Appointment.Status.CANCELLED)
    AppointmentFactory(doctor=cancelled.doctor, start=at(10))

    with refused_by_the_database(DOCTOR_OVERLAP):
        Appointment.objects.filter(pk=cancelled.pk).update(status=Appointment.Status.SCHEDULED)


@pytest.mark.django_db
def test_database_allows_back_to_back_and_over_inactive_rows():
    doctor = DoctorFactory()
    AppointmentFactory(doctor=doctor, start=at(10), status=Appointment.Status.CANCELLED)
    AppointmentFactory(doctor=doctor, start=at(10), status=Appointment.Status.NO_SHOW)

    unchecked(doctor=doctor, start=at(10)).save()
    unchecked(doctor=doctor, start=at(10, 20)).save()
    Appointment.objects.bulk_create([unchecked(doctor=doctor, start=at(9, 40))])
    Appointment.objects.filter(start=at(10, 20)).update(reason="Moved nothing")

    assert Appointment.objects.active().count() == 3


@pytest.mark.django_db
def test_database_lets_an_appointment_move_within_its_own_time():
    appointment = AppointmentFactory(start=at(10))
    Appointment.objects.filter(pk=appointment.pk).update(start=at(10, 10), end=at(10, 30))
    assert Appointment.objects.get().start == at(10, 10)


# --- real races ---------------------------------------------------------------------------------


def at_once(action, count=THREADS):
    return run_at_once(action, count)


def split(outcomes, is_refusal):
    won = [o for o in outcomes if isinstance(o, Appointment)]
    refused = [o for o in outcomes if not isinstance(o, Appointment) and is_refusal(o)]
    unexpected = [o for o in outcomes if o not in won and o not in refused]
    assert not unexpected, unexpected
    return won, refused


def booking_refused(outcome):
    """The service's answer to a lost race: a form error on the start time, never a database error."""
    return isinstance(outcome, ValidationError) and set(outcome.message_dict) == {"start"}


def database_refused(outcome):
    # PostgreSQL: two inserts that find each other's row in the exclusion check wait on each other,
    # and the deadlock detector aborts one; that is a refusal too (see execIndexing.c).
    deadlock = isinstance(outcome, OperationalError) and "deadlock detected" in str(outcome)
    return isinstance(outcome, IntegrityError) or deadlock


@contextmanager
def overlap_guard_switched_off():
    """Remove the database's guard for a control run; put it back (on an empty table) afterwards."""
    constraints = [c for c in Appointment._meta.constraints if c.name in OVERLAP_NAMES]
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            for name in SQLITE_TRIGGERS:
                cursor.execute(f"DROP TRIGGER {name}")
    else:
        with connection.schema_editor() as editor:
            for constraint in constraints:
                editor.remove_constraint(Appointment, constraint)
    try:
        yield
    finally:
        Appointment.objects.all().delete()
        if connection.vendor == "sqlite":
            install_sqlite_guards(connection)
        else:
            with connection.schema_editor() as editor:
                for constraint in constraints:
                    editor.add_constraint(Appointment, constraint)


@pytest.mark.django_db(transaction=True)
def test_ten_receptionists_booking_one_doctors_slot_get_one_booking():
    doctor = DoctorFactory()
    patients = PatientFactory.create_batch(THREADS)
    booked_by = UserFactory()

    outcomes = at_once(
        lambda i: book_appointment(patient=patients[i], doctor=doctor, start=at(10), booked_by=booked_by)
    )

    won, refused = split(outcomes, booking_refused)
    assert len(won) == 1
    assert len(refused) == THREADS - 1
    # Bookings of one doctor queue behind each other, so each loser is told whose slot it is.
    assert all(f"with {won[0].patient}" in " ".join(e.messages) for e in refused)
    assert Appointment.objects.filter(doctor=doctor).count() == 1


@pytest.mark.django_db(transaction=True)
def test_ten_doctors_booking_one_patient_at_once_get_one_booking():
    patient = PatientFactory()
    doctors = DoctorFactory.create_batch(THREADS)
    booked_by = UserFactory()

    outcomes = at_once(
        lambda i: book_appointment(patient=patient, doctor=doctors[i], start=at(10), booked_by=booked_by)
    )

    won, refused = split(outcomes, booking_refused)
    assert len(won) == 1
    assert len(refused) == THREADS - 1
    assert all(f"already has an appointment Mon {next_monday().day}" in " ".join(e.messages) for e in refused)
    assert all(f"with {won[0].doctor}" in " ".join(e.messages) for e in refused)
    assert Appointment.objects.filter(patient=patient).count() == 1


@pytest.mark.django_db(transaction=True)
def test_ten_bare_saves_of_one_slot_leave_one_row():
    doctor = DoctorFactory()
    rows = [unchecked(doctor=doctor) for _ in range(THREADS)]

    def save(i):
        rows[i].save()
        return rows[i]

    won, refused = split(at_once(save), database_refused)

    assert len(won) == 1
    assert len(refused) == THREADS - 1
    assert Appointment.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_control_without_the_database_guard_bare_saves_double_book():
    # Shows the test above would notice a missing guard: the same race, guard removed.
    doctor = DoctorFactory()
    rows = [unchecked(doctor=doctor) for _ in range(THREADS)]

    def save(i):
        rows[i].save()
        return rows[i]

    with overlap_guard_switched_off():
        won, _ = split(at_once(save), database_refused)
        assert len(won) == THREADS
        assert Appointment.objects.count() == THREADS

    if connection.vendor == "sqlite":
        assert installed_sqlite_guards(connection) == set(SQLITE_TRIGGERS)
    with refused_by_the_database(DOCTOR_OVERLAP):
        unchecked(doctor=doctor).save()
        unchecked(doctor=doctor).save()
