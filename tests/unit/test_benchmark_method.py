"""The benchmarks' side-by-side timing: the peer and JointWatch take turns, and the ratio
is the median of the per-round ratios (``benchmarks/common.measure_pair``)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from common import measure_pair


def test_runs_take_turns_and_each_round_gives_a_ratio() -> None:
    calls: list[str] = []
    now = [0.0]
    # Round k: the machine is k times slower for both sides; ours takes a tenth of the peer.
    cost = {"peer": 1.0, "ours": 0.1}

    def clock() -> float:
        return now[0]

    def runner(name: str, items: int) -> Callable[[], int]:
        def run() -> int:
            calls.append(name)
            slowdown = (len(calls) + 1) // 2  # rises every round, both sides alike
            now[0] += cost[name] * slowdown
            return items

        return run

    peer, ours, ratio = measure_pair(runner("peer", 1000), runner("ours", 2000), 4, clock)
    assert calls == ["peer", "ours"] + ["peer", "ours"] * 4  # warm-ups, then turns
    # Per round: ours is 10x as fast on twice the items, whatever the drift.
    assert ratio["per_round"] == pytest.approx([20.0] * 4)
    assert ratio["median"] == pytest.approx(20.0)
    assert (ratio["min"], ratio["max"]) == pytest.approx((20.0, 20.0))
    assert peer["runs"] == ours["runs"] == 4
    assert peer["items"] == 1000 and ours["items"] == 2000
    assert peer["min_s"] < peer["median_s"] < peer["max_s"]


def test_a_round_the_machine_spent_slower_on_one_side_moves_only_that_round() -> None:
    # Warm-ups are not timed; then peer 1.0 s / ours 0.1 s, 3.0 / 0.1, 1.0 / 0.1.
    times = iter([0, 1.0, 1.0, 1.1, 2.0, 5.0, 5.0, 5.1, 6.0, 7.0, 7.0, 7.1])
    peer, ours, ratio = measure_pair(lambda: 10, lambda: 10, 3, lambda: float(next(times)))
    assert ratio["per_round"] == pytest.approx([10.0, 30.0, 10.0])
    assert ratio["median"] == pytest.approx(10.0)
    assert ratio["max"] == pytest.approx(30.0)
    assert peer["median_s"] == pytest.approx(1.0) and peer["max_s"] == pytest.approx(3.0)
    assert ours["median_s"] == pytest.approx(0.1)
