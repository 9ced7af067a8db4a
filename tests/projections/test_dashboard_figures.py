"""The dashboard's figures: how current the read side is in plain words, and a chart axis people can read."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projections.dashboard import chart, freshness, nice_ceiling
from projections.queries import Lag

CAUGHT_UP = Lag(
    name="statement",
    position=10,
    events_behind=0,
    seconds_behind=0.0,
    last_error="",
    last_error_position=None,
    last_error_at=None,
    rebuilding=False,
    rebuild_done=None,
    rebuild_rate=None,
    updated_at=None,
    events_applied=10,
)


@pytest.mark.parametrize(
    ("lag", "level", "text"),
    [
        (CAUGHT_UP, "ok", "up to date"),
        (replace(CAUGHT_UP, events_behind=3, seconds_behind=0.2), "busy", "updating"),
        (replace(CAUGHT_UP, events_behind=3, seconds_behind=0.0), "busy", "updating"),
        (replace(CAUGHT_UP, events_behind=3, seconds_behind=42.4), "warn", "updating, 42 seconds behind"),
        (replace(CAUGHT_UP, events_behind=3, seconds_behind=600), "warn", "updating, 10 minutes behind"),
        (replace(CAUGHT_UP, events_behind=3, seconds_behind=7200), "warn", "updating, 2 hours behind"),
        (replace(CAUGHT_UP, rebuilding=True), "warn", "rebuilding: figures incomplete"),
        (replace(CAUGHT_UP, last_error="boom"), "bad", "stopped: figures may be out of date"),
    ],
)
def test_the_read_side_is_said_in_one_plain_sentence(lag, level, text):
    said = freshness([CAUGHT_UP, lag])

    assert (said.level, said.text) == (level, text)


@given(seconds=st.floats(min_value=0, max_value=10**6), behind=st.integers(min_value=1, max_value=10**6))
def test_never_zero_seconds_behind_in_a_warning(seconds, behind):
    said = freshness([replace(CAUGHT_UP, events_behind=behind, seconds_behind=seconds)])

    assert not re.search(r"\b0 (seconds|minutes|hours)", said.text)
    assert said.level in ("busy", "warn") and (said.level == "warn") == (seconds >= 3)


@given(value=st.integers(min_value=-5, max_value=10**9))
def test_the_axis_top_is_round_and_above_every_bar(value):
    top = nice_ceiling(value)

    assert top >= max(value, 1)
    digits = str(top).rstrip("0")
    assert digits in ("1", "2", "5")
    assert top < 10 * max(value, 1)  # never wastefully high (at most 5x)


def test_the_chart_labels_its_axis_from_zero_to_the_top():
    days = [{"day": None, "deposits": d, "withdrawals": 1, "transfers": 0} for d in (3, 17, 0)]

    drawn = chart(days)

    assert [t["value"] for t in drawn["ticks"]] == [0, 10, 20]
    assert [b["total"] for b in drawn["bars"]] == [4, 18, 1]
    assert max(s["height"] for b in drawn["bars"] for s in b["segments"]) <= drawn["height"]
