"""The state each account reached at its last command committed by this process.

A command whose accounts are all here is decided without loading them: one round trip (the
append) instead of two. Being behind is harmless, because the event store, not this cache,
enforces the rules that matter: the append names the version each account must be at, and
UNIQUE (stream_id, version) refuses it if another process wrote first. execute() then forgets
the entry and decides again from the store. Entries are put only once their transaction has
committed, so the cache never holds a state the store rolled back.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from uuid import UUID

from ledger.domain.account import Account

MAX_ACCOUNTS = 20_000  # about 5 MB; the least recently used account is dropped first


class StateCache:
    def __init__(self, max_accounts: int = MAX_ACCOUNTS) -> None:
        self._states: OrderedDict[UUID, Account] = OrderedDict()
        self._max = max_accounts
        self._lock = threading.Lock()  # gunicorn's threads and Celery's share one process

    def get_all(self, account_ids: Iterable[UUID]) -> dict[UUID, Account] | None:
        """The states of all these accounts, or None if any of them is not known."""
        with self._lock:
            found = {}
            for account_id in account_ids:
                state = self._states.get(account_id)
                if state is None:
                    return None
                self._states.move_to_end(account_id)
                found[account_id] = state
            return found

    def put(self, states: Mapping[UUID, Account]) -> None:
        with self._lock:
            for account_id, state in states.items():
                known = self._states.get(account_id)
                # A thread that committed earlier may put after one that committed later.
                if known is None or known.version < state.version:
                    self._states[account_id] = state
                self._states.move_to_end(account_id)
            while len(self._states) > self._max:
                self._states.popitem(last=False)

    def forget(self, account_ids: Iterable[UUID]) -> None:
        with self._lock:
            for account_id in account_ids:
                self._states.pop(account_id, None)

    def clear(self) -> None:
        with self._lock:
            self._states.clear()
