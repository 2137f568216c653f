"""Seed the formulary with the drug class table's generic names and combination products."""

from django.db import migrations


def seed(apps, schema_editor):
    from clinical.formulary import add_missing_from_drug_classes

    add_missing_from_drug_classes(model=apps.get_model("clinical", "FormularyDrug"))


class Migration(migrations.Migration):
    dependencies = [("clinical", "0004_formulary")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
