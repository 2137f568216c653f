from django.core.management import call_command
from django.db import migrations


def make_cache_table(apps, schema_editor):
    # The API's rate-limit counts (settings.CACHES["api"]): Django makes a cache table with a command.
    call_command("createcachetable", "clinic_api_cache", database=schema_editor.connection.alias, verbosity=0)


def drop_cache_table(apps, schema_editor):
    schema_editor.execute("DROP TABLE IF EXISTS clinic_api_cache")


class Migration(migrations.Migration):
    dependencies = [("clinic", "0006_audit_dates_in_order")]

    operations = [migrations.RunPython(make_cache_table, drop_cache_table)]
