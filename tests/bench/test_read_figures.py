"""The read figures' bookkeeping: how a command is followed through Tally's hops, and that a command
never seen visible fails the commit -> visible figure instead of dropping out of it."""

from __future__ import annotations

from pathlib import Path

from bench import hops, latency


def _write(path: Path, lines: list[tuple[object, ...]]) -> str:
    path.write_text("".join("\t".join(map(str, line)) + "\n" for line in lines))
    return str(path)


def test_a_command_is_followed_to_the_span_that_covered_it_and_the_task_that_ran_it(tmp_path: Path) -> None:
    # The harness (pid 1) publishes task t1 at 10.000; the worker (pid 2) receives it, a pool process
    # (pid 3) starts it and marks out a span after (5, 1) up to (7, 3) that holds the command (6, 2).
    records = _write(
        tmp_path / "hops.tsv",
        [
            ("published", 1, 10.000, "t1"),
            ("received", 2, 10.004, "t1"),
            ("started", 3, 10.006, "t1"),
            ("span", 3, 10.020, 10.016, "5:1", "7:3"),
            ("applied", 3, 10.030, "7:3", "account_summary"),
            ("applied", 3, 10.040, "7:3", "statement"),
            ("commit", 3, 10.041, "7:3"),
        ],
    )

    result = hops.breakdown(records, [((6, 2), 9.998)])

    tasks, command = result["task_median_ms"], result["median_ms"]
    assert round(tasks["nudge published -> received by the worker"], 3) == 4.0
    assert round(tasks["received -> task started in a pool process"], 3) == 2.0
    assert round(tasks["task started -> runner's first span begins"], 3) == 10.0
    assert round(command["commit -> next nudge published"], 3) == 2.0
    assert round(command["commit -> the span with it begins"], 3) == 18.0
    assert round(command["span begins -> span marked out (next_span)"], 3) == 4.0
    assert round(command["marked out -> every projector applied (checkpoints too)"], 3) == 20.0  # the last apply
    assert round(command["applied -> committed"], 3) == 1.0
    assert result["no_span_found"] == 0


def test_a_command_outside_every_committed_span_is_counted_not_timed(tmp_path: Path) -> None:
    records = _write(tmp_path / "hops.tsv", [("span", 3, 10.020, 10.016, "5:1", "7:3")])  # never committed

    result = hops.breakdown(records, [((6, 2), 9.998), ((8, 1), 9.999)])

    assert result["no_span_found"] == 2
    assert result["median_ms"] == {}


def _latency(p50: float, p99: float, invisible: int) -> dict[str, object]:
    return {
        "commands": 300,
        "not_visible_after_drain": invisible,
        "latency_ms": {"p50": p50, "p99": p99},
        "rounds": [{"p50": p50, "p99": p99}],
    }


def test_a_command_never_visible_fails_the_figure_even_when_the_percentiles_are_within_the_goal() -> None:
    results = {"latency": {"tally": _latency(5.0, 9.0, invisible=1), "peer": _latency(10.0, 20.0, invisible=0)}}

    p50, p99 = latency.rows(results)[:2]

    assert p50.met is False and p99.met is False
    assert "FAILED: tally 1 of 300 never visible" in p50.note


def test_the_goals_are_relative_to_the_peer() -> None:
    at_peer = {"latency": {"tally": _latency(10.0, 40.0, 0), "peer": _latency(10.0, 20.0, 0)}}
    slower = {"latency": {"tally": _latency(10.5, 41.0, 0), "peer": _latency(10.0, 20.0, 0)}}

    assert [row.met for row in latency.rows(at_peer)[:2]] == [True, True]  # p50 <= 1x, p99 <= 2x the peer's
    assert [row.met for row in latency.rows(slower)[:2]] == [False, False]
