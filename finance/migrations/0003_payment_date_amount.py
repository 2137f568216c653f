from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("finance", "0002_expense_categories")]

    operations = [
        migrations.AddIndex(
            model_name="payment",
            index=models.Index(fields=["date", "amount"], name="payment_date_amount"),
        ),
    ]
