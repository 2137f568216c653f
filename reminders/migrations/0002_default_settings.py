from django.conf import settings
from django.db import migrations


def create_settings(apps, schema_editor):
    """The one settings row, with the clinic's name, address and phone from the server's settings."""
    ReminderSettings = apps.get_model("reminders", "ReminderSettings")
    if not ReminderSettings.objects.exists():
        ReminderSettings.objects.create(
            clinic_name=settings.CLINIC_NAME,
            clinic_address=getattr(settings, "CLINIC_LETTERHEAD_ADDRESS", ""),
            clinic_phone=getattr(settings, "CLINIC_LETTERHEAD_PHONE", ""),
        )


class Migration(migrations.Migration):
    dependencies = [("reminders", "0001_initial")]

    operations = [migrations.RunPython(create_settings, migrations.RunPython.noop)]
