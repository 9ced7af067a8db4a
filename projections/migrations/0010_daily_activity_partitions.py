"""Daily activity keeps a row per day, currency and partition (projections/partitions.py): each
partition of the projector adds to its own rows, the screens sum them. Existing rows are partition 0,
the projector not split."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("projections", "0009_event_types")]

    operations = [
        migrations.AddField(model_name="dailyactivity", name="part", field=models.SmallIntegerField(db_default=0)),
        migrations.RemoveConstraint(model_name="dailyactivity", name="daily_day_currency"),
        migrations.AddConstraint(
            model_name="dailyactivity",
            constraint=models.UniqueConstraint(fields=("day", "currency", "part"), name="daily_day_currency_part"),
        ),
    ]
