"""A Scenario that records as the event store does: each event gets an event id, a position in the
log, a version in its stream and the id of the command that wrote it, so a reversal can name it."""

from __future__ import annotations

from uuid import UUID, uuid4

from ledger.domain.commands import Command, RecordedMovement, ReverseMovement
from ledger.domain.events import AccountEvent
from tests.domain.scenario import Scenario


class RecordedScenario(Scenario):
    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[AccountEvent, RecordedMovement]] = []
        self._command_id: UUID | None = None  # set while `when` records its command's events

    def given(self, *events: AccountEvent) -> RecordedScenario:
        for event in events:
            super().given(event)
            # Outside `when`, each event is a command of its own, but a transfer's halves are one.
            command_id = self._command_id or getattr(event, "transfer_id", None) or uuid4()
            data = {name: getattr(event, name, None) for name in ("amount", "currency")}
            other = getattr(event, "to_account_id", None) or getattr(event, "from_account_id", None)
            self.log.append(
                (
                    event,
                    RecordedMovement(
                        account_id=event.account_id,
                        event_id=uuid4(),
                        position=len(self.log) + 1,
                        version=len(self.history[event.account_id]),
                        command_id=command_id,
                        type=event.type_name,
                        amount=data["amount"] or 0,
                        currency=data["currency"] or "",
                        counterparty_id=other,
                    ),
                )
            )
        return self

    def when(self, command: Command) -> list[AccountEvent]:
        self._command_id = command.command_id
        try:
            return super().when(command)
        finally:
            self._command_id = None

    def sides(self, event: AccountEvent) -> tuple[RecordedMovement, ...]:
        """The recorded sides of the movement `event` belongs to (a transfer's two, sent first)."""
        found = next(side for recorded, side in self.log if recorded is event)
        return tuple(side for _, side in self.log if side.command_id == found.command_id and side.amount)

    def reverse(self, event: AccountEvent, *, reason: str = "Entered twice", account_id: UUID | None = None):
        sides = self.sides(event)
        return ReverseMovement(
            account_id=account_id or event.account_id,
            command_id=uuid4(),
            sides=sides,
            reason=reason,
        )
