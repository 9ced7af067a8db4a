"""After-commit hooks: how the write side tells others that events were committed, without
importing them. The read side registers its Celery nudge here; a failing hook is logged and
never fails the command, whose events are already committed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol
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


# What the read side says of one event on its page in the event browser: for each projection,
# whether it has applied the event yet (label, state). The read side registers it (projections/apps.py):
# the write side cannot ask it.
_event_readers: list[Callable[[int, str], list[tuple[str, str]]]] = []


def on_event_shown(describe: Callable[[int, str], list[tuple[str, str]]]) -> None:
    if describe not in _event_readers:
        _event_readers.append(describe)


def read_side_of(position: int, event_type: str) -> list[tuple[str, str]]:
    return [row for describe in _event_readers for row in describe(position, event_type)]


# Which accounts an owner's name names: the event browser's search by owner (the start of the name,
# or of a word in it). The names the screens show are the read side's (its account summaries, the
# one copy that stays readable once names are kept encrypted); it registers the look-up here
# (projections/apps.py).
class OwnerSearch(Protocol):
    def __call__(self, prefix: str, *, limit: int) -> list[UUID]: ...


_owner_searches: list[OwnerSearch] = []


def on_owner_search(search: OwnerSearch) -> None:
    if search not in _owner_searches:
        _owner_searches.append(search)


def accounts_of_owner(prefix: str, *, limit: int) -> list[UUID]:
    """Up to `limit` accounts whose owner's name, or a word in it, starts with `prefix`."""
    found = dict.fromkeys(account for search in _owner_searches for account in search(prefix, limit=limit))
    return list(found)[:limit]
