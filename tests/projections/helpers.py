"""Helpers for read-side tests."""

from __future__ import annotations

from django.core.management import CommandError, call_command

from ledger.domain.commands import FreezeAccount, Transfer, Withdraw
from ledger.execute import execute
from projections.models import AccountSummary, ProjectionStatus
from projections.projectors import get_projectors
from projections.verify import verify
from tests.write.helpers import open_account


def balance_of(account_id):
    row = AccountSummary.objects.filter(account_id=account_id).first()
    return row.balance if row else None


def differences() -> dict[str, list]:
    return {p.name: verify(p).differences for p in get_projectors()}


def verify_command_exit_code() -> int:
    """verify_projections' exit code on the command line: call_command raises the CommandError that
    the command line exits with."""
    try:
        call_command("verify_projections")
    except CommandError as error:
        return error.returncode
    return 0


def some_activity():
    """Two accounts with a withdrawal, a transfer and a freeze between them: (ada, bob)."""
    ada, bob = open_account(balance=10_000, owner="Ada"), open_account(owner="Bob")
    execute(Withdraw(account_id=ada, amount=2_500, currency="EUR", memo="rent"), actor="teller")
    execute(Transfer(account_id=ada, to_account_id=bob, amount=1_000, currency="EUR"), actor="teller")
    execute(FreezeAccount(account_id=bob, reason="check"), actor="supervisor")
    return ada, bob


def statuses() -> dict[str, tuple[int, int, int]]:
    """Each projection's checkpoint and count of events applied."""
    return {s.name: (s.tx_id, s.position, s.events_applied) for s in ProjectionStatus.objects.all()}
