"""/healthz and /readyz for load balancers and orchestrators: no sign-in, no details in the answer.

Answered by a middleware placed first, so neither the HTTPS redirect nor host validation stands in
the way of a probe that comes over plain HTTP to the container's own address.
"""

import logging

from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpResponse

logger = logging.getLogger(__name__)
_migrations_applied = False  # once true for this process, it stays true (nothing un-applies them)


def database_ready():
    """The database answers, and every migration on disk has been applied."""
    global _migrations_applied
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        if not _migrations_applied:
            executor = MigrationExecutor(connection)
            _migrations_applied = not executor.migration_plan(executor.loader.graph.leaf_nodes())
        return _migrations_applied
    except DatabaseError as error:
        # Django closes a broken connection at the end of the request (close_old_connections) and
        # health-checks it before reuse (CONN_HEALTH_CHECKS), so the next probe starts afresh.
        logger.warning("readiness check failed: %s", error.__class__.__name__)
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
