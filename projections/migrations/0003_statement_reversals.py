"""Statement lines for reversals: a reversal's line names the line it reverses (reverses_version),
and the kinds grow a "_reversal" suffix (transfer_out_reversal is 21 characters). Lines written
before reversals existed reverse nothing, so the new column's NULL is their truth: no rebuild."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("projections", "0002_accounts_search_indexes")]

    operations = [
        migrations.AddField(model_name="statementline", name="reverses_version", field=models.IntegerField(null=True)),
        migrations.AlterField(model_name="statementline", name="kind", field=models.CharField(max_length=30)),
        # "Reversed by" on a statement page; few lines are reversals, so the index is partial and small.
        migrations.AddIndex(
            model_name="statementline",
            index=models.Index(
                condition=models.Q(("reverses_version__isnull", False)),
                fields=["account_id", "reverses_version"],
                name="statement_reverses",
            ),
        ),
    ]
