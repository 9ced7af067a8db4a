"""Process managers: projectors in spirit that act. A process manager follows the log from its own
checkpoint with the runner's lock and spans, like a projector, but reacts to its events by executing
commands, inside the runner's transaction: the commands' events and the checkpoint commit together,
so a crash at any instant either did both or neither. Each command's id derives from the event that
caused it (and the step), so an event seen again (a redelivered task, a checkpoint moved back, two
runners) finds its commands already recorded and acts no second time.

A process manager has no tables: it is never reset or rebuilt (its effects are events, which the
projectors show and verify_projections checks), and rebuild_projections and verify_projections do
not list it (projections.projectors.PROCESS_MANAGERS, apart from PROJECTORS).
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from collections.abc import Hashable, Iterable
from uuid import UUID, uuid5

from ledger import log_context, store
from ledger.domain.commands import Command
from ledger.domain.errors import DomainError
from ledger.execute import execute
from ledger.hooks import CommandResult
from ledger.store import RecordedEvent
from ledger.store.sql import Row
from projections.projectors.base import Projector, Span

log = logging.getLogger(__name__)

# The namespace of every command id a process manager derives: uuid5(NAMESPACE, "<event id>:<step>").
NAMESPACE = UUID("5d1f3c9a-8e27-5b44-a0c6-2f7e9b1d4a63")


def command_id_for(cause: UUID, step: str) -> UUID:
    """The id of the command that `step` of reacting to the event (or request) `cause` executes."""
    return uuid5(NAMESPACE, f"{cause}:{step}")


class ProcessManager(Projector):
    tables = ()
    key_columns = ()
    row_columns = ()
    actor = "process"  # who the commands it issues are recorded as, unless a reaction says otherwise

    def apply(self, span: Span) -> None:
        for event in store.read_span(span.after, span.upto, self.handles):
            self.react(event)

    @abstractmethod
    def react(self, event: RecordedEvent) -> None:
        """Act on one event; may run again for the same event (derive every command id from it)."""

    def act(self, command: Command, *, cause: RecordedEvent, actor: str | None = None) -> CommandResult | DomainError:
        """Execute `command` because of `cause`: the causation and correlation chain runs through it
        (the event browser links them). A rule's refusal is answered, not raised: it is an outcome.
        Log lines about it, the refusal's too, carry the command's ids."""
        correlation_id = UUID(cause.metadata.get("correlation_id") or str(cause.event_id))
        with log_context.command(command_id=command.command_id, correlation_id=correlation_id):
            try:
                return execute(
                    command,
                    actor=actor or self.actor,
                    correlation_id=correlation_id,
                    causation_id=cause.event_id,
                    source=self.name,
                )
            except DomainError as refusal:
                name = type(command).__name__
                log.info("%s: %s refused for event %s: %s", self.name, name, cause.event_id, refusal.anonymous)
                return refusal

    def expected(self, events: Iterable[RecordedEvent]) -> Iterable[tuple[Hashable, Row]]:
        return ()

    def reset(self) -> None:
        raise RuntimeError(f"{self.name} is a process manager: it acts, and replaying it is never a rebuild")
