"""Where B2's time goes, thread by thread: CPU time of each step of bulk ingest.

``jointwatch ingest --direct`` runs four threads on two cores: one decodes the next block,
one applies the current one (journal, picture, detectors), one writes checkpoints' vessel
and event rows and one their Parquet parts. They share the GIL, so the wall time of a step
says little about what it costs: a step waiting for the GIL looks slow. Each step's CPU
time on its own thread (``time.thread_time``) does say, and the threads' totals show which
one bounds the run. This is how the checkpoint thread was found to cost as much CPU as
applying.

Steps are timed by wrapping the methods that do them for the length of a run, and the
wrappers are removed afterwards. Run: ``python benchmarks/profile_ingest.py [--size N]``;
the table goes to stdout and ``benchmarks/results/profile-ingest.json``.
"""

from __future__ import annotations

import functools
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import corpus_args, corpus_file, write_result

#: (thread, step, module, owner or None for a module function, attribute). A step is timed
#: on whichever thread runs it; the thread named here is where the read-ahead runs it. The
#: last checkpoint is written at close on the calling thread, so it counts both under the
#: checkpoint steps and under "checkpoint snapshot".
STEPS: tuple[tuple[str, str, str, str | None, str], ...] = (
    ("decode", "decode thread, in all", "jointwatch.service", "IngestService", "decode_block"),
    ("apply", "applying thread, in all", "jointwatch.service", "IngestService", "apply_block"),
    ("apply", "journal append", "jointwatch.journal", "RawJournal", "append_records"),
    ("apply", "picture", "jointwatch.picture.vessels", "VesselPicture", "apply"),
    ("apply", "detectors, in all", "jointwatch.detect.engine", "DetectionEngine", "feed"),
    ("apply", "detectors: batch join", "jointwatch.detect.engine", None, "build_batch"),
    ("apply", "detectors: gaps", "jointwatch.detect.engine", None, "detect_gaps"),
    ("apply", "detectors: loitering", "jointwatch.detect.engine", None, "detect_loitering"),
    ("apply", "detectors: spoofing", "jointwatch.detect.engine", None, "detect_spoofing"),
    ("apply", "detectors: zones", "jointwatch.detect.engine", None, "detect_zones"),
    ("apply", "detectors: pairs", "jointwatch.detect.engine", "DetectionEngine", "_pairs"),
    ("apply", "detectors: static", "jointwatch.detect.engine", "DetectionEngine", "_static"),
    # A checkpoint's snapshot; the last checkpoint, at close, is also written inside it.
    (
        "apply",
        "checkpoint snapshot, and the last one at close",
        "jointwatch.service",
        "IngestService",
        "_checkpoint_locked",
    ),
    (
        "checkpoint",
        "checkpoint thread, in all",
        "jointwatch.checkpoint",
        "CheckpointWriter",
        "_write",
    ),
    # Parquet parts are written on a thread of their own, beside the vessel and event rows.
    ("parts", "archive parts", "jointwatch.picture.archive", "PositionArchive", "write_taken"),
    ("checkpoint", "vessel rows", "jointwatch.store.repositories", "VesselRepository", "upsert"),
    ("checkpoint", "event rows", "jointwatch.store.repositories", "EventRepository", "upsert"),
)


@contextmanager
def probed(cpu: dict[str, float]) -> Iterator[None]:
    """Add each step's thread CPU time to ``cpu[step]`` while inside; unwrap on exit."""
    import importlib

    restore: list[tuple[Any, str, Any]] = []
    try:
        for _, step, module_name, owner_name, attribute in STEPS:
            module = importlib.import_module(module_name)
            owner = module if owner_name is None else getattr(module, owner_name)
            original = getattr(owner, attribute)
            restore.append((owner, attribute, original))
            setattr(owner, attribute, _timed(original, step, cpu))
        yield
    finally:
        for owner, attribute, original in reversed(restore):
            setattr(owner, attribute, original)


def _timed(fn: Callable[..., Any], step: str, cpu: dict[str, float]) -> Callable[..., Any]:
    lock = threading.Lock()

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            spent = time.thread_time() - started
            with lock:
                cpu[step] = cpu.get(step, 0.0) + spent

    return wrapper


def ingest_once(path: Path) -> dict[str, Any]:
    """One B2 run (what ``jointwatch ingest --direct`` does) with every step probed."""
    from jointwatch.config import Settings
    from jointwatch.readahead import ingest_blocks
    from jointwatch.service import IngestService
    from jointwatch.sources import iter_file_blocks

    data_dir = Path(tempfile.mkdtemp(prefix="jw-profile-"))
    cpu: dict[str, float] = {}
    try:
        with probed(cpu):
            started, process_started = time.perf_counter(), time.process_time()
            service = IngestService(Settings(data_dir=data_dir))
            lines = sum(
                result.lines for _, result in ingest_blocks(service, iter_file_blocks(path))
            )
            service.close()
            wall = time.perf_counter() - started
            process = time.process_time() - process_started
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return {"lines": lines, "wall_s": wall, "process_cpu_s": process, "cpu_s": cpu}


def profile(path: Path, runs: int) -> dict[str, Any]:
    """``runs`` probed runs after a warm-up; medians per step."""
    ingest_once(path)
    done = [ingest_once(path) for _ in range(runs)]
    steps = [
        {
            "thread": thread,
            "step": step,
            "cpu_s": statistics.median(r["cpu_s"].get(step, 0.0) for r in done),
            "min_s": min(r["cpu_s"].get(step, 0.0) for r in done),
            "max_s": max(r["cpu_s"].get(step, 0.0) for r in done),
        }
        for thread, step, *_ in STEPS
    ]
    return {
        "lines": done[0]["lines"],
        "runs": runs,
        "wall_s": statistics.median(r["wall_s"] for r in done),
        "process_cpu_s": statistics.median(r["process_cpu_s"] for r in done),
        "steps": steps,
    }


def run(size: int, runs: int, traffic: str = "fleet") -> dict[str, Any]:
    result = {"benchmark": "B2 CPU per thread and step", "sentences": size, "traffic": traffic}
    result |= profile(corpus_file(size, traffic=traffic), runs)
    write_result("profile-ingest", result, traffic)
    return result


def main() -> None:
    args = corpus_args(__doc__, runs=3)
    r = run(args.size, args.runs, args.traffic)
    print(
        f"{r['lines']:,} lines, median of {r['runs']}: wall {r['wall_s']:.2f} s, "
        f"process CPU {r['process_cpu_s']:.2f} s"
    )
    print("| thread | step | CPU s (median) | min-max |")
    print("| --- | --- | --- | --- |")
    for s in r["steps"]:
        spread = f"{s['min_s']:.3f}-{s['max_s']:.3f}"
        print(f"| {s['thread']} | {s['step']} | {s['cpu_s']:.3f} | {spread} |")


if __name__ == "__main__":
    main()
