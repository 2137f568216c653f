"""The chart's summary: which medications are current (signed records only, durations, superseding),
the vital signs' last readings with their trend, and the dates they show in the clinic's time zone."""

import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from clinical import services
from clinical.models import Amendment
from clinical.summary import DOWN, STEADY, UP, VITALS, current_medications, last_day, trend, vital_trends
from clinical.tests.factories import AmendmentFactory, MedicalRecordFactory, MedicationFactory
from clinical.tests.pages import text
from patients.tests.factories import AllergyFactory, ConditionFactory, PatientFactory
from scheduling.tests.factories import AppointmentFactory, local
from staff.tests.factories import DoctorFactory

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
TODAY = date(2026, 3, 10)
EXAMPLES = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def at(day, hour=10, minute=0):
    return local(day, hour, minute)


def prescribe(patient, author, when, *drugs, **fields):
    """A record written and signed at `when`, a medication row for each (drug, duration)."""
    with time_machine.travel(when, tick=False):
        record = MedicalRecordFactory(patient=patient, author=author, **fields)
        for drug, duration in drugs:
            MedicationFactory(record=record, drug=drug, duration=duration)
        return services.sign_record(record=record, by=author, acknowledge_allergies=True)


def current(patient, today=TODAY):
    return {(c.medication.drug, c.started, c.until) for c in current_medications(patient, today=today)}


# --- durations ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("duration", "expected"),
    [
        ("7 days", date(2026, 3, 8)),  # Monday to Sunday
        ("1 day", date(2026, 3, 2)),
        ("for 10 days", date(2026, 3, 11)),
        ("2 weeks", date(2026, 3, 15)),
        ("two weeks", date(2026, 3, 15)),
        ("a week", date(2026, 3, 8)),
        ("1 month", date(2026, 4, 1)),
        ("3 months", date(2026, 6, 1)),
        ("1 year", date(2027, 3, 1)),
        ("5-7 days", date(2026, 3, 8)),  # a range runs to its longer end
        ("5 to 7 days", date(2026, 3, 8)),
        ("10/7", date(2026, 3, 11)),  # UK shorthand: days, weeks, months
        ("2/52", date(2026, 3, 15)),
        ("3/12", date(2026, 6, 1)),
        ("7D", date(2026, 3, 8)),
        ("  7   Days. ", date(2026, 3, 8)),
        ("stat", date(2026, 3, 2)),
        ("single dose", date(2026, 3, 2)),
        ("0 days", date(2026, 3, 2)),
        ("", None),
        ("ongoing", None),
        ("Long-term", None),
        ("regular", None),
        ("until review", None),  # unreadable: no end, the text is shown as written
        ("as directed", None),
    ],
)
def test_a_duration_gives_the_last_day_it_is_taken(duration, expected):
    assert last_day(date(2026, 3, 2), duration) == expected


@pytest.mark.parametrize(
    ("started", "duration", "expected"),
    [
        (date(2026, 1, 31), "1 month", date(2026, 2, 27)),  # to the 28th, the last day the one before
        (date(2028, 1, 31), "1 month", date(2028, 2, 28)),  # leap year
        (date(2028, 2, 29), "1 year", date(2029, 2, 27)),
        (date(2028, 2, 29), "1 day", date(2028, 2, 29)),
        (date(2028, 2, 28), "2 days", date(2028, 2, 29)),
        (date(2026, 12, 31), "1 day", date(2026, 12, 31)),
        (date(9999, 12, 1), "3 months", date.max),  # beyond the calendar: no crash
        (date(9999, 12, 25), "30 days", date.max),
    ],
)
def test_durations_across_month_ends_leap_days_and_the_end_of_the_calendar(started, duration, expected):
    assert last_day(started, duration) == expected


@given(started=st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)), duration=st.text(max_size=30))
@settings(max_examples=300, deadline=None, derandomize=True)
def test_any_duration_text_gives_a_day_on_or_after_the_start_or_no_end(started, duration):
    end = last_day(started, duration)
    assert end is None or end >= started


@given(started=st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)), days=st.integers(1, 400))
@settings(max_examples=200, deadline=None, derandomize=True)
def test_n_days_is_taken_on_exactly_n_days(started, days):
    assert last_day(started, f"{days} days") - started == timedelta(days=days - 1)
    assert last_day(started, f"{days}/7") == last_day(started, f"{days} days")


# --- current medications --------------------------------------------------------------------------


@pytest.fixture
def doctor():
    return DoctorFactory(user__first_name="Ada", user__last_name="Mensah").user


def test_a_course_is_current_through_its_last_day_and_not_after(doctor):
    patient = PatientFactory()
    prescribe(patient, doctor, at(date(2026, 3, 2)), ("Amoxicillin", "7 days"))
    assert current(patient, date(2026, 3, 8)) == {("Amoxicillin", date(2026, 3, 2), date(2026, 3, 8))}
    assert current(patient, date(2026, 3, 9)) == set()


def test_no_duration_is_current_until_a_later_record_prescribes_the_drug_again(doctor):
    patient = PatientFactory()
    prescribe(patient, doctor, at(date(2020, 5, 1)), ("Metformin", ""), ("Ramipril", "long-term"))
    assert current(patient) == {("Metformin", date(2020, 5, 1), None), ("Ramipril", date(2020, 5, 1), None)}
    # Stopped with a one-week wean: the newest prescription decides, and it has run out.
    prescribe(patient, doctor, at(date(2026, 1, 5)), ("metformin ", "1 week"))
    assert current(patient) == {("Ramipril", date(2020, 5, 1), None)}


def test_a_later_prescription_of_the_same_drug_supersedes_the_earlier_whatever_its_spelling(doctor):
    patient = PatientFactory()
    prescribe(patient, doctor, at(date(2026, 1, 10)), ("Prednisolone", "3 months"))
    prescribe(patient, doctor, at(date(2026, 2, 20)), ("PREDNISOLONE", "2 months"))
    assert current(patient) == {("PREDNISOLONE", date(2026, 2, 20), date(2026, 4, 19))}


def test_rows_of_one_drug_in_one_record_stand_together(doctor):
    patient = PatientFactory()
    prescribe(patient, doctor, at(date(2026, 3, 9)), ("Prednisolone", "5 days"), ("Prednisolone", "10 days"))
    assert len(current_medications(patient, today=TODAY)) == 2


def test_drafts_are_not_prescriptions(doctor):
    patient = PatientFactory()
    draft = MedicalRecordFactory(patient=patient, author=doctor)
    MedicationFactory(record=draft, drug="Warfarin", duration="")
    assert current(patient) == set()
    # Nor does a draft supersede a signed prescription.
    prescribe(patient, doctor, at(date(2025, 1, 1)), ("Warfarin", ""))
    later_draft = MedicalRecordFactory(patient=patient, author=doctor)
    MedicationFactory(record=later_draft, drug="Warfarin", duration="1 day")
    assert current(patient) == {("Warfarin", date(2025, 1, 1), None)}


def test_start_date_is_the_signing_day_and_the_prescriber_the_author(doctor):
    patient = PatientFactory()
    # Written on Monday, signed on Wednesday: the prescription's date is the signature's.
    with time_machine.travel(at(date(2026, 3, 2)), tick=False):
        record = MedicalRecordFactory(patient=patient, author=doctor)
        MedicationFactory(record=record, drug="Ramipril", duration="", strength="5 mg", frequency="once daily")
    with time_machine.travel(at(date(2026, 3, 4), 23, 30), tick=False):
        services.sign_record(record=record, by=doctor)
    [med] = current_medications(patient, today=TODAY)
    assert (med.started, med.prescriber, med.record) == (date(2026, 3, 4), doctor, record)
    assert not med.amended
    AmendmentFactory(record=record, section=Amendment.Section.MEDICATIONS, text="Ramipril stopped: cough")
    assert current_medications(patient, today=TODAY)[0].amended


def test_another_patients_prescriptions_stay_on_their_chart(doctor):
    patient, other = PatientFactory(), PatientFactory()
    prescribe(other, doctor, at(date(2026, 3, 1)), ("Insulin", ""))
    prescribe(patient, doctor, at(date(2026, 3, 2)), ("Insulin", "1 day"))
    assert current(other) == {("Insulin", date(2026, 3, 1), None)}
    assert current(patient) == set()


# --- vital signs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("newer", "older", "tolerance", "expected"),
    [
        ((Decimal("37.9"),), (Decimal("37.0"),), Decimal("0.3"), UP),
        ((Decimal("37.1"),), (Decimal("37.0"),), Decimal("0.3"), STEADY),
        ((Decimal("36.6"),), (Decimal("37.0"),), Decimal("0.3"), DOWN),
        ((72,), (80,), Decimal(5), DOWN),
        ((140, 80), (120, 80), Decimal(5), UP),  # systolic first
        ((122, 70), (120, 80), Decimal(5), DOWN),  # systolic steady, diastolic fell
        ((122, None), (120, 80), Decimal(5), STEADY),
    ],
)
def test_trend_arrows(newer, older, tolerance, expected):
    assert trend(newer, older, tolerance) == expected


def record_vitals(patient, author, when, appointment=None, **vitals):
    with time_machine.travel(when, tick=False):
        return MedicalRecordFactory(patient=patient, author=author, appointment=appointment, **vitals)


def test_the_last_five_readings_of_each_vital_newest_first_with_their_trend(doctor):
    patient = PatientFactory()
    pulses = [88, 80, 81, 70, 90, 93, 60]  # oldest first; the two oldest fall off
    for i, pulse in enumerate(pulses):
        record_vitals(patient, doctor, at(date(2026, 1, 1) + timedelta(days=i)), pulse=pulse)
    # Weight is taken rarely: its readings come from far back, behind many pulse-only records.
    record_vitals(patient, doctor, at(date(2025, 6, 1)), weight_kg=Decimal("81.0"))
    record_vitals(patient, doctor, at(date(2025, 7, 1)), weight_kg=Decimal("80.2"), bp_systolic=150, bp_diastolic=95)
    record_vitals(patient, doctor, at(date(2025, 12, 31)), temperature=Decimal("38.4"))
    record_vitals(patient, doctor, at(date(2026, 2, 1)), temperature=Decimal("37.0"), weight_kg=Decimal("82.0"))
    record_vitals(PatientFactory(), doctor, at(date(2026, 3, 1)), pulse=200)  # someone else's

    trends = {vital.name: readings for vital, readings in vital_trends(patient).items()}

    assert [(r.value, r.trend) for r in trends["Pulse"]] == [
        ("60", DOWN),
        ("93", STEADY),
        ("90", UP),
        ("70", DOWN),
        ("81", ""),
    ]
    assert trends["Pulse"][0].day == date(2026, 1, 7)
    assert [(r.value, r.trend, r.day) for r in trends["Weight"]] == [
        ("82.0", UP, date(2026, 2, 1)),
        ("80.2", DOWN, date(2025, 7, 1)),
        ("81.0", "", date(2025, 6, 1)),
    ]
    assert [(r.value, r.trend) for r in trends["Temperature"]] == [("37.0", DOWN), ("38.4", "")]
    assert [r.value for r in trends["Blood pressure"]] == ["150/95"]
    assert [v.name for v in VITALS] == list(trends)


def test_a_visits_vitals_are_dated_by_the_visit_drafts_included(doctor):
    patient = PatientFactory()
    visit = AppointmentFactory(patient=patient, start=at(date(2026, 2, 3), 9))
    record_vitals(patient, doctor, at(date(2026, 2, 5)), appointment=visit, bp_systolic=130, bp_diastolic=85)
    [reading] = vital_trends(patient)[VITALS[0]]
    assert (reading.value, reading.day) == ("130/85", date(2026, 2, 3))


# --- dates in the clinic's time zone, whatever the time of day ------------------------------------

# Instants around leap days and the days London's clocks change, at any minute of the day.
AWKWARD_DAYS = [date(2024, 2, 29), date(2028, 2, 29), date(2026, 3, 29), date(2026, 10, 25), date(2025, 12, 31)]
instants = st.one_of(
    st.builds(
        lambda day, minutes: datetime.combine(day, time(), tzinfo=UTC) + timedelta(minutes=minutes),
        st.sampled_from(AWKWARD_DAYS),
        st.integers(-180, 26 * 60),
    ),
    st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)),
)


@EXAMPLES
@given(written=instants)
def test_the_local_date_of_a_record_is_what_the_summary_and_the_page_show(doctor, client, written, settings):
    settings.TIME_ZONE = "Europe/London"
    local_day = written.astimezone(LONDON).date()
    patient = PatientFactory()
    record = prescribe(patient, doctor, written, ("Bisoprolol", ""), pulse=64)

    [med] = current_medications(patient, today=local_day)
    [reading] = vital_trends(patient)[VITALS[1]]
    assert med.started == local_day == reading.day == timezone.localdate(record.signed_at)

    client.force_login(doctor)
    body = text(client.get(reverse("clinical:chart", args=[patient.pk])))
    shown = f"{local_day.day} {local_day:%b %Y}"
    assert f'since <a href="{record.get_absolute_url()}">{shown}</a>' in body
    assert f'<time datetime="{local_day:%Y-%m-%d}">{shown}</time>' in body
    # And on the timeline, the record sits on that day too.
    assert re.search(rf'">{shown}</time>\s+<span class="kind">Record</span>', body)


# --- the page -------------------------------------------------------------------------------------


def test_the_chart_opens_with_the_banner_the_medications_and_the_vitals(doctor, client):
    patient = PatientFactory()
    AllergyFactory(patient=patient, substance="Penicillin", severity="severe", reaction="hives")
    ConditionFactory(patient=patient, name="Hypertension", icd10_code="I10")
    prescribe(
        patient, doctor, timezone.now() - timedelta(days=40), ("Amlodipine", ""), bp_systolic=150, bp_diastolic=92
    )
    prescribe(patient, doctor, timezone.now() - timedelta(days=2), ("Amoxicillin", "7 days"), bp_systolic=138)
    prescribe(patient, doctor, timezone.now() - timedelta(days=30), ("Clarithromycin", "7 days"))
    client.force_login(doctor)

    body = text(client.get(reverse("clinical:chart", args=[patient.pk])))

    assert "Allergies: <strong>Penicillin</strong> (severe: hives)" in body
    assert "<strong>Hypertension</strong> <code>I10</code>" in body
    assert "<strong>Amlodipine</strong>" in body and "no end date" in body and "Ada Mensah" in body
    assert "<strong>Amoxicillin</strong>" in body and "Clarithromycin" not in body.split('id="timeline"')[0]
    assert '138/–</span> <span class="trend trend-down" aria-hidden="true">↓</span>' in body
    assert "Not recorded" in body  # no weight yet


def test_an_empty_chart_says_so(doctor, client):
    client.force_login(doctor)
    body = text(client.get(reverse("clinical:chart", args=[PatientFactory().pk])))
    assert "No current medications on signed records." in body
    assert "Allergies not yet recorded" in body
    assert "Nothing charted yet." in body


def test_current_medications_are_in_name_order_numbers_as_numbers(doctor):
    patient = PatientFactory()
    drugs = ["Vitamin B12", "aspirin", "Vitamin B6", "Zinc", "Ácido fólico"]
    prescribe(patient, doctor, at(date(2026, 3, 1)), *[(drug, "") for drug in drugs])
    shown = [c.medication.drug for c in current_medications(patient, today=TODAY)]
    assert shown == ["Ácido fólico", "aspirin", "Vitamin B6", "Vitamin B12", "Zinc"]
