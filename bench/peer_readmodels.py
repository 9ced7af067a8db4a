"""The peer's read side doing Tally's projections: account summary, statement lines with running
balance and counterparty, daily totals per currency (the same columns and indexes as Tally's
tables), written by a batched projector as a user of the `eventsourcing` library who cares about
speed would write it.

It reads the application's notification log a section at a time with the library's own reader
(NotificationLogReader.select over the application's notification log), turns the section into
domain events with the application's mapper, folds it in Python, and writes it set-based in one
transaction with its tracking record (the library's PostgresTrackingRecorder): the accounts'
balances before the section in one query, new summaries and changed ones each in one statement
over unnest() arrays, statement lines with COPY, daily totals in one upsert. A crash leaves the
tables and the tracking record together, as Tally's checkpoint does.

`ReadModelsProjection` is the same work in the library's own Projection shape, one event per
transaction, for its ProjectionRunner (the labelled second peer column).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.persistence import Notification, Tracking
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.projection import Projection
from eventsourcing.system import NotificationLogReader
from psycopg.sql import SQL, Composed, Identifier

from bench.peer_ledger import SECTION_SIZE, LedgerAccount

TABLES = ("peer_account_summary", "peer_statement_line", "peer_daily_activity")

# As Tally's migrations make them (projections/models.py and migrations, at the commit this was
# written at: held, reverses_version and their indexes included): the same columns, keys and
# indexes, so both sides maintain the same index entries per event. The workload has no holds or
# reversals, so held is 0 and reverses_version NULL on both sides.
_CREATE = [
    """CREATE TABLE IF NOT EXISTS peer_account_summary (
        account_id uuid PRIMARY KEY, owner varchar(120) NOT NULL, currency varchar(3) NOT NULL,
        balance bigint NOT NULL, overdraft_limit bigint NOT NULL, available bigint NOT NULL, held bigint NOT NULL,
        status varchar(10) NOT NULL, opened_at timestamptz NOT NULL, last_activity_at timestamptz NOT NULL,
        version integer NOT NULL, position bigint NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS peer_summary_status_currency ON peer_account_summary (status, currency)",
    "CREATE INDEX IF NOT EXISTS peer_summary_last_activity ON peer_account_summary (last_activity_at DESC)",
    "CREATE INDEX IF NOT EXISTS peer_summary_owner ON peer_account_summary (owner)",
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS peer_summary_owner_trigram ON peer_account_summary "
    "USING gin (upper(owner) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS peer_summary_account_number_prefix ON peer_account_summary "
    "((account_id::text) text_pattern_ops)",
    """CREATE TABLE IF NOT EXISTS peer_statement_line (
        id bigserial PRIMARY KEY, account_id uuid NOT NULL, version integer NOT NULL, position bigint NOT NULL,
        recorded_at timestamptz NOT NULL, kind varchar(30) NOT NULL, amount bigint NOT NULL,
        balance_after bigint NOT NULL, currency varchar(3) NOT NULL, counterparty_id uuid NULL,
        actor varchar(150) NOT NULL, memo varchar(200) NOT NULL, reverses_version integer NULL,
        CONSTRAINT peer_statement_account_version UNIQUE (account_id, version))""",
    "CREATE INDEX IF NOT EXISTS peer_statement_reverses ON peer_statement_line (account_id, reverses_version) "
    "WHERE reverses_version IS NOT NULL",
    """CREATE TABLE IF NOT EXISTS peer_daily_activity (
        id bigserial PRIMARY KEY, day date NOT NULL, currency varchar(3) NOT NULL,
        deposits_count integer NOT NULL, deposits_sum bigint NOT NULL,
        withdrawals_count integer NOT NULL, withdrawals_sum bigint NOT NULL,
        transfers_count integer NOT NULL, transfers_sum bigint NOT NULL,
        CONSTRAINT peer_daily_day_currency UNIQUE (day, currency))""",
]

_OPENING = "SELECT account_id, balance, overdraft_limit FROM peer_account_summary WHERE account_id = ANY(%s)"
_INSERT_SUMMARY = """
INSERT INTO peer_account_summary (account_id, owner, currency, balance, overdraft_limit, available, held, status,
                                  opened_at, last_activity_at, version, position)
SELECT * FROM unnest(%s::uuid[], %s::text[], %s::text[], %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[],
                     %s::text[], %s::timestamptz[], %s::timestamptz[], %s::int[], %s::bigint[])"""
_UPDATE_SUMMARY = """
UPDATE peer_account_summary s
   SET balance = c.balance, available = c.available, last_activity_at = c.last_activity_at,
       version = c.version, position = c.position
  FROM unnest(%s::uuid[], %s::bigint[], %s::bigint[], %s::timestamptz[], %s::int[], %s::bigint[])
       AS c (account_id, balance, available, last_activity_at, version, position)
 WHERE s.account_id = c.account_id"""
_LINE_COLUMNS = (
    "account_id, version, position, recorded_at, kind, amount, balance_after, currency, counterparty_id, actor, memo"
)
_COUNTERS = (
    "deposits_count",
    "deposits_sum",
    "withdrawals_count",
    "withdrawals_sum",
    "transfers_count",
    "transfers_sum",
)
_UPSERT_DAILY = f"""
INSERT INTO peer_daily_activity (day, currency, {", ".join(_COUNTERS)})
SELECT * FROM unnest(%s::date[], %s::text[], %s::int[], %s::bigint[], %s::int[], %s::bigint[], %s::int[], %s::bigint[])
ON CONFLICT (day, currency) DO UPDATE SET
""" + ", ".join(f"{c} = peer_daily_activity.{c} + excluded.{c}" for c in _COUNTERS)

_E = LedgerAccount
# event class -> (statement kind, sign, counterparty attribute); as projections/projectors/statement.py
_MOVEMENTS: dict[type, tuple[str, int, str | None]] = {
    _E.Deposited: ("deposit", 1, None),
    _E.Withdrawn: ("withdrawal", -1, None),
    _E.TransferReceived: ("transfer_in", 1, "from_account_id"),
    _E.TransferSent: ("transfer_out", -1, "to_account_id"),
}
# As daily_activity.py: a transfer counted once, on its sending side.
_DAILY_COLUMN = {_E.Deposited: 0, _E.Withdrawn: 1, _E.TransferSent: 2}


@dataclass(slots=True)
class _Summary:
    owner: str
    currency: str
    balance: int
    overdraft_limit: int
    status: str
    opened_at: datetime | None  # None: opened before this section (the row exists)
    last_activity_at: datetime
    version: int
    position: int


class ReadModelsView(PostgresTrackingRecorder):
    """The three tables and the projector's tracking record, in one database, one transaction."""

    def __init__(self, datastore: Any, *, time_zone: str = "UTC", **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        self.sql_create_statements += [Composed([SQL(s)]) for s in _CREATE]
        self.zone = ZoneInfo(time_zone)

    def reset(self, application_name: str) -> None:
        """From nothing, as a rebuild starts: empty tables, no tracking record for the application
        (the table's other rows, such as the library's own migration marker, stay)."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(SQL(f"TRUNCATE {', '.join(TABLES)}"))
            curs.execute(
                SQL("DELETE FROM {0} WHERE application_name = %s").format(Identifier(self.tracking_table_name)),
                [application_name],
            )

    def apply(self, events: Sequence[tuple[int, Any]], tracking: Tracking) -> None:
        """Project (notification id, domain event) pairs in log order; record `tracking` with them."""
        with self.datastore.transaction(commit=True) as curs:
            touched = list({e.originator_id for _, e in events if not isinstance(e, _E.Opened)})
            curs.execute(_OPENING, [touched], prepare=True)
            # Accounts opened before the section: their balance to carry on from (the workload
            # has no status events, so their status is left as it is).
            summaries = {
                r["account_id"]: _Summary("", "", r["balance"], r["overdraft_limit"], "", None, _EPOCH, 0, 0)
                for r in curs.fetchall()
            }
            lines, daily = self._fold(events, summaries)
            new = [(k, s) for k, s in summaries.items() if s.opened_at is not None]
            old = [(k, s) for k, s in summaries.items() if s.opened_at is None and s.version]
            if new:
                curs.execute(_INSERT_SUMMARY, _columns(_new_row(k, s) for k, s in new), prepare=True)
            if old:
                curs.execute(_UPDATE_SUMMARY, _columns(_old_row(k, s) for k, s in old), prepare=True)
            if lines:
                with curs.copy(f"COPY peer_statement_line ({_LINE_COLUMNS}) FROM STDIN") as copy:
                    for line in lines:
                        copy.write_row(line)
            if daily:
                curs.execute(_UPSERT_DAILY, _columns((d, c, *v) for (d, c), v in daily.items()), prepare=True)
            self._insert_tracking(curs, tracking)

    def _fold(
        self, events: Iterable[tuple[int, Any]], summaries: dict[UUID, _Summary]
    ) -> tuple[list[tuple[Any, ...]], dict[tuple[date, str], list[int]]]:
        lines: list[tuple[Any, ...]] = []
        daily: dict[tuple[date, str], list[int]] = defaultdict(lambda: [0] * 6)
        for position, e in events:
            if isinstance(e, _E.Opened):
                limit = e.overdraft_limit
                summaries[e.originator_id] = _Summary(
                    e.owner, e.currency, 0, limit, "open", e.timestamp, e.timestamp, e.originator_version, position
                )
                continue
            s = summaries[e.originator_id]
            kind, sign, other = _MOVEMENTS[type(e)]
            amount = sign * e.amount
            s.balance += amount
            s.last_activity_at, s.version, s.position = e.timestamp, e.originator_version, position
            lines.append(
                (
                    e.originator_id,
                    e.originator_version,
                    position,
                    e.timestamp,
                    kind,
                    amount,
                    s.balance,
                    e.currency,
                    getattr(e, other) if other else None,
                    e.actor,
                    e.memo,
                )
            )
            column = _DAILY_COLUMN.get(type(e))
            if column is not None:
                counters = daily[(e.timestamp.astimezone(self.zone).date(), e.currency)]
                counters[column * 2] += 1
                counters[column * 2 + 1] += e.amount
        return lines, daily


_EPOCH = datetime.fromtimestamp(0).astimezone()


def _new_row(key: UUID, s: _Summary) -> tuple[Any, ...]:
    available = max(s.balance + s.overdraft_limit, 0)
    return (key, s.owner, s.currency, s.balance, s.overdraft_limit, available, 0, s.status, s.opened_at,
            s.last_activity_at, s.version, s.position)  # fmt: skip


def _old_row(key: UUID, s: _Summary) -> tuple[Any, ...]:
    available = max(s.balance + s.overdraft_limit, 0)
    return (key, s.balance, available, s.last_activity_at, s.version, s.position)


def _columns(rows: Iterable[tuple[Any, ...]]) -> list[list[Any]]:
    """Rows as one array per column, the parameters of an unnest()."""
    return [list(column) for column in zip(*rows, strict=True)]


class BatchedProjector:
    """Follows an application's log a section at a time into a ReadModelsView."""

    def __init__(self, app: Any, view: ReadModelsView, *, section_size: int = SECTION_SIZE) -> None:
        self.app, self.view = app, view
        self.reader = NotificationLogReader(app.notification_log, section_size=section_size)

    def catch_up(self) -> int:
        """Apply every section after the tracking record; returns the events applied."""
        start = (self.view.max_tracking_id(self.app.name) or 0) + 1
        applied = 0
        for section in self.reader.select(start=start):
            self.apply(section)
            applied += len(section)
        return applied

    def apply(self, section: Sequence[Notification]) -> None:
        to_event = self.app.mapper.to_domain_event
        events = [(n.id, to_event(n)) for n in section]
        self.view.apply(events, Tracking(self.app.name, section[-1].id))


class ReadModelsProjection(Projection[ReadModelsView]):
    """The same projections as the library's Projection for its ProjectionRunner: one event, one
    transaction (the runner hands them over one by one)."""

    name = "readmodels"

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.view.apply([(tracking.notification_id, domain_event)], tracking)
