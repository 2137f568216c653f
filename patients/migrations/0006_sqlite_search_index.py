from django.db import migrations


def create_index(apps, schema_editor):
    # SQLite only: the FTS5 trigram table behind patient search and the triggers keeping it in step
    # (PostgreSQL has its trigram GIN index since 0003). Re-installed after every migrate (apps.py).
    from patients.search import install_sqlite_search

    install_sqlite_search(schema_editor.connection)


def drop_index(apps, schema_editor):
    from patients.search import drop_sqlite_search

    drop_sqlite_search(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("patients", "0005_patient_allergies_checked")]

    operations = [migrations.RunPython(create_index, drop_index)]
