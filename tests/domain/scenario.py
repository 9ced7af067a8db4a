"""given / when / then for the Account aggregate, without a database."""

from __future__ import annotations

from collections import defaultdict
from uuid import UUID

from ledger.domain.account import Account, decide, fold, streams_of
from ledger.domain.commands import Command
from ledger.domain.events import AccountEvent


class Scenario:
    def __init__(self) -> None:
        self.history: dict[UUID, list[AccountEvent]] = defaultdict(list)
        self.recorded: list[AccountEvent] = []

    def given(self, *events: AccountEvent) -> Scenario:
        for event in events:
            self.history[event.account_id].append(event)
        return self

    def account(self, account_id: UUID) -> Account:
        return fold(account_id, self.history[account_id])

    def when(self, command: Command) -> list[AccountEvent]:
        accounts = {sid: self.account(sid) for sid in streams_of(command)}
        self.recorded = decide(command, accounts)
        self.given(*self.recorded)
        return self.recorded

    def then(self, *expected: AccountEvent) -> None:
        assert self.recorded == list(expected)
