"""Lists that stay flat at scale, and overlap searches that look back only as far as the longest appointment.

- An index of completed visits by start (payments due walks them newest first and counts them).
- The longest appointment (guards.MAX_MINUTES) held by the database too: a check on PostgreSQL, the
  overlap triggers on SQLite, which now search only from MAX_MINUTES before the new appointment.
  A database holding a longer active appointment (only raw SQL could have written one) stops here
  and names it, rather than keep a row the bounded searches would not see.
"""

from django.db import migrations, models

from scheduling.guards import (
    INACTIVE_STATUSES,
    MAX_MINUTES,
    POSTGRES_LENGTH_CHECK,
    SQLITE_TRIGGERS,
    TOO_LONG,
    install_sqlite_guards,
)


def _refuse_longer_appointments(apps):
    Appointment = apps.get_model("scheduling", "Appointment")
    for appointment in Appointment.objects.exclude(status__in=INACTIVE_STATUSES).only("start", "end").iterator():
        if (appointment.end - appointment.start).total_seconds() > MAX_MINUTES * 60:
            raise RuntimeError(
                f"Appointment {appointment.pk} lasts longer than {MAX_MINUTES} minutes; shorten or cancel it first."
            )


def hold_longest(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_LENGTH_CHECK)  # checks every row as it is added
    elif connection.vendor == "sqlite":
        _refuse_longer_appointments(apps)
        # The triggers are created IF NOT EXISTS: the unbounded ones go first.
        for name in SQLITE_TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
        install_sqlite_guards(connection)


def release_longest(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE scheduling_appointment DROP CONSTRAINT IF EXISTS {TOO_LONG}")
    # SQLite keeps the bounded triggers: they are right for every appointment the app accepts.


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0003_sqlite_overlap_triggers")]

    operations = [
        migrations.AddIndex(
            model_name="appointment",
            index=models.Index(
                condition=models.Q(("status", "completed")), fields=["-start"], name="appointment_completed_start"
            ),
        ),
        migrations.RunPython(hold_longest, release_longest),
    ]
