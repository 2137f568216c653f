"""The admin's lists cost the same however much history the clinic has (issue #15).

Django's date hierarchy lists its years with SELECT DISTINCT over every row, a filtered list
also counted the whole table, and a filter by doctor named each doctor with a query of its own.
The month filter offers months worked out from today and filters a range the index reads."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from clinic.admin import month_filter
from patients.tests.factories import PatientFactory
from scheduling.models import Appointment
from scheduling.tests.factories import AppointmentFactory, local
from staff.tests.factories import DoctorFactory, UserFactory

pytestmark = pytest.mark.django_db

APPOINTMENTS = "/admin/scheduling/appointment/"


def listed(response):
    return {row.pk for row in response.context["cl"].result_list}


def queries_of(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return [query["sql"] for query in captured.captured_queries]


@pytest.mark.parametrize(
    "url",
    [
        APPOINTMENTS,
        "/admin/clinical/medicalrecord/",
        "/admin/clinical/treatmentplan/",
        "/admin/patients/patient/",
    ],
)
def test_no_admin_list_reads_every_row_to_offer_dates_or_count_the_whole_table(url):
    AppointmentFactory()
    owner = Client()  # a superuser: the clinical lists are closed to the administrator role
    owner.force_login(UserFactory(is_staff=True, is_superuser=True))
    sql = queries_of(owner, url + "?status=scheduled" if url == APPOINTMENTS else url)
    assert not [q for q in sql if "DISTINCT" in q.upper()], "a date hierarchy's SELECT DISTINCT over the table"
    counts = [q for q in sql if "COUNT(" in q.upper()]
    assert len(counts) <= 1, counts  # the list's own count, not also the table's


def test_the_appointment_list_filter_by_doctor_names_every_doctor_in_one_query(administrator):
    DoctorFactory.create_batch(2)
    few = len(queries_of(administrator, APPOINTMENTS))
    DoctorFactory.create_batch(8)
    assert len(queries_of(administrator, APPOINTMENTS)) == few


def test_the_month_filter_offers_months_from_today_without_asking_the_database(administrator):
    months = next(
        spec
        for spec in administrator.get(APPOINTMENTS).context["cl"].filter_specs
        if getattr(spec, "parameter_name", "") == "start_month"
    )
    assert months.lookup_choices[6][0] == f"{timezone.localdate():%Y-%m}"  # six months ahead first
    moment = datetime(2027, 1, 15, 9, tzinfo=ZoneInfo("UTC"))
    with time_machine.travel(moment, tick=False), CaptureQueriesContext(connection) as captured:
        months = month_filter("start", months_ahead=6)(None, {}, Appointment, None)
    assert captured.captured_queries == []
    offered = [value for value, _label in months.lookup_choices]
    # Six months ahead for bookings, two years back; December follows January across the year.
    assert offered[:8] == ["2027-07", "2027-06", "2027-05", "2027-04", "2027-03", "2027-02", "2027-01", "2026-12"]
    assert offered[-1] == "2025-01" and len(offered) == 31
    assert dict(months.lookup_choices)["2026-12"] == "December 2026"


def test_a_month_holds_the_visits_of_its_local_days_up_to_midnight(administrator):
    last_evening = AppointmentFactory(start=local(date(2026, 11, 30), 23, 30), end=local(date(2026, 11, 30), 23, 50))
    first_morning = AppointmentFactory(start=local(date(2026, 12, 1), 0, 10), end=local(date(2026, 12, 1), 0, 30))
    assert listed(administrator.get(APPOINTMENTS + "?start_month=2026-11")) == {last_evening.pk}
    assert listed(administrator.get(APPOINTMENTS + "?start_month=2026-12")) == {first_morning.pk}


@pytest.mark.parametrize(
    "nonsense",
    ["2026-13", "abc", "0000-01", "99999-01", "2026-1", "2026-00", "2026-12\n", "\u0662\u0660\u0662\u0666-01"],
)
def test_a_month_that_is_not_one_lists_everything_rather_than_failing(administrator, nonsense):
    visit = AppointmentFactory()
    response = administrator.get(APPOINTMENTS, {"start_month": nonsense})
    assert response.status_code == 200 and listed(response) == {visit.pk}


@settings(max_examples=60, deadline=None)
@given(day=st.dates(min_value=date(1900, 1, 1), max_value=date(9998, 12, 31)))
def test_every_day_falls_in_exactly_its_own_month(day):
    """Any date, leap days and year ends included, is inside the range of its month and no other."""
    month = month_filter("start")(None, {"start_month": [f"{day:%Y-%m}"]}, Appointment, None)
    before = day.replace(day=1) - timedelta(days=1)
    other = month_filter("start")(None, {"start_month": [f"{before:%Y-%m}"]}, Appointment, None)
    low, high = _bounds(month)
    assert low <= day < high
    assert not (_bounds(other)[0] <= day < _bounds(other)[1])


def _bounds(spec):
    """The [first day, next month's first day) a month filter asks for, read from its query."""
    where = spec.queryset(None, Appointment.objects.all()).query.where.children
    low = next(c.rhs for c in where if c.lookup_name == "gte")
    high = next(c.rhs for c in where if c.lookup_name == "lt")
    return [low.date(), high.date()]  # clinic-local midnights


def test_the_patient_admin_searches_as_the_patient_list_does(administrator):
    """Through the clinic's search (an index on both databases), not a LIKE over six columns."""
    zoe = PatientFactory(first_name="Zoë", last_name="Łukasiewicz", phone="+44 20 7946 0321", email="zoe@example.org")
    other = PatientFactory(first_name="Ann", last_name="Lee", phone="+44 20 7000 1111", email="ann@example.org")
    url = "/admin/patients/patient/"
    for query in ["lukas", "zoe łuk", zoe.mrn, "7946 0321", "ZOE@example.org"]:
        assert listed(administrator.get(url, {"q": query})) == {zoe.pk}, query
    assert listed(administrator.get(url, {"q": "a"})) == set()  # one letter: the list asks for more
    assert listed(administrator.get(url)) == {zoe.pk, other.pk}
    sql = queries_of(administrator, url + "?q=lukas")
    assert not [q for q in sql if '"email"' in q.partition(" WHERE ")[2]]  # no column scan of e-mails
