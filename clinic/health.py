"""/healthz and /readyz for load balancers and orchestrators: no sign-in, no details in the answer.

Answered by a middleware placed first, so neither the HTTPS redirect nor host validation stands in
the way of a probe that comes over plain HTTP to the container's own address.

/healthz never touches the database: it says the process can answer. /readyz asks the database, on a
connection of its own in a thread of its own, and answers 503 when no good answer came within
READINESS_TIMEOUT seconds; the probe itself works under deadlines of the same length (clinic/dbtimeouts.py),
so a hung database holds no thread for long. Only one probe runs at a time: a /readyz arriving while one is
under way waits for that one's answer, so probes cannot pile up threads or connections.
"""

import logging
import math
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpResponse

from clinic import dbtimeouts

logger = logging.getLogger(__name__)
_migrations_applied = False  # once true for this process, it stays true (nothing un-applies them)

# The probe's own connection, never one a request uses; opened for each probe and closed after it. Used
# by one probe thread at a time (the lock below), so Django's same-thread check is relaxed for it.
connection = connections.create_connection(DEFAULT_DB_ALIAS)
connection.inc_thread_sharing()
_probe_lock = threading.Lock()
_probe = None  # the Future of the probe under way, or of the last one


def _probe_settings(budget):
    """The database's current settings, with waits no longer than the probe's budget."""
    settings_dict = connections.settings[DEFAULT_DB_ALIAS]
    options = dict(settings_dict.get("OPTIONS", {}))
    if connection.vendor == "sqlite":
        options["timeout"] = budget  # the busy timeout: how long BEGIN IMMEDIATE waits for the write lock
    else:
        options["connect_timeout"] = max(2, math.ceil(budget))  # psycopg's minimum is 2 s
    return {**settings_dict, "OPTIONS": options, "CONN_MAX_AGE": 0, "CONN_HEALTH_CHECKS": False}


def _database_answers(budget):
    """The database answers (on SQLite: its write lock can be taken), and every migration on disk is applied."""
    global _migrations_applied
    connection.settings_dict = _probe_settings(budget)
    try:
        with dbtimeouts.deadline(budget), connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                # WAL lets a SELECT through while a writer holds the lock; what bookings need is the lock itself.
                cursor.execute("BEGIN IMMEDIATE")
                cursor.execute("ROLLBACK")
            else:
                cursor.execute("SELECT 1")
            if not _migrations_applied:
                executor = MigrationExecutor(connection)
                _migrations_applied = not executor.migration_plan(executor.loader.graph.leaf_nodes())
        return _migrations_applied
    except DatabaseError as error:
        logger.warning("readiness check failed: %s", error.__class__.__name__)
        return False
    finally:
        connection.close()


def _run_probe(future, budget):
    try:
        future.set_result(_database_answers(budget))
    except BaseException as error:  # a bug, not the database: /readyz then fails loudly (500)
        future.set_exception(error)


def database_ready():
    """The probe's answer if it comes within READINESS_TIMEOUT seconds; otherwise False."""
    global _probe
    budget = settings.READINESS_TIMEOUT
    with _probe_lock:
        if _probe is None or _probe.done():
            _probe = Future()
            threading.Thread(target=_run_probe, args=(_probe, budget), name="readiness-probe", daemon=True).start()
        probe = _probe
    try:
        return probe.result(timeout=budget)
    except FutureTimeout:
        logger.warning("readiness check failed: no answer from the database within %g s", budget)
        return False


def _answer(text, status):
    response = HttpResponse(text, content_type="text/plain; charset=utf-8", status=status)
    response["Cache-Control"] = "no-store"
    return response


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method in ("GET", "HEAD"):
            if request.path == "/healthz":
                return _answer("ok\n", 200)
            if request.path == "/readyz":
                return _answer("ready\n", 200) if database_ready() else _answer("not ready\n", 503)
        return self.get_response(request)
