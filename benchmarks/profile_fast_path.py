"""Where the fast path's time goes: each stage of the block path timed on the B1 corpus.

Stages are cumulative (each run does everything the one before did, plus one step), so the
difference between two rows is that step's cost; the first row is the limit set by reading
the file at all. Run: ``python benchmarks/profile_fast_path.py [--size N]``; the table goes
to stdout and ``benchmarks/results/profile.json``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import corpus_args, corpus_file, write_result


def _stages() -> list[tuple[str, Callable[[bytes, Any], None]]]:
    from jointwatch.ais import framing, kernels
    from jointwatch.ais.decoder import decode_packed

    def read(block: bytes, state: Any) -> None:
        pass

    def bounds(block: bytes, state: Any) -> None:
        framing.block_bounds(block)

    def frame(block: bytes, state: Any) -> None:
        framing.frame_block(block, 1_764_100_000.0)

    def assemble(block: bytes, state: Any) -> None:
        state.assembler.add(framing.frame_block(block, 1_764_100_000.0), "f", 1_764_100_000.0)

    def dedupe(block: bytes, state: Any) -> None:
        done = state.assembler.add(framing.frame_block(block, 1_764_100_000.0), "f", 1.7641e9)
        keys = kernels.payload_hashes(
            done.buf, done.payload_start, done.payload_len, done.fill_bits
        )
        times = np.where(np.isnan(done.tag_time_s), 1.7641e9, done.tag_time_s)
        state._fresh(keys, times)

    def decode(block: bytes, state: Any) -> None:
        done = state.assembler.add(framing.frame_block(block, 1_764_100_000.0), "f", 1.7641e9)
        decode_packed(done.buf, done.payload_start, done.payload_len, done.fill_bits)

    def pipeline(block: bytes, state: Any) -> None:
        state.process_block(block, "f", 1_764_100_000.0)

    return [
        ("read the file in 4 MiB blocks", read),
        ("+ line bounds", bounds),
        ("+ framing (TAG, checksums, fields)", frame),
        ("+ assembly", assemble),
        ("+ dedupe keys and table (no decode)", dedupe),
        ("framing + assembly + decode (no dedupe)", decode),
        ("whole pipeline (process_block)", pipeline),
    ]


def run(size: int, runs: int, traffic: str = "fleet") -> dict[str, Any]:
    from jointwatch.ais import AisPipeline
    from jointwatch.sources import iter_file_blocks

    path = corpus_file(size, traffic=traffic)
    rows = []
    for name, stage in _stages():
        seconds = []
        for _ in range(runs + 1):  # the first run warms up
            state = AisPipeline()
            started = time.perf_counter()
            for block in iter_file_blocks(path):
                stage(block.data, state)
            seconds.append(time.perf_counter() - started)
        best = min(seconds[1:])
        rows.append({"stage": name, "seconds": best, "sentences_per_s": size / best})
    result = {
        "benchmark": "fast path stages",
        "sentences": size,
        "traffic": traffic,
        "file_bytes": path.stat().st_size,
        "stages": rows,
    }
    write_result("profile", result, traffic)
    return result


def main() -> None:
    args = corpus_args(__doc__, runs=3)
    result = run(args.size, args.runs, args.traffic)
    mib = result["file_bytes"] / 2**20
    print(f"| stage ({args.size:,} sentences, {mib:.0f} MiB) | best of runs | sentences/s |")
    print("| --- | --- | --- |")
    for row in result["stages"]:
        print(f"| {row['stage']} | {row['seconds']:.2f} s | {row['sentences_per_s']:,.0f} |")


if __name__ == "__main__":
    main()
