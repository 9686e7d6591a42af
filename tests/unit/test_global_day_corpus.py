"""The global-day benchmark's corpus: copies of the fleet corpus moved on in time must read
exactly as the original does, but later (``benchmarks/global_day.shift_tag_times``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow.compute as pc
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from global_day import shift_tag_times, span_s

from jointwatch.ais import AisPipeline, with_tag_block
from jointwatch.exercise.fleet_corpus import fleet_sentences

SHIFT_S = 30_000 + 6 * 3600
#: Receipt after every TAG time here (a TAG time a day ahead of receipt is ignored).
RX_S = 1_800_000_000.0


def _corpus() -> bytes:
    lines = []
    for index, (second, sentence) in enumerate(fleet_sentences(400, seed=7, rate_per_s=100.0)):
        if sentence.startswith("!AIVDM,2,2"):
            lines.append(sentence)  # later parts carry no TAG block, as corpus_file writes
        else:
            station = ("rx-a", "rx-danang")[index % 2]
            lines.append(with_tag_block(sentence, c=second, s=station))
    return ("\n".join(lines) + "\n").encode()


def test_a_shifted_copy_decodes_to_the_same_rows_later() -> None:
    data = _corpus()
    moved = shift_tag_times(data, SHIFT_S)
    assert moved != data
    assert len(moved) == len(data)  # the times keep their ten digits
    original = AisPipeline().process_block(data, "f", RX_S)
    pipeline = AisPipeline()
    later = pipeline.process_block(moved, "f", RX_S)
    assert pipeline.stats.rejected == {}  # every TAG checksum made again correctly
    assert later.num_rows == original.num_rows > 300
    assert pc.min(original.column("rx_time")).value == 1_764_000_000 * 1_000_000  # TAG times
    shifted_us = pc.add(original.column("rx_time").cast("int64"), SHIFT_S * 1_000_000)
    assert later.column("rx_time").cast("int64").equals(shifted_us)
    rest = [name for name in original.column_names if name != "rx_time"]
    assert later.select(rest).equals(original.select(rest))


def test_only_tag_blocks_change() -> None:
    data = _corpus()
    moved = shift_tag_times(data, SHIFT_S)
    for before, after in zip(data.split(b"\n"), moved.split(b"\n"), strict=True):
        if before.startswith(b"\\"):
            assert after.split(b"\\")[2] == before.split(b"\\")[2]  # the sentence itself
            assert after.split(b"\\")[1] != before.split(b"\\")[1]
        else:
            assert after == before


def test_span_covers_first_to_last_tag_time() -> None:
    data = _corpus()
    seconds = [second for second, _ in fleet_sentences(400, seed=7, rate_per_s=100.0)]
    assert span_s(data) == seconds[-1] - seconds[0] + 1 == 4  # 100 messages a second
    assert span_s(shift_tag_times(data, SHIFT_S)) == 4
    with pytest.raises(ValueError, match="no TAG"):
        span_s(b"!AIVDM,1,1,,A,13aEOK?P00PD2wVMdLDRhgvL289?,0*26\n")
