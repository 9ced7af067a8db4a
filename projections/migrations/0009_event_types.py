"""The event-type catalogue's table (projections/projectors/event_types.py): the runner fills it from
the first event like any new projection."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("projections", "0008_statement_newest"),
    ]

    operations = [
        migrations.CreateModel(
            name="EventType",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("type", models.TextField()),
                ("schema_version", models.SmallIntegerField()),
                ("events", models.BigIntegerField(default=0)),
                ("first_recorded_at", models.DateTimeField()),
                ("last_recorded_at", models.DateTimeField()),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("type", "schema_version"), name="event_type_version")],
            },
        ),
    ]
