"""Small helpers for write-side tests."""

from __future__ import annotations

from uuid import UUID, uuid4

from django.db import connection, transaction

from ledger.domain.commands import Command, Deposit, OpenAccount
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
