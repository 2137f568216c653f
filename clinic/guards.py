"""Database triggers that keep the audit trail append-only, whatever writes the SQL (raw SQL too).

One change is allowed: sealing an entry (clinic.audit.seal), that is, filling in the seq, prev_hash
and hash of an entry that has none yet, with nothing else changed. Every other UPDATE, every DELETE
and TRUNCATE is refused. Surface in Django as IntegrityError. Installed after every `migrate` of
the clinic app.
"""

from clinic.triggers import append_only, drop_sqlite_triggers, install_triggers

APPEND_ONLY = "audit_trail_is_append_only"
TABLE = "clinic_auditentry"
_CHAIN_COLUMNS = ("seq", "prev_hash", "hash")

_SQLITE, _ = append_only(TABLE, APPEND_ONLY, name="clinic_auditentry_append_only")
SQLITE_UPDATE_GUARD = f"{TABLE}_update"
SQLITE_DELETE_GUARD = f"{TABLE}_delete"
# Dropped only so a test database can be emptied between transactional tests (see conftest.py).
SQLITE_DELETE_GUARDS = [SQLITE_DELETE_GUARD]


def _sealing(connection):
    """The one UPDATE allowed, as SQL over OLD and NEW: an unsealed entry gets seq, prev_hash and
    hash, and every other column (of the table as it is now, read from the database) stays as it was."""
    with connection.cursor() as cursor:
        columns = [column.name for column in connection.introspection.get_table_description(cursor, TABLE)]
    return " AND ".join(
        [
            "OLD.seq IS NULL",
            *(f"NEW.{column} IS NOT NULL" for column in _CHAIN_COLUMNS),
            *(f"NEW.{column} IS NOT DISTINCT FROM OLD.{column}" for column in columns if column not in _CHAIN_COLUMNS),
        ]
    )


def _postgresql_statements(connection):
    return [
        f"""
        CREATE OR REPLACE FUNCTION clinic_auditentry_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION '{APPEND_ONLY}' USING ERRCODE = 'integrity_constraint_violation';
        END $$ LANGUAGE plpgsql""",
        f"DROP TRIGGER IF EXISTS clinic_auditentry_append_only ON {TABLE}",
        f"""CREATE TRIGGER clinic_auditentry_append_only BEFORE DELETE ON {TABLE}
            FOR EACH ROW EXECUTE FUNCTION clinic_auditentry_append_only()""",
        # A WHEN condition, not a test in the function: sealing a million entries calls no function.
        f"DROP TRIGGER IF EXISTS clinic_auditentry_sealing_only ON {TABLE}",
        f"""CREATE TRIGGER clinic_auditentry_sealing_only BEFORE UPDATE ON {TABLE}
            FOR EACH ROW WHEN (NOT ({_sealing(connection)})) EXECUTE FUNCTION clinic_auditentry_append_only()""",
        # TRUNCATE skips row triggers; a statement trigger covers it. (Test databases are emptied by
        # TRUNCATE ... of every table at once, so tests drop only this one first, see conftest.py.)
        f"DROP TRIGGER IF EXISTS clinic_auditentry_no_truncate ON {TABLE}",
        f"""CREATE TRIGGER clinic_auditentry_no_truncate BEFORE TRUNCATE ON {TABLE}
           FOR EACH STATEMENT EXECUTE FUNCTION clinic_auditentry_append_only()""",
    ]


def _sqlite_statements(connection):
    return [
        # Re-created each time: an older guard (before sealing existed, or before a column was added)
        # must not stay in place under IF NOT EXISTS.
        f"DROP TRIGGER IF EXISTS {SQLITE_UPDATE_GUARD}",
        f"""CREATE TRIGGER {SQLITE_UPDATE_GUARD} BEFORE UPDATE ON {TABLE}
            WHEN NOT ({_sealing(connection).replace("IS NOT DISTINCT FROM", "IS")})
            BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END""",
        _SQLITE[SQLITE_DELETE_GUARD],
    ]


def install_audit_guards(connection):
    statements = {"sqlite": _sqlite_statements, "postgresql": _postgresql_statements}.get(connection.vendor)
    if statements is not None:
        install_triggers(connection, needs_table=TABLE, **{connection.vendor: statements(connection)})


def drop_guards_for_test_flush(connection):
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TRIGGER IF EXISTS clinic_auditentry_no_truncate ON {TABLE}")
    drop_sqlite_triggers(connection, SQLITE_DELETE_GUARDS)
