"""A database that hangs instead of failing: a stalled network in front of PostgreSQL, a held SQLite write lock.

PostgreSQL is reached through a StallingProxy (clinic/tests/stalling_proxy.py) that, once paused, accepts and
acknowledges everything and forwards nothing, the case neither the server's statement_timeout nor TCP
keepalives can end. Requests go through Django's WSGI application as gunicorn sends them (Browser). The
deadlines are shortened here (a 1 s statement timeout, so 2 s for an answer; 2 s to connect; 1 s for
/readyz) to keep the tests quick; the defaults are 5 s, 6 s, 5 s and 2 s.
"""

import sqlite3
import threading
import time

import pytest
from django.db import OperationalError, connection, connections
from django.http import StreamingHttpResponse
from django.urls import reverse

from clinic import dbtimeouts, health
from clinic.tests.stalling_proxy import StallingProxy
from patients import models as patient_models
from patients.models import Patient
from staff.roles import RECEPTIONIST
from staff.tests.factories import UserFactory

from .test_resilience import Browser

pytestmark = pytest.mark.django_db(transaction=True)

on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs a PostgreSQL server to hang")
on_sqlite = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's write lock")

STATEMENT_TIMEOUT = 1.0
ANSWER_LIMIT = STATEMENT_TIMEOUT + dbtimeouts.ANSWER_GRACE
CONNECT_TIMEOUT = 2  # psycopg's least
READINESS_TIMEOUT = 1.0
REST = 1.0  # the circuit breaker's rest after a failure (5 s by default)
MARGIN = 0.75  # scheduling slack on a busy two-core machine
REGISTRATION = {
    "first_name": "Ines",
    "last_name": "Halvorsen",
    "date_of_birth": "1984-03-12",
    "sex": "female",
    "phone": "020 7946 0018",
    **dict.fromkeys(["email", "address", "notes"], ""),
    **dict.fromkeys(["emergency_contact_name", "emergency_contact_relationship", "emergency_contact_phone"], ""),
}


@pytest.fixture(autouse=True)
def _short_deadlines(settings, monkeypatch):
    settings.SECURE_SSL_REDIRECT = False
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    settings.DB_STATEMENT_TIMEOUT = STATEMENT_TIMEOUT
    settings.READINESS_TIMEOUT = READINESS_TIMEOUT
    monkeypatch.setattr(health, "_migrations_applied", False)
    monkeypatch.setattr(dbtimeouts.breaker, "rest", REST)
    yield
    settle_probe()
    dbtimeouts.breaker.answered()
    connection.close()


def settle_probe():
    """Wait for a readiness probe still under way (it ends within its own deadlines)."""
    if health._probe is not None:
        health._probe.exception(timeout=CONNECT_TIMEOUT + ANSWER_LIMIT + 5)


@pytest.fixture
def proxy():
    """PostgreSQL through a StallingProxy, for every connection opened from now on (the probe's too)."""
    settings_dict = connection.settings_dict
    stalling = StallingProxy(target=(settings_dict["HOST"] or "127.0.0.1", int(settings_dict["PORT"] or 5432)))
    patch = pytest.MonkeyPatch()
    patch.setitem(settings_dict, "HOST", "127.0.0.1")
    patch.setitem(settings_dict, "PORT", str(stalling.port))
    patch.setitem(settings_dict, "OPTIONS", {**settings_dict["OPTIONS"], "connect_timeout": CONNECT_TIMEOUT})
    connection.close()
    yield stalling
    stalling.resume()
    settle_probe()
    connection.close()
    patch.undo()
    stalling.close()


@pytest.fixture
def reception_browser(db):
    return Browser(UserFactory(roles=[RECEPTIONIST]))


def timed(call, *args, **kwargs):
    started = time.monotonic()
    result = call(*args, **kwargs)
    return result, time.monotonic() - started


def select_one():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone()[0]


def statement_timeout_setting():
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        return cursor.fetchone()[0]


# --- PostgreSQL behind a stalled network ---------------------------------------------------------


@on_postgresql
def test_a_query_over_a_hung_network_fails_within_its_deadline(proxy):
    with dbtimeouts.deadline(STATEMENT_TIMEOUT):
        assert select_one() == 1
        proxy.pause()

        started = time.monotonic()
        with pytest.raises(OperationalError, match="did not answer within 2 s"):
            select_one()
        elapsed = time.monotonic() - started

    assert ANSWER_LIMIT <= elapsed < ANSWER_LIMIT + MARGIN
    assert connection.connection.closed  # given up: Django opens a new one for the next request


@on_postgresql
def test_without_a_deadline_a_query_over_a_hung_network_waits_as_long_as_the_network_hangs(proxy):
    # The control for the test above: psycopg itself would wait for ever (here: until the proxy resumes).
    outcome, connected, paused = [], threading.Event(), threading.Event()

    def query_in_a_thread_of_its_own():
        other = connections.create_connection("default")
        try:
            other.ensure_connection()
            connected.set()
            paused.wait()
            with other.cursor() as cursor:
                cursor.execute("SELECT 1")
                outcome.append("answered")
        except OperationalError:
            outcome.append("failed")
        finally:
            other.close()

    worker = threading.Thread(target=query_in_a_thread_of_its_own)
    worker.start()
    assert connected.wait(timeout=5)
    proxy.pause()
    paused.set()
    worker.join(timeout=ANSWER_LIMIT + MARGIN + 1)
    assert worker.is_alive() and outcome == []

    proxy.resume()  # drops the stalled connection: only now does the query end
    worker.join(timeout=5)
    assert outcome == ["failed"]


@on_postgresql
def test_web_connections_carry_a_statement_timeout_and_commands_none(proxy, reception_browser):
    connection.close()
    assert statement_timeout_setting() == "0"  # as migrate, backup or seed_demo connect: no limit
    connection.close()

    assert reception_browser.get(reverse("patients:list")).status == 200

    # The request's connection (kept for the next request, CONN_MAX_AGE) was opened under the deadline.
    assert statement_timeout_setting() == "1s"


@on_postgresql
def test_a_slow_query_is_cancelled_by_the_server_and_the_connection_kept(proxy):
    with dbtimeouts.deadline(STATEMENT_TIMEOUT):
        started = time.monotonic()
        with pytest.raises(OperationalError, match="statement timeout"), connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(5)")
        assert time.monotonic() - started < ANSWER_LIMIT
        assert select_one() == 1
    assert not connection.connection.closed


@on_postgresql
def test_while_the_database_hangs_probes_answer_and_pages_say_try_again_then_all_recovers(proxy, reception_browser):
    page = reverse("patients:list")
    assert reception_browser.get(page).status == 200
    assert reception_browser.get("/readyz").status == 200

    proxy.pause()

    ready, seconds = timed(reception_browser.get, "/readyz")
    assert (ready.status, ready.content) == (503, b"not ready\n")
    assert seconds < READINESS_TIMEOUT + MARGIN

    alive, seconds = timed(reception_browser.get, "/healthz")
    assert (alive.status, alive.content) == (200, b"ok\n")
    assert seconds < 0.5

    # The probe, ending in its own time, found no answer: the breaker is open, so the page does not wait.
    settle_probe()
    first, seconds = timed(reception_browser.get, page)
    assert first.status == 503
    assert b"Please try again in a moment" in first.content
    assert first.headers["Retry-After"] == "10"
    assert seconds < 0.5
    # After the rest, one request asks again and waits out the connect timeout; the next fails at once.
    time.sleep(REST)
    trial, seconds = timed(reception_browser.get, page)
    assert trial.status == 503
    assert CONNECT_TIMEOUT <= seconds < CONNECT_TIMEOUT + MARGIN
    second, seconds = timed(reception_browser.get, page)
    assert second.status == 503
    assert seconds < 0.5

    proxy.resume()
    settle_probe()
    time.sleep(REST)

    assert reception_browser.get("/readyz").status == 200
    assert reception_browser.get(page).status == 200


@on_postgresql
def test_a_registration_cut_off_by_a_hang_says_try_again_and_writes_nothing(proxy, reception_browser, monkeypatch):
    assert reception_browser.get(reverse("patients:list")).status == 200
    check_digit = patient_models.luhn_digit

    def hang_then_check_digit(number):
        # The patient's row is sent; the network hangs before the MRN is written and the work committed.
        proxy.pause()
        return check_digit(number)

    monkeypatch.setattr(patient_models, "luhn_digit", hang_then_check_digit)

    response, seconds = timed(reception_browser.post, reverse("patients:create"), REGISTRATION)

    assert response.status == 503
    assert b"Please try again in a moment" in response.content
    assert seconds < ANSWER_LIMIT + MARGIN
    proxy.resume()
    assert not Patient.objects.exists()


@on_postgresql
def test_readiness_probes_under_a_hang_never_run_more_than_one_at_a_time(proxy):
    proxy.pause()
    answers, most_probes = [], 0
    done = threading.Event()

    def count_probes():
        nonlocal most_probes
        while not done.is_set():
            most_probes = max(most_probes, sum(t.name == "readiness-probe" for t in threading.enumerate()))
            time.sleep(0.01)

    def ask():
        answers.append(timed(Browser().get, "/readyz"))

    counter = threading.Thread(target=count_probes)
    counter.start()
    askers = [threading.Thread(target=ask) for _ in range(8)]
    for asker in askers:
        asker.start()
    for asker in askers:
        asker.join()
    done.set()
    counter.join()

    assert [answer.status for answer, _ in answers] == [503] * 8
    assert max(seconds for _, seconds in answers) < READINESS_TIMEOUT + MARGIN
    assert most_probes == 1


def test_a_streamed_response_reads_the_database_under_the_deadline_too(rf):
    # A CSV export reads its rows while the response is sent, after the middleware's own block has ended.
    seen = []

    def rows():
        for row in ("a", "b"):
            seen.append(dbtimeouts.answer_limit())
            yield row

    middleware = dbtimeouts.RequestDeadlineMiddleware(lambda request: StreamingHttpResponse(rows()))
    response = middleware(rf.get("/finance/export.csv"))

    assert b"".join(response.streaming_content) == b"ab"
    assert seen == [ANSWER_LIMIT, ANSWER_LIMIT]
    assert dbtimeouts.answer_limit() is None  # and nothing leaked out of it


# --- SQLite with its write lock held ------------------------------------------------------------


@on_sqlite
def test_readiness_says_not_ready_while_another_connection_holds_the_write_lock():
    browser = Browser()
    assert browser.get("/readyz").status == 200
    path = connection.settings_dict["NAME"]
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        # WAL lets readers through: a probe that only reads would call this database ready.
        reader = sqlite3.connect(path)
        assert reader.execute("SELECT 1").fetchone() == (1,)
        reader.close()

        ready, seconds = timed(browser.get, "/readyz")
        assert (ready.status, ready.content) == (503, b"not ready\n")
        assert seconds < READINESS_TIMEOUT + MARGIN
        assert browser.get("/healthz").status == 200
    finally:
        writer.execute("ROLLBACK")
        writer.close()

    settle_probe()
    assert browser.get("/readyz").status == 200


@on_sqlite
def test_a_page_that_cannot_get_the_write_lock_says_try_again(reception_browser, monkeypatch):
    assert reception_browser.get(reverse("patients:list")).status == 200
    connection.close()
    monkeypatch.setitem(connection.settings_dict, "OPTIONS", {**connection.settings_dict["OPTIONS"], "timeout": 0.5})
    writer = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        # Every page saves the session (idle sign-out), so it needs the write lock.
        response = reception_browser.get(reverse("patients:list"))
    finally:
        writer.execute("ROLLBACK")
        writer.close()

    assert response.status == 503
    assert b"Please try again in a moment" in response.content
