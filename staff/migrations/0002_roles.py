from django.db import migrations


def sync(apps, schema_editor):
    from staff.roles import sync_roles

    sync_roles(apps, strict=False)


class Migration(migrations.Migration):
    # The groups and their permissions come from staff/roles.py; they are synced again after
    # every migrate, so later permission changes need no new migration of their own.
    dependencies = [
        ("staff", "0001_initial"),
        ("patients", "0002_initial"),
        ("scheduling", "0002_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]
