"""After-commit hooks: how the write side tells others that events were committed, without
importing them. The read side registers its Celery nudge here; a failing hook is logged and
never fails the command, whose events are already committed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ledger.execute import CommandResult

log = logging.getLogger(__name__)

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
