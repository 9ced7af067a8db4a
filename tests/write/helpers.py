"""Small helpers for write-side tests."""

from __future__ import annotations

from uuid import UUID, uuid4

from django.db import connection, transaction

from ledger.domain.commands import Command, Deposit, OpenAccount, Transfer, Withdraw
from ledger.execute import execute


def open_account(
    *,
    currency: str = "EUR",
    balance: int = 0,
    overdraft_limit: int = 0,
    owner: str = "Ada Lovelace",
    actor: str = "teller",
) -> UUID:
    account_id = uuid4()
    execute(
        OpenAccount(account_id=account_id, owner=owner, currency=currency, overdraft_limit=overdraft_limit), actor=actor
    )
    if balance:
        execute(Deposit(account_id=account_id, amount=balance, currency=currency), actor=actor)
    return account_id


class CallerFailed(RuntimeError):
    """The caller's own work failing after a command, inside the caller's transaction."""


def execute_then_fail(command: Command, *, actor: str) -> None:
    """execute(command) in a transaction of the caller's that then fails, and so rolls back."""
    with transaction.atomic():
        execute(command, actor=actor)
        raise CallerFailed("the caller's transaction fails after the command")


def event_count(*, command_id: str | None = None) -> int:
    """Events in the store: all of them, or those appended by one command."""
    sql, params = "SELECT count(*) FROM ledger_event", []
    if command_id is not None:
        sql, params = sql + " WHERE metadata->>'command_id' = %s", [str(command_id)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def request_approval(account_id: UUID, amount: int, *, to: UUID | None = None, actor: str = "tom", memo: str = ""):
    """A teller's large withdrawal (or transfer `to`) as the task would send it: a request and a hold.
    Returns (request id, result)."""
    from ledger.approvals import route

    movement: Command = (
        Transfer(account_id=account_id, to_account_id=to, amount=amount, currency="EUR", memo=memo)
        if to
        else Withdraw(account_id=account_id, amount=amount, currency="EUR", memo=memo)
    )
    command = route(movement, actor=actor)
    return command.command_id, execute(command, actor=actor)


def decide(request_id: UUID, account_id: UUID, *, approve: bool = True, by: str = "sue", reason: str = "checked"):
    """A supervisor's decision on a request, as the approvals screen sends it."""
    from ledger import clock
    from ledger.domain.approval import ApproveRequest, RejectRequest

    kind = ApproveRequest if approve else RejectRequest
    command = kind(account_id=account_id, request_id=request_id, decided_by=by, reason=reason, decided_at=clock.now())
    return execute(command, actor=by, correlation_id=request_id)
