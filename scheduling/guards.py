"""The database's own refusal of overlapping appointments, one mechanism per database.

PostgreSQL: exclusion constraints (btree_gist) declared on the model. Django 5.2 emits EXCLUDE
on every backend, which breaks SQLite, so the constraint class below emits nothing elsewhere.
SQLite: BEFORE INSERT/UPDATE triggers that RAISE(ABORT) (seen by Django as IntegrityError).
SQLite's schema editor silently drops triggers when it rebuilds a table, so `install_sqlite_guards`
runs after every `migrate` (post_migrate) and a test asserts the triggers exist.

Both also refuse an active appointment longer than MAX_MINUTES: that is what lets an overlap search
(the triggers' own, and AppointmentQuerySet.overlapping) look back only MAX_MINUTES from the time
asked for, through the (doctor, start) and (patient, start) indexes, instead of reading every
earlier appointment of the doctor or patient.
"""

from datetime import timedelta

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Func

from clinic.triggers import install_triggers

# Both the PostgreSQL constraint names and the SQLite RAISE messages: the booking service
# recognises an overlap refused by the database by these words.
DOCTOR_OVERLAP = "appointment_doctor_overlap"
PATIENT_OVERLAP = "appointment_patient_overlap"
OVERLAP_NAMES = (DOCTOR_OVERLAP, PATIENT_OVERLAP)
# Statuses that do not hold the slot.
INACTIVE_STATUSES = ("cancelled", "no_show")
# The longest appointment (Appointment.clean() and both databases refuse longer).
MAX_MINUTES = 480
# SQLite checks the length in julian days, a float: it may let a length a hair above MAX_MINUTES
# through, so every overlap search looks back this much more (one minute; lengths are whole minutes).
LENGTH_SLACK = timedelta(minutes=1)
TOO_LONG = "appointment_too_long"
_INACTIVE_SQL = ", ".join(f"'{s}'" for s in INACTIVE_STATUSES)
# PostgreSQL's refusal of an active appointment longer than MAX_MINUTES (migration 0004 adds it).
POSTGRES_LENGTH_CHECK = (
    f"ALTER TABLE scheduling_appointment ADD CONSTRAINT {TOO_LONG} "
    f'CHECK (status IN ({_INACTIVE_SQL}) OR "end" - "start" <= interval \'{MAX_MINUTES} minutes\')'
)


class TsTzRange(Func):
    """tstzrange(start, end, '[)'): half-open, so back-to-back appointments do not overlap."""

    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


class PostgresExclusionConstraint(ExclusionConstraint):
    """An exclusion constraint on PostgreSQL, nothing on other databases (they use triggers).

    `validate()` is left to `Appointment.clean()`, which names the conflicting appointment;
    this constraint is the database's last word against a race.
    """

    @staticmethod
    def _on_postgres(schema_editor):
        return schema_editor.connection.vendor == "postgresql"

    def check_supported(self, schema_editor):
        if self._on_postgres(schema_editor):
            super().check_supported(schema_editor)

    def constraint_sql(self, model, schema_editor):
        return super().constraint_sql(model, schema_editor) if self._on_postgres(schema_editor) else None

    def create_sql(self, model, schema_editor):
        return super().create_sql(model, schema_editor) if self._on_postgres(schema_editor) else None

    def remove_sql(self, model, schema_editor):
        return super().remove_sql(model, schema_editor) if self._on_postgres(schema_editor) else None

    def validate(self, model, instance, exclude=None, using=DEFAULT_DB_ALIAS):
        return None


def _trigger_sql(event: str, column: str, message: str) -> str:
    same_row = "AND a.id != NEW.id" if event == "UPDATE" else ""
    # Appointments overlapping NEW started at most MAX_MINUTES (+ the slack) before it: a bounded
    # range of the (column, start) index. Django stores UTC as 'YYYY-MM-DD HH:MM:SS[.ffffff]', which
    # datetime() writes in the same shape, so the text comparison orders the times.
    earliest = f"datetime(NEW.start, '-{MAX_MINUTES + int(LENGTH_SLACK.total_seconds() // 60)} minutes')"
    return f"""
CREATE TRIGGER IF NOT EXISTS {message}_{event.lower()}
BEFORE {event} ON scheduling_appointment
WHEN NEW.status NOT IN ({_INACTIVE_SQL})
BEGIN
    SELECT RAISE(ABORT, '{TOO_LONG}')
    WHERE (julianday(NEW."end") - julianday(NEW.start)) * 1440 > {MAX_MINUTES} + 0.001;
    SELECT RAISE(ABORT, '{message}')
    WHERE EXISTS (
        SELECT 1 FROM scheduling_appointment a
        WHERE a.{column} = NEW.{column} {same_row}
          AND a.status NOT IN ({_INACTIVE_SQL})
          AND a.start >= {earliest}
          AND a.start < NEW."end" AND NEW.start < a."end"
    );
END;"""


SQLITE_TRIGGERS = {
    f"{message}_{event.lower()}": _trigger_sql(event, column, message)
    for event in ("INSERT", "UPDATE")
    for column, message in (("doctor_id", DOCTOR_OVERLAP), ("patient_id", PATIENT_OVERLAP))
}


def install_sqlite_guards(connection):
    """Create the overlap triggers if missing. Idempotent; does nothing on other databases."""
    install_triggers(connection, needs_table="scheduling_appointment", sqlite=SQLITE_TRIGGERS.values())


def installed_sqlite_guards(connection):
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'scheduling_appointment'")
        return {row[0] for row in cursor.fetchall()}
