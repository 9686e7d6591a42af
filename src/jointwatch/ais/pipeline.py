"""The sentence path: framing → assembly → de-duplication → batch decode, one Arrow table out.

Why de-duplicate here: a watch centre hears most ships through several receivers. The same
reassembled payload and fill bits heard again within ``dedupe_window_s`` is the same
transmission, whatever receiver, talker or sequence id carried it, so it is counted once.
The window is measured on the message time (TAG ``c:`` when present, else the batch's
receive time); the table of recent keys holds 64-bit hashes, drops entries as they age out
and is capped, so memory stays bounded.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jointwatch.ais import kernels
from jointwatch.ais.assembly import Assembler
from jointwatch.ais.decoder import DECODED_SCHEMA, decode_packed
from jointwatch.ais.framing import Frames, frame_block, frame_lines

__all__ = ["PIPELINE_SCHEMA", "AisPipeline", "IngestStats", "decode_lines", "dedupe_keys"]

#: ``DECODED_SCHEMA`` plus when (UTC) and by which receiver the message was heard.
PIPELINE_SCHEMA = DECODED_SCHEMA.append(pa.field("rx_time", pa.timestamp("us", tz="UTC"))).append(
    pa.field("source", pa.string())
)

_MAX_DEDUPE_KEYS = 2_000_000
_DEDUPE_BATCH_MIN = 32  # fewer messages are decided one by one
_COMPACT_AFTER = 4096  # deletions (plus a quarter of the size) before the key table is copied


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
        self._recent: dict[int, float] = {}
        self._holes = 0  # entries deleted from ``_recent`` since it was last copied
        self._latest_s = -np.inf

    def process(self, lines: Sequence[bytes | str], source: str, rx_time_s: float) -> pa.Table:
        """Turn one batch of raw lines into decoded rows (``PIPELINE_SCHEMA``); never raises
        on bad input — every line lands in ``stats``."""
        return self._process(frame_lines(lines, source, rx_time_s), source, rx_time_s)

    def process_block(self, block: bytes, source: str, rx_time_s: float) -> pa.Table:
        """``process`` for a block of text as a stream delivers it (lines end at '\\n';
        see ``framing.frame_block``): no Python object is made per sentence."""
        return self._process(frame_block(block, rx_time_s), source, rx_time_s)

    def _process(self, frames: Frames, source: str, rx_time_s: float) -> pa.Table:
        self.stats.lines_read += frames.lines_read
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
            return PIPELINE_SCHEMA.empty_table()
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
        ``now_s`` (``float("inf")`` drops everything, at end of input)."""
        self.assembler.expire(now_s)
        self._take_assembly_counts()
        self._forget_before(now_s - self.dedupe_window_s)

    def _take_assembly_counts(self) -> None:
        for reason, count in self.assembler.take_rejected().items():
            self.stats.reject(reason, count)

    def _forget_before(self, cutoff_s: float) -> None:
        """Drop remembered messages from the oldest inserted on, up to the first one heard at
        or after ``cutoff_s`` once no more than ``_MAX_DEDUPE_KEYS`` are left."""
        recent = self._recent
        size = len(recent)
        drop = max(0, size - _MAX_DEDUPE_KEYS)  # over the cap: these go whatever their time
        values = iter(recent.values())
        deque(islice(values, drop), maxlen=0)
        chunk = 16
        while drop < size:
            times = np.fromiter(islice(values, chunk), dtype=np.float64)
            kept = np.flatnonzero(times >= cutoff_s)
            if len(kept):
                drop += int(kept[0])
                break
            drop += len(times)
            chunk *= 8
        if drop:
            self._holes += drop
            deque(map(recent.__delitem__, list(islice(recent, drop))), maxlen=0)
        if self._holes > _COMPACT_AFTER + len(recent) // 4:
            # A deleted entry leaves a hole that every walk from the oldest steps over until
            # the dict is resized; copying it sheds them (at a cost shared by those deletions).
            self._recent = dict(recent)
            self._holes = 0

    def _fresh(self, key_array: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Indices of messages not heard within the window; counts the others.

        In effect, message by message: a message whose key (64-bit hash of payload and fill
        bits) was remembered at a time no further than the window from its own is a duplicate;
        any other is fresh and (re)inserted last with its time, so insertion order follows
        time order. Keys seen once in the batch are decided together; only keys repeated
        within the batch are walked one message at a time (and a small batch is, whole).
        """
        recent = self._recent
        window = self.dedupe_window_s
        n_messages = len(key_array)
        keys: list[int] = key_array.tolist()
        if n_messages < _DEDUPE_BATCH_MIN:
            return self._fresh_one_by_one(keys, times)
        times = np.asarray(times, dtype=np.float64)
        known = np.fromiter(map(recent.__contains__, keys), dtype=np.bool_, count=n_messages)
        first = np.full(n_messages, np.nan)
        if known.any():
            at = np.flatnonzero(known)
            first[at] = np.array(list(map(recent.__getitem__, map(keys.__getitem__, at.tolist()))))
        duplicate = known & (np.abs(times - first) <= window)
        repeated = len(set(keys)) < n_messages
        if repeated:
            order = np.argsort(key_array, kind="stable")
            same = key_array[order][1:] == key_array[order][:-1]
            walk = np.zeros(n_messages, dtype=np.bool_)
            walk[order[1:][same]] = True
            walk[order[:-1][same]] = True
            held: dict[int, float] = {}
            time_list = times.tolist()
            for index in np.flatnonzero(walk).tolist():
                key = keys[index]
                time_s = time_list[index]
                seen = held[key] if key in held else recent.get(key)
                if seen is not None and abs(time_s - seen) <= window:
                    duplicate[index] = True
                else:
                    duplicate[index] = False
                    held[key] = time_s
        fresh = np.flatnonzero(~duplicate)
        self.stats.duplicates += n_messages - len(fresh)
        if len(fresh):
            again = fresh[known[fresh]]
            if len(again):  # heard before, outside the window: moves to the end
                moved = {keys[i] for i in again.tolist()}
                deque(map(recent.__delitem__, moved), maxlen=0)
                self._holes += len(moved)
            if len(fresh) == n_messages and not repeated:
                recent.update(zip(keys, times.tolist(), strict=True))
            else:
                last = fresh
                if repeated:  # a key fresh twice in the batch ends where it was last inserted
                    _, from_end = np.unique(key_array[fresh][::-1], return_index=True)
                    last = fresh[np.sort(len(fresh) - 1 - from_end)]
                last_keys = map(keys.__getitem__, last.tolist())
                recent.update(zip(last_keys, times[last].tolist(), strict=True))
            fresh_times = times[fresh]
            later = fresh_times[fresh_times > self._latest_s]
            if len(later):
                self._latest_s = float(later.max())
        self._forget_before(self._latest_s - window)
        return fresh

    def _fresh_one_by_one(self, keys: list[int], times: np.ndarray) -> np.ndarray:
        """``_fresh`` for a few messages, where deciding them together costs more."""
        recent = self._recent
        window = self.dedupe_window_s
        fresh: list[int] = []
        duplicates = 0
        for index, (key, time_s) in enumerate(zip(keys, times.tolist(), strict=True)):
            first = recent.get(key)
            if first is not None and abs(time_s - first) <= window:
                duplicates += 1
                continue
            if first is not None:
                del recent[key]  # re-insert at the end so the dict stays in time order
                self._holes += 1
            recent[key] = time_s
            fresh.append(index)
            if time_s > self._latest_s:
                self._latest_s = time_s
        self.stats.duplicates += duplicates
        self._forget_before(self._latest_s - window)
        return np.asarray(fresh, dtype=np.int64)


def dedupe_keys(payloads: Sequence[bytes], fill_bits: Sequence[int]) -> np.ndarray:
    """The de-duplication key of each message (64-bit FNV-1a of payload and fill bits)."""
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
