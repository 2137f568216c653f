"""Each patient's next appointment (scheduling.queries.next_appointments), shown on the patient list
through patients.views.PATIENT_LIST: one query for the whole page."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patients.tests.factories import PatientFactory
from scheduling.models import Appointment
from scheduling.queries import NEXT_FOR_AT_MOST, STILL_TO_COME, next_appointments
from scheduling.tests.factories import AppointmentFactory, tomorrow_at
from staff.tests.factories import DoctorFactory

pytestmark = pytest.mark.django_db

LIST = reverse("patients:list")
Status = Appointment.Status


def test_the_next_is_the_earliest_still_to_come(django_assert_num_queries):
    now = timezone.now()
    ann, bob, cy = PatientFactory(), PatientFactory(), PatientFactory()
    later = AppointmentFactory(patient=ann, start=now + timedelta(days=9))
    soon = AppointmentFactory(patient=ann, start=now + timedelta(days=2))
    AppointmentFactory(patient=ann, start=now + timedelta(days=1), status=Status.CANCELLED)
    AppointmentFactory(patient=ann, start=now - timedelta(days=1), status=Status.COMPLETED)
    AppointmentFactory(patient=bob, start=now - timedelta(hours=2))  # passed, never checked in: not "next"
    AppointmentFactory(patient=bob, start=now + timedelta(hours=1), status=Status.NO_SHOW)
    checked_in = AppointmentFactory(patient=cy, start=now + timedelta(minutes=30), status=Status.CHECKED_IN)
    AppointmentFactory(start=now + timedelta(hours=1))  # someone else's

    with django_assert_num_queries(1):
        found = next_appointments([ann.pk, bob.pk, cy.pk, ann.pk])
        doctors = {patient_id: str(appointment.doctor) for patient_id, appointment in found.items()}

    assert found == {ann.pk: soon, cy.pk: checked_in}
    assert doctors[ann.pk] == str(soon.doctor)
    assert later not in found.values()


def test_nobody_asked_about_costs_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert next_appointments([]) == {}


def test_it_answers_for_a_page_not_a_whole_table():
    with pytest.raises(ValueError):
        next_appointments(range(1, NEXT_FOR_AT_MOST + 2))


MINUTES = st.integers(min_value=-3 * 24 * 60, max_value=30 * 24 * 60)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 3), MINUTES, st.sampled_from(list(Status))), max_size=12))
def test_the_same_as_looking_through_every_appointment(rows):
    now = timezone.now().replace(microsecond=0)
    patients = [PatientFactory() for _ in range(4)]
    doctors = [DoctorFactory(hours=[]) for _ in range(2)]
    made = []
    for i, (who, minutes, status) in enumerate(rows):
        start = now + timedelta(minutes=minutes)
        # No overlaps for one patient or doctor (PostgreSQL's exclusion constraints): a minute apart at most.
        start += timedelta(seconds=i)
        made.append(
            AppointmentFactory(
                patient=patients[who],
                doctor=doctors[i % 2],
                start=start,
                end=start + timedelta(milliseconds=500),
                status=status,
            )
        )

    found = next_appointments([patient.pk for patient in patients], now=now)

    expected = {}
    for appointment in sorted(made, key=lambda a: (a.start, a.pk)):
        if appointment.status in STILL_TO_COME and appointment.start >= now:
            expected.setdefault(appointment.patient_id, appointment)
    assert found == expected


# --- on the patient list ----------------------------------------------------------------------------


def row_of(html, name):
    rows = re.findall(r"<tr>.*?</tr>", html, re.DOTALL)
    return next(row for row in rows if name in row)


def test_the_list_shows_age_and_the_next_appointment(reception):
    doctor = DoctorFactory(user__first_name="Hana", user__last_name="Okafor")
    born = timezone.localdate().replace(year=timezone.localdate().year - 40) - timedelta(days=1)
    ola = PatientFactory(first_name="Ola", last_name="Łukasiewicz", date_of_birth=born)
    PatientFactory(first_name="Ola", last_name="Nowak")
    start = tomorrow_at(9, 30)
    AppointmentFactory(patient=ola, doctor=doctor, start=start)

    html = reception.get(LIST, {"q": "ola"}).content.decode()

    assert '<th scope="col">Next appointment</th>' in html
    row = row_of(html, "ŁUKASIEWICZ, Ola")
    assert '<td data-label="Age">40</td>' in row
    assert f"{timezone.localtime(start):%a} {start.day} " in row and "09:30</a> · Dr Hana Okafor" in row
    assert "None booked" in row_of(html, "NOWAK, Ola")


def test_the_list_runs_the_same_queries_for_5_or_25_patients_with_appointments(reception):
    def patients_with_appointments(count):
        for i in range(count):
            patient = PatientFactory(last_name="Whitfield")
            # Each with another doctor, so a per-row lookup of the doctor (or of the user) would show.
            for days in (i, 40):
                AppointmentFactory(
                    patient=patient, doctor=DoctorFactory(hours=[]), start=tomorrow_at(9) + timedelta(days=days)
                )

    patients_with_appointments(5)
    with CaptureQueriesContext(connection) as few:
        response = reception.get(LIST, {"q": "whitfield"})
    assert len(response.context["object_list"]) == 5

    patients_with_appointments(20)
    with CaptureQueriesContext(connection) as many:
        response = reception.get(LIST, {"q": "whitfield"})
    assert len(response.context["object_list"]) == 25
    assert response.content.decode().count("· Dr ") == 25
    assert len(many.captured_queries) == len(few.captured_queries)
    assert sum("scheduling_appointment" in query["sql"] for query in many.captured_queries) == 1
