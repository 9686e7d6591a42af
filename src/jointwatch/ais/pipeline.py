"""The sentence path: framing → assembly → de-duplication → batch decode, one Arrow table out.

Why de-duplicate here: a watch centre hears most ships through several receivers. The same
reassembled payload and fill bits heard again within ``dedupe_window_s`` is the same
transmission, whatever receiver, talker or sequence id carried it, so it is counted once.
The window is measured on the message time (TAG ``c:`` when present, else the batch's
receive time); the table of recent keys holds 64-bit hashes, drops entries as they age out
and is capped, so memory stays bounded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jointwatch.ais import kernels
from jointwatch.ais.assembly import Assembler
from jointwatch.ais.decoder import DECODED_SCHEMA, decode_packed
from jointwatch.ais.dedupe import RecentKeys
from jointwatch.ais.framing import Frames, LineBounds, frame_block, frame_lines

__all__ = ["PIPELINE_SCHEMA", "AisPipeline", "IngestStats", "decode_lines", "dedupe_keys"]

#: ``DECODED_SCHEMA`` plus when (UTC) and by which receiver the message was heard.
PIPELINE_SCHEMA = DECODED_SCHEMA.append(pa.field("rx_time", pa.timestamp("us", tz="UTC"))).append(
    pa.field("source", pa.string())
)

_MAX_DEDUPE_KEYS = 2_000_000
# Arrow tables are immutable, so one empty table serves every batch that yields nothing:
# building it costs about 0.3 ms (a timezone lookup per column), more than a small batch.
_NOTHING = PIPELINE_SCHEMA.empty_table()


@dataclass
class IngestStats:
    """Counters of one pipeline. ``rejected`` counts lines at framing (see ``LINE_REASONS``:
    ``lines_read == sentences_ok + their sum``), fragments at assembly and messages after."""

    lines_read: int = 0
    sentences_ok: int = 0
    decoded: int = 0
    duplicates: int = 0
    rejected: dict[str, int] = field(default_factory=dict)

    def reject(self, reason: str, count: int = 1) -> None:
        """Add ``count`` to one rejection reason."""
        if count:
            self.rejected[reason] = self.rejected.get(reason, 0) + count

    def merge(self, other: IngestStats) -> None:
        """Add another pipeline's counters into this one (e.g. one per connection)."""
        self.lines_read += other.lines_read
        self.sentences_ok += other.sentences_ok
        self.decoded += other.decoded
        self.duplicates += other.duplicates
        for reason, count in other.rejected.items():
            self.reject(reason, count)

    def copy(self) -> IngestStats:
        """An independent snapshot (``since`` measures from it)."""
        return replace(self, rejected=dict(self.rejected))

    def since(self, before: IngestStats) -> IngestStats:
        """What was counted after the snapshot ``before``: one batch's own counts."""
        rejected = {
            reason: count - before.rejected.get(reason, 0)
            for reason, count in self.rejected.items()
            if count != before.rejected.get(reason, 0)
        }
        return IngestStats(
            self.lines_read - before.lines_read,
            self.sentences_ok - before.sentences_ok,
            self.decoded - before.decoded,
            self.duplicates - before.duplicates,
            rejected,
        )

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for JSON, the API and the CLI summary."""
        return {
            "lines_read": self.lines_read,
            "sentences_ok": self.sentences_ok,
            "decoded": self.decoded,
            "duplicates": self.duplicates,
            "rejected": dict(sorted(self.rejected.items())),
        }


class AisPipeline:
    """Stateful sentence pipeline: keeps open multi-part groups and recent messages."""

    def __init__(self, dedupe_window_s: float = 30.0, assembly_timeout_s: float = 10.0) -> None:
        self.dedupe_window_s = dedupe_window_s
        self.stats = IngestStats()
        self.assembler = Assembler(timeout_s=assembly_timeout_s)
        # hash(payload, fill bits) -> message time first heard; insertion order ~ time order.
        self._recent = RecentKeys()  # keys of messages heard within the window

    def process(self, lines: Sequence[bytes | str], source: str, rx_time_s: float) -> pa.Table:
        """Turn one batch of raw lines into decoded rows (``PIPELINE_SCHEMA``); never raises
        on bad input — every line lands in ``stats``."""
        return self._process(frame_lines(lines, source, rx_time_s), source, rx_time_s)

    def process_block(
        self, block: bytes, source: str, rx_time_s: float, bounds: LineBounds | None = None
    ) -> pa.Table:
        """``process`` for a block of text as a stream delivers it (lines end at '\\n';
        see ``framing.frame_block``, and its ``bounds``): no Python object is made per
        sentence."""
        return self._process(frame_block(block, rx_time_s, bounds), source, rx_time_s)

    def _process(self, frames: Frames, source: str, rx_time_s: float) -> pa.Table:
        # Lines a block held that were too long are framing rejections like any other.
        self.stats.lines_read += frames.lines_read + frames.dropped_too_long
        self.stats.reject("too_long", frames.dropped_too_long)
        self.stats.sentences_ok += len(frames)
        for reason, count in frames.rejected.items():
            self.stats.reject(reason, count)
        assembled = self.assembler.add(frames, source, rx_time_s)
        self._take_assembly_counts()
        times = np.where(np.isnan(assembled.tag_time_s), rx_time_s, assembled.tag_time_s)
        keys = kernels.payload_hashes(
            assembled.buf, assembled.payload_start, assembled.payload_len, assembled.fill_bits
        )
        fresh = self._fresh(keys, times)
        if not len(fresh):
            return _NOTHING
        result = decode_packed(
            assembled.buf,
            assembled.payload_start[fresh],
            assembled.payload_len[fresh],
            assembled.fill_bits[fresh],
        )
        self.stats.reject("decode_error", len(result.rejected_index))
        rows = fresh[result.kept_index]
        table = result.table
        # MMSI 0 (and a message too short to carry one) identifies nobody.
        mmsi = table.column("mmsi")
        valid_mmsi = pc.fill_null(pc.not_equal(mmsi, 0), False)
        n_invalid = table.num_rows - int(pc.sum(valid_mmsi.cast(pa.int64())).as_py() or 0)
        rx_us = np.round(times[rows] * 1e6).astype(np.int64)
        table = table.append_column(
            PIPELINE_SCHEMA.field("rx_time"), pa.array(rx_us, pa.timestamp("us", tz="UTC"))
        ).append_column(
            PIPELINE_SCHEMA.field("source"),
            _source_column(assembled.source_code[rows], assembled.sources, source),
        )
        if n_invalid:
            self.stats.reject("invalid_mmsi", int(n_invalid))
            table = table.filter(valid_mmsi)
        self.stats.decoded += table.num_rows
        return table

    def flush(self, now_s: float) -> None:
        """Expire assembly groups and remembered messages older than their windows at
        ``now_s`` (``float("inf")`` drops everything, at end of input).

        Remembered messages are judged by the newest message time heard when that is
        earlier than ``now_s``: a file, a replay or a delayed feed keeps its window across
        a flush. By the wall clock, every flush of 2025 traffic forgot all of it, so a
        duplicate straddling a flush went through: replaying a 130-million-line journal
        found 3,324 duplicates more than its ingest had.
        """
        self.assembler.expire(now_s)
        self._take_assembly_counts()
        latest = float(self._recent.latest_s)
        cutoff = now_s if math.isinf(now_s) else min(now_s, latest)
        self._recent.forget(cutoff - self.dedupe_window_s, _MAX_DEDUPE_KEYS)

    def _take_assembly_counts(self) -> None:
        for reason, count in self.assembler.take_rejected().items():
            self.stats.reject(reason, count)

    def _fresh(self, keys: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Indices of messages not heard within the window; counts the others (the meaning
        is in ``dedupe``'s docstring)."""
        fresh = self._recent.fresh(keys, times, self.dedupe_window_s, _MAX_DEDUPE_KEYS)
        self.stats.duplicates += len(keys) - len(fresh)
        return fresh


def dedupe_keys(payloads: Sequence[bytes], fill_bits: Sequence[int]) -> np.ndarray:
    """The de-duplication key of each message (a 64-bit hash of payload and fill bits)."""
    lengths = np.fromiter(map(len, payloads), dtype=np.int64, count=len(payloads))
    buf = np.frombuffer(b"".join(payloads) + b"0", dtype=np.uint8)
    starts = np.cumsum(lengths) - lengths
    return kernels.payload_hashes(buf, starts, lengths, np.asarray(fill_bits, dtype=np.int64))


def _source_column(codes: np.ndarray, names: list[str], default: str) -> pa.Array:
    """Each message's receiver: its TAG source, else the batch's."""
    if not len(names) or not (codes >= 0).any():
        return pa.DictionaryArray.from_arrays(
            np.zeros(len(codes), dtype=np.int32), pa.array([default], pa.string())
        ).cast(pa.string())
    dictionary = pa.array([*names, default], pa.string())
    index = np.where(codes >= 0, codes, len(names)).astype(np.int32)
    return pa.DictionaryArray.from_arrays(index, dictionary).cast(pa.string())


def decode_lines(lines: Sequence[bytes | str], source: str, rx_time_s: float) -> pa.Table:
    """Decode a self-contained batch of lines with a fresh pipeline (no state carried over)."""
    return AisPipeline().process(lines, source, rx_time_s)
