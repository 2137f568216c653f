from django.db import migrations

from scheduling.guards import SQLITE_TRIGGERS, install_sqlite_guards


def install(apps, schema_editor):
    install_sqlite_guards(schema_editor.connection)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for name in SQLITE_TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0002_initial")]

    # PostgreSQL has its exclusion constraints (0002); SQLite gets triggers (see scheduling/guards.py).
    operations = [migrations.RunPython(install, remove)]
