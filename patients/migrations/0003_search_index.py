from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEX = "patient_search_trgm"


def create_index(apps, schema_editor):
    # A trigram GIN index makes `search_text LIKE '%term%'` use the index on PostgreSQL.
    # (Declared here, not in Meta.indexes, because SQLite has no GIN indexes.)
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON patients_patient USING gin (search_text gin_trgm_ops)"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("patients", "0002_initial")]

    operations = [TrigramExtension(), migrations.RunPython(create_index, drop_index)]
