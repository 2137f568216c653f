"""A doctor's calendar feed (/calendar/<secret>.ics): valid RFC 5545 read by two parsers, the right events at the
right UTC times across the clocks' changes, no patient name or clinical word in its bytes, and only for a live
secret."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from clinic.api_policy import FailedCredentials
from patients.tests.factories import PatientFactory
from scheduling import feeds
from scheduling.tests.factories import AppointmentFactory, local
from staff import services as staff_services
from staff.models import CalendarFeed
from staff.tests.factories import DoctorFactory

pytestmark = pytest.mark.django_db

CONTENT_LINE = re.compile(r"^[A-Za-z0-9-]+(;[A-Za-z0-9-]+=(\"[^\"]*\"|[^\";:,]*)(,(\"[^\"]*\"|[^\";:,]*))*)*:.*$")


def make_feed(doctor=None):
    doctor = doctor or DoctorFactory(user__first_name="Ada", user__last_name="Okafor")
    feed, secret = staff_services.create_calendar_feed(doctor=doctor, by=doctor.user)
    return feed, secret, reverse("feeds:doctor", args=[secret])


def events_of(response):
    calendar = Calendar.from_ical(response.content)
    return calendar, {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def unfolded_lines(body: bytes):
    """RFC 5545 3.1, read by hand: the second, independent parser of the feed's bytes."""
    text = body.decode("utf-8")  # UTF-8 throughout (3.1.4)
    assert text.endswith("\r\n")
    physical = text[:-2].split("\r\n")
    assert all("\n" not in line and "\r" not in line for line in physical), "a bare LF or CR"
    assert all(len(line.encode()) <= 75 for line in physical), "a line longer than 75 octets"
    logical = []
    for line in physical:
        if line.startswith((" ", "\t")):
            logical[-1] += line[1:]
        else:
            logical.append(line)
    return logical


def components(lines):
    """[(name, {property: [values]})] of each component, with BEGIN/END checked to nest."""
    stack, found = [], []
    for line in lines:
        assert CONTENT_LINE.match(line), line
        name, _, value = line.partition(":")
        name = name.split(";")[0].upper()
        if name == "BEGIN":
            stack.append((value, {}))
        elif name == "END":
            assert stack and stack[-1][0] == value, f"END:{value} closes {stack[-1][0] if stack else 'nothing'}"
            found.append(stack.pop())
        else:
            stack[-1][1].setdefault(name, []).append(value)
    assert stack == []
    return found


# --- the calendar ------------------------------------------------------------------------------------


def test_the_feed_is_rfc_5545_read_by_icalendar_and_by_hand(anonymous):
    feed, _secret, url = make_feed()
    doctor = feed.doctor
    now = timezone.now()
    booked = {
        "scheduled": AppointmentFactory(doctor=doctor, start=now + timedelta(days=2)),
        "confirmed": AppointmentFactory(doctor=doctor, start=now + timedelta(days=3), status="confirmed"),
        "cancelled": AppointmentFactory(doctor=doctor, start=now + timedelta(days=4), status="cancelled"),
        "no_show": AppointmentFactory(doctor=doctor, start=now - timedelta(days=4), status="no_show"),
        "completed": AppointmentFactory(doctor=doctor, start=now - timedelta(days=29), status="completed"),
    }
    AppointmentFactory(doctor=doctor, start=now - timedelta(days=31), status="completed")  # before the window
    AppointmentFactory(doctor=doctor, start=now + timedelta(days=181))  # after it
    AppointmentFactory(start=now + timedelta(days=2))  # another doctor's

    response = anonymous.get(url)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert "private" in response["Cache-Control"]
    calendar, events = events_of(response)
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"]) == feeds.PRODID
    assert str(calendar["X-WR-CALNAME"]) == f"{settings.CLINIC_NAME} — Dr Ada Okafor"
    assert calendar["REFRESH-INTERVAL"].dt == timedelta(minutes=15)
    slug = settings.CLINIC_NAME.lower().replace(" ", "-")
    assert set(events) == {f"appointment-{a.pk}@{slug}" for a in booked.values()}
    status = {key: str(events[f"appointment-{a.pk}@{slug}"]["STATUS"]) for key, a in booked.items()}
    assert status == {
        "scheduled": "TENTATIVE",
        "confirmed": "CONFIRMED",
        "cancelled": "CANCELLED",
        "no_show": "CONFIRMED",
        "completed": "CONFIRMED",
    }
    for appointment in booked.values():
        event = events[f"appointment-{appointment.pk}@{slug}"]
        assert event["DTSTART"].dt == appointment.start.replace(microsecond=0)
        assert event["DTSTART"].dt.utcoffset() == event["DTEND"].dt.utcoffset() == timedelta(0)
        assert event["DTEND"].dt == appointment.end.replace(microsecond=0)
        assert str(event["LOCATION"]) == settings.CLINIC_NAME
        assert str(event["SUMMARY"]).startswith(feeds.patient_label(appointment.patient))
        assert event["DTSTAMP"].dt == appointment.updated_at.replace(microsecond=0)
        assert event["URL"].endswith(reverse("scheduling:detail", args=[appointment.pk]))

    # The same bytes, read by hand.
    found = components(unfolded_lines(response.content))
    calendars = [props for name, props in found if name == "VCALENDAR"]
    vevents = [props for name, props in found if name == "VEVENT"]
    assert len(calendars) == 1 and len(vevents) == len(booked)
    assert calendars[0]["VERSION"] == ["2.0"] and len(calendars[0]["PRODID"]) == 1
    for props in vevents:
        for once in ("UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "STATUS", "SEQUENCE"):
            assert len(props[once]) == 1, once
        assert re.fullmatch(r"\d{8}T\d{6}Z", props["DTSTART"][0])


def test_long_unicode_lines_are_folded_within_75_octets_without_splitting_a_character(anonymous, settings):
    settings.CLINIC_NAME = "Phòng khám Đa khoa Quốc tế Sài Gòn — Χριστοδούλου και Συνεργάτες — 王医生诊所"
    doctor = DoctorFactory(user__first_name="Đặng Thị", user__last_name="Hoa-Χριστοδούλου")
    _feed, _secret, url = make_feed(doctor)
    AppointmentFactory(doctor=doctor, patient=PatientFactory(first_name="Ǆemal", last_name="王"))
    response = anonymous.get(url)
    lines = unfolded_lines(response.content)  # checks the octets, and decodes as UTF-8
    assert f"X-WR-CALNAME:{settings.CLINIC_NAME} — Dr Đặng Thị Hoa-Χριστοδούλου" in lines
    assert any(line.startswith("SUMMARY:ǅ. 王. · MRN ") for line in lines)


def test_no_patient_name_reason_or_note_is_in_the_feed(anonymous):
    feed, _secret, url = make_feed()
    patient = PatientFactory(first_name="Wilhelmina", last_name="Xanthopoulou", notes="Prefers mornings; deaf left ear")
    AppointmentFactory(doctor=feed.doctor, patient=patient, reason="Suspected melanoma, biopsy results")
    AppointmentFactory(
        doctor=feed.doctor,
        patient=patient,
        start=timezone.now() + timedelta(days=5),
        status="cancelled",
        cancellation_reason="Admitted for chemotherapy",
    )
    body = anonymous.get(url).content
    unfolded = "\n".join(unfolded_lines(body)).lower()
    for secret_word in ("Wilhelmina", "Xanthopoulou", "melanoma", "biopsy", "mornings", "deaf", "chemotherapy"):
        assert secret_word.lower().encode() not in body.lower()
        assert secret_word.lower() not in unfolded  # nor split across a folded line
    assert f"SUMMARY:W. X. · MRN {patient.mrn}".lower() in unfolded


def test_an_edit_updates_the_same_event(anonymous):
    feed, _secret, url = make_feed()
    appointment = AppointmentFactory(doctor=feed.doctor)
    first = events_of(anonymous.get(url))[1]
    with time_machine.travel(timezone.now() + timedelta(minutes=1)):
        appointment.start += timedelta(hours=2)
        appointment.end += timedelta(hours=2)
        appointment.save()
        second = events_of(anonymous.get(url))[1]
    assert list(first) == list(second)  # one event, the same UID
    (uid,) = second
    assert second[uid]["DTSTART"].dt == appointment.start.replace(microsecond=0)
    assert second[uid]["SEQUENCE"] > first[uid]["SEQUENCE"]
    assert second[uid]["LAST-MODIFIED"].dt > first[uid]["LAST-MODIFIED"].dt


# Europe/London: the clocks go forward on 28 March 2027 and back on 31 October 2027; 2028 is a leap year.
@pytest.mark.parametrize(
    ("day", "utc_hour"),
    [
        (date(2027, 3, 27), 9),
        (date(2027, 3, 28), 8),
        (date(2027, 3, 29), 8),
        (date(2027, 10, 30), 8),
        (date(2027, 10, 31), 9),
        (date(2027, 11, 1), 9),
        (date(2028, 2, 29), 9),
    ],
)
def test_nine_o_clock_in_london_is_the_right_utc_time_around_the_clock_changes(anonymous, settings, day, utc_hour):
    settings.TIME_ZONE = "Europe/London"
    with time_machine.travel(datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(days=10), tick=False):
        feed, _secret, url = make_feed()
        appointment = AppointmentFactory(doctor=feed.doctor, start=local(day, 9))
        response = anonymous.get(url)
    event = events_of(response)[1].popitem()[1]
    assert event["DTSTART"].dt == datetime(day.year, day.month, day.day, utc_hour, tzinfo=UTC)
    assert event["DTEND"].dt == appointment.end
    assert f"\r\nDTSTART:{day:%Y%m%d}T{utc_hour:02d}0000Z\r\n".encode() in response.content


def test_the_query_count_does_not_grow_with_the_appointments(anonymous):
    feed, _secret, url = make_feed()
    AppointmentFactory(doctor=feed.doctor)
    anonymous.get(url)  # the first fetch records last_used_at: not what is measured

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert anonymous.get(url).status_code == 200
        return len(captured)

    few = queries()
    now = timezone.now()
    for n in range(40):
        AppointmentFactory(doctor=feed.doctor, start=now + timedelta(days=1 + n // 10, hours=n % 10))
    assert queries() == few
    assert 2 <= few <= 3  # the feed with its doctor, the appointments with their patients (and last_used_at)


def test_the_events_read_are_bounded(anonymous, monkeypatch):
    monkeypatch.setattr(feeds, "MAX_EVENTS", 3)
    feed, _secret, url = make_feed()
    now = timezone.now()
    for n in range(5):
        AppointmentFactory(doctor=feed.doctor, start=now + timedelta(days=n + 1))
    assert len(events_of(anonymous.get(url))[1]) == 3


# --- polls ---------------------------------------------------------------------------------------------


def test_a_poll_with_the_same_etag_gets_304_until_something_changes(anonymous):
    feed, _secret, url = make_feed()
    appointment = AppointmentFactory(doctor=feed.doctor)
    first = anonymous.get(url)
    etag = first["ETag"]
    again = anonymous.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == etag
    with time_machine.travel(timezone.now() + timedelta(minutes=1)):
        services_cancel(appointment)
        changed = anonymous.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert anonymous.get(url, headers={"If-None-Match": f'"other", W/{changed["ETag"]}'}).status_code == 304


def services_cancel(appointment):
    from scheduling import services

    services.cancel_appointment(appointment=appointment, by=appointment.booked_by, reason="Patient rang")


def test_last_used_is_written_at_most_every_five_minutes(anonymous):
    feed, _secret, url = make_feed()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        anonymous.get(url)
    with time_machine.travel(start + timedelta(minutes=4), tick=False):
        anonymous.get(url)
    feed.refresh_from_db()
    assert feed.last_used_at == start
    with time_machine.travel(start + timedelta(minutes=6), tick=False):
        anonymous.get(url)
    feed.refresh_from_db()
    assert feed.last_used_at == start + timedelta(minutes=6)


def test_a_feed_fetched_too_often_is_answered_429_for_the_rest_of_the_hour(anonymous, monkeypatch):
    monkeypatch.setattr(feeds, "FETCHES_PER_HOUR", 2)
    _feed, _secret, url = make_feed()
    assert [anonymous.get(url).status_code for _ in range(3)] == [200, 200, 429]
    refused = anonymous.get(url)
    assert 0 < int(refused["Retry-After"]) <= 3600
    other = make_feed()[2]
    assert anonymous.get(other).status_code == 200  # counted per feed


def test_an_address_guessing_secrets_is_refused_after_a_few(anonymous, monkeypatch):
    monkeypatch.setattr(FailedCredentials, "rate", "3/min", raising=False)
    _feed, _secret, url = make_feed()
    guesses = [anonymous.get(reverse("feeds:doctor", args=["x" * 43])).status_code for _ in range(4)]
    assert guesses == [404, 404, 404, 429]
    assert anonymous.get(url).status_code == 429  # even a right one, until the minute is over


# --- only a live secret -------------------------------------------------------------------------------


def test_unknown_revoked_and_malformed_secrets_get_the_same_404(anonymous):
    feed, secret, url = make_feed()
    assert anonymous.get(url).status_code == 200
    staff_services.revoke_calendar_feed(feed=feed, by=feed.doctor.user)
    answers = [
        anonymous.get(url),
        anonymous.get(reverse("feeds:doctor", args=[secret[:-1] + ("A" if secret[-1] != "A" else "B")])),
        anonymous.get(reverse("feeds:doctor", args=["short"])),
        anonymous.get(reverse("feeds:doctor", args=[secret + "x"])),
    ]
    assert [answer.status_code for answer in answers] == [404] * 4
    assert len({answer.content for answer in answers}) == 1


def test_a_new_link_stops_the_old_one(anonymous):
    feed, _secret, old_url = make_feed()
    _new, _secret2, new_url = make_feed(feed.doctor)
    assert anonymous.get(old_url).status_code == 404
    assert anonymous.get(new_url).status_code == 200
    assert CalendarFeed.objects.filter(doctor=feed.doctor, revoked_at__isnull=True).count() == 1


@pytest.mark.parametrize("who", ["doctor", "account"])
def test_a_deactivated_doctor_s_feed_stops(anonymous, who):
    feed, _secret, url = make_feed()
    target = feed.doctor if who == "doctor" else feed.doctor.user
    target.is_active = False
    target.save()
    assert anonymous.get(url).status_code == 404
    target.is_active = True
    target.save()
    assert anonymous.get(url).status_code == 200  # reactivated: the link had not been revoked


def test_the_feed_reads_nothing_but_its_own_safe_methods(anonymous):
    _feed, _secret, url = make_feed()
    assert anonymous.head(url).status_code == 200
    assert anonymous.post(url).status_code in (403, 405)  # CSRF refuses it first, or the method does


def test_the_secret_is_not_written_to_the_access_log(anonymous, caplog):
    _feed, secret, url = make_feed()
    with caplog.at_level("INFO", logger="clinic.access"):
        assert anonymous.get(url).status_code == 200
    lines = [record.getMessage() for record in caplog.records if record.name == "clinic.access"]
    assert lines and all(secret not in line for line in lines)
    # The view's own stand-in, then the log filter (clinic.logs.HideSecretsInPaths) writes every secret alike.
    assert " /calendar/<token> 200 " in lines[0]


def test_a_304_is_answered_without_writing_the_calendar(anonymous, monkeypatch, settings):
    feed, _secret, url = make_feed()
    appointment = AppointmentFactory(doctor=feed.doctor)
    etag = anonymous.get(url)["ETag"]

    def not_written(*args, **kwargs):
        raise AssertionError("the calendar was written for a 304")

    with monkeypatch.context() as patched:
        patched.setattr(feeds, "build_calendar", not_written)
        assert anonymous.get(url, headers={"If-None-Match": etag}).status_code == 304
    # What the bytes are written from, each on its own, changes the ETag: a patient's new name (initials) ...
    appointment.patient.first_name = "Zed"
    appointment.patient.save()
    renamed = anonymous.get(url, headers={"If-None-Match": etag})
    assert renamed.status_code == 200 and renamed["ETag"] != etag
    # ... and the clinic's name.
    settings.CLINIC_NAME = "Another Clinic"
    assert anonymous.get(url, headers={"If-None-Match": renamed["ETag"]}).status_code == 200
