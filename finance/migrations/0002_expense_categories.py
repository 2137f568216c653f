from django.db import migrations

# The starting list; managers add more (and retire any) in the admin.
CATEGORIES = [
    ("Rent", "Premises rent and service charges"),
    ("Salaries", "Staff pay, locum fees and payroll costs"),
    ("Supplies", "Medical and office consumables"),
    ("Equipment", "Medical devices, computers and furniture"),
    ("Utilities", "Electricity, water, heating, telephone and internet"),
    ("Maintenance", "Repairs, cleaning and servicing"),
    ("Other", "Anything that fits no other category"),
]


def add_categories(apps, schema_editor):
    ExpenseCategory = apps.get_model("finance", "ExpenseCategory")
    for name, description in CATEGORIES:
        if not ExpenseCategory.objects.filter(name__iexact=name).exists():
            ExpenseCategory.objects.create(name=name, description=description)


class Migration(migrations.Migration):
    dependencies = [("finance", "0001_initial")]

    operations = [migrations.RunPython(add_categories, migrations.RunPython.noop)]
