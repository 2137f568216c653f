"""Property tests: the database's choice of candidates (waitlist.matching.candidates_for) is the rule written
out in Python (matching.fits), in rank order, for any freed time on any day: the days the clocks go forward
and back in Europe/London, 29 February, midnight, and time windows that straddle the missing or repeated hour."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patients.tests.factories import PatientFactory
from scheduling.tests.factories import AppointmentFactory
from staff.tests.factories import DoctorFactory, SpecialtyFactory
from waitlist.matching import candidates_for, count_for, fits, local_span
from waitlist.models import Urgency, WaitlistEntry
from waitlist.tests.factories import WaitlistEntryFactory

ZONE = "Europe/London"
# Europe/London: forward 29 March 2026 and 28 March 2027, back 25 October 2026 and 31 October 2027.
SPECIAL_DAYS = [date(2026, 3, 29), date(2026, 10, 25), date(2027, 3, 28), date(2027, 10, 31), date(2028, 2, 29)]
WINDOWS = [
    (None, None),
    (time(8), time(12)),
    (time(12), time(17)),
    (time(0, 30), time(3)),  # around the hour that is missing or repeated
    (time(1), time(2)),
    (None, time(1, 30)),
    (time(22), None),
]
WEEKDAYS = ["", "0", "06", "135", "24", "5", "0123456"]
NOT_BEFORE = [None, date(2026, 3, 29), date(2026, 10, 26), date(2027, 3, 28), date(2028, 2, 29)]

EXAMPLES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def freed_times():
    days = st.one_of(st.sampled_from(SPECIAL_DAYS), st.dates(date(2026, 1, 1), date(2028, 12, 31)))
    return st.tuples(days, st.integers(0, 24 * 60 - 5), st.sampled_from([5, 20, 45, 90]))


def utc_start(day, minutes):
    """`minutes` of elapsed time after the clinic's midnight (in UTC, so never a wall time that does not exist)."""
    midnight = timezone.make_aware(datetime.combine(day, time.min))
    return midnight.astimezone(UTC) + timedelta(minutes=minutes)


@pytest.fixture
def waiting(settings, db):
    """A doctor, a colleague of the same specialty, and entries with every kind of preference."""
    settings.TIME_ZONE = ZONE
    specialty = SpecialtyFactory(name="Physiotherapy")
    doctor, colleague = DoctorFactory(specialty=specialty), DoctorFactory(specialty=specialty)
    entries, added = [], timezone.now() - timedelta(days=60)
    for i, (window, weekdays, not_before) in enumerate(
        (w, d, n) for w in WINDOWS for d in WEEKDAYS[:4] for n in NOT_BEFORE[:3]
    ):
        # Every fourth patient also waits through a second entry (the previous one is for another doctor or
        # the specialty): named once, by the better-ranked entry that fits.
        who = (
            {"patient": entries[-1].patient}
            if i % 4 == 3
            else {"patient__first_name": ["Ōtsuka", "Žofie", "Ngọc"][i % 4]}
        )
        entry = WaitlistEntryFactory(
            doctor=[doctor, colleague, None][i % 3],
            specialty=specialty if i % 3 == 2 else None,
            time_from=window[0],
            time_to=window[1],
            weekdays=weekdays,
            not_before=not_before,
            urgency=[Urgency.ROUTINE, Urgency.URGENT, Urgency.SOON][i % 3 if i % 5 else 1],
            **who,
        )
        entries.append(entry)
    # Waiting since different days (ties broken by id): added_at is set on create, so moved afterwards.
    for i, entry in enumerate(entries):
        WaitlistEntry.objects.filter(pk=entry.pk).update(added_at=added + timedelta(hours=(i * 7) % 50))
    busy = entries[5]
    appointment = AppointmentFactory(patient=busy.patient, doctor=colleague, start=utc_start(SPECIAL_DAYS[0], 60))
    archived = WaitlistEntryFactory(doctor=doctor, patient=PatientFactory(is_archived=True))
    fresh = list(WaitlistEntry.objects.select_related("patient").order_by("urgency", "added_at", "pk"))
    return {"doctor": doctor, "entries": fresh, "busy": (appointment, busy.patient_id), "archived": archived}


def expected(waiting, doctor, start, end):
    appointment, busy_patient = waiting["busy"]
    overlapping = appointment.start < end and appointment.end > start
    busy = {busy_patient} if overlapping else set()
    found, named = [], set()
    for entry in waiting["entries"]:  # in rank order: a patient's first fitting entry is their best
        if fits(entry, doctor, start, end, busy_patient_ids=busy) and entry.patient_id not in named:
            named.add(entry.patient_id)
            found.append(entry.pk)
    return found


@EXAMPLES
@given(freed=freed_times())
def test_the_database_and_the_rule_agree_on_every_day(waiting, freed):
    day, minutes, length = freed
    start = utc_start(day, minutes)
    end = start + timedelta(minutes=length)
    doctor = waiting["doctor"]

    found = [c.entry.pk for c in candidates_for(doctor, start, end)]

    assert found == expected(waiting, doctor, start, end)
    assert count_for(doctor, start, end) == len(found)
    assert [c.entry.pk for c in candidates_for(doctor, start, end, limit=3)] == found[:3]
    assert waiting["archived"].pk not in found


@EXAMPLES
@given(freed=freed_times())
def test_every_candidate_fits_its_preferences_in_clinic_time(waiting, freed):
    day, minutes, length = freed
    start = utc_start(day, minutes)
    end = start + timedelta(minutes=length)
    weekday, local_day, start_time, end_time = local_span(start, end)
    ranks = []
    for candidate in candidates_for(waiting["doctor"], start, end):
        entry = candidate.entry
        assert not entry.weekdays or str(weekday) in entry.weekdays
        assert entry.time_from is None or entry.time_from <= start_time
        assert entry.time_to is None or end_time <= entry.time_to
        assert entry.not_before is None or entry.not_before <= local_day
        assert candidate.reason.startswith(entry.get_urgency_display().lower() + " · waiting ")
        ranks.append((entry.urgency, entry.added_at, entry.pk))
    assert ranks == sorted(ranks)


@pytest.mark.django_db
def test_the_hour_that_does_not_exist_and_the_one_that_repeats(settings):
    settings.TIME_ZONE = ZONE
    doctor = DoctorFactory()
    night = WaitlistEntryFactory(doctor=doctor, time_from=time(1), time_to=time(2, 30))
    # 28 March 2027: 01:00 GMT is 02:00 BST; a visit at 00:50 UTC is 00:50 local, at 01:10 UTC it is 02:10 BST.
    forward = datetime(2027, 3, 28, 1, 10, tzinfo=UTC)
    assert [c.entry for c in candidates_for(doctor, forward, forward + timedelta(minutes=20))] == [night]
    before = datetime(2027, 3, 28, 0, 50, tzinfo=UTC)
    assert candidates_for(doctor, before, before + timedelta(minutes=20)) == []
    # 31 October 2027: 01:00-02:00 local happens twice (BST then GMT); both fit a 01:00-02:30 window.
    for first in (datetime(2027, 10, 31, 0, 5, tzinfo=UTC), datetime(2027, 10, 31, 1, 5, tzinfo=UTC)):
        assert [c.entry for c in candidates_for(doctor, first, first + timedelta(minutes=20))] == [night]
