"""Shared pieces of the benchmarks: the fixed-seed corpus, timing, and result files.

Method (../shared/BENCHMARKS.md): fixed seed, one warm-up, median of N runs with min-max,
the peer measured in the same run, results as JSON with the CPU model and the commit.

Why the peer and JointWatch take turns (``measure_pair``): on these shared VMs the speed of
the whole machine drifts by a quarter or more within minutes. Timing all of the peer's
runs and then all of ours put the two sides in different minutes, and the ratio moved
with the drift (one run gave 8.5x where the same code gave 6.6x an hour before, because
pyais ran 2.5 times slower in its minutes). Taking turns puts each pair of runs in the
same minute; the ratio reported is the median of the per-round ratios.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CORPUS_DIR = HERE / "corpus"
RESULTS_DIR = HERE / "results"
START_S = 1_764_000_000  # 2025-11-24T16:00:00Z: corpus receive times start here
STATIONS = ("rx-vungtau", "rx-danang", "rx-manila", "rx-spore")
TRAFFIC = ("fleet", "random")


def corpus_file(n_sentences: int, seed: int = 42, traffic: str = "fleet") -> Path:
    """The B1/B2 workload as a file of TAG-blocked sentences, generated once and cached.

    ``traffic="fleet"`` (the default): 5,000 transmitters on plausible tracks, 400 messages
    a second (``jointwatch.exercise.fleet_corpus``). ``traffic="random"``: every message from a
    random vessel at a random place, 30 a second: the decoder's stress case, and end to end
    an alert storm (nearly every message a new vessel or an impossible jump).
    """
    from jointwatch.ais import with_tag_block
    from jointwatch.ais.corpus import corpus_sentences
    from jointwatch.exercise.fleet_corpus import fleet_sentences

    if traffic not in TRAFFIC:
        raise ValueError(f"traffic must be one of {TRAFFIC}, got {traffic!r}")
    name = (
        f"b1-{n_sentences}-{seed}.nmea"
        if traffic == "random"
        else (f"b1-{traffic}-{n_sentences}-{seed}.nmea")
    )
    path = CORPUS_DIR / name
    if path.exists():
        return path
    CORPUS_DIR.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    if traffic == "fleet":
        timed = fleet_sentences(n_sentences, seed=seed, start_s=START_S)
    else:
        # About 30 sentences a second of receive time.
        timed = [
            (START_S + index // 30, s)
            for index, s in enumerate(corpus_sentences(n_sentences, seed=seed))
        ]
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as fh:
        for index, (stamp, sentence) in enumerate(timed):
            if sentence.startswith("!AIVDM,2,2"):
                fh.write(sentence + "\n")  # later parts carry no TAG block, as real feeds
                continue
            station = STATIONS[index % len(STATIONS)]
            fh.write(with_tag_block(sentence, c=stamp, s=station) + "\n")
    tmp.rename(path)
    print(f"generated {len(timed):,} {traffic} sentences in {time.perf_counter() - started:.1f} s")
    return path


def _stats(items: int, seconds: list[float]) -> dict[str, Any]:
    median = statistics.median(seconds)
    return {
        "items": items,
        "runs": len(seconds),
        "median_s": median,
        "min_s": min(seconds),
        "max_s": max(seconds),
        "rate_per_s": items / median,
    }


def measure_pair(
    peer: Callable[[], int],
    ours: Callable[[], int],
    runs: int,
    clock: Callable[[], float] = time.perf_counter,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Warm both up, then time ``runs`` rounds of one peer run followed by one of ours.

    Returns the peer's and our timings (items, runs, median, min, max, rate) and the ratio
    of our rate to the peer's: ``median`` of the per-round ratios, with their ``min``,
    ``max`` and each round's value, so a reader sees how much the machine moved meanwhile.
    """
    peer_items, our_items = peer(), ours()
    peer_s: list[float] = []
    our_s: list[float] = []
    for _ in range(runs):
        for fn, seconds in ((peer, peer_s), (ours, our_s)):
            started = clock()
            fn()
            seconds.append(clock() - started)
    per_round = [(our_items / o) / (peer_items / p) for p, o in zip(peer_s, our_s, strict=True)]
    ratio = {
        "median": statistics.median(per_round),
        "min": min(per_round),
        "max": max(per_round),
        "per_round": per_round,
    }
    return _stats(peer_items, peer_s), _stats(our_items, our_s), ratio


def machine() -> dict[str, Any]:
    """CPU model, cores and the commit, so results can be compared honestly."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=HERE,
            check=False,
        ).stdout.strip()
    except OSError:
        commit = "unknown"
    import os

    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "commit": commit,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def corpus_args(description: str | None, runs: int) -> argparse.Namespace:
    """The command line every corpus benchmark takes: ``--size``, ``--runs``, ``--traffic``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--size", type=int, default=1_000_000, help="sentences in the corpus")
    parser.add_argument("--runs", type=int, default=runs)
    parser.add_argument(
        "--traffic", choices=TRAFFIC, default="fleet", help="corpus (see common.corpus_file)"
    )
    return parser.parse_args()


def write_result(name: str, result: dict[str, Any], traffic: str = "fleet") -> Path:
    """Save one benchmark's result as JSON under benchmarks/results/; a corpus other than
    the default fleet gets its own file (``b2-random.json``)."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / (f"{name}.json" if traffic == "fleet" else f"{name}-{traffic}.json")
    path.write_text(json.dumps({"machine": machine(), **result}, indent=2) + "\n")
    return path
