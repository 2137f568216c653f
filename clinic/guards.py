"""Database triggers that keep the audit trail append-only, whatever writes the SQL (raw SQL too).

Surface in Django as IntegrityError. Installed after every `migrate` of the clinic app.
"""

from clinic.triggers import append_only, drop_sqlite_triggers, install_triggers

APPEND_ONLY = "audit_trail_is_append_only"

_SQLITE, _POSTGRES = append_only("clinic_auditentry", APPEND_ONLY, name="clinic_auditentry_append_only")
SQLITE = _SQLITE
# Dropped only so a test database can be emptied between transactional tests (see conftest.py).
SQLITE_DELETE_GUARDS = ["clinic_auditentry_delete"]

POSTGRES = [
    *_POSTGRES,
    # TRUNCATE skips row triggers; a statement trigger covers it. (Test databases are emptied by
    # TRUNCATE ... of every table at once, so tests drop only this one first, see conftest.py.)
    "DROP TRIGGER IF EXISTS clinic_auditentry_no_truncate ON clinic_auditentry",
    """CREATE TRIGGER clinic_auditentry_no_truncate BEFORE TRUNCATE ON clinic_auditentry
       FOR EACH STATEMENT EXECUTE FUNCTION clinic_auditentry_append_only()""",
]


def install_audit_guards(connection):
    install_triggers(connection, needs_table="clinic_auditentry", sqlite=SQLITE.values(), postgresql=POSTGRES)


def drop_guards_for_test_flush(connection):
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER IF EXISTS clinic_auditentry_no_truncate ON clinic_auditentry")
    drop_sqlite_triggers(connection, SQLITE_DELETE_GUARDS)
