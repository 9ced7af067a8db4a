"""The bank's totals per currency (and partition), kept by the account summary's projector, filled
here from the accounts' rows as they are, in the layout the live tables are built with, so the
dashboard shows them at once; version 3 of the projector then rebuilds the tables blue/green."""

from django.db import migrations, models

BUCKETS = 256  # projections/projectors/base.py: a partition's streams are a run of 256 buckets


def fill(apps, schema_editor):
    status = apps.get_model("projections", "ProjectionStatus")
    names = status.objects.filter(name__startswith="account_summary:").values_list("name", flat=True)
    split = [tuple(int(x) for x in name.split(":")[1].split("/")) for name in names]  # account_summary:k/n
    parts = [(k, (k - 1) * BUCKETS // n, k * BUCKETS // n - 1) for k, n in split] or [(0, 0, BUCKETS - 1)]
    with schema_editor.connection.cursor() as cursor:
        for part, low, high in parts:
            cursor.execute(
                """
                INSERT INTO projections_accounttotals (currency, part, accounts, open, frozen, closed, balance)
                SELECT currency, %s, count(*), count(*) FILTER (WHERE status = 'open'),
                       count(*) FILTER (WHERE status = 'frozen'), count(*) FILTER (WHERE status = 'closed'),
                       sum(balance)
                  FROM projections_accountsummary
                 WHERE get_byte(uuid_send(account_id), 15) BETWEEN %s AND %s
                 GROUP BY currency""",
                [part, low, high],
            )


class Migration(migrations.Migration):
    dependencies = [("projections", "0010_daily_activity_partitions")]

    operations = [
        migrations.CreateModel(
            name="AccountTotals",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("currency", models.CharField(max_length=3)),
                ("part", models.SmallIntegerField()),
                ("accounts", models.IntegerField()),
                ("open", models.IntegerField()),
                ("frozen", models.IntegerField()),
                ("closed", models.IntegerField()),
                ("balance", models.DecimalField(decimal_places=0, max_digits=30)),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("currency", "part"), name="totals_currency_part")],
            },
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
