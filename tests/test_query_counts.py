"""The busy pages run the same number of queries on a quiet day and a full one (no N+1).

Each test measures a page with a few appointments, adds many more (more doctors, more patients,
every status), measures again and compares. A warm-up request first, so one-off caches
(content types, permissions) do not count in either measurement.
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from patients.tests.factories import PatientFactory
from scheduling.models import Appointment
from scheduling.tests.factories import AppointmentFactory, local
from staff.roles import RECEPTIONIST
from staff.tests.factories import DoctorFactory, SpecialtyFactory, UserFactory

pytestmark = pytest.mark.django_db

Status = Appointment.Status
# Every status, so each lane and each branch of the templates has rows in both measurements.
STATUSES = list(Status)
# A ceiling as well: constant but wasteful would still be a regression.
MAX_QUERIES = 20


def seed_day(day: date, *, appointments: int, doctors: int, specialty=None, first_hour=8):
    """`appointments` on `day`, spread over new doctors and patients, 20 minutes each, no overlaps:
    at one time each doctor sees a different patient."""
    specialty = specialty or SpecialtyFactory()
    team = [DoctorFactory(specialty=specialty) for _ in range(doctors)]
    patients = [PatientFactory() for _ in range(max(doctors, 3))]
    booked_by = UserFactory()
    made = []
    for i in range(appointments):
        start = local(day, first_hour) + timedelta(minutes=20 * (i // doctors))
        status = STATUSES[i % len(STATUSES)]
        made.append(
            AppointmentFactory(
                doctor=team[i % doctors],
                patient=patients[i % len(patients)],
                start=start,
                status=status,
                booked_by=booked_by,
                checked_in_by=booked_by if status != Status.SCHEDULED else None,
                checked_in_at=start if status != Status.SCHEDULED else None,
                cancelled_by=booked_by if status == Status.CANCELLED else None,
                cancellation_reason="Unwell" if status == Status.CANCELLED else "",
            )
        )
    return team, made


def queries(client, url, data=None):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, data)
    assert response.status_code == 200
    return len(captured)


def assert_does_not_grow(client, url, data, add_more):
    client.get(url, data)  # warm-up
    few = queries(client, url, data)
    add_more()
    many = queries(client, url, data)
    assert many == few, f"{url}: {few} queries with a few appointments, {many} with many"
    assert few <= MAX_QUERIES


def test_dashboard(reception):
    today = timezone.localdate()
    seed_day(today, appointments=len(STATUSES), doctors=2)
    assert_does_not_grow(
        reception, reverse("home"), None, lambda: seed_day(today, appointments=63, doctors=7, first_hour=12)
    )
    assert Appointment.objects.on_day(today).count() == 70


def test_day_calendar(reception):
    day = timezone.localdate() + timedelta(days=1)
    seed_day(day, appointments=len(STATUSES), doctors=2)
    assert_does_not_grow(
        reception,
        reverse("scheduling:day"),
        {"date": day.isoformat()},
        lambda: seed_day(day, appointments=63, doctors=7, first_hour=12),
    )


def test_week_calendar(reception):
    today = timezone.localdate()
    monday = today + timedelta(days=7 - today.weekday())
    (doctor,), _ = seed_day(monday, appointments=len(STATUSES), doctors=1)

    def add_more():
        # The same doctor all week long, and more colleagues in the "other doctors" list.
        patient = PatientFactory()
        for offset in range(7):
            for slot in range(9):
                AppointmentFactory(
                    doctor=doctor,
                    patient=patient,
                    start=local(monday + timedelta(days=offset), 13) + timedelta(minutes=20 * slot),
                    status=STATUSES[slot % len(STATUSES)],
                )
        seed_day(monday, appointments=14, doctors=7, first_hour=12)

    assert_does_not_grow(
        reception, reverse("scheduling:week", args=[doctor.pk]), {"date": monday.isoformat()}, add_more
    )


@pytest.mark.parametrize("by", ["doctor", "specialty"])
def test_free_slots(reception, by):
    day = timezone.localdate() + timedelta(days=1)
    specialty = SpecialtyFactory(name="Cardiology")
    (doctor, _), _ = seed_day(day, appointments=len(STATUSES), doctors=2, specialty=specialty)
    patient = PatientFactory()
    query = {"date": day.isoformat(), "patient": patient.pk}
    query[by] = doctor.pk if by == "doctor" else specialty.pk

    def add_more():
        seed_day(day, appointments=63, doctors=7, specialty=specialty, first_hour=12)
        for hour in (8, 9, 10):
            AppointmentFactory(doctor=doctor, patient=patient, start=local(day + timedelta(days=1), hour))

    assert_does_not_grow(reception, reverse("scheduling:slots"), query, add_more)


def test_free_slots_finds_slots_in_the_measured_request(reception):
    # Guard for the test above: the page really lists slots, so the slot loop ran.
    day = timezone.localdate() + timedelta(days=1)
    specialty = SpecialtyFactory(name="Cardiology")
    seed_day(day, appointments=len(STATUSES), doctors=2, specialty=specialty)
    response = reception.get(reverse("scheduling:slots"), {"specialty": specialty.pk, "date": day.isoformat()})
    assert len(response.context["slots"]) == 20


@pytest.mark.parametrize("status", [Status.SCHEDULED, Status.CHECKED_IN, Status.CANCELLED])
def test_appointment_detail(reception, status):
    day = timezone.localdate() + timedelta(days=1)
    _, made = seed_day(day, appointments=len(STATUSES), doctors=2)
    appointment = next(a for a in made if a.status == status)
    assert_does_not_grow(
        reception,
        appointment.get_absolute_url(),
        None,
        lambda: seed_day(day, appointments=63, doctors=7, first_hour=12),
    )


def test_detail_costs_the_same_whatever_the_status(reception):
    day = timezone.localdate() + timedelta(days=1)
    _, made = seed_day(day, appointments=len(STATUSES), doctors=2)
    reception.get(made[0].get_absolute_url())  # warm-up
    counts = {a.status: queries(reception, a.get_absolute_url()) for a in made}
    # A completed visit has a consultation to pay: the front desk sees its payment, one query more.
    completed = counts.pop(Status.COMPLETED)
    # A cancelled one's time is free again: the waitlist's panel asks whether it is and who fits (waitlist/panels.py).
    cancelled = counts.pop(Status.CANCELLED)
    assert len(set(counts.values())) == 1, counts
    assert completed == next(iter(counts.values())) + 1
    assert cancelled == next(iter(counts.values())) + 4


# --- finance at the front desk -------------------------------------------------------------------


def seed_charges(*, visits: int, doctors: int):
    """Completed visits (each with a procedure done in it) across new doctors and patients; one in
    three is already paid and one paid and refunded, so every branch of the queries has rows."""
    from clinical.tests.factories import ProcedureFactory
    from finance import services
    from finance.tests.factories import CompletedVisitFactory, manager_user

    team = [DoctorFactory(consultation_fee=Decimal("60.00")) for _ in range(doctors)]
    desk = UserFactory(roles=[RECEPTIONIST])
    made = []
    for i in range(visits):
        visit = CompletedVisitFactory(
            doctor=team[i % doctors],
            patient=PatientFactory(),
            start=local(timezone.localdate() - timedelta(days=1 + i % 5), 8) + timedelta(minutes=20 * i),
        )
        ProcedureFactory(
            appointment=visit,
            plan=None,
            patient=visit.patient,
            status="done",
            performed_date=timezone.localdate() - timedelta(days=1),
            fee=Decimal("35.00"),
        )
        if i % 3 == 1:
            services.record_payment(item=visit, amount=Decimal("60.00"), method="card", received_by=desk)
        elif i % 3 == 2:
            paid = services.record_payment(item=visit, amount=Decimal("60.00"), method="card", received_by=desk)
            services.reverse_entry(entry=paid, reason="Charged in error", by=manager_user())
        made.append(visit)
    return made


@pytest.mark.parametrize("show", ["visits", "procedures"])
def test_payments_due(reception, show):
    seed_charges(visits=3, doctors=2)
    response = reception.get(reverse("finance:due"), {"show": show})
    assert len(response.context["object_list"]) >= 2  # the measured page really lists rows

    assert_does_not_grow(reception, reverse("finance:due"), {"show": show}, lambda: seed_charges(visits=21, doctors=7))
    assert len(reception.get(reverse("finance:due"), {"show": show}).context["object_list"]) >= 15


def test_appointment_detail_with_charges(reception):
    from clinical.tests.factories import ProcedureFactory
    from finance import services

    (visit,) = seed_charges(visits=1, doctors=1)
    services.record_payment(item=visit, amount=Decimal("60.00"), method="cash", received_by=reception.user)

    def add_more():
        # More procedures done in the same visit, half of them paid, and busier days around it.
        for i in range(12):
            procedure = ProcedureFactory(
                appointment=visit,
                plan=None,
                patient=visit.patient,
                name=f"Procedure {i}",
                status="done",
                performed_date=timezone.localdate() - timedelta(days=1),
                fee=Decimal("20.00"),
            )
            if i % 2:
                services.record_payment(
                    item=procedure, amount=Decimal("20.00"), method="card", received_by=reception.user
                )
        seed_charges(visits=6, doctors=3)

    assert_does_not_grow(reception, visit.get_absolute_url(), None, add_more)
    charges = reception.get(visit.get_absolute_url()).context["charges"]
    assert len(charges) == 14
    assert sum(1 for charge in charges if charge["payment"]) == 7
