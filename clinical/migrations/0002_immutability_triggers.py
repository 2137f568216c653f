from django.db import migrations

from clinical.guards import install_clinical_guards


def install(apps, schema_editor):
    install_clinical_guards(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("clinical", "0001_initial")]

    # Signed records, their medications and amendments never change (see clinical/guards.py).
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
