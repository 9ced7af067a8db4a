"""The peer's account for the read-side figures (rebuild, commit -> visible): the workload's events
declared the way the `eventsourcing` library's typed examples declare them, each with its actor.

The library has no event metadata, so a user who needs the actor on a statement line (Tally's
statement has it, from its metadata) puts it in the event. Withdrawals are here too: the rebuild's
log is Tally's, translated event by event (`mirror`), so both sides replay the same history. The
write figures keep bench.peer_model's account; these classes only make the logs the read side
replays. Module-level classes: the library stores each event under its class's import path.
"""

from __future__ import annotations

import time
from typing import Any, cast
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import get_topic

from ledger.store import personal

# Notifications per section of the log: the batched projector reads this many at a time.
SECTION_SIZE = 10_000


class LedgerAccount(Aggregate):
    class Opened(Aggregate.Created):
        owner: str
        currency: str
        overdraft_limit: int
        actor: str

    class Deposited(Aggregate.Event):
        amount: int
        currency: str
        memo: str
        actor: str

    class Withdrawn(Aggregate.Event):
        amount: int
        currency: str
        memo: str
        actor: str

    class TransferSent(Aggregate.Event):
        to_account_id: UUID
        transfer_id: UUID
        amount: int
        currency: str
        memo: str
        actor: str

    class TransferReceived(Aggregate.Event):
        from_account_id: UUID
        transfer_id: UUID
        amount: int
        currency: str
        memo: str
        actor: str

    @event(Opened)
    def __init__(self, owner: str, currency: str, overdraft_limit: int, actor: str) -> None:
        self.owner, self.currency, self.overdraft_limit = owner, currency, overdraft_limit
        self.balance = 0

    def deposit(self, amount: int, currency: str, memo: str, actor: str) -> None:
        if currency != self.currency or amount <= 0:
            raise ValueError("bad deposit")
        self._deposited(amount=amount, currency=currency, memo=memo, actor=actor)

    @event(Deposited)
    def _deposited(self, amount: int, currency: str, memo: str, actor: str) -> None:
        self.balance += amount


class LedgerBank(Application[UUID]):
    """Its own name, so its own tables: the rebuild log and the visibility run's log."""

    name = "Ledger"
    log_section_size = SECTION_SIZE

    def open_account(self, owner: str, currency: str, actor: str = "teller") -> UUID:
        account = LedgerAccount(owner=owner, currency=currency, overdraft_limit=0, actor=actor)
        self.save(account)
        return account.id

    def deposit(self, account_id: UUID, amount: int, currency: str, actor: str = "teller") -> int:
        """Returns the notification id of the recorded event."""
        account: LedgerAccount = self.repository.get(account_id)
        account.deposit(amount, currency, "Salary", actor)
        return self.save(account)[-1].notification.id


class ReplayLedgerBank(LedgerBank):
    """Other tables: the library's one-event-per-transaction runner replays a shorter log."""

    name = "ReplayLedger"


class LiveLedgerBank(LedgerBank):
    """Other tables again: the visibility run starts on a short log of its own."""

    name = "LiveLedger"


_OPENED_TOPIC = get_topic(LedgerAccount)


def domain_event(row: tuple[Any, ...], keys: dict[UUID, bytes] | None = None) -> Aggregate.Event:
    """The peer's event for one of Tally's event rows (stream_id, version, type, data, actor,
    recorded_at): the same account, version, time, amounts and actor. The owner's name in clear,
    opened with `keys` (Tally seals it: ledger/store/personal.py); the peer stores it as it is."""
    stream_id, version, type_, data, actor, at = row
    # As plain keyword dicts: the library declares its events' fields for its own constructors,
    # which type checkers do not see through.
    fields: dict[str, Any] = {"originator_id": stream_id, "originator_version": version, "timestamp": at}
    if type_ == "AccountOpened":
        fields |= {"originator_topic": _OPENED_TOPIC, "actor": actor}
        fields |= {k: data[k] for k in ("currency", "overdraft_limit")}
        fields["owner"] = personal.unseal(data["owner"], "owner", keys or {}, stream_id)
        return LedgerAccount.Opened(**fields)
    fields |= {"amount": data["amount"], "currency": data["currency"], "memo": data.get("memo", ""), "actor": actor}
    match type_:
        case "MoneyDeposited":
            return LedgerAccount.Deposited(**fields)
        case "MoneyWithdrawn":
            return LedgerAccount.Withdrawn(**fields)
        case "TransferSent":
            fields |= {"to_account_id": UUID(data["to_account_id"]), "transfer_id": UUID(data["transfer_id"])}
            return LedgerAccount.TransferSent(**fields)
        case "TransferReceived":
            fields |= {"from_account_id": UUID(data["from_account_id"]), "transfer_id": UUID(data["transfer_id"])}
            return LedgerAccount.TransferReceived(**fields)
    raise ValueError(f"the peer's ledger has no event for {type_}")


def mirror(
    source_url: str, target_url: str, bank: LedgerBank, events: int, *, per_transaction: int = 10_000
) -> dict[str, Any]:
    """Translate the first `events` of Tally's log (commit order) into the peer's log: each event
    made by the library's own mapper (the stored event its save would write), COPYed into the
    application's events table (its notification ids then follow Tally's commit order). Set-up
    only, not timed against anything: the library's own insert is several times slower, and the
    rows it writes are the same."""
    import psycopg
    from psycopg.sql import SQL, Identifier

    started = time.perf_counter()
    written = 0
    sql = (
        "SELECT stream_id, version, type, data, coalesce(metadata ->> 'actor', ''), recorded_at "
        "FROM ledger_event_current ORDER BY tx_id, position LIMIT %s"
    )
    copy_sql = SQL("COPY {0} (originator_id, originator_version, topic, state) FROM STDIN").format(
        Identifier(cast(Any, bank.recorder).events_table_name)  # the Postgres recorder's table
    )
    to_stored = bank.mapper.to_stored_event
    with (
        psycopg.connect(source_url) as source,
        source.cursor(name="bench-mirror") as cur,
        psycopg.connect(target_url) as target,  # the database of the bank's recorder
    ):
        keys = {s: bytes(k) for s, k in source.execute("SELECT subject_id, key FROM ledger_subject_key").fetchall()}
        cur.itersize = per_transaction
        cur.execute(sql, [events])
        while rows := cur.fetchmany(per_transaction):
            with target.transaction(), target.cursor() as out, out.copy(copy_sql) as copy:
                for r in rows:
                    stored = to_stored(domain_event(r, keys))
                    copy.write_row((stored.originator_id, stored.originator_version, stored.topic, stored.state))
            written += len(rows)
    return {"events": written, "seconds": time.perf_counter() - started}
