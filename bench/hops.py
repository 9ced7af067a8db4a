"""Where Tally's commit -> visible time goes, hop by hop, without changing what the app does.

The Celery worker of the latency run imports this module (`celery worker --include bench.hops`,
with BENCH_HOPS_FILE set): it listens to Celery's own signals (task received by the worker, task
started in a pool process) and wraps the runner's next_span, _apply and _advance_together in that
process only, so each span records when it was marked out, when every projector of its lane had
applied it (with the checkpoints) and when its transaction committed. The harness records when each
command committed and when the nudge was published (the Celery app's send_task, wrapped in the
harness's process). Every record is a wall-clock time (time.time(): one clock for all processes of
the machine), one line per record in one file opened for appending. `breakdown` follows each
command to the span that covered it, that span's task and the task's publish, and gives the median
of each hop.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from dataclasses import dataclass
from statistics import median
from typing import Any, cast

_FD: int | None = None


@dataclass(slots=True)
class _Span:
    pid: int
    begun: float  # next_span called
    marked: float  # next_span returned
    after: tuple[int, int]
    upto: tuple[int, int]
    applied: float | None = None  # the last projector's apply (and checkpoint) returned
    committed: float | None = None


def record(kind: str, *fields: object) -> None:
    """One line: kind, pid, wall time, fields (small writes with O_APPEND: whole lines)."""
    global _FD
    if _FD is None:
        _FD = os.open(os.environ["BENCH_HOPS_FILE"], os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.write(_FD, ("\t".join(map(str, (kind, os.getpid(), repr(time.time()), *fields))) + "\n").encode())


def _install_in_worker() -> None:
    from celery.signals import task_prerun, task_received
    from django.db import transaction

    from projections import runner

    @task_received.connect(weak=False)
    def received(request: Any = None, **_: Any) -> None:
        record("received", request.id if request is not None else "")

    @task_prerun.connect(weak=False)
    def started(task_id: str = "", **_: Any) -> None:
        record("started", task_id)

    next_span, apply, advance_together = runner.next_span, runner._apply, runner._advance_together

    def timed_next_span(after: Any, limit: int) -> Any:
        begun = time.time()
        span = next_span(after, limit)
        if span is not None:
            upto = f"{span.upto.tx_id}:{span.upto.position}"
            record("span", repr(begun), f"{after.tx_id}:{after.position}", upto)
            transaction.on_commit(lambda: record("commit", upto))
        return span

    def timed_apply(projector: Any, span: Any, *args: Any) -> Any:
        result = apply(projector, span, *args)
        record("applied", f"{span.upto.tx_id}:{span.upto.position}", projector.name)
        return result

    def timed_advance_together(statuses: Any, span: Any, started: float) -> None:
        advance_together(statuses, span, started)  # after every projector of the lane applied the span
        record("applied", f"{span.upto.tx_id}:{span.upto.position}", "lane")

    runner.next_span = timed_next_span
    runner._apply = timed_apply  # type: ignore[assignment] # same call, looser signature: it only passes through
    runner._advance_together = timed_advance_together


def watch_publishes() -> None:
    """In the harness's process: record each catch-up task the nudge publishes, with its id."""
    from celery import current_app

    app = cast(Any, current_app)._get_current_object()  # the app behind Celery's proxy
    send = app.send_task

    def timed_send(*args: Any, **kwargs: Any) -> Any:
        result = send(*args, **kwargs)
        record("published", result.id)
        return result

    app.send_task = timed_send


def _key(text: str) -> tuple[int, int]:
    tx, position = text.split(":")
    return int(tx), int(position)


def breakdown(path: str, commits: list[tuple[tuple[int, int], float]]) -> dict[str, Any]:
    """Median milliseconds of each hop: per catch-up task the harness's nudge published (broker,
    pool, the runner's preamble) and per command (key, commit wall time) to the span that covered
    it and through that span."""
    published: dict[str, float] = {}
    received: dict[str, float] = {}
    starts: dict[int, list[tuple[float, str]]] = defaultdict(list)  # pid -> (time, task id)
    spans: list[_Span] = []
    by_upto: dict[tuple[int, str], _Span] = {}
    with open(path) as lines:
        for line in lines:
            kind, pid, at, *rest = line.rstrip("\n").split("\t")
            t = float(at)
            if kind == "published":
                published[rest[0]] = t
            elif kind == "received":
                received[rest[0]] = t
            elif kind == "started":
                starts[int(pid)].append((t, rest[0]))
            elif kind == "span":
                span = _Span(int(pid), float(rest[0]), t, _key(rest[1]), _key(rest[2]))
                spans.append(span)
                by_upto[(int(pid), rest[2])] = span
            elif kind == "applied" and (found := by_upto.get((int(pid), rest[0]))):
                found.applied = t
            elif kind == "commit" and (found := by_upto.get((int(pid), rest[0]))):
                found.committed = t
    # The task's hops, per catch-up task the nudge published: the broker, the pool, the runner's
    # statements before its first span (status rows, locks, checkpoints).
    tasks: dict[str, list[float]] = defaultdict(list)
    for worker_pid, started in starts.items():
        for t, task_id in started:
            sent, got = published.get(task_id), received.get(task_id)
            first = min((s.begun for s in spans if s.pid == worker_pid and s.begun >= t), default=None)
            if sent is None or got is None:
                continue  # a beat sweep's task
            tasks["nudge published -> received by the worker"].append((got - sent) * 1000)
            tasks["received -> task started in a pool process"].append((t - got) * 1000)
            nxt = min((u for u, _ in started if u > t), default=None)
            if first is not None and (nxt is None or first < nxt):  # a span of this task, not the next
                tasks["task started -> runner's first span begins"].append((first - t) * 1000)
    # The command's hops: to the span that covered it (waiting for the nudge, the task, or the span
    # the runner was in), and that span's three steps.
    hops: dict[str, list[float]] = defaultdict(list)
    missing = 0
    sends = sorted(published.values())
    for key, committed in commits:
        covering = next((s for s in spans if s.after < key <= s.upto and s.committed), None)
        if covering is None:
            missing += 1
            continue
        after = next((t for t in sends if t >= committed), None)
        if after is not None and after <= covering.begun:
            hops["commit -> next nudge published"].append((after - committed) * 1000)
        for name, start, end in (
            ("commit -> the span with it begins", committed, covering.begun),
            ("span begins -> span marked out (next_span)", covering.begun, covering.marked),
            ("marked out -> every projector applied (checkpoints too)", covering.marked, covering.applied),
            ("applied -> committed", covering.applied, covering.committed),
        ):
            if start is not None and end is not None:
                hops[name].append((end - start) * 1000)
    return {
        "task_median_ms": {name: median(v) for name, v in tasks.items() if v},
        "median_ms": {name: median(v) for name, v in hops.items() if v},
        "tasks": len(tasks.get("nudge published -> received by the worker", [])),
        "commands": len(commits),
        "no_span_found": missing,
        "events_per_span": median(_span_events(spans)) if spans else 0,
    }


def _span_events(spans: list[_Span]) -> list[int]:
    """Positions covered per span: a span's events, near enough (positions are consecutive here)."""
    return [s.upto[1] - s.after[1] for s in spans if s.after != (0, 0)]


if os.environ.get("BENCH_HOPS_FILE") and os.environ.get("BENCH_HOPS_WORKER"):
    _install_in_worker()
