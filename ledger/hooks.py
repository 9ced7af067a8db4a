"""After-commit hooks: how the write side tells others that events were committed, without
importing them. The read side registers its Celery nudge here; a failing hook is logged and
never fails the command, whose events are already committed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from ledger.store import Checkpoint

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What executing a command answers, and what the hooks hear of it once it committed."""

    command_id: UUID
    position: int  # of the last event the command appended
    tx_id: int  # of the transaction that appended them; (tx_id, position) is a Checkpoint
    replayed: bool = False  # True when this command id had been executed before

    @property
    def checkpoint(self) -> Checkpoint:
        return Checkpoint(self.tx_id, self.position)


_after_commit: list[Callable[[CommandResult], None]] = []


def on_command_committed(hook: Callable[[CommandResult], None]) -> Callable[[CommandResult], None]:
    if hook not in _after_commit:
        _after_commit.append(hook)
    return hook


def command_committed(result: CommandResult) -> None:
    for hook in list(_after_commit):
        try:
            hook(result)
        except Exception:
            log.exception("after-commit hook %r failed for command %s", hook, result.command_id)
