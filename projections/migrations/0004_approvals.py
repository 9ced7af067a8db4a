"""Approvals: the held amount on the account summary and the approval requests' read model."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("projections", "0003_statement_reversals")]

    operations = [
        migrations.AddField(model_name="accountsummary", name="held", field=models.BigIntegerField(default=0)),
        migrations.CreateModel(
            name="ApprovalRequest",
            fields=[
                ("request_id", models.UUIDField(primary_key=True, serialize=False)),
                ("account_id", models.UUIDField()),
                ("to_account_id", models.UUIDField(null=True)),
                ("amount", models.BigIntegerField()),
                ("currency", models.CharField(max_length=3)),
                ("memo", models.CharField(blank=True, max_length=200)),
                ("requested_by", models.CharField(max_length=150)),
                ("requested_at", models.DateTimeField()),
                ("expires_at", models.DateTimeField()),
                ("status", models.CharField(max_length=10)),
                ("decided_by", models.CharField(blank=True, max_length=150)),
                ("decision_reason", models.CharField(blank=True, max_length=200)),
                ("decided_at", models.DateTimeField(null=True)),
                ("outcome", models.CharField(blank=True, max_length=10)),
                ("outcome_detail", models.CharField(blank=True, max_length=200)),
                ("version", models.IntegerField()),
                ("position", models.BigIntegerField()),
            ],
            options={
                "indexes": [
                    models.Index(fields=["status", "requested_at"], name="approval_status_requested"),
                    models.Index(fields=["account_id", "status"], name="approval_account_status"),
                ]
            },
        ),
    ]
