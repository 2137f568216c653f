"""Deadlines on PostgreSQL, so that a hung database costs a request a few seconds, not a worker thread for ever.

A stalled network (a proxy or NAT in front of PostgreSQL that still accepts and acknowledges packets but
forwards nothing) is the case the server cannot help with: its `statement_timeout` never reaches the
client, and TCP keepalives and `tcp_user_timeout` do not fire while the kernel on the far side keeps
acknowledging. So three limits work together:

- connecting: psycopg enforces `connect_timeout` itself (DB_CONNECT_TIMEOUT, in OPTIONS for every process);
- the server: connections opened by a web request carry `statement_timeout` (DB_STATEMENT_TIMEOUT), so a slow
  query is cancelled cleanly and the connection stays usable;
- the client: every wait of such a connection for the server's answer (a query, a fetch, COMMIT, ROLLBACK,
  Django's health check) ends `ANSWER_GRACE` seconds after that, whether or not the server answered.

The client-side limit uses psycopg's own wait loop: every round trip of a psycopg 3 connection goes through
`Connection.wait()`, which (since psycopg 3.3) takes a `timeout` and polls the socket in 0.1 s steps, so
nothing blocks in the kernel and no timer thread or socket trickery is needed. When the limit expires the
connection is in an unknown state (a query sent, no answer), so it is closed, as psycopg itself does when a
cancelled query does not end (psycopg #1371), and the caller gets OperationalError; Django then drops the
connection and the next request connects afresh. Management commands (migrate, backup, seed_demo) run
without any of this: the limits apply only inside `deadline()`, which the web middleware and the readiness
probe enter.
"""

import contextvars
from contextlib import contextmanager

import psycopg
from django.conf import settings
from psycopg.connection import _WAIT_INTERVAL
from psycopg.errors import _WaitTimeout

# Seconds the app waits for an answer beyond the server's own statement_timeout: enough for the server's
# cancellation to arrive first when it can, so only a server that cannot answer costs a connection.
ANSWER_GRACE = 1.0


class Deadline:
    """The limits of one web request (or readiness probe), and whether the database already failed it."""

    def __init__(self, statement_timeout):
        self.statement_timeout = statement_timeout
        self.answer_limit = statement_timeout + ANSWER_GRACE
        # Once the database did not answer (or could not be reached), this request does not wait for it
        # again: a page's later steps (saving the session, the error page's user) would each cost a timeout.
        self.unanswered = False


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
        try:
            return super().wait(gen, interval=interval, timeout=limit)
        except _WaitTimeout:
            self.pgconn.finish()
            current().unanswered = True
            raise DatabaseNotAnswering(f"the database did not answer within {limit:g} s") from None


class RequestDeadlineMiddleware:
    """Every web request works under DB_STATEMENT_TIMEOUT (management commands do not pass here)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with deadline(settings.DB_STATEMENT_TIMEOUT):
            return self.get_response(request)
