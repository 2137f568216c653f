from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0006_sqlite_search_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # An index on a flag true for ~2% of rows served nobody but the archived; a partial one does that.
        migrations.AlterField(
            model_name="patient",
            name="is_archived",
            field=models.BooleanField(default=False),
        ),
        migrations.AddIndex(
            model_name="patient",
            index=models.Index(fields=["-id"], condition=models.Q(is_archived=True), name="patient_archived_newest"),
        ),
    ]
