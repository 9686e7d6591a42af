"""Multi-sentence assembly with bounded memory.

Why this shape: real feeds interleave the parts of different messages (two channels, many
receivers), drop parts, repeat parts and restart sequence ids. A part is therefore keyed by
everything that ties it to one transmission — (source, channel, sequence id, total), or the
TAG ``g:`` group id when the receiver sends one — and a bad or missing part only ever costs
its own message (pyais issues 160 and 177 show the failure modes we avoid). Open groups
expire after ``timeout_s`` and are capped per source and overall, so a flood of unmatched
first parts cannot grow memory without bound (SECURITY.md rule 6, test R3).

Counted reasons (per fragment dropped): ``duplicate_fragment`` (the same part again),
``orphan_fragment`` (a group that never got its first part, or was superseded by a
restarted sequence), ``assembly_timeout`` (a started message that never completed) and
``assembly_overflow`` (evicted to respect a cap) and ``invalid_fragment`` (a fragment
number outside 1..total, which framing never passes but a direct caller might: it must cost
only itself, never another group — pyais issue 177).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from jointwatch.ais.framing import Frames

__all__ = ["ASSEMBLY_REASONS", "Assembled", "Assembler"]

ASSEMBLY_REASONS = (
    "duplicate_fragment",
    "orphan_fragment",
    "assembly_timeout",
    "assembly_overflow",
    "invalid_fragment",
)

_Key = tuple[object, ...]


@dataclass
class Assembled:
    """Whole messages in arrival order (of their last part), column by column."""

    payload: list[bytes] = field(default_factory=list)
    fill_bits: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    tag_time_s: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    tag_source: list[str | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.payload)


class _Group:
    __slots__ = (
        "count",
        "fill",
        "nbytes",
        "opened_s",
        "parts",
        "source",
        "tag_source",
        "tag_time_s",
    )

    def __init__(self, total: int, source: str, opened_s: float) -> None:
        self.parts: list[bytes | None] = [None] * total
        self.count = 0
        self.fill = 0
        self.nbytes = 0
        self.opened_s = opened_s
        self.source = source
        self.tag_time_s = math.nan
        self.tag_source: str | None = None


class Assembler:
    """Joins multi-sentence messages; single-sentence messages pass straight through."""

    def __init__(
        self,
        timeout_s: float = 10.0,
        max_open_per_source: int = 1000,
        max_open_total: int = 20_000,
        max_open_bytes: int = 4 * 1024 * 1024,
    ) -> None:
        # Defaults sized for SECURITY.md R3: a flood of first parts may hold at most ~12 MB
        # (about 560 B per realistic group, and never more than 4 MiB of payload however
        # long the flooded payloads are), while real traffic has a few dozen groups open.
        self.timeout_s = timeout_s
        self.max_open_per_source = max(1, max_open_per_source)
        self.max_open_total = max(1, max_open_total)
        self.max_open_bytes = max(1, max_open_bytes)
        self._open_bytes = 0
        # Insertion order is opening order, which is what expiry and eviction walk.
        self._open: dict[_Key, _Group] = {}
        self._by_source: dict[str, dict[_Key, None]] = {}
        self.rejected: dict[str, int] = {}

    @property
    def open_groups(self) -> int:
        """How many incomplete messages are held."""
        return len(self._open)

    def take_rejected(self) -> dict[str, int]:
        """Return and reset the counts of fragments dropped since the last call."""
        counts, self.rejected = self.rejected, {}
        return counts

    def add(self, frames: Frames, source: str, rx_time_s: float) -> Assembled:
        """Feed one batch of framed sentences; return the messages it completed."""
        self.expire(rx_time_s)
        single = frames.frag_total == 1
        out_rows: list[int] = np.flatnonzero(single).tolist()
        payloads: list[bytes] = [frames.payload[i] for i in out_rows]
        fills: list[int] = frames.fill_bits[single].tolist()
        times: list[float] = frames.tag_time_s[single].tolist()
        tag_sources: list[str | None] = [frames.tag_source[i] for i in out_rows]
        if not single.all():
            multi = np.flatnonzero(~single).tolist()
            totals = frames.frag_total.tolist()
            numbers = frames.frag_num.tolist()
            seqs = frames.seq_id.tolist()
            frame_fills = frames.fill_bits.tolist()
            for row in multi:
                group_id = frames.tag_group[row]
                total = totals[row]
                if total < 2 or not 1 <= numbers[row] <= total:
                    self._count("invalid_fragment", 1)
                    continue
                key: _Key
                if group_id is not None:
                    key = ("g", source, group_id, total)
                else:
                    key = ("s", source, frames.channel[row], seqs[row], total)
                done = self._add_part(
                    key,
                    source,
                    total,
                    numbers[row],
                    frames.payload[row],
                    frame_fills[row],
                    float(frames.tag_time_s[row]),
                    frames.tag_source[row],
                    rx_time_s,
                )
                if done is not None:
                    out_rows.append(row)
                    payloads.append(b"".join(done.parts))  # type: ignore[arg-type]
                    fills.append(done.fill)
                    times.append(done.tag_time_s)
                    tag_sources.append(done.tag_source)
        order = np.argsort(np.asarray(out_rows, dtype=np.int64), kind="stable")
        index = order.tolist()
        return Assembled(
            payload=[payloads[i] for i in index],
            fill_bits=np.asarray(fills, dtype=np.int64)[order],
            tag_time_s=np.asarray(times, dtype=np.float64)[order],
            tag_source=[tag_sources[i] for i in index],
        )

    def expire(self, now_s: float) -> None:
        """Drop groups opened more than ``timeout_s`` before ``now_s``."""
        deadline = now_s - self.timeout_s
        while self._open:
            key = next(iter(self._open))
            group = self._open[key]
            if not group.opened_s < deadline:
                break
            reason = "orphan_fragment" if group.parts[0] is None else "assembly_timeout"
            self._drop(key, reason)

    def _count(self, reason: str, fragments: int) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + fragments

    def _drop(self, key: _Key, reason: str) -> None:
        group = self._open.pop(key)
        self._open_bytes -= group.nbytes
        per_source = self._by_source[group.source]
        del per_source[key]
        if not per_source:
            del self._by_source[group.source]
        self._count(reason, group.count)

    def _open_group(self, key: _Key, source: str, total: int, now_s: float) -> _Group:
        per_source = self._by_source.get(source)
        if per_source is not None and len(per_source) >= self.max_open_per_source:
            self._drop(next(iter(per_source)), "assembly_overflow")
        if len(self._open) >= self.max_open_total:
            self._drop(next(iter(self._open)), "assembly_overflow")
        group = _Group(total, source, now_s)
        self._open[key] = group
        self._by_source.setdefault(source, {})[key] = None
        return group

    def _add_part(
        self,
        key: _Key,
        source: str,
        total: int,
        number: int,
        payload: bytes,
        fill: int,
        tag_time_s: float,
        tag_source: str | None,
        now_s: float,
    ) -> _Group | None:
        group = self._open.get(key)
        if group is not None:
            held = group.parts[number - 1]
            if held == payload:
                self._count("duplicate_fragment", 1)
                return None
            if held is not None:
                # The same part number with new content: the sender restarted the sequence
                # id, so the old message can never complete.
                self._drop(key, "orphan_fragment")
                group = None
        if group is None:
            group = self._open_group(key, source, total, now_s)
        group.parts[number - 1] = payload
        group.count += 1
        group.nbytes += len(payload)
        self._open_bytes += len(payload)
        while self._open_bytes > self.max_open_bytes and len(self._open) > 1:
            oldest = next(iter(self._open))
            if oldest == key:  # never evict the group being filled
                break
            self._drop(oldest, "assembly_overflow")
        if number == total:
            group.fill = fill
        if not math.isnan(tag_time_s) and math.isnan(group.tag_time_s):
            group.tag_time_s = tag_time_s
        if tag_source is not None and group.tag_source is None:
            group.tag_source = tag_source
        if group.count < total:
            return None
        del self._open[key]
        self._open_bytes -= group.nbytes
        per_source = self._by_source[source]
        del per_source[key]
        if not per_source:
            del self._by_source[source]
        return group
