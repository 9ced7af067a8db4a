"""The peer's bank account, application and balance projection, written the way the
`eventsourcing` library's documentation writes them. Module-level classes, because the library
stores each event under its class's import path ("topic") and resolves it again on read, also in
another process.

The rules match Tally's for these commands: positive amounts within the limit, matching currency,
no activity on a closed account, no overdraft beyond the limit, no transfer to itself.
"""

from __future__ import annotations

import os
from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.projection import Projection
from psycopg.sql import SQL, Composed

MAX_AMOUNT = 10**11  # as ledger.domain.money.MAX_AMOUNT
SNAPSHOT_EVERY = int(os.environ.get("BENCH_SNAPSHOT_EVERY", "20"))  # set by bench.peer from ledger.execute


class DomainError(Exception):
    pass


class BankAccount(Aggregate):
    # The events declared, as the library's typed examples do, rather than made by @event("Name")
    # from each method's parameters: the same classes and fields, which the projection below can
    # then name where a type checker sees them.
    class Opened(Aggregate.Created):
        owner: str
        currency: str
        overdraft_limit: int

    class Deposited(Aggregate.Event):
        amount: int
        currency: str
        memo: str

    class TransferSent(Aggregate.Event):
        to_account_id: UUID
        transfer_id: UUID
        amount: int
        currency: str
        memo: str

    class TransferReceived(Aggregate.Event):
        from_account_id: UUID
        transfer_id: UUID
        amount: int
        currency: str
        memo: str

    @event(Opened)
    def __init__(self, owner: str, currency: str, overdraft_limit: int) -> None:
        self.owner = owner
        self.currency = currency
        self.overdraft_limit = overdraft_limit
        self.balance = 0
        self.closed = False

    def _check(self, amount: int, currency: str) -> None:
        if self.closed:
            raise DomainError("account is closed")
        if currency != self.currency:
            raise DomainError("currency mismatch")
        if not 0 < amount <= MAX_AMOUNT:
            raise DomainError("bad amount")

    def deposit(self, amount: int, currency: str, memo: str = "") -> None:
        self._check(amount, currency)
        self._deposited(amount=amount, currency=currency, memo=memo)

    @event(Deposited)
    def _deposited(self, amount: int, currency: str, memo: str) -> None:
        self.balance += amount

    def send(self, to: UUID, transfer_id: UUID, amount: int, currency: str, memo: str = "") -> None:
        self._check(amount, currency)
        if amount > self.balance + self.overdraft_limit:
            raise DomainError("insufficient funds")
        self._sent(to_account_id=to, transfer_id=transfer_id, amount=amount, currency=currency, memo=memo)

    @event(TransferSent)
    def _sent(self, to_account_id: UUID, transfer_id: UUID, amount: int, currency: str, memo: str) -> None:
        self.balance -= amount

    def receive(self, source: UUID, transfer_id: UUID, amount: int, currency: str, memo: str = "") -> None:
        self._check(amount, currency)
        self._received(from_account_id=source, transfer_id=transfer_id, amount=amount, currency=currency, memo=memo)

    @event(TransferReceived)
    def _received(self, from_account_id: UUID, transfer_id: UUID, amount: int, currency: str, memo: str) -> None:
        self.balance += amount


class Bank(Application[UUID]):
    name = "Bank"
    # A snapshot as often as Tally takes them (ledger.execute.SNAPSHOT_EVERY): the same help for both.
    snapshotting_intervals = {BankAccount: SNAPSHOT_EVERY}

    def open_account(self, owner: str, currency: str, overdraft_limit: int = 0) -> UUID:
        account = BankAccount(owner=owner, currency=currency, overdraft_limit=overdraft_limit)
        self.save(account)
        return account.id

    def deposit(self, account_id: UUID, amount: int, currency: str, memo: str = "") -> int:
        """Returns the notification id of the recorded event (its place in the log)."""
        account: BankAccount = self.repository.get(account_id)
        account.deposit(amount, currency, memo)
        return self.save(account)[-1].notification.id

    def transfer(self, source_id: UUID, target_id: UUID, amount: int, currency: str, memo: str = "") -> int:
        """Both halves in one atomic save."""
        if source_id == target_id:
            raise DomainError("transfer to itself")
        source: BankAccount = self.repository.get(source_id)
        target: BankAccount = self.repository.get(target_id)
        transfer_id = new_id()
        source.send(target_id, transfer_id, amount, currency, memo)
        target.receive(source_id, transfer_id, amount, currency, memo)
        return self.save(source, target)[-1].notification.id


class ReplayBank(Bank):
    """The same application under another name, so with tables of its own: the projection's
    replay runs over a log of known length, apart from what the other benchmarks wrote."""

    name = "Replay"


class LiveBank(Bank):
    """Another name, other tables: the visibility run starts its runner on a short log, so no
    catch-up of the other benchmarks' events comes before the timed commands."""

    name = "Live"


def new_id() -> UUID:
    return UUID(bytes=os.urandom(16), version=4)


# Composed, like the recorder's own create statements (its table names formatted into them) in that list.
_CREATE = Composed(
    [SQL("CREATE TABLE IF NOT EXISTS peer_balance (account_id uuid PRIMARY KEY, balance bigint NOT NULL)")]
)
_UPSERT = SQL(
    "INSERT INTO peer_balance VALUES (%s, %s) ON CONFLICT (account_id) "
    "DO UPDATE SET balance = peer_balance.balance + excluded.balance"
)


class BalanceView(PostgresTrackingRecorder):
    """The read model: a balance per account, written in one transaction with the tracking record."""

    def __init__(self, datastore: Any, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        self.sql_create_statements.append(_CREATE)

    def apply(self, account_id: UUID, delta: int, tracking: Tracking) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(_UPSERT, (account_id, delta), prepare=True)
            self._insert_tracking(curs, tracking)


class BalanceProjection(Projection[BalanceView]):
    name = "balances"

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.view.insert_tracking(tracking)

    @process_event.register(BankAccount.Opened)
    def _(self, domain_event: Any, tracking: Tracking) -> None:
        self.view.apply(domain_event.originator_id, 0, tracking)

    @process_event.register(BankAccount.Deposited)
    def _(self, domain_event: Any, tracking: Tracking) -> None:
        self.view.apply(domain_event.originator_id, domain_event.amount, tracking)

    @process_event.register(BankAccount.TransferReceived)
    def _(self, domain_event: Any, tracking: Tracking) -> None:
        self.view.apply(domain_event.originator_id, domain_event.amount, tracking)

    @process_event.register(BankAccount.TransferSent)
    def _(self, domain_event: Any, tracking: Tracking) -> None:
        self.view.apply(domain_event.originator_id, -domain_event.amount, tracking)
