"""Query functions: everything the screens read, in one place, over the read models only."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from uuid import UUID

from django.core.paginator import Page, Paginator
from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from ledger.domain import account_number
from ledger.store import HORIZON_SQL, Checkpoint
from ledger.store.sql import columns, load_models, prepared_cursor, read_from_primary, reading_alias
from projections.models import AccountSummary, AccountTotals, DailyActivity, ProjectionStatus, StatementLine
from projections.partitions import PROJECTION_OF_ROW
from projections.projectors.account_summary import STATUSES

ACCOUNT_SORTS = {
    "owner": ("owner", "account_id"),
    "-owner": ("-owner", "account_id"),
    "balance": ("balance", "account_id"),
    "-balance": ("-balance", "account_id"),
    "activity": ("last_activity_at", "account_id"),
    "-activity": ("-last_activity_at", "account_id"),
    "opened": ("opened_at", "account_id"),
    "-opened": ("-opened_at", "account_id"),
}
PAGE_SIZE = 25
WAIT_POLL_SECONDS = (0.004, 0.016)  # first pause, longest pause
READ_YOUR_WRITES_SECONDS = 1.5  # how long a page after a task waits for the read side
# Statement pages beyond this would need an OFFSET past what Postgres counts (bigint); no account
# has that many lines, so asking for one is asking for the last page.
LAST_STATEMENT_PAGE = (2**63 - 1) // PAGE_SIZE
# What Postgres text cannot hold: NUL (psycopg refuses to send it) and lone surrogates (not UTF-8).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> bool:
    """Whether `text` can be compared with Postgres text. Text that cannot is in no column, so a
    search or filter for it matches nothing, and is answered without asking the database."""
    return _UNSTORABLE.search(text) is None


# The account page's reads are prepared statements (see ledger.store.sql): they run on every view of it.
ACCOUNT_SQL = f"SELECT {columns(AccountSummary)} FROM {AccountSummary._meta.db_table} WHERE account_id = %s"


def account_summary_get(*, account_id: UUID) -> AccountSummary | None:
    found = load_models(AccountSummary, ACCOUNT_SQL, [account_id])
    return found[0] if found else None


# A search lists at most this many of its matches: counting every match of a common name (4,668
# "Allen"s at 85,000 accounts: 5.4 ms) grew with the bank; counting up to here does not. Nobody
# pages through more; the page says to narrow the search.
SEARCH_LISTED = 500


class AccountsPaginator(Paginator):
    """The accounts list's pages. `more_than`: a search matched more accounts than it lists (its
    first SEARCH_LISTED, in the chosen order); 0 when every match is listed."""

    more_than = 0


def accounts_search(
    *, q: str = "", status: str = "", currency: str = "", sort: str = "-activity", page: int | str = 1
) -> Page:
    accounts: QuerySet[AccountSummary] = AccountSummary.objects.all()
    if not all(storable(text) for text in (q, status, currency)):
        return AccountsPaginator(accounts.none(), PAGE_SIZE).get_page(page)
    q = q.strip()
    if q:
        accounts = accounts.filter(_named_or_numbered(q))
    if status:
        accounts = accounts.filter(status=status)
    if currency:
        accounts = accounts.filter(currency=currency)
    accounts = accounts.order_by(*ACCOUNT_SORTS.get(sort, ACCOUNT_SORTS["-activity"]))
    paginator = AccountsPaginator(accounts, PAGE_SIZE)
    if q:  # its matches, counted only as far as it lists them
        matches = accounts.order_by().values("pk")[: SEARCH_LISTED + 1].count()  # any SEARCH_LISTED + 1 of them
        paginator.count = min(matches, SEARCH_LISTED)
        paginator.more_than = SEARCH_LISTED if matches > SEARCH_LISTED else 0
    else:  # from the bank's totals, not by reading every account
        paginator.count = accounts_counted(status=status, currency=currency)
    return paginator.get_page(page)


def _named_or_numbered(q: str) -> Q:
    """A part of the owner's name, or the start of the account number however it is typed (with or
    without TL and spaces), or the account's id whole. Only text that can start a number is looked
    for among numbers: a name alone is one trigram-index lookup, not two."""
    try:
        return Q(account_id=UUID(q))
    except ValueError:
        match = Q(owner__icontains=q)
        if (start := account_number.search_start(q)) is not None:
            match |= Q(number__startswith=start)
        return match


def number_mistyped(q: str) -> str:
    """What is wrong with a search that is a whole account number with a typing error ("" if it is
    not one): no account has that number, and the check digits can say why."""
    start = account_number.search_start(q.strip())
    if start is None or not account_number.is_whole(start):
        return ""
    try:
        account_number.parse(start)
    except account_number.InvalidAccountNumber as error:
        return error.message
    return ""


STATEMENT_PAGE_SQL = f"""
    SELECT {columns(StatementLine, "line")}, counterparty.owner AS counterparty_owner,
           counterparty.number AS counterparty_number,
           (SELECT count(*) FROM {StatementLine._meta.db_table} WHERE account_id = %(account)s) AS lines_total,
           (SELECT r.version FROM {StatementLine._meta.db_table} r  -- the partial index statement_reverses
             WHERE r.account_id = line.account_id AND r.reverses_version = line.version) AS reversed_by_version
      FROM {StatementLine._meta.db_table} line
      LEFT JOIN {AccountSummary._meta.db_table} counterparty ON counterparty.account_id = line.counterparty_id
     WHERE line.account_id = %(account)s
     ORDER BY line.version DESC
     LIMIT %(limit)s OFFSET %(offset)s"""


def statement_page(*, account_id: UUID, page: int | str = 1) -> Page:
    """A page of the account's statement, newest first, each line with its counterparty's name and number, and
    how many lines the account has, in one query where a Paginator takes two and the names a third.
    The count is a subquery Postgres runs once, from the (account_id, version) index alone."""
    try:
        number = min(max(int(page), 1), LAST_STATEMENT_PAGE)
    except (TypeError, ValueError):  # not a number, or one of more digits than int() reads
        number = 1
    rows = _statement_lines(account_id, number)
    if not rows and number > 1:  # past the last page: the last page, as Paginator.get_page shows it
        total = StatementLine.objects.filter(account_id=account_id).count()
        number = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
        rows = _statement_lines(account_id, number)
    paginator: Paginator[StatementLine] = Paginator([], PAGE_SIZE)
    paginator.count = rows[0].lines_total if rows else 0
    return Page(rows, number, paginator)


def _statement_lines(account_id: UUID, number: int) -> list[StatementLine]:
    return load_models(
        StatementLine,
        STATEMENT_PAGE_SQL,
        {"account": account_id, "limit": PAGE_SIZE, "offset": (number - 1) * PAGE_SIZE},
        extra=["counterparty_owner", "counterparty_number", "lines_total", "reversed_by_version"],
    )


def account_options(*, currency: str, exclude: UUID | None, q: str = "", limit: int = 20) -> list[AccountSummary]:
    """Accounts a transfer may go to: same currency, not closed."""
    accounts = AccountSummary.objects.filter(currency=currency).exclude(status="closed")
    if exclude:
        accounts = accounts.exclude(account_id=exclude)
    if not storable(q):
        return []
    if q.strip():
        accounts = accounts.filter(_named_or_numbered(q.strip()))
    return list(accounts.order_by("owner")[:limit])


def accounts_by_id(ids: Iterable[UUID | None]) -> dict[UUID, AccountSummary]:
    """The summaries of the accounts a screen names beside its own (a request's or a standing
    order's other account), in one query; an account the read side has not seen yet is missing."""
    wanted = {i for i in ids if i is not None}
    return AccountSummary.objects.in_bulk(wanted) if wanted else {}


def accounts_of_owner(prefix: str, *, limit: int) -> list[UUID]:
    """Up to `limit` accounts (by name) whose owner's name, or a word in it, starts with `prefix` in
    any case: the event browser's search by owner (registered through ledger.hooks, projections/apps.py).
    The whole name's start comes off summary_owner_prefix, a word's from the trigram index."""
    prefix = " ".join(prefix.split())
    if not prefix or not storable(prefix):
        return []
    match = Q(owner__istartswith=prefix) | Q(owner__icontains=f" {prefix}")
    found = AccountSummary.objects.filter(match).order_by("owner", "account_id")
    return list(found.values_list("account_id", flat=True)[:limit])


@dataclass(frozen=True)
class CurrencyTotals:
    currency: str
    accounts: int
    open: int
    frozen: int
    closed: int
    balance: int


def totals_by_currency() -> list[CurrencyTotals]:
    """The bank per currency: the sum of its totals rows of every partition (one when not split),
    which the account summary's projector moves with the accounts' rows."""
    rows = (
        AccountTotals.objects.values("currency")
        .order_by("currency")
        .annotate(
            accounts=Sum("accounts"),
            open=Sum("open"),
            frozen=Sum("frozen"),
            closed=Sum("closed"),
            balance=Sum("balance"),
        )
    )
    return [
        CurrencyTotals(r["currency"], r["accounts"], r["open"], r["frozen"], r["closed"], int(r["balance"]))
        for r in rows
    ]


def accounts_counted(*, status: str = "", currency: str = "") -> int:
    """How many accounts have `status` and `currency` (either left out: any), from the totals rows:
    the same count as the accounts' own rows at the same commit, without reading every one."""
    if status and status not in STATUSES:
        return 0
    found = AccountTotals.objects.filter(**({"currency": currency} if currency else {}))
    return found.aggregate(n=Sum(status or "accounts"))["n"] or 0


def daily_activity(*, days: int = 30, today: date | None = None) -> list[dict]:
    """One entry per day (oldest first, days without activity included) with totals over currencies."""
    today = today or timezone.localdate(timezone=timezone.get_default_timezone())  # the days the totals use
    first = today - timedelta(days=days - 1)
    rows = (
        DailyActivity.objects.filter(day__gte=first, day__lte=today)
        .values("day")
        .order_by("day")
        .annotate(
            deposits=Sum("deposits_count"), withdrawals=Sum("withdrawals_count"), transfers=Sum("transfers_count")
        )
    )
    by_day = {r["day"]: r for r in rows}
    days_in = [first + timedelta(days=i) for i in range(days)]
    return [
        {
            "day": day,
            "deposits": by_day[day]["deposits"],
            "withdrawals": by_day[day]["withdrawals"],
            "transfers": by_day[day]["transfers"],
        }
        if day in by_day
        else {"day": day, "deposits": 0, "withdrawals": 0, "transfers": 0}
        for day in days_in
    ]


@dataclass(frozen=True)
class Lag:
    name: str
    position: int
    events_behind: int  # estimated from positions: no COUNT(*) over the event table
    seconds_behind: float
    last_error: str  # the exception's one-line message, a blank line, then the traceback
    last_error_position: int | None
    last_error_at: object  # when it stopped (a datetime), None while it runs
    rebuilding: bool
    rebuild_done: float | None  # 0..1 while rebuilding
    rebuild_rate: float | None
    updated_at: object
    events_applied: int

    @property
    def error_message(self) -> str:
        """The one line that says what went wrong, without the traceback: what every role may see."""
        return self.last_error.strip().split("\n", 1)[0] if self.last_error else ""

    @property
    def healthy(self) -> bool:
        return not self.last_error and not self.rebuilding and self.events_behind == 0


def projection_lag() -> list[Lag]:
    with connection.cursor() as cursor:
        # The newest event (by position, an index-only lookup) and the oldest one not yet applied
        # by each projector, found by its own checkpoint through the (tx_id, position) index.
        cursor.execute("""
            SELECT s.name, s.position, coalesce(h.head, 0), s.last_error, s.last_error_position,
                   s.last_error_at, s.rebuilding,
                   s.rebuild_target, s.rebuild_rate, s.updated_at, s.events_applied,
                   (SELECT e.recorded_at FROM ledger_event e
                     WHERE (e.tx_id, e.position) > (s.tx_id::text::xid8, s.position)
                     ORDER BY e.tx_id, e.position LIMIT 1) AS oldest_pending
              FROM projections_projectionstatus s
              CROSS JOIN (SELECT max(position) AS head FROM ledger_event) h
             ORDER BY s.name""")
        rows = cursor.fetchall()
    now = timezone.now()
    lags = []
    for name, position, head, error, error_at, stopped_at, rebuilding, target, rate, updated, applied, pending in rows:
        lags.append(
            Lag(
                name=name,
                position=position,
                events_behind=max(head - position, 0) if pending else 0,
                seconds_behind=max((now - pending).total_seconds(), 0.0) if pending else 0.0,
                last_error=error,
                last_error_position=error_at,
                last_error_at=stopped_at,
                rebuilding=rebuilding,
                rebuild_done=min(position / target, 1.0) if rebuilding and target else None,
                rebuild_rate=rate,
                updated_at=updated,
                events_applied=applied,
            )
        )
    return lags


# A projection's checkpoints: its own, or each of its partitions' ("statement:2/4", projections/partitions.py).
_CHECKPOINTS = f"""SELECT tx_id, position FROM {ProjectionStatus._meta.db_table}
                    WHERE %(every)s OR {PROJECTION_OF_ROW} = ANY(%(names)s)"""


def projections_reached(checkpoint: Checkpoint, names: tuple[str, ...] | None = None) -> bool:
    with prepared_cursor() as cursor:  # a prepared statement: each waiting page asks every few milliseconds
        cursor.execute(_CHECKPOINTS, {"every": not names, "names": list(names or ())})
        rows = cursor.fetchall()
    return bool(rows) and all(Checkpoint(tx, pos) >= checkpoint for tx, pos in rows)


class Wait(Enum):
    """How a read-your-writes wait ended."""

    REACHED = "reached"  # the projections have the checkpoint's events
    PENDING = "pending"  # not yet, within the time allowed (or no waiting place was free)
    UNWRITTEN = "unwritten"  # no transaction has written it: a made-up or mistyped link


# A command's checkpoint is its own transaction's id and the position of its last event, so the
# event at that position carries that id (a primary-key lookup). Comparing with the head of the log
# instead (the snapshot's xmax) let a made-up checkpoint through once any other transaction had
# taken the id it named.
_WRITTEN = "SELECT EXISTS (SELECT FROM ledger_event WHERE position = %s AND tx_id = %s::text::xid8)"
_BIGINT = 2**63


def checkpoint_written(checkpoint: Checkpoint) -> bool:
    """Whether a transaction has written `checkpoint`: its last event is at that position (committed
    before the page that waits for it is asked for)."""
    if not (0 < checkpoint.position < _BIGINT and 0 < checkpoint.tx_id < _BIGINT):
        return False
    with prepared_cursor(primary=True) as cursor:  # a replica may not have it yet
        cursor.execute(_WRITTEN, (checkpoint.position, str(checkpoint.tx_id)))
        return bool(cursor.fetchone()[0])


# How many requests of one process may wait at once. Sync workers serve one request at a time;
# threaded ones (WEB_THREADS) keep their other threads for pages that do not wait.
WAITING_REQUESTS = 2
_waiting = threading.BoundedSemaphore(WAITING_REQUESTS)


def projection_wait(
    checkpoint: Checkpoint, names: tuple[str, ...] | None = None, *, timeout: float = READ_YOUR_WRITES_SECONDS
) -> Wait:
    """Read-your-writes: wait briefly for the named projections (all when None) to pass `checkpoint`.

    Never for a checkpoint no transaction has written, which no projection would ever reach: a
    link with one held a web worker for the whole timeout. Nor when WAITING_REQUESTS requests of
    this process wait already: that page says "processing" at once and refreshes by itself.

    Polls every few milliseconds, doubling the pause up to 16 ms: a worker usually applies a
    command within tens of them, and a pause allowed to reach 50 ms kept a page waiting up to that
    long after the read model was ready; the cap also keeps a slow worker from costing a waiting
    request hundreds of reads (about 100 in the whole timeout)."""
    if projections_reached(checkpoint, names):
        return Wait.REACHED
    if not checkpoint_written(checkpoint):
        return Wait.UNWRITTEN
    if timeout <= 0 or not _waiting.acquire(blocking=False):
        return _from_primary(checkpoint, names)
    try:
        deadline = time.monotonic() + timeout
        if reading_alias() != DEFAULT_DB_ALIAS:
            on_replica = min(time.monotonic() + REPLICA_WAIT_SECONDS, deadline)
            if (
                _poll(checkpoint, names, deadline=on_replica) is Wait.REACHED
                or _from_primary(checkpoint, names) is Wait.REACHED
            ):
                return Wait.REACHED
        return _poll(checkpoint, names, deadline=deadline)
    finally:
        _waiting.release()


# How long a page read from a replica waits for the replica's own copy of the checkpoints (they
# replicate with the read models) before it is read from the primary instead. Replay usually
# follows within milliseconds; the primary is the fallback, so the wait stays short.
REPLICA_WAIT_SECONDS = 0.3


def _from_primary(checkpoint: Checkpoint, names: tuple[str, ...] | None) -> Wait:
    """A page read from a replica that has not caught up with `checkpoint` reads the primary from
    here on: the person who just acted sees it whenever the primary's read side has it."""
    if reading_alias() == DEFAULT_DB_ALIAS:
        return Wait.PENDING
    read_from_primary()
    return Wait.REACHED if projections_reached(checkpoint, names) else Wait.PENDING


def _poll(checkpoint: Checkpoint, names: tuple[str, ...] | None, *, deadline: float) -> Wait:
    pause, longest = WAIT_POLL_SECONDS
    while time.monotonic() < deadline:
        time.sleep(pause)
        pause = min(pause * 2, longest)
        if projections_reached(checkpoint, names):
            return Wait.REACHED
    return Wait.PENDING


def wait_until_projected(
    checkpoint: Checkpoint, names: tuple[str, ...] | None = None, *, timeout: float = READ_YOUR_WRITES_SECONDS
) -> bool:
    """Whether the named projections pass `checkpoint` within `timeout` (see projection_wait)."""
    return projection_wait(checkpoint, names, timeout=timeout) is Wait.REACHED


# How long an event must have waited behind an open transaction before the read side counts as held
# back by it. A command's own transaction lasts milliseconds; one that keeps committed events from
# the projections for a second is worth naming, and the page says so within one 2-second sweep.
HELD_BACK_SECONDS = 1.0
QUERY_CHARS = 200  # of the holding backend's statement, shown to operators


@dataclass(frozen=True)
class HeldBack:
    """The open transaction that holds the read side back, and since when events wait for it. Its
    backend's details are None where Postgres shows them to no one or not to Tally's database user:
    a prepared transaction has no backend, and another user's session shows only its pid and user
    unless Tally's user has pg_read_all_stats."""

    waiting_since: datetime  # when the first event that waits for it was recorded
    pid: int | None
    user: str | None
    state: str | None  # e.g. "idle in transaction"
    transaction_started: datetime | None  # xact_start
    query: str | None  # the start of its current (or, when idle, last) statement, on one line


# Projections read the log only below the horizon (ledger.store.HORIZON_SQL): the oldest transaction
# still open in this database that has written, and so has a transaction id. Only such a transaction
# holds them back (a read-only one has no id, whatever its backend_xmin), and only while events
# committed after it wait: the first of them in commit order comes off the (tx_id, position) index.
# pg_stat_activity names its backend; its backend_xid is an xid, the horizon an xid8 (epoch above 32 bits).
_HELD_BACK = f"""
WITH h AS (SELECT ({HORIZON_SQL}) AS xid),
     first_waiting AS (SELECT e.recorded_at FROM ledger_event e, h
                        WHERE e.tx_id > h.xid ORDER BY e.tx_id, e.position LIMIT 1)
SELECT w.recorded_at, a.pid, a.usename, a.state, a.xact_start, left(a.query, %(chars)s)
  FROM h CROSS JOIN first_waiting w
  LEFT JOIN pg_stat_activity a
    ON a.datname = current_database() AND a.leader_pid IS NULL
   AND a.backend_xid::text::bigint = h.xid::text::bigint %% 4294967296
 WHERE w.recorded_at < now() - make_interval(secs => %(seconds)s)
 LIMIT 1
"""


def read_side_held_back(*, seconds: float = HELD_BACK_SECONDS) -> HeldBack | None:
    """The open transaction that has kept committed events from every projection for more than
    `seconds`, if one has."""
    with connection.cursor() as cursor:
        cursor.execute(_HELD_BACK, {"chars": QUERY_CHARS * 2, "seconds": seconds})
        row = cursor.fetchone()
    if row is None:
        return None
    waiting_since, pid, user, state, started, query = row
    return HeldBack(
        waiting_since=waiting_since,
        pid=pid,
        user=user,
        state=state,
        transaction_started=started,
        query=" ".join(query.split())[:QUERY_CHARS] if query is not None else None,
    )
