"""Django's PostgreSQL backend, with the deadlines of clinic/dbtimeouts.py applied to every connection it opens."""

from django.db.backends.postgresql import base

from clinic import dbtimeouts

# Django's health check before reusing a connection is a SELECT 1: if that takes longer than this, the
# connection is given up rather than a request spending its whole deadline on it.
HEALTH_CHECK_WAIT = 2.0


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self):
        params = super().get_connection_params()
        seconds = dbtimeouts.statement_timeout()
        if seconds is not None:
            # Sent with the start-up packet: no extra round trip, and only for connections a web request (or
            # the readiness probe) opens, so migrate, backup and seed_demo are never cut short.
            params["options"] = f"{params.get('options', '')} -c statement_timeout={round(seconds * 1000)}".strip()
        return params

    def get_new_connection(self, conn_params):
        limited = dbtimeouts.current() is not None
        if limited and not dbtimeouts.breaker.allows():
            raise self.Database.OperationalError("the database did not answer a moment ago; not asking again yet")
        try:
            connection = super().get_new_connection(conn_params)
        except self.Database.OperationalError:
            if limited:
                dbtimeouts.breaker.failed()
            raise
        if limited:
            dbtimeouts.breaker.answered()
        # Django opens it with psycopg.connect(); the subclass only overrides wait() and adds no state, so
        # giving the new connection its class is safe, and it happens before Django's first round trip on it
        # (setting the time zone), which is then under the deadline too.
        connection.__class__ = dbtimeouts.DeadlineConnection
        return connection

    def is_usable(self):
        with dbtimeouts.waiting_at_most(HEALTH_CHECK_WAIT):
            return super().is_usable()
