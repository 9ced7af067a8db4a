"""Which streaming replica a screen reads from, and which are out of rotation and why.

Each database alias named `replicaN` (settings: DATABASE_REPLICA_URLS) is a Postgres hot standby of
the primary. A process checks each replica at most every CHECK_SECONDS, when a screen asks for one:
it answers, it is still a standby, and it is not further behind than TALLY_REPLICA_MAX_LAG. One that
fails is out of rotation (a warning in the log, and on the read-side page) until a later check
finds it well again; screens then read the primary, never an error.

How far behind: the age of the oldest event the primary holds and the replica does not yet (from
the replica's newest position, one lookup on each side through the primary key): 0 s when it has
every event, however long ago the last write was, and growing while its replay is paused or its
stream is cut.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

log = logging.getLogger(__name__)

CHECK_SECONDS = 2.0

_REPLICA = "SELECT coalesce(max(position), 0), pg_is_in_recovery() FROM ledger_event"
_OLDEST_MISSING = """SELECT extract(epoch FROM clock_timestamp() - recorded_at)::float8 FROM ledger_event
                      WHERE position > %s ORDER BY position LIMIT 1"""


@dataclass(frozen=True)
class ReplicaState:
    alias: str
    in_rotation: bool
    seconds_behind: float | None  # None: it did not answer
    problem: str  # why it is out of rotation, in words for operators ("" when in rotation)
    checked_at: float  # time.monotonic() of the check


def aliases() -> list[str]:
    return [alias for alias in settings.DATABASES if alias.startswith("replica")]


_lock = threading.Lock()
_states: dict[str, ReplicaState] = {}
_turns = itertools.count()


def choose() -> str | None:
    """A replica in rotation for this request's reads, taking turns; None: read the primary."""
    names = aliases()
    if not names:
        return None
    usable = [s.alias for s in (_current(alias) for alias in names) if s.in_rotation]
    return usable[next(_turns) % len(usable)] if usable else None


def states() -> list[ReplicaState]:
    """Every replica's state, checked now: for the read-side page and /metrics."""
    return [check(alias) for alias in aliases()]


def _current(alias: str) -> ReplicaState:
    with _lock:
        state = _states.get(alias)
    if state is None or time.monotonic() - state.checked_at >= CHECK_SECONDS:
        return check(alias)
    return state


def check(alias: str) -> ReplicaState:
    """Check the replica now, and keep what it says for the screens that follow."""
    now = time.monotonic()
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute(_REPLICA)
            head, standby = cursor.fetchone()
    except DatabaseError as exc:
        connections[alias].close()  # a broken connection is not reused; the next check connects anew
        return _record(ReplicaState(alias, False, None, f"does not answer ({_first_line(exc)})", now))
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute(_OLDEST_MISSING, [head])
            missing = cursor.fetchone()
    except DatabaseError as exc:  # the page will say the database is unavailable; this is not the replica's fault
        return ReplicaState(alias, False, None, f"could not be compared with the primary ({_first_line(exc)})", now)
    behind = max(missing[0], 0.0) if missing else 0.0
    if not standby:
        problem = "is not a standby (it left recovery): its copy may differ from the primary"
    elif behind > settings.TALLY_REPLICA_MAX_LAG:
        problem = f"is {behind:.0f} s behind the primary (more than {settings.TALLY_REPLICA_MAX_LAG:g} s)"
    else:
        problem = ""
    return _record(ReplicaState(alias, not problem, behind, problem, now))


def _record(state: ReplicaState) -> ReplicaState:
    with _lock:
        before = _states.get(state.alias)
        _states[state.alias] = state
    was_in = before is None or before.in_rotation
    if was_in and not state.in_rotation:
        log.warning("replica %s out of rotation: it %s; screens read the primary instead", state.alias, state.problem)
    elif not was_in and state.in_rotation:
        log.info("replica %s back in rotation", state.alias)
    return state


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
