"""Reading a capture streams it: peak memory does not grow with the file.

Why a subprocess: peak resident memory (``ru_maxrss``) is per process, so each file is read
by a fresh interpreter and the two peaks are compared. The big file is eight times the small
one (130 MB); were blocks kept, or anything held per line, its peak would grow by
hundreds of MB.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from jointwatch.ais import with_tag_block
from jointwatch.ais.corpus import corpus_sentences

READER = """
import resource, sys
from jointwatch.ais import AisPipeline
from jointwatch.sources import iter_file_blocks
pipeline = AisPipeline()
rows = 0
for block in iter_file_blocks(sys.argv[1]):
    rows += pipeline.process_block(block.data, block.source, block.rx_time_s).num_rows
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, pipeline.stats.lines_read, rows)
"""


def capture(path: Path, copies: int, sentences: list[str]) -> None:
    with open(path, "w") as fh:
        for copy in range(copies):
            # A new receive time per copy: every copy is new traffic to the de-duplicator.
            stamp = 1_764_000_000 + 3600 * copy
            fh.writelines(
                with_tag_block(s, c=stamp + i // 50, s="rx") + "\n" for i, s in enumerate(sentences)
            )


def peak_kib(path: Path) -> tuple[int, int, int]:
    done = subprocess.run(
        [sys.executable, "-c", READER, str(path)], capture_output=True, text=True, check=True
    )
    peak, lines, rows = map(int, done.stdout.split())
    return peak, lines, rows


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    sentences = corpus_sentences(20_000, seed=7)
    small, big = tmp_path / "small.nmea", tmp_path / "big.nmea"
    capture(small, 12, sentences)  # past the first blocks, where allocators warm up
    capture(big, 96, sentences)
    assert big.stat().st_size > 7 * small.stat().st_size > 7 * 15_000_000

    small_peak, small_lines, _ = peak_kib(small)
    big_peak, big_lines, big_rows = peak_kib(big)

    assert big_lines == 8 * small_lines
    assert big_rows > 0.9 * big_lines
    growth_mib = (big_peak - small_peak) / 1024
    file_growth_mib = (big.stat().st_size - small.stat().st_size) / 2**20
    assert growth_mib < 16, (growth_mib, file_growth_mib)
