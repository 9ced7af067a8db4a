"""What the write side counts for /metrics: commands by type and outcome, and how long they took.

In prometheus-client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR, see the README) every process
writes its counts to a file of its own there and a scrape adds them up, so the figures of all web
and worker processes of a host come out as one.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache

from prometheus_client import Counter, Histogram


class Outcome(StrEnum):
    ACCEPTED = "accepted"  # decided and appended, at the first try
    CONFLICT_RETRIED = "conflict_retried"  # appended after losing a race (or more) and deciding again
    REPLAYED = "replayed"  # this command id had run before: its first result was answered, nothing appended
    REFUSED = "refused"  # a rule said no (or the id came back with other details)
    CONFLICT_GAVE_UP = "conflict_gave_up"  # lost every race it was allowed (execute.MAX_ATTEMPTS)
    FAILED = "failed"  # an error that is not a rule's, e.g. the database went away


COMMANDS = Counter(
    "tally_commands",
    "Commands executed, by type and outcome; accepted + conflict_retried are the ones that recorded events.",
    ["command", "outcome"],
)
# From 1 ms (a cached deposit) to seconds (a hot account's lock queue, a slow database).
COMMAND_SECONDS = Histogram(
    "tally_command_duration_seconds",
    "Time to execute a command, from the call to its result, by type and outcome.",
    ["command", "outcome"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


def command_done(command: str, outcome: Outcome, seconds: float) -> None:
    counted, timed = _series(command, outcome)
    counted.inc()
    timed.observe(seconds)


@cache  # labels() checks and converts its arguments under a lock each call: 13 us a command, against 3 us
def _series(command: str, outcome: Outcome) -> tuple[Counter, Histogram]:
    """The series of one command type and outcome (a few dozen in all). Safe across a fork: each
    series finds its new process's file by itself in multiprocess mode."""
    return COMMANDS.labels(command, outcome), COMMAND_SECONDS.labels(command, outcome)
