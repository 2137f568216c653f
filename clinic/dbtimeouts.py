"""Deadlines on PostgreSQL, so that a hung database costs a request a few seconds, not a worker thread for ever.

A stalled network (a proxy or NAT in front of PostgreSQL that still accepts and acknowledges packets but
forwards nothing) is the case the server cannot help with: its `statement_timeout` never reaches the
client, and TCP keepalives and `tcp_user_timeout` do not fire while the kernel on the far side keeps
acknowledging. So three limits work together, and a circuit breaker (below) spares the requests that follow:

- connecting: psycopg enforces `connect_timeout` itself (DB_CONNECT_TIMEOUT, in OPTIONS for every process);
- the server: connections opened by a web request carry `statement_timeout` (DB_STATEMENT_TIMEOUT), so a slow
  query is cancelled cleanly and the connection stays usable;
- the client: every wait of such a connection for the server's answer (a query, a fetch, COMMIT, ROLLBACK,
  Django's health check) ends `ANSWER_GRACE` seconds after that, whether or not the server answered.

The client-side limit uses psycopg's own wait loop: every round trip of a psycopg 3 connection goes through
`Connection.wait()`, which in psycopg 3.3 (pinned in requirements.txt) takes a `timeout` and polls the socket
in 0.1 s steps, so nothing blocks in the kernel and no timer thread or socket trickery is needed (its
`_WaitTimeout` and `_WAIT_INTERVAL` are private names: tests/test_hung_database.py fails if they change).
When the limit expires the connection is in an unknown state (a query sent, no answer), so it is closed, as
psycopg itself does when a cancelled query does not end (psycopg #1371), and the caller gets OperationalError;
Django then drops the connection and the next request connects afresh. Management commands (migrate, backup,
seed_demo) run without any of this: the limits apply only inside `deadline()`, which the web middleware and
the readiness probe enter.
"""

import contextvars
import threading
import time
from contextlib import contextmanager

import psycopg
from django.conf import settings
from django.http import FileResponse
from psycopg.connection import _WAIT_INTERVAL
from psycopg.errors import _WaitTimeout

# Seconds the app waits for an answer beyond the server's own statement_timeout: enough for the server's
# cancellation to arrive first when it can, so only a server that cannot answer costs a connection.
ANSWER_GRACE = 1.0


class Deadline:
    """The limits of one web request or readiness probe."""

    def __init__(self, statement_timeout):
        self.statement_timeout = statement_timeout
        self.answer_limit = statement_timeout + ANSWER_GRACE


class CircuitBreaker:
    """After the database failed to answer (or to accept a connection), work under a deadline in this process
    stops asking it for `rest` seconds and fails at once (the "try again" page), instead of every request
    holding a worker thread for a whole timeout: under load the queue of waiting requests would otherwise grow
    until even /healthz waits behind it. When the rest is over, one caller tries again (the others keep
    failing fast meanwhile); an answer closes the breaker, a failure rests it again."""

    rest = 5.0

    def __init__(self):
        self._lock = threading.Lock()
        self._until = None  # monotonic time before which nobody asks; None: closed, ask freely

    def allows(self):
        if self._until is None:  # the usual case, without taking the lock
            return True
        with self._lock:
            if self._until is None:
                return True
            now = time.monotonic()
            if now < self._until:
                return False
            self._until = now + self.rest  # this caller is the one to try; the others still fail fast
            return True

    def failed(self):
        with self._lock:
            self._until = time.monotonic() + self.rest

    def answered(self):
        if self._until is not None:
            with self._lock:
                self._until = None


breaker = CircuitBreaker()


_deadline = contextvars.ContextVar("clinic_db_deadline", default=None)
_shorter = contextvars.ContextVar("clinic_db_shorter_wait", default=None)


@contextmanager
def deadline(statement_timeout):
    """Within this block, connections opened get the server-side `statement_timeout` (seconds) and every wait
    for the database's answer ends ANSWER_GRACE seconds after it. None or 0: no limits."""
    token = _deadline.set(Deadline(statement_timeout) if statement_timeout else None)
    try:
        yield
    finally:
        _deadline.reset(token)


@contextmanager
def waiting_at_most(seconds):
    """Shorten the current answer limit (if there is one) for a round trip that should be quick."""
    token = _shorter.set(seconds)
    try:
        yield
    finally:
        _shorter.reset(token)


def current():
    """The Deadline of this request or probe; None in management commands."""
    return _deadline.get()


def statement_timeout():
    """Seconds the server may spend on a statement, for connections opened now; None: no limit."""
    limits = _deadline.get()
    return None if limits is None else limits.statement_timeout


def answer_limit():
    """Seconds the app waits for any answer from the database now; None: as long as it takes."""
    limits = _deadline.get()
    if limits is None:
        return None
    shorter = _shorter.get()
    return limits.answer_limit if shorter is None else min(limits.answer_limit, shorter)


class DatabaseNotAnswering(psycopg.OperationalError):
    """The database did not answer within the deadline; the connection was closed."""


class DeadlineConnection(psycopg.Connection):
    """A psycopg connection whose waits for the server end at the current answer limit (see the module)."""

    def wait(self, gen, interval=_WAIT_INTERVAL, timeout=None):
        limit = answer_limit()
        if limit is None or timeout is not None:
            # No deadline here, or psycopg's own timed wait (notifications, cancelling): left as it is.
            return super().wait(gen, interval=interval, timeout=timeout)
        if not breaker.allows():
            self.pgconn.finish()
            raise DatabaseNotAnswering("the database did not answer a moment ago; not asking again yet")
        try:
            answer = super().wait(gen, interval=interval, timeout=limit)
        except _WaitTimeout:
            self.pgconn.finish()
            breaker.failed()
            raise DatabaseNotAnswering(f"the database did not answer within {limit:g} s") from None
        breaker.answered()
        return answer


class RequestDeadlineMiddleware:
    """Every web request works under DB_STATEMENT_TIMEOUT (management commands do not pass here), and so does
    a streamed response (a CSV export reads its rows while it is sent, after this middleware returned)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        seconds = settings.DB_STATEMENT_TIMEOUT
        with deadline(seconds):
            response = self.get_response(request)
        # A file's bytes need no database (and wrapping them would lose the server's sendfile).
        if response.streaming and not response.is_async and not isinstance(response, FileResponse):
            response.streaming_content = _streamed_under_deadline(seconds, response.streaming_content)
        return response


def _streamed_under_deadline(seconds, content):
    chunks = iter(content)
    while True:
        # Entered and left within each step, so the deadline never leaks to whatever runs between chunks.
        with deadline(seconds):
            try:
                chunk = next(chunks)
            except StopIteration:
                return
        yield chunk
