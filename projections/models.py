"""Read models: tables the screens read, written only by their projectors and rebuilt at will."""

from __future__ import annotations

from django.db import models


class AccountSummary(models.Model):
    """One row per account: what the accounts list and the account page show."""

    account_id = models.UUIDField(primary_key=True)
    owner = models.CharField(max_length=120)
    currency = models.CharField(max_length=3)
    balance = models.BigIntegerField()  # minor units
    overdraft_limit = models.BigIntegerField()
    available = models.BigIntegerField()  # max(balance + overdraft_limit, 0)
    status = models.CharField(max_length=10)
    opened_at = models.DateTimeField()
    last_activity_at = models.DateTimeField()
    version = models.IntegerField()  # of the last event applied
    position = models.BigIntegerField()  # of the last event applied

    class Meta:
        indexes = [
            models.Index(fields=["status", "currency"], name="summary_status_currency"),
            models.Index(fields=["-last_activity_at"], name="summary_last_activity"),
            models.Index(fields=["owner"], name="summary_owner"),
        ]

    def __str__(self) -> str:
        return f"{self.owner} ({self.account_id}, {self.currency})"


class StatementLine(models.Model):
    """Every movement of money, with the balance after it."""

    id = models.BigAutoField(primary_key=True)
    account_id = models.UUIDField()
    version = models.IntegerField()
    position = models.BigIntegerField()
    recorded_at = models.DateTimeField()
    kind = models.CharField(max_length=20)  # deposit, withdrawal, transfer_in, transfer_out
    amount = models.BigIntegerField()  # signed: credits positive, debits negative
    balance_after = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    counterparty_id = models.UUIDField(null=True)
    actor = models.CharField(max_length=150)
    memo = models.CharField(max_length=200, blank=True)
    # Not columns: set on each line of a statement page by queries.statement_page, in its one query.
    counterparty_owner: str | None
    lines_total: int

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account_id", "version"], name="statement_account_version")]

    def __str__(self) -> str:
        return f"{self.account_id} v{self.version}: {self.kind} {self.amount} {self.currency}"


class DailyActivity(models.Model):
    """Counts and sums of movements per day and currency, for the dashboard."""

    day = models.DateField()
    currency = models.CharField(max_length=3)
    deposits_count = models.IntegerField(default=0)
    deposits_sum = models.BigIntegerField(default=0)
    withdrawals_count = models.IntegerField(default=0)
    withdrawals_sum = models.BigIntegerField(default=0)
    transfers_count = models.IntegerField(default=0)
    transfers_sum = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "currency"], name="daily_day_currency")]

    def __str__(self) -> str:
        return f"{self.day} {self.currency}"


class ProjectionStatus(models.Model):
    """Where each projector is in the event log, written in the same transaction as its tables."""

    name = models.CharField(max_length=50, primary_key=True)
    tx_id = models.BigIntegerField(default=0)  # checkpoint: (tx_id, position) of the last event read
    position = models.BigIntegerField(default=0)
    last_event_at = models.DateTimeField(null=True)  # recorded_at of that event
    events_applied = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(null=True)
    last_error = models.TextField(blank=True)
    last_error_position = models.BigIntegerField(null=True)
    last_error_at = models.DateTimeField(null=True)
    rebuilding = models.BooleanField(default=False)
    rebuild_started_at = models.DateTimeField(null=True)
    rebuild_target = models.BigIntegerField(null=True)  # head position when the rebuild began
    rebuild_rate = models.FloatField(null=True)  # events per second over the last batch

    class Meta:
        verbose_name_plural = "projection status"

    def __str__(self) -> str:
        return self.name
