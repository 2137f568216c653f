"""Installing the database triggers that guard data (scheduling, clinical, finance).

SQLite drops a table's triggers whenever a migration rebuilds the table, so each app re-installs
its triggers after every `migrate`; the SQL is idempotent (IF NOT EXISTS / OR REPLACE).
"""

from django.db import connections
from django.db.models.signals import post_migrate


def append_only(table, message, *, name):
    """Triggers refusing every UPDATE and DELETE of `table`, whatever writes the SQL:
    ({sqlite trigger name: sql}, [postgresql sql]); `name` names the PostgreSQL function and trigger."""
    sqlite = {
        f"{table}_{op}": f"""
            CREATE TRIGGER IF NOT EXISTS {table}_{op} BEFORE {op.upper()} ON {table}
            BEGIN SELECT RAISE(ABORT, '{message}'); END"""
        for op in ("update", "delete")
    }
    postgresql = [
        f"""
        CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION '{message}' USING ERRCODE = 'integrity_constraint_violation';
        END $$ LANGUAGE plpgsql""",
        f"DROP TRIGGER IF EXISTS {name} ON {table}",
        f"""CREATE TRIGGER {name} BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION {name}()""",
    ]
    return sqlite, postgresql


def install_triggers(connection, *, needs_table, sqlite=(), postgresql=()):
    """Run the statements for this database, once `needs_table` exists (before, there is nothing to guard)."""
    statements = {"sqlite": sqlite, "postgresql": postgresql}.get(connection.vendor, ())
    with connection.cursor() as cursor:
        if needs_table not in connection.introspection.table_names(cursor):
            return
        for sql in statements:
            cursor.execute(sql)


def drop_sqlite_triggers(connection, names):
    """For emptying a test database only (SQLite flushes with DELETE); the flush's migrate signal puts them back."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            for name in names:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")


# app label -> install(connection), for every app that guards its tables (see install_all).
INSTALLERS = {}


def install_all(connection):
    """Every app's guards, on a database that already has its tables (after a restore, say)."""
    for install in INSTALLERS.values():
        install(connection)


def reinstall_after_migrate(app_label, install):
    """Connect `install(connection)` to run after every `migrate` of `app_label`; returns the receiver."""
    INSTALLERS[app_label] = install

    def reinstall(sender, app_config=None, using="default", **kwargs):
        if app_config is not None and app_config.label == app_label:
            install(connections[using])

    post_migrate.connect(reinstall, dispatch_uid=f"{app_label}.install_guards", weak=False)
    return reinstall
