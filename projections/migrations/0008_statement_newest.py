"""The newest statement lines of every account (the dashboard's latest movements) by an index on
position, built CONCURRENTLY as the other read-model indexes are: the projectors keep writing."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [("projections", "0007_account_numbers")]

    operations = [
        AddIndexConcurrently(
            model_name="statementline",
            index=models.Index(fields=["-position"], name="statement_newest"),
        ),
    ]
