"""A global day's volume through the real command: a 10 GB file of 130 million AIS lines
fed to ``jointwatch ingest --direct`` (journal, decode, dedupe, picture, Parquet, SQLite,
all detectors), timed end to end, with the process's resident memory sampled as it runs.

Why: the fast-path issue's goal is that one 2-core machine takes a global day of AIS
(about 10⁸ sentences) in well under 15 minutes, and that a 10 GB file does not need 10 GB
of memory. B2 measures a million lines; this runs the whole size once, through the command
a user types, in a fresh process, so that nothing measured is extrapolated.

The corpus is B2's fleet corpus (5,000 transmitters, 400 messages a second) played again
and again, each copy's TAG times moved on by the corpus' span plus six hours. Six hours is
below the gap detector's 12 h and slow enough that a vessel's jump from where a copy ends
back to where the next begins (at most about 15 nm) is not an impossible speed, so the
copies add next to no alert of their own (three copies raised 4,300 events, one 1,432); a
payload repeated six hours later is not a duplicate. What this corpus does not have is a
global day's 180,000 vessels: B3 shows that a fleet that large costs the detectors about
twice as much per position.

Run: ``python benchmarks/global_day.py [--copies 130] [--keep]`` (``make bench-day``).
It needs about 10 GB of disk for the corpus (kept in ``benchmarks/corpus/``) and about
17 GB more while it runs (a 15.8 GB journal and a 1.5 GB archive, deleted afterwards
unless ``--keep``).
Results go to stdout and ``benchmarks/results/global-day.json``.
"""

from __future__ import annotations

import argparse
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import CORPUS_DIR, corpus_file, write_result

#: Hours between the end of one copy and the start of the next (see the module docstring).
GAP_S = 6 * 3600
#: A TAG block whose items include ``c:`` (a 10-digit receive second), as corpus_file writes.
_TAG = re.compile(rb"\\([^\\*]*?c:)(\d{10})([^\\*]*)\*[0-9A-F]{2}\\")


def shift_tag_times(data: bytes, shift_s: int) -> bytes:
    """``data`` with every TAG block's ``c:`` moved on by ``shift_s`` seconds and its
    checksum made again; everything else byte for byte the same."""
    cache: dict[bytes, bytes] = {}  # a corpus has a few thousand distinct TAG blocks

    def replace(match: re.Match[bytes]) -> bytes:
        block = match.group(0)
        out = cache.get(block)
        if out is None:
            seconds = int(match.group(2)) + shift_s
            body = match.group(1) + b"%010d" % seconds + match.group(3)
            checksum = 0
            for byte in body:
                checksum ^= byte
            out = cache[block] = b"\\" + body + b"*%02X\\" % checksum
        return out

    return _TAG.sub(replace, data)


def span_s(data: bytes) -> int:
    """Seconds from the first TAG time in ``data`` to the last, plus one."""
    times = [int(m.group(2)) for m in _TAG.finditer(data[:4096])]
    last = [int(m.group(2)) for m in _TAG.finditer(data[-4096:])]
    if not times or not last:
        raise ValueError("the corpus has no TAG block times to move")
    return last[-1] - times[0] + 1


def day_corpus(copies: int) -> Path:
    """The benchmark's file: ``copies`` copies of the B2 fleet corpus, one after another
    in time; built once and kept (``benchmarks/corpus/`` is not committed)."""
    if copies < 1:
        raise ValueError("copies must be at least 1")
    path = CORPUS_DIR / f"day-fleet-{copies}x1000000-42.nmea"
    if path.exists():
        return path
    data = corpus_file(1_000_000).read_bytes()
    step = span_s(data) + GAP_S
    tmp = path.with_suffix(".tmp")
    started = time.perf_counter()
    with open(tmp, "wb") as out:
        for copy in range(copies):
            out.write(shift_tag_times(data, copy * step) if copy else data)
            done = copy + 1
            if done % 10 == 0 or done == copies:
                print(
                    f"  corpus: {done}/{copies} copies, {done * len(data) / 1e9:.1f} GB, "
                    f"{time.perf_counter() - started:.0f} s",
                    flush=True,
                )
    tmp.rename(path)
    return path


class _MemorySampler:
    """The resident memory of a process, read from /proc once a second until it ends."""

    def __init__(self, pid: int) -> None:
        self.samples: list[tuple[float, int]] = []  # (seconds since start, bytes)
        self._pid = pid
        self._stop = threading.Event()
        self._started = time.perf_counter()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        status = Path(f"/proc/{self._pid}/status")
        while not self._stop.wait(1.0):
            try:
                text = status.read_text()
            except OSError:
                return
            for line in text.splitlines():
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) * 1024
                    self.samples.append((time.perf_counter() - self._started, rss))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def run(copies: int, keep: bool = False) -> dict[str, Any]:
    path = day_corpus(copies)
    file_bytes = path.stat().st_size
    data_dir = Path(tempfile.mkdtemp(prefix="jw-day-"))
    command = [
        sys.executable,
        "-m",
        "jointwatch",
        "ingest",
        "--direct",
        "--data-dir",
        str(data_dir),
        str(path),
    ]
    try:
        started = time.perf_counter()
        # Its output goes to a file, not a pipe: a pipe nobody reads while it runs could
        # fill and stop it.
        log = data_dir / "ingest.log"
        with open(log, "w") as log_file:
            child = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT)
            sampler = _MemorySampler(child.pid)
            child.wait()
        seconds = time.perf_counter() - started
        sampler.stop()
        # The kernel's own high-water mark of the child, which the samples may fall between.
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        output = log.read_text()
        if child.returncode != 0:
            raise SystemExit(f"jointwatch ingest failed (exit {child.returncode}):\n{output}")
        counters, events = _node_totals(data_dir / "jointwatch.db")
        sizes = {
            name: sum(f.stat().st_size for f in (data_dir / name).rglob("*") if f.is_file())
            for name in ("journal", "archive")
        }
    finally:
        if not keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    lines = counters.get("sentences_read", 0)
    rss = [r for _, r in sampler.samples]
    result = {
        "benchmark": "global day: jointwatch ingest --direct of one file, all detectors on",
        "copies": copies,
        "file_bytes": file_bytes,
        "lines": lines,
        "seconds": seconds,
        "lines_per_s": lines / seconds,
        "bytes_per_s": file_bytes / seconds,
        "peak_rss_bytes": max([peak, *rss]),
        "rss_samples": sampler.samples[:: max(1, len(sampler.samples) // 60)],
        "rss_after_first_tenth_bytes": _median(rss[len(rss) // 10 :]) if rss else None,
        "counters": counters,
        "events": events,
        "journal_bytes": sizes["journal"],
        "archive_bytes": sizes["archive"],
        "command_output": output.strip().splitlines()[-2:],  # its summary
        "data_dir": str(data_dir) if keep else None,
    }
    write_result("global-day", result)
    return result


def _median(values: list[int]) -> float:
    ordered = sorted(values)
    return float(ordered[len(ordered) // 2])


def _node_totals(db: Path) -> tuple[dict[str, int], dict[str, int]]:
    """The node's own counters and its events by kind, read from its database."""
    with sqlite3.connect(db) as conn:
        counters = dict(conn.execute("SELECT name, value FROM ingest_counters").fetchall())
        events = dict(
            conn.execute("SELECT kind, count(*) FROM detector_events GROUP BY kind").fetchall()
        )
    return counters, events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, default=130, help="copies of the 1M corpus")
    parser.add_argument("--keep", action="store_true", help="keep the node's data directory")
    args = parser.parse_args()
    r = run(args.copies, args.keep)
    print(
        f"| global day, {r['lines']:,} lines, {r['file_bytes'] / 1e9:.1f} GB | "
        f"{r['seconds']:.0f} s | {r['lines_per_s']:,.0f} lines/s | "
        f"{r['bytes_per_s'] / 1e6:.0f} MB/s | peak memory {r['peak_rss_bytes'] / 2**20:,.0f} MiB "
        f"| {sum(r['events'].values()):,} events |"
    )


if __name__ == "__main__":
    main()
