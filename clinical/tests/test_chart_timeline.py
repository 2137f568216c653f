"""The chart's timeline: pages cut at entry keys (every entry once, in order, forward and back, ties
included), the kind and year filters (with the plan-status one), whatever the URL says never a 500,
and the same number of queries for a 20-entry chart as for a 2,000-entry one, within a time bound."""

import time
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from clinical.models import MedicalRecord, Medication, Procedure, TreatmentPlan
from clinical.queries import ENTRY_KINDS, KINDS, PAGE_SIZE, TimelineKey, TimelineQuery, chart_timeline, day_start
from clinical.tests.factories import MedicalRecordFactory, ProcedureFactory, TreatmentPlanFactory
from clinical.tests.pages import text
from patients.tests.factories import PatientFactory
from scheduling.models import Appointment
from scheduling.tests.factories import AppointmentFactory, local
from staff.tests.factories import DoctorFactory

pytestmark = pytest.mark.django_db

EXAMPLES = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PAGE_BOUND_SECONDS = 1.5  # a chart page with 2,000 entries, measured ~0.1 s; the bound leaves room for slow CI


@pytest.fixture
def doctor(doctor_client):
    return DoctorFactory(user=doctor_client.user)


# --- a history full of ties -----------------------------------------------------------------------


def tied_history(doctor, add_files=None):
    """Entries that share their times: a visit and its record; dated procedures at the start of a day
    and a plan, an undated procedure and a record entered at that very midnight (and, from
    `add_files(patient, day)`, documents and photos: documents/tests adds them); over three years, one
    of them a leap day and one the day the clocks go back."""
    patient = PatientFactory()
    days = [date(2024, 2, 29), date(2024, 11, 3), date(2025, 10, 26), date(2026, 1, 15), date(2026, 1, 16)]
    for n, day in enumerate(days):
        for hour in (9, 14):
            visit = AppointmentFactory(patient=patient, doctor=DoctorFactory(), start=local(day, hour))
            MedicalRecordFactory(patient=patient, author=doctor.user, appointment=visit, diagnosis=f"Dx {day} {hour}")
        if add_files:
            add_files(patient, day)
        with time_machine.travel(day_start(day), tick=False):
            plan = TreatmentPlanFactory(patient=patient, doctor=doctor, diagnosis_summary=f"Plan {day}")
            ProcedureFactory(plan=plan, name=f"Undated {day}")
            MedicalRecordFactory(patient=patient, author=doctor.user, diagnosis=f"Midnight note {day}")
        ProcedureFactory(plan=plan, name=f"Dated {day}", scheduled_date=day)
        if n % 2:
            ProcedureFactory(plan=plan, name=f"Done {day}", status="done", performed_date=day)
    return patient


def every_entry(patient, user, **filters):
    """The whole filtered timeline in one page: what paging must reproduce."""
    return chart_timeline(patient, user, TimelineQuery(limit=10_000, **filters))


def walk_older(patient, user, limit, **filters):
    pages, cursor = [], None
    while True:
        page = chart_timeline(patient, user, TimelineQuery(limit=limit, cursor=cursor, **filters))
        pages.append(page)
        if not page.has_older:
            return pages
        cursor = page.entries[-1].key


def walk_newer(patient, user, limit, **filters):
    pages, cursor = [], None
    while True:
        page = chart_timeline(patient, user, TimelineQuery(limit=limit, cursor=cursor, newer=True, **filters))
        pages.append(page)
        if not page.has_newer:
            return pages[::-1]
        cursor = page.entries[0].key


@pytest.fixture
def history(doctor):
    return tied_history(doctor)


def keys(entries):
    return [e.key for e in entries]


CLINICAL_KINDS = {"visit", "record", "plan", "procedure"}


def check_whole_timeline(history, user, kinds, total):
    everything = every_entry(history, user)
    assert keys(everything.entries) == sorted(keys(everything.entries), reverse=True)
    assert {e.kind for e in everything.entries} == kinds
    assert everything.total == len(everything.entries) == total
    assert everything.years == [2026, 2025, 2024]
    whens = [e.when for e in everything.entries]
    assert len(whens) - len(set(whens)) >= 15  # ties are the point of this history


def test_the_whole_timeline_is_newest_first_with_ties(history, doctor):
    check_whole_timeline(history, doctor.user, CLINICAL_KINDS, 5 * (2 + 3 + 1 + 1 + 1) + 2)


def check_paging(history, user, limit, kind, year, plan_status):
    """Paged older from the newest and newer from the oldest, the filtered timeline is every entry once,
    in order; each page knows its place, and Newer from any page gives exactly the page before."""
    filters = {"kinds": KINDS[kind][1] if kind else ENTRY_KINDS, "year": year, "plan_status": plan_status}
    expected = every_entry(history, user, **filters)
    walks = (walk_older(history, user, limit, **filters), walk_newer(history, user, limit, **filters))
    for pages in walks:
        seen = [e for page in pages for e in page.entries]
        assert keys(seen) == keys(expected.entries)
        assert all(page.total == expected.total for page in pages)
        offsets = [page.offset for page in pages]
        assert offsets == [sum(len(p.entries) for p in pages[:i]) for i in range(len(pages))]
        assert not pages[0].has_newer and not pages[-1].has_older
    older = walks[0]
    if expected.total:
        assert all(len(page.entries) == limit for page in older[:-1])
        for before, page in zip(older, older[1:], strict=False):
            back = chart_timeline(
                history, user, TimelineQuery(limit=limit, cursor=page.entries[0].key, newer=True, **filters)
            )
            assert keys(back.entries) == keys(before.entries) and back.offset == before.offset


PAGING = {
    "limit": st.integers(1, 9),
    "kind": st.sampled_from(["", *KINDS]),
    "year": st.sampled_from([None, 2024, 2025, 2026, 2019]),
    "plan_status": st.sampled_from(["", "active"]),
}


@EXAMPLES
@given(**PAGING)
def test_paging_either_way_shows_every_entry_once_in_order(history, doctor, limit, kind, year, plan_status):
    check_paging(history, doctor.user, limit, kind, year, plan_status)


def test_a_filtered_timeline_holds_only_that_kind_in_that_year(history, doctor):
    page = chart_timeline(history, doctor.user, TimelineQuery(kinds=KINDS["plans"][1], year=2025))
    assert {e.kind for e in page.entries} == {"plan", "procedure"}
    assert {timezone.localtime(e.when).year for e in page.entries} == {2025}
    assert page.years == [2026, 2025, 2024]  # every year stays to pick from


# --- the page and its URL -------------------------------------------------------------------------


def link_params(href):
    return {k: v[0] for k, v in parse_qs(urlsplit(href).query).items()}


def test_the_page_pages_forward_and_back_keeping_the_filters(history, doctor, doctor_client):
    url = reverse("clinical:chart", args=[history.pk])
    first = doctor_client.get(url, {"kind": "records"})
    assert len(first.context["timeline"]) == min(PAGE_SIZE, first.context["page"].total)
    records = MedicalRecord.objects.filter(patient=history).count()
    assert first.context["page"].total == records == 15
    assert "Entries 1–15 of 15 (filtered)" in text(first)
    assert not first.context["pages"]  # one page: no links

    small = doctor_client.get(url, {"kind": "records", "year": "2026"})
    assert small.context["page"].total == 6
    assert {e.kind for e in small.context["timeline"]} == {"record"}
    assert '<option value="records" selected>' in text(small) and '<option value="2026" selected>' in text(small)


def test_page_links_cut_at_keys_and_keep_the_filters(doctor, doctor_client):
    patient = PatientFactory()
    base = local(date(2025, 1, 1), 9)
    Appointment.objects.bulk_create(
        Appointment(
            patient=patient,
            doctor=doctor,
            start=base + timedelta(days=i),
            end=base + timedelta(days=i, minutes=20),
            booked_by=doctor.user,
        )
        for i in range(60)
    )
    url = reverse("clinical:chart", args=[patient.pk])
    first = doctor_client.get(url, {"kind": "visits", "year": "2025"})
    pages = first.context["pages"]
    assert set(pages) == {"older", "oldest"}
    assert link_params(pages["older"])["kind"] == "visits" and link_params(pages["older"])["year"] == "2025"
    second = doctor_client.get(url, link_params(pages["older"]))
    assert "Entries 26–50 of 60 (filtered)" in text(second)
    assert set(second.context["pages"]) == {"newest", "newer", "older", "oldest"}
    back = doctor_client.get(url, link_params(second.context["pages"]["newer"]))
    assert keys(back.context["timeline"]) == keys(first.context["timeline"])
    last = doctor_client.get(url, link_params(second.context["pages"]["oldest"]))
    assert "Entries 36–60 of 60 (filtered)" in text(last)
    assert set(last.context["pages"]) == {"newest", "newer"}


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"kind": "images"}, "No images on this chart."),
        ({"year": "1999"}, "No entries in 1999 on this chart."),
        ({"kind": "records", "year": "2031"}, "No records in 2031 on this chart."),
        ({"kind": "plans", "plan_status": "completed"}, "No plans and procedures on this chart with plans of this"),
    ],
)
def test_an_empty_filter_says_so(params, says, doctor, doctor_client):
    patient = PatientFactory()
    AppointmentFactory(patient=patient, doctor=doctor, start=local(date(2025, 5, 5), 10))
    response = doctor_client.get(reverse("clinical:chart", args=[patient.pk]), params)
    assert says in text(response)
    assert "Clear filters" in text(response)


JUNK = [
    "",
    "0",
    "-1",
    "99999",
    "2025.5",
    "１９９９",
    "abc",
    "x" * 500,
    "' OR 1=1 --",
    "\x00",
    "99999999999999999999999999999999.visit.1",
    "-99999999999999999.visit.1",
    "1735722000000000.visit.-1",
    "1735722000000000.visit.99999999999999999999",
    "1735722000000000.nothing.1",
    "1735722000000000.visit",
    "253402300799999999.record.1",
]


@pytest.mark.parametrize("name", ["kind", "year", "before", "after", "oldest", "plan_status"])
@pytest.mark.parametrize("junk", JUNK)
def test_junk_in_any_parameter_is_never_an_error(name, junk, doctor, doctor_client):
    patient = PatientFactory()
    visit = AppointmentFactory(patient=patient, doctor=doctor, start=local(date(2025, 5, 5), 10))
    MedicalRecordFactory(patient=patient, appointment=visit, author=doctor.user)
    response = doctor_client.get(reverse("clinical:chart", args=[patient.pk]), {name: junk})
    assert response.status_code == 200


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(
    params=st.dictionaries(
        st.sampled_from(["kind", "year", "before", "after", "oldest", "plan_status"]),
        st.one_of(
            st.text(max_size=40),
            st.integers(-(10**20), 10**20).map(str),
            st.builds(
                lambda n, k, pk: f"{n}.{k}.{pk}",
                st.integers(-(10**19), 10**19),
                st.sampled_from(sorted(ENTRY_KINDS)),
                st.integers(-5, 10**19),
            ),
        ),
    )
)
def test_any_url_gives_a_page(params, doctor_client):
    patient = PatientFactory()
    params = {k: v.replace("\x00", "") for k, v in params.items()}
    assert doctor_client.get(reverse("clinical:chart", args=[patient.pk]), params).status_code == 200


def test_a_key_round_trips_through_its_token_and_the_calendars_ends_are_refused():
    for when in (day_start(date(2, 1, 2)), day_start(date(1960, 2, 29)), local(date(2026, 10, 25), 1, 30)):
        key = TimelineKey(when, "record", 42)
        assert TimelineKey.parse(key.token()) == key
    for when in (day_start(date(1, 1, 2)), day_start(date(9999, 12, 31))):
        assert TimelineKey.parse(TimelineKey(when, "record", 42).token()) is None


# --- a long history: the same queries, a bounded time ---------------------------------------------


def bulk_history(patient, doctor, entries):
    """About `entries` timeline entries, built in bulk: visits (each with a record, half of them signed
    with medications and vitals), plans and procedures dated and undated, over the years before 2026."""
    visits = entries * 2 // 5
    base = local(date(2026, 1, 1), 9)
    Appointment.objects.bulk_create(
        Appointment(
            patient=patient,
            doctor=doctor,
            start=base - timedelta(days=i, minutes=7 * (i % 5)),
            end=base - timedelta(days=i, minutes=7 * (i % 5) - 20),
            booked_by=doctor.user,
            status=Appointment.Status.COMPLETED,
        )
        for i in range(visits)
    )
    appointments = list(Appointment.objects.filter(patient=patient).order_by("pk"))
    MedicalRecord.objects.bulk_create(
        MedicalRecord(
            patient=patient,
            author=doctor.user,
            appointment=a,
            diagnosis=f"Review {i}",
            pulse=60 + i % 30,
            bp_systolic=110 + i % 40,
            bp_diastolic=70,
            weight_kg=70 + i % 7,
            temperature="36.8",
        )
        for i, a in enumerate(appointments)
    )
    records = list(MedicalRecord.objects.filter(patient=patient).order_by("pk"))
    Medication.objects.bulk_create(
        Medication(record=r, drug=f"Drug {i % 40}", duration="" if i % 3 else "7 days")
        for i, r in enumerate(records)
        if i % 2
    )
    for i, r in enumerate(records):
        if i % 2:
            when = r.appointment.start + timedelta(hours=1)
            MedicalRecord.objects.filter(pk=r.pk).update(status="signed", signed_at=when, signed_by=doctor.user)
    plans = TreatmentPlan.objects.bulk_create(
        TreatmentPlan(patient=patient, doctor=doctor, diagnosis_summary=f"Plan {i}", created_by=doctor.user)
        for i in range(entries // 10)
    )
    for i, plan in enumerate(plans):
        TreatmentPlan.objects.filter(pk=plan.pk).update(created_at=base - timedelta(days=3 * i, hours=3))
    Procedure.objects.bulk_create(
        Procedure(
            patient=patient,
            plan=plans[i % len(plans)],
            name=f"Procedure {i}",
            scheduled_date=(base - timedelta(days=2 * i)).date() if i % 2 else None,
            created_by=doctor.user,
        )
        for i in range(entries - visits * 2 - len(plans))
    )


def measure(client, url, params=None):
    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        response = client.get(url, params)
        took = time.perf_counter() - started
    assert response.status_code == 200
    return len(captured), took, response


def a_chart(entries, add_files=None):
    patient = PatientFactory()
    bulk_history(patient, DoctorFactory(), entries)
    if add_files:
        add_files(patient)
    return patient


def check_flat(client, user, short, long, params):
    """The 2,000-entry chart runs the queries of the 20-entry one, on its first page and deeper, each
    within the time bound."""
    assert every_entry(long, user).total >= 2000
    urls = [reverse("clinical:chart", args=[p.pk]) for p in (short, long)]
    client.get(urls[0], params)  # warm-up
    (few, _, _), (many, took, response) = (measure(client, url, params) for url in urls)
    assert many == few, f"{few} queries for 20 entries, {many} for 2,000"
    assert few <= 25
    assert took < PAGE_BOUND_SECONDS, took
    for _ in range(3):
        if "older" not in response.context["pages"]:
            break
        deeper, took, response = measure(client, urls[1], link_params(response.context["pages"]["older"]))
        assert deeper == few and took < PAGE_BOUND_SECONDS
    return few


FLAT_PARAMS = [
    {},
    {"kind": "records"},
    {"year": "2024"},
    {"kind": "plans", "year": "2025", "plan_status": "draft"},
    {"oldest": "1"},
]
FLAT_IDS = ["newest", "records", "2024", "plans-2025-draft", "oldest"]


@pytest.mark.parametrize("params", FLAT_PARAMS, ids=FLAT_IDS)
def test_a_2000_entry_chart_costs_the_queries_of_a_20_entry_one(params, doctor_client, doctor):
    check_flat(doctor_client, doctor.user, a_chart(20), a_chart(2000), params)
