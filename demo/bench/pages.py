"""Timing the pages: each at the demo's size and at the big one, each paired with the framework floor.

One process holds both databases of an engine (demo and big) and switches Django's default connection
between them, so the four timings of a round (floor and page, demo and big) are taken moments apart and
the noise of a shared machine falls on all four alike. Requests go through django.test.Client in-process:
the whole Django stack (middleware, sessions, auth, views, templates, the audit entries a page writes),
without a web server's sockets and workers, which cost the same at either size. Each page is measured as
the role that uses it, signed in with force_login (two-factor is a sign-in step, not part of a page).

The floor is the password page (/accounts/password/): signed in, the full layout and middleware, one
small form, and no data; a page within 3x of it costs little more than the framework itself.
"""

import copy
import logging
import statistics
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.db import connections
from django.db.utils import load_backend
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from documents.models import ClinicalDocument
from finance.models import Payment
from finance.queries import unpaid_visits
from patients.models import Patient
from staff.models import Doctor, Specialty, User

FLOOR_URL = "/accounts/password/"


@dataclass(frozen=True)
class Page:
    name: str
    role: str  # the demo account that uses the page
    url: str


def pages(today=None):
    """The pages measured, with the demo objects they open (the same ids in both databases)."""
    today = today or timezone.localdate()
    # A demo patient with a history and documents: what a chart, patient and documents page shows.
    with_documents = ClinicalDocument.objects.values_list("patient_id", flat=True).order_by("patient_id").first()
    patient = Patient.objects.get(pk=with_documents) if with_documents else Patient.objects.order_by("pk").first()
    doctor = Doctor.objects.select_related("user", "specialty").get(user__username="doctor")
    general = Specialty.objects.get(name="General practice")
    reception = User.objects.get(username="reception")
    receipt = Payment.objects.filter(reverses__isnull=True).order_by("pk").values_list("pk", flat=True).first()
    due = unpaid_visits().values_list("pk", flat=True).first()
    ahead = today + timedelta(days=14)
    while ahead.weekday() > 4:
        ahead += timedelta(days=1)
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    phone = patient.phone_digits
    month_url = f"/admin/finance/monthlyreport/{last_month.year}/{last_month.month}/"
    dates = {"date_from": (today - timedelta(days=30)).isoformat(), "date_to": today.isoformat()}
    slot = {"doctor": doctor.pk, "date": ahead.isoformat(), "time": "08:30", "minutes": doctor.consultation_minutes}
    q = lambda text: "?" + urlencode({"q": text})  # noqa: E731
    return [
        Page("Today", "reception", "/"),
        Page("Calendar: day", "reception", "/appointments/day/"),
        Page("Calendar: week", "reception", f"/appointments/week/{doctor.pk}/"),
        Page(
            "Booking (patient and slot)",
            "reception",
            "/appointments/book/?" + urlencode({"patient": patient.pk, **slot}),
        ),
        Page("Booking: find patient", "reception", "/appointments/book/" + q(patient.last_name)),
        Page("Free slots: doctor", "reception", f"/appointments/slots/?doctor={doctor.pk}"),
        Page("Free slots: specialty", "reception", f"/appointments/slots/?specialty={general.pk}"),
        Page("Patient list", "reception", "/patients/"),
        Page("Search: full name", "reception", "/patients/" + q(f"{patient.first_name} {patient.last_name}")),
        Page("Search: last name", "reception", "/patients/" + q(patient.last_name)),
        Page("Search: phone digits", "reception", "/patients/" + q(phone[3:9])),
        Page("Search: MRN exact", "reception", "/patients/" + q(patient.mrn)),
        Page("Search: MRN prefix", "reception", "/patients/" + q(patient.mrn[:5])),
        Page("Patient page", "reception", f"/patients/{patient.pk}/"),
        Page("Payments due", "reception", "/finance/due/"),
        Page("Payments due: procedures", "reception", "/finance/due/?show=procedures"),
        Page("Take a payment", "reception", f"/finance/pay/visit/{due}/"),
        Page("Receipt", "reception", f"/finance/receipts/{receipt}/"),
        Page("My day", "doctor", "/clinical/my-day/"),
        Page("Unsigned notes", "doctor", "/clinical/unsigned-notes/"),
        Page("Chart", "doctor", f"/clinical/patients/{patient.pk}/"),
        Page("Documents", "doctor", f"/documents/patients/{patient.pk}/"),
        Page("Appointments (admin list)", "manager", "/admin/scheduling/appointment/"),
        Page("Finance (admin index)", "manager", "/admin/finance/"),
        Page("Expenses (admin list)", "manager", "/admin/finance/expense/"),
        Page("Other incomes (admin list)", "manager", "/admin/finance/otherincome/"),
        Page("Payments (admin list)", "manager", "/admin/finance/payment/"),
        Page("Monthly report", "manager", "/admin/finance/monthlyreport/"),
        Page("Monthly report: a month", "manager", month_url),
        Page("Audit search", "admin", "/audit/"),
        Page("Audit: by action", "admin", "/audit/?action=view"),
        Page("Audit: by patient", "admin", f"/audit/?patient={patient.mrn}"),
        Page("Audit: by staff member", "admin", f"/audit/?user={reception.pk}"),
        Page("Audit: by dates", "admin", "/audit/?" + urlencode(dates)),
    ]


class TwoDatabases:
    """Django's default connection, switched between the demo database and the big one."""

    def __init__(self, big_url):
        self.wrappers = {"demo": connections["default"]}
        settings_dict = copy.deepcopy(connections["default"].settings_dict)
        path = urlsplit(big_url).path
        settings_dict["NAME"] = path if big_url.startswith("sqlite") else path.lstrip("/")
        self.wrappers["big"] = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, "default")
        self.clients = {}

    def use(self, size):
        connections._connections.default = self.wrappers[size]

    def client(self, size, role):
        key = (size, role)
        if key not in self.clients:
            self.use(size)
            client = Client(HTTP_HOST="localhost")
            client.force_login(User.objects.get(username=role))
            self.clients[key] = client
        return self.clients[key]


def _timed(client, url):
    started = time.perf_counter()
    response = client.get(url)
    return (time.perf_counter() - started) * 1000, response.status_code


def _queries(dbs, size, client, url):
    dbs.use(size)
    with CaptureQueriesContext(connections["default"]) as captured:
        client.get(url)
    queries = [(float(q.get("time") or 0) * 1000, q["sql"]) for q in captured.captured_queries]
    slowest = sorted(queries, reverse=True)[:2]
    return len(queries), [{"ms": round(ms, 1), "sql": sql[:2000]} for ms, sql in slowest]


def measure(dbs, page, *, repeat=15, warmup=3):
    """Median ms of the page and of the floor at both sizes, alternated round by round, and query counts."""
    samples = {(size, what): [] for size in ("demo", "big") for what in ("floor", "page")}
    statuses = set()
    clients = {size: dbs.client(size, page.role) for size in ("demo", "big")}
    order = [(size, what) for size in ("demo", "big") for what in ("floor", "page")]
    for round_ in range(warmup + repeat):
        # Reversed every other round, so no one of the four always runs first (or just after another).
        for size, what in order if round_ % 2 == 0 else reversed(order):
            dbs.use(size)
            ms, status = _timed(clients[size], FLOOR_URL if what == "floor" else page.url)
            statuses.add(status)
            if round_ >= warmup:
                samples[(size, what)].append(ms)
    result = {"page": page.name, "role": page.role, "url": page.url, "statuses": sorted(statuses)}
    for (size, what), values in samples.items():
        result[f"{size}_{what}_ms"] = round(statistics.median(values), 2)
    for size in ("demo", "big"):
        result[f"{size}_queries"], result[f"{size}_slowest"] = _queries(dbs, size, clients[size], page.url)
    result["big_over_demo"] = round(result["big_page_ms"] / result["demo_page_ms"], 2)
    result["big_over_floor"] = round(result["big_page_ms"] / result["big_floor_ms"], 2)
    result["demo_over_floor"] = round(result["demo_page_ms"] / result["demo_floor_ms"], 2)
    return result


def run_pages(big_url, *, repeat=15, warmup=3, only=None, progress=None):
    # A line per request in the access log would cost every page the same, and drown the progress.
    logging.getLogger("clinic.access").setLevel(logging.WARNING)
    # Static files from the app folders, as the tests serve them: no collectstatic needed for a run.
    settings.STATIC_ROOT = None
    settings.WHITENOISE_USE_FINDERS = True
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    dbs = TwoDatabases(big_url)
    dbs.use("demo")
    chosen = [p for p in pages() if not only or any(word.lower() in p.name.lower() for word in only)]
    results = []
    for page in chosen:
        result = measure(dbs, page, repeat=repeat, warmup=warmup)
        results.append(result)
        if progress:
            progress(
                f"{page.name:32} demo {result['demo_page_ms']:8.1f} ms  big {result['big_page_ms']:8.1f} ms"
                f"  big/demo {result['big_over_demo']:5.2f}  big/floor {result['big_over_floor']:5.2f}"
                f"  queries {result['demo_queries']}/{result['big_queries']}  {result['statuses']}"
            )
    dbs.use("demo")
    return results
