"""Twenty API clients booking one slot at the same instant: one 201, nineteen 409s naming the winner.

Each client is its own user with its own token, calling from its own thread on its own database
connection (a transactional test: every thread sees what the others commit), on SQLite and PostgreSQL.
"""

import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from clinic.tests.concurrency import at_once
from patients.tests.factories import PatientFactory
from scheduling.models import Appointment
from scheduling.tests.factories import local
from staff.roles import RECEPTIONIST
from staff.tests.factories import DoctorFactory

CLIENTS = 20
LIST = reverse("scheduling_api:appointment-list")


def next_monday_at(hour):
    today = timezone.localdate()
    return local(today + timedelta(days=7 - today.weekday()), hour)


@pytest.mark.django_db(transaction=True)
def test_twenty_clients_booking_one_slot_get_one_201_and_nineteen_409s(api_for):
    doctor = DoctorFactory()
    patients = PatientFactory.create_batch(CLIENTS, last_name="Wiśniewska")
    clients = [api_for(RECEPTIONIST) for _ in range(CLIENTS)]
    start = next_monday_at(10)

    def book(i):
        data = {"patient": patients[i].pk, "doctor": doctor.pk, "start": start.isoformat()}
        return clients[i].post(LIST, data, format="json")

    responses = at_once(book, CLIENTS)

    assert all(not isinstance(r, Exception) for r in responses), responses
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * (CLIENTS - 1), [r.content[:200] for r in responses if r.status_code >= 500]
    winner = next(r.json() for r in responses if r.status_code == 201)
    for lost in (r for r in responses if r.status_code == 409):
        assert lost["Content-Type"] == "application/problem+json"
        body = lost.json()
        assert body["conflict"]["id"] == winner["id"], body
        assert body["conflict"]["doctor"] == doctor.pk
    assert Appointment.objects.filter(doctor=doctor).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_same_idempotency_key_sent_at_once_books_once(api_for):
    doctor, patient = DoctorFactory(), PatientFactory(first_name="Ψυχή")
    first = api_for(RECEPTIONIST)
    key = str(uuid.uuid4())
    # One caller's retries (a network that timed out, a double tap), each on its own connection.
    copies = [first] + [api_for(RECEPTIONIST, user=first.user) for _ in range(4)]
    data = {"patient": patient.pk, "doctor": doctor.pk, "start": next_monday_at(11).isoformat()}

    responses = at_once(lambda i: copies[i].post(LIST, data, format="json", HTTP_IDEMPOTENCY_KEY=key), len(copies))

    assert all(not isinstance(r, Exception) for r in responses), responses
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 303, 303, 303, 303], [r.content[:200] for r in responses]
    made = next(r for r in responses if r.status_code == 201)
    assert {r["Location"] for r in responses} == {made["Location"]}
    assert Appointment.objects.count() == 1
    # Sent again later, the replay still points at the first booking.
    again = first.post(LIST, data, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert again.status_code == 303 and again["Location"] == made["Location"]
    assert Appointment.objects.count() == 1
