"""A clinic's day under load: receptionists and doctors signed in as the demo accounts.

Run by `make loadtest` (loadtest/run.sh) against a throwaway local gunicorn with demo data;
by hand, against a clinic with demo data:
`locust -f loadtest/locustfile.py --headless -u 20 -r 5 -t 60s --host http://127.0.0.1:8011`.

Receptionists (two for every doctor) open today's board and the day calendar, search patients,
open patients and appointments, look for free slots, and now and then book one through the
free-slot finder, as a person does; a third of what they book they cancel again. Doctors open
My day, charts and medical records. Each simulated user signs in once, at its start.

A request fails when the server errs (5xx), the connection does, the answer is not the page
asked for (a 4xx, a trip back to the sign-in page, a page without its title), or a form is
refused. One refusal is the application working, not failing: a booking whose slot another
receptionist took a moment earlier answers with the form and "just taken" / "already has an
appointment"; those are counted apart (see the summary), as the double-booking guard at work.
"""

import html
import os
import random
import re
from datetime import date, timedelta
from urllib.parse import parse_qsl, urlencode

from locust import HttpUser, between, events, task
from locust.exception import StopUser
from locust.stats import StatsEntry

PASSWORD = os.environ.get("LOADTEST_PASSWORD", "clinic-demo")
LOGIN_URL = "/accounts/login/"
# Partial, accent-free and mixed-case queries, as typed at a front desk (the demo's names).
SEARCHES = ["smith", "patel", "novak", "garcia", "muller", "khan", "nguyen", "obrien", "zoe", "jose", "rahul", "mei"]

APPOINTMENT_LINK = re.compile(r'href="/appointments/(\d+)/"')
PATIENT_LINK = re.compile(r'href="/patients/(\d+)/"')
CHART_LINK = re.compile(r'href="/clinical/patients/(\d+)/"')
RECORD_LINK = re.compile(r'href="/clinical/records/(\d+)/"')
BOOK_LINK = re.compile(r'href="(/appointments/book/\?[^"]+)"')
SELECT = re.compile(r'<select[^>]*name="(doctor|specialty)"[^>]*>(.*?)</select>', re.S)
OPTION = re.compile(r'<option value="(\d+)"')
TITLE = re.compile(r"<title>\s*(.*?)\s*</title>", re.S)
FORM_ERROR = re.compile(r'<p class="error[^"]*" role="alert">(.*?)</p>', re.S)
# The booking form's answer when a concurrent booking took the slot first (model check or database).
SLOT_TAKEN = ("just taken", "already has an appointment")
APPOINTMENT_URL = re.compile(r"^(?:https?://[^/]+)?/appointments/(\d+)/$")
TODAY = date.today()

# Outcomes of the booking journey, for the summary (one locust process: plain counters).
BOOKINGS = {"booked": 0, "slot taken meanwhile": 0, "cancelled": 0}


def _ids(pattern, text):
    return sorted({int(match) for match in pattern.findall(text)})


def _title(text):
    match = TITLE.search(text)
    return html.unescape(match.group(1)) if match else ""


def _form_errors(text):
    return [html.unescape(re.sub(r"<[^>]+>", "", error)).strip() for error in FORM_ERROR.findall(text)]


class ClinicUser(HttpUser):
    abstract = True
    username = ""
    wait_time = between(0.2, 1.5)

    def on_start(self):
        self.appointments, self.patients, self.records = [], [], []
        self.sign_in()

    def sign_in(self):
        """Once per simulated user: the sign-in page (sets the CSRF cookie), then the form posted."""
        self.page(LOGIN_URL, "sign in (page)", expect="Sign in")
        with self.client.post(
            LOGIN_URL,
            data={"username": self.username, "password": PASSWORD, "csrfmiddlewaretoken": self._csrf()},
            headers={"Referer": self.host + LOGIN_URL},
            name="sign in (POST)",
            catch_response=True,
        ) as response:
            # Signed in: redirected (followed) to the start page. Refused: the form again, or 429
            # when django-axes has locked the account or the address.
            signed_in = response.status_code == 200 and LOGIN_URL not in response.url
            if signed_in:
                response.success()
            else:
                errors = "; ".join(_form_errors(response.text)) or f"HTTP {response.status_code}"
                response.failure(f"sign-in refused for {self.username!r}: {errors}")
        if not signed_in:
            raise StopUser()

    def _csrf(self):
        return self.client.cookies.get("csrftoken", "")

    def page(self, path, name, params=None, expect=""):
        """GET a page and judge it (see _judge); returns its text, or '' when it failed."""
        url = f"{path}?{urlencode(params)}" if params else path
        with self.client.get(url, name=name, catch_response=True) as response:
            return self._judge(response, expect)

    def post(self, path, data, name):
        """POST a form without following the redirect (the time is the POST's own); judged by the caller."""
        return self.client.post(
            path,
            data={**data, "csrfmiddlewaretoken": self._csrf()},
            headers={"Referer": self.host + path},
            name=name,
            allow_redirects=False,
            catch_response=True,
        )

    def _judge(self, response, expect):
        if response.status_code == 0 or response.status_code >= 400:
            response.failure(f"HTTP {response.status_code}")
            return ""
        if LOGIN_URL in (response.url or "") and expect != "Sign in":
            response.failure("sent back to the sign-in page (signed out?)")
            return ""
        text = response.text
        if not _title(text).startswith(expect):
            response.failure(f"expected a page titled {expect!r}, got {_title(text)[:60]!r}")
            return ""
        response.success()
        return text


class Receptionist(ClinicUser):
    weight = 2
    username = os.environ.get("LOADTEST_RECEPTION", "reception")

    def on_start(self):
        super().on_start()
        self.doctors, self.specialties = [], []
        text = self.page("/appointments/slots/", "free slots (form)", expect="Free slots")
        for field, options in SELECT.findall(text):
            (self.doctors if field == "doctor" else self.specialties).extend(int(o) for o in OPTION.findall(options))

    @task(5)
    def dashboard(self):
        text = self.page("/", "reception: today", expect="Today")
        self.appointments = _ids(APPOINTMENT_LINK, text) or self.appointments
        self.patients = _ids(PATIENT_LINK, text) or self.patients

    @task(3)
    def day_calendar(self):
        day = TODAY + timedelta(days=random.choice([0, 0, 0, 1, -1, 2]))
        text = self.page("/appointments/day/", "reception: day calendar", {"date": day.isoformat()}, "Calendar")
        self.appointments = _ids(APPOINTMENT_LINK, text) or self.appointments

    @task(4)
    def search_patients(self):
        text = self.page("/patients/", "reception: patient search", {"q": random.choice(SEARCHES)}, "Patients")
        self.patients = _ids(PATIENT_LINK, text) or self.patients

    @task(2)
    def patient_page(self):
        if self.patients:
            # Its title is the patient's name: any title but the error pages' will do.
            self.page(f"/patients/{random.choice(self.patients)}/", "reception: patient page")

    @task(3)
    def appointment_page(self):
        if self.appointments:
            path = f"/appointments/{random.choice(self.appointments)}/"
            self.page(path, "reception: appointment", expect="Appointment")

    @task(2)
    def free_slots(self):
        day = (TODAY + timedelta(days=random.randint(0, 14))).isoformat()
        if self.specialties and random.random() < 0.3:
            params = {"specialty": random.choice(self.specialties), "date": day}
        elif self.doctors:
            params = {"doctor": random.choice(self.doctors), "date": day}
        else:
            return
        self.page("/appointments/slots/", "reception: free slots", params, "Free slots")

    @task(1)
    def book_and_maybe_cancel(self):
        """Free slots for a patient, one of the first Book links, the booking form posted; a third cancelled."""
        if not (self.patients and self.doctors):
            return
        patient = random.choice(self.patients)
        day = (TODAY + timedelta(days=random.randint(1, 21))).isoformat()
        params = {"patient": patient, "doctor": random.choice(self.doctors), "date": day}
        text = self.page("/appointments/slots/", "book: free slots for a patient", params, "Free slots")
        links = BOOK_LINK.findall(text)
        if not links:
            return
        url = html.unescape(random.choice(links[:3]))
        if not self.page(url, "book: form", expect="Book an appointment"):
            return
        query = dict(parse_qsl(url.split("?", 1)[1], keep_blank_values=True))
        data = {key: query.get(key, "") for key in ("patient", "doctor", "date", "time", "minutes")}
        with self.post(url, {**data, "reason": "Load test booking"}, "book: POST") as response:
            appointment = self._booked(response)
        if appointment and random.random() < 1 / 3:
            self.cancel(appointment)

    def _booked(self, response):
        """The new appointment's id, or None; marks the response a failure unless a race explains it."""
        booked = APPOINTMENT_URL.match(response.headers.get("Location", ""))
        if response.status_code == 302 and booked:
            response.success()
            BOOKINGS["booked"] += 1
            appointment = int(booked.group(1))
            self.appointments = sorted({*self.appointments, appointment})
            return appointment
        errors = _form_errors(response.text) if response.status_code == 200 else []
        if errors and all(any(sign in error for sign in SLOT_TAKEN) for error in errors):
            response.success()  # another receptionist took the slot between the search and the booking
            BOOKINGS["slot taken meanwhile"] += 1
        else:
            response.failure(f"booking refused: {'; '.join(errors) or f'HTTP {response.status_code}'}")
        return None

    def cancel(self, appointment):
        path = f"/appointments/{appointment}/cancel/"
        if not self.page(path, "cancel: form", expect="Cancel appointment"):
            return
        with self.post(path, {"reason": "Load test: patient called to cancel"}, "cancel: POST") as response:
            location = APPOINTMENT_URL.match(response.headers.get("Location", ""))
            if response.status_code == 302 and location and int(location.group(1)) == appointment:
                response.success()
                BOOKINGS["cancelled"] += 1
            else:
                errors = _form_errors(response.text) if response.status_code == 200 else []
                response.failure(f"cancelling refused: {'; '.join(errors) or f'HTTP {response.status_code}'}")


class Doctor(ClinicUser):
    weight = 1
    username = os.environ.get("LOADTEST_DOCTOR", "doctor")

    @task(4)
    def my_day(self):
        text = self.page("/clinical/my-day/", "doctor: my day", expect="My day")
        self.patients = _ids(CHART_LINK, text) or self.patients
        self.appointments = _ids(APPOINTMENT_LINK, text) or self.appointments

    @task(4)
    def chart(self):
        if self.patients:
            text = self.page(f"/clinical/patients/{random.choice(self.patients)}/", "doctor: chart", expect="Chart")
            self.records = _ids(RECORD_LINK, text) or self.records

    @task(3)
    def record(self):
        if self.records:
            self.page(f"/clinical/records/{random.choice(self.records)}/", "doctor: medical record", expect="Record")

    @task(1)
    def appointment_page(self):
        if self.appointments:
            self.page(f"/appointments/{random.choice(self.appointments)}/", "doctor: appointment", expect="Appointment")

    @task(1)
    def find_patient(self):
        # On a day without appointments My day links no chart; a search finds patients to open.
        text = self.page("/patients/", "doctor: patient search", {"q": random.choice(SEARCHES)}, "Patients")
        self.patients = _ids(PATIENT_LINK, text) or self.patients


# --- The summary ----------------------------------------------------------------------------


def _line(label, entry, seconds):
    p50, p95, p99 = (entry.get_response_time_percentile(share) for share in (0.5, 0.95, 0.99))
    return (
        f"{label:<34}{entry.num_requests:>7} {entry.num_requests / seconds:>7.1f}/s"
        f"  {p50:>5.0f} {p95:>5.0f} {p99:>5.0f} {entry.max_response_time or 0:>6.0f}"
        f"  {entry.num_failures:>5} {100 * entry.fail_ratio:>6.2f} %"
    )


def summary_text(stats, users):
    total = stats.total
    if not total.num_requests:
        return "Load test: no request was made."
    seconds = max((total.last_request_timestamp or 0) - total.start_time, 1e-9)
    workload, sign_in = StatsEntry(stats, "workload", ""), StatsEntry(stats, "sign in", "")
    for entry in stats.entries.values():
        (sign_in if entry.name.startswith("sign in") else workload).extend(entry)
    lines = [
        f"==> Load test summary: {users} users, {seconds:.0f} s; latency in ms",
        f"{'request':<34}{'count':>7} {'rate':>9}  {'p50':>5} {'p95':>5} {'p99':>5} {'max':>6}"
        f"  {'errors':>5} {'rate':>8}",
    ]
    lines += [_line(e.name, e, seconds) for e in sorted(stats.entries.values(), key=lambda e: e.name)]
    lines += [
        "-" * 98,
        _line("workload (signed in)", workload, seconds),
        _line("signing in (Argon2, once a user)", sign_in, seconds),
        _line("all requests", total, seconds),
        "Bookings: " + ", ".join(f"{count} {outcome}" for outcome, count in BOOKINGS.items()),
    ]
    if stats.errors:
        lines.append("Errors:")
        lines += [f"  {e.occurrences} x {e.method} {e.name}: {e.error}" for e in stats.errors.values()]
    return "\n".join(lines)


@events.quitting.add_listener
def summary(environment, **_kwargs):
    """Written to the file LOADTEST_SUMMARY names (run.sh prints it), or printed."""
    users = environment.parsed_options.num_users if environment.parsed_options else "?"
    text = summary_text(environment.stats, users)
    target = os.environ.get("LOADTEST_SUMMARY")
    if target:
        with open(target, "w") as file:
            file.write(text + "\n")
    else:
        print("\n" + text)
