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
    available = models.BigIntegerField()  # max(balance + overdraft_limit - held, 0)
    held = models.BigIntegerField(default=0)  # set aside for pending approvals (ledger/domain/approval.py)
    status = models.CharField(max_length=10)
    opened_at = models.DateTimeField()
    last_activity_at = models.DateTimeField()
    version = models.IntegerField()  # of the last event applied
    position = models.BigIntegerField()  # of the last event applied
    # "TL" + check digits + 10 digits, no spaces (ledger/domain/account_number.py): from the position
    # of the account's AccountOpened event. NULL only in tables built by version 1 of the projector,
    # until the workers' sweep has rebuilt them: NULL, not "", so those rows do not collide in the unique index.
    number = models.CharField(max_length=14, null=True)  # noqa: DJ001

    class Meta:
        indexes = [
            models.Index(fields=["status", "currency"], name="summary_status_currency"),
            models.Index(fields=["-last_activity_at"], name="summary_last_activity"),
            models.Index(fields=["owner"], name="summary_owner"),
        ]
        constraints = [
            # Pattern operators: the same index answers a number and the start of one (LIKE 'TL12%').
            models.UniqueConstraint(fields=["number"], name="summary_number", opclasses=["varchar_pattern_ops"]),
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
    # deposit, withdrawal, transfer_in, transfer_out, or one of those + "_reversal"
    kind = models.CharField(max_length=30)
    amount = models.BigIntegerField()  # signed: credits positive, debits negative
    balance_after = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    counterparty_id = models.UUIDField(null=True)
    actor = models.CharField(max_length=150)
    memo = models.CharField(max_length=200, blank=True)  # a reversal's: its reason
    reverses_version = models.IntegerField(null=True)  # a reversal's: the version of the line it reverses
    # Not columns: set on each line of a statement page by queries.statement_page, in its one query.
    counterparty_owner: str | None
    counterparty_number: str | None
    lines_total: int
    reversed_by_version: int | None  # the version of the line that reversed this one

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account_id", "version"], name="statement_account_version")]
        indexes = [
            # The dashboard's latest movements of every account: the newest lines first.
            models.Index(fields=["-position"], name="statement_newest"),
            # "Reversed by" on a statement page: few lines are reversals, so the index is partial.
            models.Index(
                fields=["account_id", "reverses_version"],
                name="statement_reverses",
                condition=models.Q(reverses_version__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} v{self.version}: {self.kind} {self.amount} {self.currency}"


class AccountTotals(models.Model):
    """The bank's accounts and money per currency, kept by the account summary's projector in the
    statement that writes the accounts' rows (projectors/account_summary.py): the dashboard and the
    accounts list's count read a few rows instead of adding up every account (34 ms at 85,000
    accounts; flat now). verify_projections checks them against the sums of the checked rows."""

    currency = models.CharField(max_length=3)
    # The partition whose accounts these are (projections/partitions.py); 0 when not split. A
    # currency's figures are the sum of its rows.
    part = models.SmallIntegerField()
    accounts = models.IntegerField()
    open = models.IntegerField()
    frozen = models.IntegerField()
    closed = models.IntegerField()
    # Numeric: the sum of balances of up to 10**15 minor units each passes bigint's range.
    balance = models.DecimalField(max_digits=30, decimal_places=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["currency", "part"], name="totals_currency_part")]

    def __str__(self) -> str:
        return f"{self.currency} ({self.part})"


class DailyActivity(models.Model):
    """Counts and sums of movements per day and currency, for the dashboard."""

    day = models.DateField()
    currency = models.CharField(max_length=3)
    # The partition that added these counts (projections/partitions.py); 0 when not split. A day's
    # figures are the sum of its rows.
    part = models.SmallIntegerField(db_default=0)
    deposits_count = models.IntegerField(default=0)
    deposits_sum = models.BigIntegerField(default=0)
    withdrawals_count = models.IntegerField(default=0)
    withdrawals_sum = models.BigIntegerField(default=0)
    transfers_count = models.IntegerField(default=0)
    transfers_sum = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "currency", "part"], name="daily_day_currency_part")]

    def __str__(self) -> str:
        return f"{self.day} {self.currency}"


class EventType(models.Model):
    """The event-type catalogue: how many events of each type and stored schema version the log
    holds, and when the first and the last were recorded."""

    type = models.TextField()
    schema_version = models.SmallIntegerField()
    events = models.BigIntegerField(default=0)
    first_recorded_at = models.DateTimeField()
    last_recorded_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["type", "schema_version"], name="event_type_version")]

    def __str__(self) -> str:
        return f"{self.type} v{self.schema_version}"


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
    # A blue/green rebuild's step (projections/bluegreen.py), on the row of its shadow tables:
    # building, verifying, swapping, or failed (last_error says why); "" on the live rows.
    rebuild_phase = models.CharField(max_length=20, blank=True)
    version = models.IntegerField(default=1)  # the projector's version its tables were built with
    batches_applied = models.BigIntegerField(default=0)

    class Meta:
        verbose_name_plural = "projection status"

    def __str__(self) -> str:
        return self.name


class SkippedEvent(models.Model):
    """An event an operator told one projection to pass over (a poison event it cannot apply), with
    why. Never emptied by a rebuild: the rebuilt tables pass over the same events, and
    verify_projections leaves them out of its replay."""

    projection = models.CharField(max_length=50)
    position = models.BigIntegerField()
    event_id = models.UUIDField()
    reason = models.CharField(max_length=200)
    skipped_by = models.CharField(max_length=150)
    skipped_at = models.DateTimeField()
    error = models.TextField(blank=True)  # the error's one line when it was skipped

    class Meta:
        constraints = [models.UniqueConstraint(fields=["projection", "position"], name="skipped_event_once")]

    def __str__(self) -> str:
        return f"{self.projection} skips event #{self.position}"


class ApprovalRequest(models.Model):
    """Every approval request with its decision and outcome: the approvals inbox (the pending ones),
    a request's page and the account page's pending requests."""

    request_id = models.UUIDField(primary_key=True)
    account_id = models.UUIDField()
    to_account_id = models.UUIDField(null=True)  # None: a withdrawal
    amount = models.BigIntegerField()  # minor units
    currency = models.CharField(max_length=3)
    memo = models.CharField(max_length=200, blank=True)
    requested_by = models.CharField(max_length=150)
    requested_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    status = models.CharField(max_length=10)  # pending, approved, rejected, expired
    decided_by = models.CharField(max_length=150, blank=True)
    decision_reason = models.CharField(max_length=200, blank=True)
    decided_at = models.DateTimeField(null=True)  # when the decision (or the expiry) was recorded
    outcome = models.CharField(max_length=10, blank=True)  # executed, failed, released; "" until settled
    outcome_detail = models.CharField(max_length=200, blank=True)
    version = models.IntegerField()  # of the request's stream, last event applied
    position = models.BigIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["status", "requested_at"], name="approval_status_requested"),
            models.Index(fields=["account_id", "status"], name="approval_account_status"),
        ]

    def __str__(self) -> str:
        return f"request {self.request_id} on {self.account_id}: {self.status}"


class StandingOrder(models.Model):
    """Every standing order with its schedule and what came of its periods: an account's standing
    orders page and the account page (both the paying and the receiving account's)."""

    order_id = models.UUIDField(primary_key=True)
    account_id = models.UUIDField()  # the paying account
    to_account_id = models.UUIDField()
    amount = models.BigIntegerField()  # minor units
    currency = models.CharField(max_length=3)
    interval = models.CharField(max_length=10)  # weekly, monthly
    start_date = models.DateField()
    end_date = models.DateField(null=True)
    memo = models.CharField(max_length=200, blank=True)
    set_up_by = models.CharField(max_length=150)
    status = models.CharField(max_length=10)  # active, finished, cancelled, ended
    next_due = models.DateField(null=True)  # None once no period will fall due
    payments = models.IntegerField()  # periods paid
    last_paid_on = models.DateField(null=True)  # the due date of the last period paid
    failures = models.IntegerField()  # periods that could not be paid
    last_failure_on = models.DateField(null=True)
    last_failure_reason = models.CharField(max_length=200, blank=True)
    ended_reason = models.CharField(max_length=200, blank=True)  # why it was cancelled or ended
    version = models.IntegerField()  # of the order's stream, last event applied
    position = models.BigIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["account_id", "status"], name="standing_order_account"),
            models.Index(fields=["to_account_id"], name="standing_order_to_account"),
            models.Index(fields=["status", "next_due"], name="standing_order_due"),
        ]

    def __str__(self) -> str:
        return f"standing order {self.order_id} on {self.account_id}: {self.status}"
