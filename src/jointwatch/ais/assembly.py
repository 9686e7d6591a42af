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
from collections import OrderedDict
from typing import Any

import numpy as np

from jointwatch.ais.assembled import Assembled, BatchOut
from jointwatch.ais.frames import Frames

__all__ = ["ASSEMBLY_REASONS", "Assembled", "Assembler"]

ASSEMBLY_REASONS = (
    "duplicate_fragment",
    "orphan_fragment",
    "assembly_timeout",
    "assembly_overflow",
    "invalid_fragment",
)

_Key = tuple[object, ...]


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
        # Defaults sized for SECURITY.md R3: a flood of first parts may hold at most ~13 MB
        # (about 650 B per realistic group, as measured, and never more than 4 MiB of
        # payload however long the flooded payloads are), while real traffic has a few
        # dozen groups open.
        self.timeout_s = timeout_s
        self.max_open_per_source = max(1, max_open_per_source)
        self.max_open_total = max(1, max_open_total)
        self.max_open_bytes = max(1, max_open_bytes)
        self._open_bytes = 0
        # Insertion order is opening order, which is what expiry and eviction walk. Ordered
        # dicts because both take the oldest entry again and again: a plain dict emptied
        # from the front makes ``next(iter(d))`` step over every slot deleted so far, which
        # under a fragment flood cost a sixth of the pipeline's time.
        self._open: OrderedDict[_Key, _Group] = OrderedDict()
        self._by_source: dict[str, OrderedDict[_Key, None]] = {}
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
        """Feed one batch of framed sentences; return the messages it completed.

        Single-sentence messages pass straight through, and so do multi-part messages whose
        parts follow each other in the batch, when nothing else could touch their group
        (see ``_runs``); only the rest is walked part by part.
        """
        self.expire(rx_time_s)
        single = frames.frag_total == 1
        out = BatchOut(frames)
        out.take(np.flatnonzero(single))
        if not single.all():
            multi = np.flatnonzero(~single)
            runs, slow = self._runs(frames, multi, source)
            for parts in runs:
                out.join(parts)
            self._walk(frames, slow, source, rx_time_s, out)
        return out.assembled()

    def _runs(
        self, frames: Frames, multi: np.ndarray, source: str
    ) -> tuple[list[np.ndarray], np.ndarray]:
        """Messages whose parts 1..total come one after another among the batch's multi-part
        sentences, as (messages x total) row matrices, and the rows left to walk.

        Taking such a message whole is exactly what the walk would do when no open group and
        no other sentence of the batch has its key, and when no cap can evict anything while
        the batch is walked; otherwise every row is walked.
        """
        multi_bytes = int(frames.payload_len[multi].sum())
        if self._would_cap(0, multi_bytes):
            # Under a flood the caps are always near: skip looking for runs at all. The
            # same test runs below with the walked rows counted; it only gets stricter.
            return [], multi
        total = frames.frag_total[multi].astype(np.int64)
        number = frames.frag_num[multi].astype(np.int64)
        key = _keys(frames, multi, total)
        in_run = np.zeros(len(multi), dtype=np.bool_)
        starts: list[tuple[int, np.ndarray]] = []
        for size in np.unique(total[(total >= 2) & (number == 1)]).tolist():
            head = np.flatnonzero((number == 1) & (total == size))
            head = head[head + size <= len(multi)]
            ok = np.ones(len(head), dtype=np.bool_)
            for k in range(1, size):
                ok &= (key[head + k] == key[head]) & (number[head + k] == k + 1)
            head = head[ok]
            if len(head):
                starts.append((size, head))
                in_run[(head[:, None] + np.arange(size)).ravel()] = True
        if not starts:
            return [], multi
        taken = self._open_keys(frames, source) | set(key[~in_run].tolist())
        runs: list[np.ndarray] = []
        for size, head in starts:
            ok = ~np.isin(key[head], np.fromiter(taken, dtype=np.int64, count=len(taken)))
            block = head[ok][:, None] + np.arange(size)
            in_run[head[~ok][:, None] + np.arange(size)] = False
            runs.append(multi[block])
        slow = multi[~in_run]
        if self._would_cap(len(slow), int(frames.payload_len[slow].sum()) + multi_bytes):
            return [], multi  # a cap could evict: walk everything, in order
        return runs, slow

    def _would_cap(self, walked: int, more_bytes: int) -> bool:
        """Whether walking ``walked`` rows, with ``more_bytes`` of payload, could reach a
        cap (conservatively: every row counted as a new group)."""
        return (
            len(self._open) + walked + 1 >= min(self.max_open_total, self.max_open_per_source)
            or self._open_bytes + more_bytes > self.max_open_bytes
        )

    def _open_keys(self, frames: Frames, source: str) -> set[int]:
        """Keys of this source's open groups, as ``_keys`` numbers them for this batch."""
        keys: set[int] = set()
        held = self._by_source.get(source)
        if not held:
            return keys
        group_code = {name: code for code, name in enumerate(frames.groups)}
        for key in held:
            if key[0] == "g":
                code = group_code.get(str(key[2]))
                if code is not None:
                    keys.add(_group_key(code, int(str(key[3]))))
            else:
                channel = ord(str(key[2])) if key[2] else 0
                keys.add(_seq_key(channel, int(str(key[3])), int(str(key[4]))))
        return keys

    def _walk(
        self, frames: Frames, rows: np.ndarray, source: str, rx_time_s: float, out: BatchOut
    ) -> None:
        """Add the parts one by one, as they arrived."""
        if not len(rows):
            return
        buf = frames.buf  # each part's bytes copied alone: the buffer is megabytes
        groups = frames.groups
        sources = frames.sources
        for row in rows.tolist():
            total = int(frames.frag_total[row])
            number = int(frames.frag_num[row])
            if total < 2 or not 1 <= number <= total:
                self._count("invalid_fragment", 1)
                continue
            key: _Key
            group_code = int(frames.group_code[row])
            if group_code >= 0:
                key = ("g", source, groups[group_code], total)
            else:
                channel = int(frames.channel_code[row])
                key = ("s", source, chr(channel) if channel else "", int(frames.seq_id[row]), total)
            start = int(frames.payload_start[row])
            source_code = int(frames.source_code[row])
            done = self._add_part(
                key,
                source,
                total,
                number,
                buf[start : start + int(frames.payload_len[row])].tobytes(),
                int(frames.fill_bits[row]),
                float(frames.tag_time_s[row]),
                sources[source_code] if source_code >= 0 else None,
                rx_time_s,
            )
            if done is not None:
                out.add(row, b"".join(done.parts), done.fill, done.tag_time_s, done.tag_source)  # type: ignore[arg-type]

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
        self._by_source.setdefault(source, OrderedDict())[key] = None
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


def _seq_key(channel: Any, seq: Any, total: Any) -> Any:
    """Works on numbers and on NumPy arrays alike."""
    return (channel << 16) | ((seq + 1) << 4) | total


def _group_key(code: Any, total: Any) -> Any:
    return ((code + 1) << 24) | total


def _keys(frames: Frames, rows: np.ndarray, total: np.ndarray) -> np.ndarray:
    """One number per sentence for what ties it to a transmission within this batch and
    source: the TAG group and total, or the channel, sequence id and total."""
    group = frames.group_code[rows]
    by_seq = _seq_key(
        frames.channel_code[rows].astype(np.int64), frames.seq_id[rows].astype(np.int64), total
    )
    return np.where(group >= 0, _group_key(group, total), by_seq)
