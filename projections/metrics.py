"""What the read side tells /metrics: the time from a command's commit to its events being visible
(observed by the runner in whichever process runs it), and each projection's state, read from the
database at each scrape so that every web process and every host answers the same."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

from django.db import Error as DatabaseError
from django.utils import timezone
from prometheus_client import Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric

from ledger.store import replicas
from projections import queries
from projections.models import ProjectionStatus
from projections.projectors.base import Span

log = logging.getLogger(__name__)

COMMIT_TO_VISIBLE = Histogram(
    "tally_commit_to_visible_seconds",
    "From an event's recording to the commit of the batch that made it visible in a projection's tables,"
    " for the newest event of each batch.",
    ["projection"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
)


def batch_visible(span: Span, statuses: Iterable[ProjectionStatus]) -> None:
    """After a batch committed: how long its newest event took to become visible, once for each
    projection that applied it. A rebuild's batches (in place, or a blue/green one's new tables) are
    left out: their events became visible long ago, in the tables the screens read."""
    seconds = max((timezone.now() - span.last_recorded_at).total_seconds(), 0.0)
    for status in statuses:
        if not status.rebuilding and not status.rebuild_phase:
            COMMIT_TO_VISIBLE.labels(status.name).observe(seconds)


class ReadSideCollector:
    """Each projection's lag, error, work done and version, and the open transaction holding the
    read side back, if one is: a prometheus-client collector that asks the database at each scrape."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("tally_database_up", "1 when the database answered this scrape's read-side queries.")
        try:
            lags = queries.projection_lag()
            work = {name: (batches, version) for name, batches, version in _work_done()}
            held_back = queries.read_side_held_back()
        except DatabaseError as exc:
            log.warning("metrics: the read side could not be read: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from _projections(lags, work)
        yield from _held_back(held_back)
        yield from _replicas(replicas.states())


def _replicas(states: list[replicas.ReplicaState]) -> Iterator[Metric]:
    """This process's check of each replica (DATABASE_REPLICA_URLS), made at the scrape."""
    if not states:
        return
    rotation = GaugeMetricFamily(
        "tally_replica_in_rotation", "1 while screens read from the replica, 0 while it is out.", labels=["replica"]
    )
    behind = GaugeMetricFamily(
        "tally_replica_lag_seconds",
        "How far the replica is behind the primary (0 when it has every event); absent when it does not answer.",
        labels=["replica"],
    )
    for state in states:
        rotation.add_metric([state.alias], int(state.in_rotation))
        if state.seconds_behind is not None:
            behind.add_metric([state.alias], state.seconds_behind)
    yield rotation
    yield behind


def _work_done() -> list[tuple[str, int, int]]:
    return list(ProjectionStatus.objects.values_list("name", "batches_applied", "version"))


def _projections(lags: list[queries.Lag], work: dict[str, tuple[int, int]]) -> Iterator[Metric]:
    label = ["projection"]
    events_behind = GaugeMetricFamily(
        "tally_projection_lag_events",
        "Events recorded that the projection has not applied (from positions).",
        labels=label,
    )
    seconds_behind = GaugeMetricFamily(
        "tally_projection_lag_seconds",
        "Age of the oldest event the projection has not applied; 0 when caught up.",
        labels=label,
    )
    position = GaugeMetricFamily("tally_projection_position", "Position of the last event applied.", labels=label)
    stopped = GaugeMetricFamily(
        "tally_projection_stopped", "1 while the projection is stopped on an error.", labels=label
    )
    stopped_at = GaugeMetricFamily(
        "tally_projection_stopped_at_position",
        "Position of the event it stopped at (only while stopped).",
        labels=label,
    )
    rebuilding = GaugeMetricFamily(
        "tally_projection_rebuilding", "1 while its tables are rebuilt in place.", labels=label
    )
    events = CounterMetricFamily(
        "tally_projection_events_applied", "Events applied since its last rebuild.", labels=label
    )
    batches = CounterMetricFamily(
        "tally_projection_batches_applied", "Batches applied since its last rebuild.", labels=label
    )
    version = GaugeMetricFamily(
        "tally_projection_version", "The projector version its tables were built with.", labels=label
    )
    for lag in lags:
        name = [lag.name]
        events_behind.add_metric(name, lag.events_behind)
        seconds_behind.add_metric(name, lag.seconds_behind)
        position.add_metric(name, lag.position)
        stopped.add_metric(name, 1 if lag.last_error else 0)
        if lag.last_error and lag.last_error_position is not None:
            stopped_at.add_metric(name, lag.last_error_position)
        rebuilding.add_metric(name, 1 if lag.rebuilding else 0)
        events.add_metric(name, lag.events_applied)
        if lag.name in work:
            batches.add_metric(name, work[lag.name][0])
            version.add_metric(name, work[lag.name][1])
    yield from (events_behind, seconds_behind, position, stopped, stopped_at, rebuilding, events, batches, version)


def _held_back(held_back: queries.HeldBack | None) -> Iterator[Metric]:
    seconds = GaugeMetricFamily(
        "tally_read_side_held_back_seconds",
        "How long committed events have waited for an open transaction to end before any projection may"
        f" read them; 0 unless one has waited over {queries.HELD_BACK_SECONDS:g} s.",
    )
    seconds.add_metric([], (timezone.now() - held_back.waiting_since).total_seconds() if held_back else 0)
    yield seconds
    if held_back is None:
        return
    blocker = InfoMetricFamily(
        "tally_read_side_blocker",
        "The backend whose open transaction holds the read side back (only while one does).",
    )
    since = held_back.transaction_started
    blocker.add_metric(
        [],
        {
            "pid": "" if held_back.pid is None else str(held_back.pid),
            "user": held_back.user or "",
            "state": held_back.state or "",
            "since": since.isoformat() if since else "",
            "query": held_back.query or "",
        },
    )
    yield blocker
