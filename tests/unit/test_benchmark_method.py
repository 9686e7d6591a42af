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


def test_the_ingest_profile_times_every_step_and_unwraps_afterwards(tmp_path: Path) -> None:
    """``profile_ingest`` on a small fleet file: each step of each thread gets CPU time no
    more than its thread's total, and the methods it wrapped are the originals again."""
    import profile_ingest

    from jointwatch.ais import with_tag_block
    from jointwatch.exercise.fleet_corpus import fleet_sentences
    from jointwatch.service import IngestService

    path = tmp_path / "fleet.nmea"
    with open(path, "w") as fh:
        for stamp, sentence in fleet_sentences(3000, seed=5, vessels=200, start_s=1_764_000_000):
            fh.write(with_tag_block(sentence, c=stamp, s="rx") + "\n")
    decode_block = IngestService.decode_block
    result = profile_ingest.profile(path, runs=1)
    assert IngestService.decode_block is decode_block
    assert result["lines"] == 3000
    cpu = {s["step"]: s["cpu_s"] for s in result["steps"]}
    assert set(cpu) == {step for _, step, *_ in profile_ingest.STEPS}
    assert cpu["decode thread, in all"] > 0 and cpu["applying thread, in all"] > 0
    assert cpu["checkpoint thread, in all"] > 0  # close() writes the last checkpoint
    for part in ("journal append", "picture", "detectors, in all"):
        assert 0 < cpu[part] <= cpu["applying thread, in all"], part
    assert 0 < cpu["detectors: spoofing"] <= cpu["detectors, in all"]
    assert 0 < cpu["vessel rows"] <= cpu["checkpoint thread, in all"]
    assert cpu["archive parts"] > 0  # on the checkpoint writer's parts thread
