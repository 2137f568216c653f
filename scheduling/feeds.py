"""A doctor's private calendar feed: /calendar/<secret>.ics, RFC 5545, for a phone's calendar app.

Calendar apps cannot sign in, so the secret in the address is the only key (staff.services makes and
revokes it; only its hash is stored). What a stolen link could show is therefore kept to the least a
doctor needs to recognise a slot: when, where, and the patient by initials and MRN. Never a name, the
reason for the visit, a diagnosis or any note: the queryset does not even load them.

The calendar is written with the icalendar library, which does RFC 5545's escaping, CRLF line endings and
75-octet line folding (without splitting a UTF-8 character).
"""

import hashlib
import unicodedata
from datetime import UTC, timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import caches
from django.http import Http404, HttpResponse, HttpResponseNotModified
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.text import slugify
from django.views.decorators.http import require_safe
from icalendar import Calendar, Event

from clinic.api_policy import FailedCredentials
from staff.services import calendar_feed_for_secret, record_feed_use

from .models import Appointment

# The window a phone keeps: a month of history, half a year ahead.
DAYS_BACK, DAYS_AHEAD = 30, 180
# A bound on the rows read per fetch, whatever a doctor's diary holds (about 30 a day, every day, fits).
MAX_EVENTS = 6000
# How often calendar apps are asked to fetch again (most take it as a hint).
REFRESH = timedelta(minutes=15)
# last_used_at is written at most this often: not a write per fetch.
USE_RECORDED_EVERY = timedelta(minutes=5)
# Fetches per feed per hour: apps poll every 15 minutes to hourly, from a few devices each.
FETCHES_PER_HOUR = 120
SECRET_LENGTH = 43  # secrets.token_urlsafe(32)

PRODID = "-//Clinic//Calendar feed//EN"
FORMAT = 1  # raise it when the feed is written differently, so calendar apps fetch it again
_STATUS = {
    Appointment.Status.SCHEDULED: "TENTATIVE",
    Appointment.Status.CANCELLED: "CANCELLED",  # phones remove the event they had
}
_SUFFIX = {Appointment.Status.CANCELLED: " · cancelled", Appointment.Status.NO_SHOW: " · no-show"}


def _initial(name):
    """The first letter of a name, with the marks that belong to it, as a capital where there is one.

    "Đặng Thị" gives "Đ", "O'Brien" "O", "-Anne" "A", "王" "王", "ǆuro" "ǅ" (a title-case letter)."""
    name = unicodedata.normalize("NFC", name)
    for index, char in enumerate(name):
        if unicodedata.category(char).startswith("L"):
            marks = ""
            for follower in name[index + 1 :]:
                if not unicodedata.category(follower).startswith("M"):
                    break
                marks += follower
            capital = char.title()
            # "ß".title() is "Ss": two letters would not be an initial.
            return (capital if len(capital) == 1 else char) + marks
    return ""


def initials(first_name, last_name):
    """ "J. S." for John Smith: one letter for each of the names that has one."""
    return " ".join(f"{letter}." for letter in map(_initial, (first_name, last_name)) if letter)


def patient_label(patient):
    """How the feed names a patient: "J. S. · MRN 000123" (initials only when there is no MRN yet)."""
    parts = [initials(patient.first_name, patient.last_name), f"MRN {patient.mrn}" if patient.mrn else ""]
    return " · ".join(part for part in parts if part) or "Patient"


def feed_appointments(doctor, now):
    """The doctor's appointments in the feed's window, in one query: only what the feed shows is loaded."""
    return (
        Appointment.objects.filter(
            doctor=doctor, start__gte=now - timedelta(days=DAYS_BACK), start__lt=now + timedelta(days=DAYS_AHEAD)
        )
        .select_related("patient")
        .only(
            "id", "start", "end", "status", "booked_at", "updated_at", "patient__first_name", "patient__last_name",
            "patient__mrn",
        )
        .order_by("start", "id")[:MAX_EVENTS]
    )  # fmt: skip


def _uid(appointment):
    # The same appointment keeps its UID for ever, so an edit updates the phone's event, never duplicates it.
    return f"appointment-{appointment.pk}@{slugify(settings.CLINIC_NAME) or 'clinic'}"


def _event(appointment, location, link):
    event = Event()
    event.add("uid", _uid(appointment))
    # With no METHOD, DTSTAMP is when the event last changed (RFC 5545 3.8.7.2): the same bytes until then.
    event.add("dtstamp", appointment.updated_at.astimezone(UTC))
    event.add("last-modified", appointment.updated_at.astimezone(UTC))
    event.add("created", appointment.booked_at.astimezone(UTC))
    # Grows with every change (seconds since booking), as SEQUENCE must.
    event.add("sequence", max(0, int((appointment.updated_at - appointment.booked_at).total_seconds())))
    event.add("dtstart", appointment.start.astimezone(UTC))
    event.add("dtend", appointment.end.astimezone(UTC))
    event.add("summary", patient_label(appointment.patient) + _SUFFIX.get(appointment.status, ""))
    event.add("status", _STATUS.get(appointment.status, "CONFIRMED"))
    event.add("transp", "TRANSPARENT" if appointment.status == Appointment.Status.CANCELLED else "OPAQUE")
    event.add("location", location)
    # Opens the appointment in the clinic's app (which asks the doctor to sign in).
    event.add("url", link(appointment))
    return event


def build_calendar(feed, appointments, *, base_url):
    doctor = feed.doctor
    name = f"{settings.CLINIC_NAME} — {doctor}"
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("name", name)  # RFC 7986
    calendar.add("x-wr-calname", name)  # what Apple's and Google's calendars read
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})  # RFC 7986
    calendar.add("x-published-ttl", REFRESH)
    for appointment in appointments:
        calendar.add_component(
            _event(
                appointment,
                settings.CLINIC_NAME,
                lambda a: base_url + reverse("scheduling:detail", args=[a.pk]),
            )
        )
    return calendar.to_ical()


def fingerprint(feed, appointments, base_url):
    """A digest of what the calendar is written from: it changes when (and only when) the bytes would."""
    digest = hashlib.sha256(f"{FORMAT}\x1f{settings.CLINIC_NAME}\x1f{feed.doctor}\x1f{base_url}".encode())
    for a in appointments:
        patient = a.patient
        fields = (a.pk, a.start, a.end, a.status, a.booked_at, a.updated_at, patient.first_name, patient.last_name)
        digest.update(f"\x1e{fields}\x1f{patient.mrn}".encode())
    return digest.hexdigest()[:32]


def _too_many(feed, now):
    """Counts this fetch in the feed's hour; True past the allowance (a link copied around, a broken app)."""
    cache = caches["api"]
    key = f"calendar-feed:{feed.pk}:{int(now.timestamp()) // 3600}"
    cache.add(key, 0, timeout=3600)
    try:
        return cache.incr(key) > FETCHES_PER_HOUR
    except ValueError:  # expired between add and incr: this is the hour's first fetch
        return False


def _refused(wait_seconds):
    response = HttpResponse("Too many requests for this calendar; try again later.\n", status=429)
    response["Content-Type"] = "text/plain; charset=utf-8"
    response["Retry-After"] = str(max(1, int(wait_seconds)))
    return response


@login_not_required  # a calendar app cannot sign in: the secret in the address is the key
@require_safe
def doctor_feed(request, secret):
    request.log_path = reverse("feeds:doctor", args=["<secret>"])  # the secret is a key: not for the logs
    failures = FailedCredentials()
    if failures.history_full(request):  # this address has been guessing: answer nothing more for a while
        return _refused(failures.wait() or 60)
    feed = calendar_feed_for_secret(secret) if len(secret) == SECRET_LENGTH else None
    if feed is None:
        failures.allow_request(request, None)  # counts this miss
        raise Http404("No such calendar.")  # unknown, revoked or a deactivated doctor's: one answer
    now = timezone.now()
    if _too_many(feed, now):
        return _refused(3600 - int(now.timestamp()) % 3600)
    if feed.last_used_at is None or now - feed.last_used_at > USE_RECORDED_EVERY:
        record_feed_use(feed, now)

    appointments = list(feed_appointments(feed.doctor, now))
    base_url = request.build_absolute_uri("/").rstrip("/")
    # The ETag is a digest of everything the calendar is written from, so an unchanged diary is answered 304
    # before the calendar is written (writing it is most of a fetch's time: about 1 ms an event).
    etag = f'"{fingerprint(feed, appointments, base_url)}"'
    if etag in [tag.strip().removeprefix("W/") for tag in request.headers.get("If-None-Match", "").split(",")]:
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(
            build_calendar(feed, appointments, base_url=base_url), content_type="text/calendar; charset=utf-8"
        )
        response["Content-Disposition"] = 'inline; filename="appointments.ics"'
    response["ETag"] = etag
    # Only the doctor's own device may keep it; it asks again each time (a 304 is cheap).
    patch_cache_control(response, private=True, no_cache=True)
    response["X-Robots-Tag"] = "noindex"
    return response
