from django.db import migrations


def refresh_search_text(apps, schema_editor):
    """Search text now also holds each name word joined across its apostrophe ("obrien" for O'Brien), so
    "ob" finds her. Only the rows of names with an apostrophe are written."""
    from patients.search import search_text
    from patients.text import fold_joined

    Patient = apps.get_model("patients", "Patient")
    rows = Patient.objects.only("pk", "first_name", "last_name", "name_key", "mrn", "phone_digits", "search_text")
    for patient in rows.iterator(chunk_size=2000):
        joined = fold_joined(f"{patient.first_name} {patient.last_name}")
        text = search_text(patient.name_key, joined, patient.mrn, patient.phone_digits)
        if text != patient.search_text:
            Patient.objects.filter(pk=patient.pk).update(search_text=text)


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0008_reminder_opt_outs"),
    ]

    operations = [
        migrations.RunPython(refresh_search_text, migrations.RunPython.noop),
    ]
