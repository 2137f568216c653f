"""Database triggers that keep closed months closed: no entry dated in one is inserted, changed or
deleted, and a closed month is never reopened, whatever path the SQL comes from (raw SQL included).

PostgreSQL: one plpgsql function shared by the entry tables. SQLite: BEFORE triggers with RAISE(ABORT).
Both surface in Django as IntegrityError. Installed after every `migrate` (SQLite drops triggers when a
migration rebuilds a table); `CREATE OR REPLACE` / `IF NOT EXISTS` make that idempotent.
"""

from clinic.triggers import append_only, drop_sqlite_triggers, install_triggers

CLOSED = "finance_month_closed"
ENTRY_TABLES = ["finance_expense", "finance_otherincome", "finance_payment"]

_IN_CLOSED = "EXISTS (SELECT 1 FROM finance_closedmonth WHERE month = strftime('%Y-%m-01', {row}.date))"


# A closed month is never reopened.
_CLOSED_MONTHS_SQLITE, _CLOSED_MONTHS_POSTGRES = append_only(
    "finance_closedmonth", CLOSED, name="finance_closedmonth_guard"
)


def _sqlite():
    sql = {}
    for table in ENTRY_TABLES:
        sql[f"{table}_closed_insert"] = f"""
            CREATE TRIGGER IF NOT EXISTS {table}_closed_insert BEFORE INSERT ON {table}
            WHEN {_IN_CLOSED.format(row="NEW")} BEGIN SELECT RAISE(ABORT, '{CLOSED}'); END"""
        sql[f"{table}_closed_update"] = f"""
            CREATE TRIGGER IF NOT EXISTS {table}_closed_update BEFORE UPDATE ON {table}
            WHEN {_IN_CLOSED.format(row="OLD")} OR {_IN_CLOSED.format(row="NEW")}
            BEGIN SELECT RAISE(ABORT, '{CLOSED}'); END"""
        sql[f"{table}_closed_delete"] = f"""
            CREATE TRIGGER IF NOT EXISTS {table}_closed_delete BEFORE DELETE ON {table}
            WHEN {_IN_CLOSED.format(row="OLD")} BEGIN SELECT RAISE(ABORT, '{CLOSED}'); END"""
    sql.update(_CLOSED_MONTHS_SQLITE)
    return sql


SQLITE = _sqlite()
# Dropped only so a test database can be emptied between transactional tests (see conftest.py).
SQLITE_DELETE_GUARDS = [name for name in SQLITE if name.endswith("_delete")]

POSTGRES = [
    f"""
    CREATE OR REPLACE FUNCTION finance_closed_month_guard() RETURNS trigger AS $$
    BEGIN
        IF (TG_OP <> 'INSERT' AND EXISTS (
                SELECT 1 FROM finance_closedmonth WHERE month = date_trunc('month', OLD.date)::date))
           OR (TG_OP <> 'DELETE' AND EXISTS (
                SELECT 1 FROM finance_closedmonth WHERE month = date_trunc('month', NEW.date)::date)) THEN
            RAISE EXCEPTION '{CLOSED}' USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END $$ LANGUAGE plpgsql""",
    *_CLOSED_MONTHS_POSTGRES,
]
for _table in ENTRY_TABLES:
    POSTGRES += [
        f"DROP TRIGGER IF EXISTS {_table}_closed_guard ON {_table}",
        f"""CREATE TRIGGER {_table}_closed_guard BEFORE INSERT OR UPDATE OR DELETE ON {_table}
            FOR EACH ROW EXECUTE FUNCTION finance_closed_month_guard()""",
    ]


def install_finance_guards(connection):
    install_triggers(connection, needs_table="finance_closedmonth", sqlite=SQLITE.values(), postgresql=POSTGRES)


def drop_sqlite_delete_guards(connection):
    drop_sqlite_triggers(connection, SQLITE_DELETE_GUARDS)
