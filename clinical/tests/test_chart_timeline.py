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
from documents.tests.factories import make_document, make_image, photo_upload
from patients.tests.factories import PatientFactory
from scheduling.models import Appointment
from scheduling.tests.factories import AppointmentFactory, local
from staff.roles import NURSE, RECEPTIONIST
from staff.tests.factories import DoctorFactory, UserFactory

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


def tied_history(doctor):
    """Entries that share their times: a visit and its record, documents, photos and dated procedures at
    the start of the same day, an undated procedure and a plan entered at that very midnight; over
    three years, one of them a leap day and one the day the clocks go back."""
    patient = PatientFactory()
    days = [date(2024, 2, 29), date(2024, 11, 3), date(2025, 10, 26), date(2026, 1, 15), date(2026, 1, 16)]
    for n, day in enumerate(days):
        for hour in (9, 14):
            visit = AppointmentFactory(patient=patient, doctor=DoctorFactory(), start=local(day, hour))
            MedicalRecordFactory(patient=patient, author=doctor.user, appointment=visit, diagnosis=f"Dx {day} {hour}")
        make_document(patient, document_date=day, title=f"Letter {day}")
        make_document(patient, document_date=day, title=f"Result {day}")
        make_image(patient, taken_on=day, uploaded=photo_upload(size=(40, 30)))
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


def test_the_whole_timeline_is_newest_first_and_has_ties_of_every_kind(history, doctor):
    everything = every_entry(history, doctor.user)
    assert keys(everything.entries) == sorted(keys(everything.entries), reverse=True)
    assert {e.kind for e in everything.entries} == ENTRY_KINDS
    assert everything.total == len(everything.entries) == 5 * (2 + 3 + 2 + 1 + 1 + 1 + 1) + 2
    assert everything.years == [2026, 2025, 2024]
    whens = [e.when for e in everything.entries]
    assert len(whens) - len(set(whens)) > 20  # ties are the point of this history


@EXAMPLES
@given(
    limit=st.integers(1, 9),
    kind=st.sampled_from(["", *KINDS]),
    year=st.sampled_from([None, 2024, 2025, 2026, 2019]),
    plan_status=st.sampled_from(["", "active"]),
)
def test_paging_either_way_shows_every_entry_once_in_order(history, doctor, limit, kind, year, plan_status):
    filters = {"kinds": KINDS[kind][1] if kind else ENTRY_KINDS, "year": year, "plan_status": plan_status}
    expected = every_entry(history, doctor.user, **filters)
    walks = (walk_older(history, doctor.user, limit, **filters), walk_newer(history, doctor.user, limit, **filters))
    for pages in walks:
        seen = [e for page in pages for e in page.entries]
        assert keys(seen) == keys(expected.entries)
        assert all(page.total == expected.total for page in pages)
        # Each page knows its place: the entries before it and whether there are more either side.
        offsets = [page.offset for page in pages]
        assert offsets == [sum(len(p.entries) for p in pages[:i]) for i in range(len(pages))]
        assert not pages[0].has_newer and not pages[-1].has_older
    older = walk_older(history, doctor.user, limit, **filters)
    if expected.total:
        assert all(len(page.entries) == limit for page in older[:-1])
        # Back from any page: the page before it, exactly.
        for before, page in zip(older, older[1:], strict=False):
            back = chart_timeline(
                history, doctor.user, TimelineQuery(limit=limit, cursor=page.entries[0].key, newer=True, **filters)
            )
            assert keys(back.entries) == keys(before.entries) and back.offset == before.offset


def test_a_filtered_timeline_holds_only_that_kind_in_that_year(history, doctor):
    page = chart_timeline(history, doctor.user, TimelineQuery(kinds=KINDS["plans"][1], year=2025))
    assert {e.kind for e in page.entries} == {"plan", "procedure"}
    assert {timezone.localtime(e.when).year for e in page.entries} == {2025}
    assert page.years == [2026, 2025, 2024]  # every year stays to pick from


def test_documents_only_for_who_may_see_them(history, doctor):
    nurse = UserFactory(roles=[NURSE])
    reception = UserFactory(roles=[RECEPTIONIST])
    kinds = {who: {e.kind for e in every_entry(history, who).entries} for who in (doctor.user, nurse, reception)}
    assert {"document", "image"} <= kinds[doctor.user]
    # Whatever a role sees, the total counts exactly that.
    for who in (doctor.user, nurse, reception):
        everything = every_entry(history, who)
        assert everything.total == len(everything.entries)


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


def a_chart(entries):
    patient = PatientFactory()
    bulk_history(patient, DoctorFactory(), entries)
    make_document(patient, document_date=date(2025, 6, 1))
    make_image(patient, taken_on=date(2025, 6, 2), uploaded=photo_upload(size=(40, 30)))
    return patient


@pytest.fixture
def short_and_long():
    return a_chart(20), a_chart(2000)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"kind": "records"},
        {"year": "2024"},
        {"kind": "plans", "year": "2025", "plan_status": "draft"},
        {"oldest": "1"},
    ],
    ids=["newest", "records", "2024", "plans-2025-draft", "oldest"],
)
def test_a_2000_entry_chart_costs_the_queries_of_a_20_entry_one(params, short_and_long, doctor_client, doctor):
    short, long = short_and_long
    assert every_entry(long, doctor.user).total >= 2000
    urls = [reverse("clinical:chart", args=[p.pk]) for p in (short, long)]
    doctor_client.get(urls[0], params)  # warm-up
    (few, _, _), (many, took, response) = (measure(doctor_client, url, params) for url in urls)
    assert many == few, f"{few} queries for 20 entries, {many} for 2,000"
    assert few <= 25
    assert took < PAGE_BOUND_SECONDS, took
    # And deep in the long one: the page after the page after...
    for _ in range(3):
        if "older" not in response.context["pages"]:
            break
        deeper, took, response = measure(doctor_client, urls[1], link_params(response.context["pages"]["older"]))
        assert deeper == few and took < PAGE_BOUND_SECONDS
