"""The one entry point that executes any command: load, decide, append, return the position.

When this process committed the last command on the accounts involved, their state is in the
state cache and the command costs one round trip (the append); so does opening an account.
Otherwise, or when the cached state turns out to be behind, the first attempt is optimistic and
costs two (load, append). If another writer wins the race, the command is decided again against
the new history, this time holding a transaction-scoped advisory lock on its streams (see
store.append) so that a hot account converges instead of thrashing.

While a command runs, its log lines carry its ids (ledger.log_context); once it is done it is
counted by type and outcome, with its duration (ledger.metrics, served at /metrics).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import fields
from datetime import datetime
from functools import partial
from uuid import UUID, uuid4

from django.db import transaction

from ledger import hooks, log_context, metrics, store
from ledger.domain import commands as c
from ledger.domain import streams as domain
from ledger.domain.account import Account
from ledger.domain.errors import DomainError
from ledger.domain.streams import Event, State
from ledger.hooks import CommandResult
from ledger.metrics import Outcome
from ledger.state_cache import StateCache
from ledger.store import personal
from ledger.store.serialization import (
    SNAPSHOT_SCHEMA,
    account_from_snapshot,
    account_to_snapshot,
    event_from_payload,
    event_to_payload,
)

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
# Events between snapshots; keeps loading a long-lived account as cheap as a young one. Every
# command folds the events since the last snapshot (about 15 us each: decode, upcast, evolve),
# while a snapshot costs one more row in the append statement now and then: at 100 a deposit
# folded 50 events on average and cost ~1.5x one right after a snapshot (performance).
SNAPSHOT_EVERY = 20

known_states = StateCache()


class IdempotencyConflict(DomainError):
    def __init__(self) -> None:
        super().__init__(
            "This request was already submitted with different details; reload the form and submit it again."
        )


class ConflictPersisted(DomainError):
    def __init__(self) -> None:
        super().__init__("The account is very busy right now and the request could not be recorded; please try again.")


def fingerprint(command: c.Command, key: bytes | None = None) -> str:
    """What the command asks for, without its id: the same id with other details is a conflict.

    Personal fields count through an HMAC under their customer's `key` (a plain hash of a name and
    an account id, both at hand in the log, would give the name back to anyone who tries names), so
    once the customer is forgotten their command records say nothing of them either."""
    payload = {
        f.name: _personal(getattr(command, f.name), key)
        if f.metadata.get("personal")
        else str(getattr(command, f.name))
        for f in fields(command)
        if f.name != "command_id" and f.metadata.get("fingerprint", True)  # not the moment it was made
    }
    text = json.dumps([type(command).__name__, payload], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _personal(value: object, key: bytes | None) -> str:
    if key is None:  # the customer was forgotten: no fingerprint made now can match the recorded one
        return "forgotten"
    return personal.keyed_hash(key, str(value))


def _has_personal_data(command: c.Command) -> bool:
    return any(f.metadata.get("personal") for f in fields(command))


def execute(
    command: c.Command,
    *,
    actor: str,
    correlation_id: UUID | None = None,
    causation_id: UUID | None = None,
    source: str = "app",
    recorded_at: datetime | None = None,
) -> CommandResult:
    """Execute `command` on behalf of `actor`. Raises the DomainError of a broken rule.
    `recorded_at` only for importing history (see ledger.store.write.append)."""
    if not actor:
        raise ValueError("Every command needs an actor")
    meta = {
        "actor": actor,
        "command_id": str(command.command_id),
        "command": type(command).__name__,
        "correlation_id": str(correlation_id or command.command_id),
        "causation_id": str(causation_id or command.command_id),
        "source": source,
    }
    started = time.perf_counter()
    with log_context.command(command_id=meta["command_id"], correlation_id=meta["correlation_id"]):
        try:
            result, lost_races = _execute(command, meta, recorded_at)
        except ConflictPersisted:
            metrics.command_done(meta["command"], Outcome.CONFLICT_GAVE_UP, time.perf_counter() - started)
            raise
        except DomainError:
            metrics.command_done(meta["command"], Outcome.REFUSED, time.perf_counter() - started)
            raise
        except Exception:
            metrics.command_done(meta["command"], Outcome.FAILED, time.perf_counter() - started)
            raise
    outcome = Outcome.REPLAYED if result.replayed else Outcome.CONFLICT_RETRIED if lost_races else Outcome.ACCEPTED
    # Counted once committed: a command inside a caller's transaction that rolls back recorded nothing.
    done = partial(metrics.command_done, meta["command"], outcome, time.perf_counter() - started)
    transaction.on_commit(done, robust=True)
    return result


def _execute(command: c.Command, meta: dict[str, str], recorded_at: datetime | None) -> tuple[CommandResult, int]:
    """The command's result, and how many races it lost on the way (each one decided again)."""
    stream_ids = domain.streams_of(command)
    # A new customer's key, made here so that the fingerprint and the sealed name use the same one.
    key = personal.new_key() if _has_personal_data(command) else None
    fp = fingerprint(command, key)
    lost_on_cache, first_attempt = 0, 0
    known = known_states.get_all(stream_ids)
    # A new account's id is fresh, so its stream is taken to be empty without asking; were it
    # not, appending version 1 fails and the store is asked after all.
    guessed = known is None and isinstance(command, c.OpenAccount)
    if guessed:
        known = {command.account_id: Account(id=command.account_id)}
    if known is not None:
        try:
            return _decide_and_append(command, known, (fp, key), meta, recorded_at), 0
        except DomainError:
            # Perhaps refused on a state that is behind the store (another process wrote since),
            # or this command id ran before and is to be answered, not decided: ask the store.
            known_states.forget(stream_ids)
        except (store.ConcurrencyError, store.DuplicateCommand) as lost:
            known_states.forget(stream_ids)
            if not guessed:
                log.info("command %s lost a race (decided on cached state); deciding again", command.command_id)
                lost_on_cache = 1
                # A writer still at it: only its lock's wait makes sure the store is asked after it commits.
                first_attempt = int(getattr(lost, "in_flight", False))
    attempt_once = partial(_attempt, command, stream_ids, (fp, key), meta, recorded_at)
    # The first attempt from the store takes no lock, even after a cached state lost its append, when
    # the writer that won has committed: that state was most often only stale (another process wrote
    # the account earlier: behind gunicorn's routing, two commands in three), not in a race, and the
    # lock's transaction cost three more round trips on each of those. Every other attempt follows a
    # race with a writer still at it, and takes the streams' locks, so that a busy account converges.
    for attempt in range(first_attempt, MAX_ATTEMPTS):
        lost_races = lost_on_cache + attempt - first_attempt  # each attempt before this one lost one
        try:
            if attempt == 0:
                return attempt_once(), lost_races
            with transaction.atomic():
                store.lock_streams(stream_ids)
                return attempt_once(), lost_races
        except (store.ConcurrencyError, store.DuplicateCommand):
            log.info("command %s lost a race (attempt %d); deciding again", command.command_id, attempt + 1)
    raise ConflictPersisted()


def _attempt(
    command: c.Command,
    stream_ids: list[UUID],
    made: tuple[str, bytes | None],
    meta: dict[str, str],
    recorded_at: datetime | None,
) -> CommandResult:
    loaded = store.load(stream_ids, command_id=command.command_id, snapshot_schema=SNAPSHOT_SCHEMA)
    if loaded.command is not None:
        fp, key = made
        if key is not None:  # the recorded fingerprint took the customer's key of the time
            fp = fingerprint(command, loaded.keys.get(command.account_id))
        if loaded.command.fingerprint != fp:
            raise IdempotencyConflict()
        return CommandResult(command.command_id, loaded.command.position, loaded.command.tx_id, replayed=True)

    return _decide_and_append(command, _fold(stream_ids, loaded, command), made, meta, recorded_at)


def _decide_and_append(
    command: c.Command,
    accounts: Mapping[UUID, State],
    made: tuple[str, bytes | None],
    meta: dict[str, str],
    recorded_at: datetime | None,
) -> CommandResult:
    fp, key = made
    decided = domain.decide(command, accounts)
    new_events, after, snapshots = _to_records(decided, accounts, meta)
    checkpoint = store.append(
        new_events,
        command=(command.command_id, meta["command"], fp),
        snapshots=snapshots,
        recorded_at=recorded_at,
        keys={command.account_id: key} if key is not None else None,
    )
    result = CommandResult(command.command_id, checkpoint.position, checkpoint.tx_id)
    states = {sid: state for sid, state in after.items() if isinstance(state, Account)}
    transaction.on_commit(partial(known_states.put, states), robust=True)
    transaction.on_commit(partial(hooks.command_committed, result), robust=True)
    return result


def _fold(stream_ids: Sequence[UUID], loaded: store.Loaded, command: c.Command | None) -> dict[UUID, State]:
    accounts: dict[UUID, State] = {}
    for stream_id in stream_ids:
        snap = loaded.snapshots.get(stream_id)
        accounts[stream_id] = (
            account_from_snapshot(stream_id, snap.version, snap.state) if snap else domain.blank(stream_id, command)
        )
    for stream_id, _version, type_name, schema_version, data in loaded.events:
        event = event_from_payload(type_name, schema_version, data)
        accounts[stream_id] = domain.evolve(accounts[stream_id], event)
    return accounts


def _to_records(
    decided: list[Event],
    accounts: Mapping[UUID, State],
    meta: dict[str, str],
) -> tuple[list[store.NewEvent], dict[UUID, State], list[store.Snapshot]]:
    """The events to append, the accounts' states after them, and the snapshots now due."""
    after = dict(accounts)
    records: list[store.NewEvent] = []
    for event in decided:
        stream_id, stream_type = domain.stream_of(event)
        before = after[stream_id]
        after[stream_id] = domain.evolve(before, event)
        event_meta = meta
        if records and records[0].stream_id != stream_id:
            # The second half of a transfer happens because of the first: chain the causation.
            event_meta = {**meta, "causation_id": str(records[0].event_id)}
        records.append(
            store.NewEvent(
                event_id=uuid4(),
                stream_id=stream_id,
                stream_type=stream_type,
                version=before.version + 1,
                type=event.type_name,
                schema_version=event.schema_version,
                data=event_to_payload(event),
                metadata=event_meta,
            )
        )
    snapshots = [
        store.Snapshot(sid, state.version, SNAPSHOT_SCHEMA, account_to_snapshot(state))
        for sid, state in after.items()
        if isinstance(state, Account)  # a request's stream is a handful of events: never snapshotted
        and state.version // SNAPSHOT_EVERY > accounts[sid].version // SNAPSHOT_EVERY
    ]
    return records, after, snapshots


def load_account(account_id: UUID) -> Account:
    """The current state of one account, folded from its stream (snapshot first).

    Always from the store (a task form shows it, so it must be current), and remembered: a task
    form's POST loads the account and then executes the command, which then need not load it again.
    """
    loaded = store.load([account_id], command_id=None, snapshot_schema=SNAPSHOT_SCHEMA)
    state = _fold([account_id], loaded, None)[account_id]
    if not isinstance(state, Account):  # blank() makes an account of a stream no command names
        raise TypeError(f"{account_id} is not an account's stream")
    if state.version:  # an unknown account number is not worth a place
        transaction.on_commit(partial(known_states.put, {account_id: state}), robust=True)
    return state


def preview(command: c.Command) -> dict[UUID, State]:
    """The states of the streams `command` acts on, as the store has them now, after checking the
    command against them: raises the DomainError executing it would raise now. Records nothing:
    what a confirmation step shows before the person confirms (executing may still refuse, if
    something changes meanwhile)."""
    stream_ids = domain.streams_of(command)
    loaded = store.load(stream_ids, command_id=None, snapshot_schema=SNAPSHOT_SCHEMA)
    states = _fold(stream_ids, loaded, command)
    domain.decide(command, states)
    return states
