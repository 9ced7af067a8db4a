"""The peer's bank account and application, written the way the
`eventsourcing` library's documentation writes them. Module-level classes, because the library
stores each event under its class's import path ("topic") and resolves it again on read, also in
another process.

The rules match Tally's (ledger/domain/account.py) for every command the write figures time:
positive amounts within the limit, matching currency, no activity on a closed account, a balance
within its maximum, a frozen account takes deposits but nothing leaves it, no overdraft beyond the
limit, freeze only what is not frozen and unfreeze only what is, close only at zero balance, no
transfer to itself, memos and reasons within their length.
"""

from __future__ import annotations

import os
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

MAX_AMOUNT = 10**11  # as ledger.domain.money.MAX_AMOUNT
MAX_BALANCE = 10**15  # as ledger.domain.money.MAX_BALANCE
MAX_NOTE_LENGTH = 200  # as ledger.domain.account.MAX_NOTE_LENGTH
SNAPSHOT_EVERY = int(os.environ.get("BENCH_SNAPSHOT_EVERY", "20"))  # set by bench.peer from ledger.execute


class DomainError(Exception):
    pass


def _note(text: str) -> str:
    text = text.strip()
    if len(text) > MAX_NOTE_LENGTH:
        raise DomainError("note too long")
    return text


def _required(text: str) -> str:
    """Freezing and closing say why (as Tally's rules have it)."""
    if not _note(text):
        raise DomainError("reason required")
    return _note(text)


class BankAccount(Aggregate):
    # The events declared, as the library's typed examples do, rather than made by @event("Name")
    # from each method's parameters: the same classes and fields, which the projection can then
    # name where a type checker sees them.
    class Opened(Aggregate.Created):
        owner: str
        currency: str
        overdraft_limit: int

    class Deposited(Aggregate.Event):
        amount: int
        currency: str
        memo: str

    class Withdrawn(Aggregate.Event):
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

    class Frozen(Aggregate.Event):
        reason: str

    class Unfrozen(Aggregate.Event):
        reason: str

    class Closed(Aggregate.Event):
        reason: str

    @event(Opened)
    def __init__(self, owner: str, currency: str, overdraft_limit: int) -> None:
        self.owner = owner
        self.currency = currency
        self.overdraft_limit = overdraft_limit
        self.balance = 0
        self.frozen = False
        self.closed = False

    def _check(self, amount: int, currency: str) -> None:
        if self.closed:
            raise DomainError("account is closed")
        if currency != self.currency:
            raise DomainError("currency mismatch")
        if not 0 < amount <= MAX_AMOUNT:
            raise DomainError("bad amount")

    def _check_can_pay(self, amount: int) -> None:
        if self.frozen:
            raise DomainError("account is frozen")
        if amount > max(self.balance + self.overdraft_limit, 0):
            raise DomainError("insufficient funds")

    def _check_can_receive(self, amount: int) -> None:
        if self.balance + amount > MAX_BALANCE:
            raise DomainError("balance limit")

    def deposit(self, amount: int, currency: str, memo: str = "") -> None:
        self._check(amount, currency)
        self._check_can_receive(amount)
        self._deposited(amount=amount, currency=currency, memo=_note(memo))

    @event(Deposited)
    def _deposited(self, amount: int, currency: str, memo: str) -> None:
        self.balance += amount

    def withdraw(self, amount: int, currency: str, memo: str = "") -> None:
        self._check(amount, currency)
        self._check_can_pay(amount)
        self._withdrawn(amount=amount, currency=currency, memo=_note(memo))

    @event(Withdrawn)
    def _withdrawn(self, amount: int, currency: str, memo: str) -> None:
        self.balance -= amount

    def send(self, to: UUID, transfer_id: UUID, amount: int, currency: str, memo: str = "") -> None:
        self._check(amount, currency)
        self._check_can_pay(amount)
        self._sent(to_account_id=to, transfer_id=transfer_id, amount=amount, currency=currency, memo=_note(memo))

    @event(TransferSent)
    def _sent(self, to_account_id: UUID, transfer_id: UUID, amount: int, currency: str, memo: str) -> None:
        self.balance -= amount

    def receive(self, source: UUID, transfer_id: UUID, amount: int, currency: str, memo: str = "") -> None:
        self._check(amount, currency)
        self._check_can_receive(amount)
        self._received(from_account_id=source, transfer_id=transfer_id, amount=amount, currency=currency, memo=memo)

    @event(TransferReceived)
    def _received(self, from_account_id: UUID, transfer_id: UUID, amount: int, currency: str, memo: str) -> None:
        self.balance += amount

    def freeze(self, reason: str = "") -> None:
        if self.closed:
            raise DomainError("account is closed")
        if self.frozen:
            raise DomainError("already frozen")
        self._frozen(reason=_required(reason))

    @event(Frozen)
    def _frozen(self, reason: str) -> None:
        self.frozen = True

    def unfreeze(self, reason: str = "") -> None:
        if self.closed:
            raise DomainError("account is closed")
        if not self.frozen:
            raise DomainError("not frozen")
        self._unfrozen(reason=_note(reason))

    @event(Unfrozen)
    def _unfrozen(self, reason: str) -> None:
        self.frozen = False

    def close(self, reason: str = "") -> None:
        if self.closed:
            raise DomainError("account is closed")
        if self.balance != 0:
            raise DomainError("balance not zero")
        self._closed(reason=_required(reason))

    @event(Closed)
    def _closed(self, reason: str) -> None:
        self.closed = True


class Bank(Application[UUID]):
    name = "Bank"
    # A snapshot as often as Tally takes them (ledger.execute.SNAPSHOT_EVERY): the same help for both.
    snapshotting_intervals = {BankAccount: SNAPSHOT_EVERY}

    def open_account(self, owner: str, currency: str, overdraft_limit: int = 0) -> UUID:
        owner = " ".join(owner.split())
        if not owner or not 0 <= overdraft_limit <= MAX_AMOUNT:
            raise DomainError("bad owner or overdraft limit")
        account = BankAccount(owner=owner, currency=currency, overdraft_limit=overdraft_limit)
        self.save(account)
        return account.id

    def deposit(self, account_id: UUID, amount: int, currency: str, memo: str = "") -> int:
        """Returns the notification id of the recorded event (its place in the log)."""
        account: BankAccount = self.repository.get(account_id)
        account.deposit(amount, currency, memo)
        return self.save(account)[-1].notification.id

    def withdraw(self, account_id: UUID, amount: int, currency: str, memo: str = "") -> int:
        account: BankAccount = self.repository.get(account_id)
        account.withdraw(amount, currency, memo)
        return self.save(account)[-1].notification.id

    def transfer(self, source_id: UUID, target_id: UUID, amount: int, currency: str, memo: str = "") -> int:
        """Both halves in one atomic save."""
        if source_id == target_id:
            raise DomainError("transfer to itself")
        source: BankAccount = self.repository.get(source_id)
        target: BankAccount = self.repository.get(target_id)
        if source.currency != target.currency:
            raise DomainError("currency mismatch")
        transfer_id = new_id()
        source.send(target_id, transfer_id, amount, currency, memo)
        target.receive(source_id, transfer_id, amount, currency, memo)
        return self.save(source, target)[-1].notification.id

    def freeze(self, account_id: UUID, reason: str = "") -> int:
        account: BankAccount = self.repository.get(account_id)
        account.freeze(reason)
        return self.save(account)[-1].notification.id

    def unfreeze(self, account_id: UUID, reason: str = "") -> int:
        account: BankAccount = self.repository.get(account_id)
        account.unfreeze(reason)
        return self.save(account)[-1].notification.id

    def close_account(self, account_id: UUID, reason: str = "") -> int:
        account: BankAccount = self.repository.get(account_id)
        account.close(reason)
        return self.save(account)[-1].notification.id


class BankDefaults(Bank):
    """The same application under another name, so with tables of its own: the peer in its
    default configuration (no aggregate cache) writes apart from the peer with its cache, as
    Tally's figures write in a database of their own."""

    name = "BankDefaults"


class BankLoader(Bank):
    """Bank's tables, without a snapshot at every 20th event while a long history is loaded in
    one save (each of those would fold the stream again); the loader takes the one snapshot the
    history ends with itself."""

    name = "Bank"
    snapshotting_intervals = {}
    is_snapshotting_enabled = True


def new_id() -> UUID:
    return UUID(bytes=os.urandom(16), version=4)
