"""Helpers for read-side tests."""

from __future__ import annotations

from django.core.management import call_command

from projections.models import AccountSummary
from projections.projectors import get_projectors
from projections.verify import verify


def balance_of(account_id):
    row = AccountSummary.objects.filter(account_id=account_id).first()
    return row.balance if row else None


def differences() -> dict[str, list]:
    return {p.name: verify(p).differences for p in get_projectors()}


def verify_command_exit_code() -> int:
    try:
        call_command("verify_projections")
    except SystemExit as exc:
        return int(exc.code)
    except Exception:  # CommandError raised through call_command
        return 1
    return 0
