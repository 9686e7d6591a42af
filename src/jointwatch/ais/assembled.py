"""``Assembled``: whole messages of one batch as spans of a buffer, and how a batch's
messages are gathered into it.

Why a separate buffer step: single-sentence messages are spans of the batch's buffer as
they stand; joined multi-part payloads are written after it once, so the decoder reads one
buffer whatever the mix.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from jointwatch.ais import spans
from jointwatch.ais.frames import Frames

__all__ = ["Assembled", "BatchOut"]


@dataclass
class Assembled:
    """Whole messages in arrival order (of their last part), column by column.

    Payloads are spans of ``buf``; ``source_code`` indexes ``sources`` (-1: no TAG source).
    """

    buf: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint8))
    payload_start: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    payload_len: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    fill_bits: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    tag_time_s: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    source_code: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    sources: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.payload_start)

    @property
    def payload(self) -> list[bytes]:
        """Each payload as bytes (for readers and tests; the pipeline keeps spans)."""
        data = self.buf.tobytes()
        return [
            data[a : a + n]
            for a, n in zip(self.payload_start.tolist(), self.payload_len.tolist(), strict=True)
        ]

    @property
    def tag_source(self) -> list[str | None]:
        """Each message's TAG source, or None."""
        names: list[str | None] = [*self.sources, None]
        return [names[code] for code in self.source_code.tolist()]


class BatchOut:
    """The messages of one batch as they are found, put in arrival order at the end."""

    def __init__(self, frames: Frames) -> None:
        self.frames = frames
        self.rows: list[np.ndarray] = []
        self.starts: list[np.ndarray] = []
        self.lengths: list[np.ndarray] = []
        self.fills: list[np.ndarray] = []
        self.times: list[np.ndarray] = []
        self.codes: list[np.ndarray] = []
        self.extra: list[np.ndarray] = []  # joined payloads, after the frames' buffer
        self.extra_size = 0
        self.sources = list(frames.sources)
        self._walked: list[tuple[int, bytes, int, float, str | None]] = []
        self._single = np.zeros(0, np.int64)

    def take(self, rows: np.ndarray) -> None:
        """Single-sentence messages (ascending rows): their payload spans as they are,
        gathered with the rest in one pass at the end."""
        self._single = rows

    def join(self, parts: np.ndarray) -> None:
        """Messages whose rows (messages x parts) are complete: their payloads joined."""
        f = self.frames
        flat = parts.ravel()
        lengths = f.payload_len[flat]
        joined = np.zeros(int(lengths.sum()), dtype=np.uint8)
        spans.gather(f.buf, f.payload_start[flat], lengths, joined)
        per_message = lengths.reshape(parts.shape).sum(axis=1)
        self.rows.append(parts[:, -1])
        self.starts.append(len(f.buf) + self.extra_size + np.cumsum(per_message) - per_message)
        self.lengths.append(per_message)
        self.extra.append(joined)
        self.extra_size += len(joined)
        self.fills.append(f.fill_bits[parts[:, -1]].astype(np.int64))
        # The group's time and source are those of its first part that carries one.
        times = f.tag_time_s[parts]
        has_time = ~np.isnan(times)
        first = np.argmax(has_time, axis=1)
        self.times.append(
            np.where(has_time.any(axis=1), times[np.arange(len(parts)), first], np.nan)
        )
        codes = f.source_code[parts]
        has_code = codes >= 0
        first = np.argmax(has_code, axis=1)
        self.codes.append(np.where(has_code.any(axis=1), codes[np.arange(len(parts)), first], -1))

    def add(self, row: int, payload: bytes, fill: int, time_s: float, source: str | None) -> None:
        """One message the walk completed."""
        self._walked.append((row, payload, fill, time_s, source))

    def assembled(self) -> Assembled:
        if self._walked:
            walked_rows, payloads, fills, times, names = zip(*self._walked, strict=True)
            lengths = np.fromiter(map(len, payloads), dtype=np.int64, count=len(payloads))
            base = len(self.frames.buf) + self.extra_size
            self.rows.append(np.asarray(walked_rows, dtype=np.int64))
            self.starts.append(base + np.cumsum(lengths) - lengths)
            self.lengths.append(lengths)
            self.extra.append(np.frombuffer(b"".join(payloads), dtype=np.uint8))
            self.fills.append(np.asarray(fills, dtype=np.int64))
            self.times.append(np.asarray(times, dtype=np.float64))
            index = {name: code for code, name in enumerate(self.sources)}
            codes = []
            for name in names:
                if name is not None and name not in index:
                    index[name] = len(self.sources)
                    self.sources.append(name)
                codes.append(-1 if name is None else index[name])
            self.codes.append(np.asarray(codes, dtype=np.int64))
        f = self.frames
        buf = f.buf
        if self.extra:
            buf = np.concatenate([buf, *self.extra])

        def joined(parts: list[np.ndarray], dtype: type) -> np.ndarray:
            return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)

        # The single-sentence messages are most of a batch: they and the joined ones are
        # merged in row order by one compiled pass, not gathered column by column twice.
        rows = np.concatenate([self._single, *self.rows])
        order = np.argsort(rows, kind="stable")
        start, length, fill, time_s, code = spans.merge_messages(
            order,
            self._single,
            f.payload_start,
            f.payload_len,
            f.fill_bits,
            f.tag_time_s,
            f.source_code,
            joined(self.starts, np.int64),
            joined(self.lengths, np.int64),
            joined(self.fills, np.int64),
            joined(self.times, np.float64),
            joined(self.codes, np.int64),
        )
        return Assembled(
            buf=buf,
            payload_start=start,
            payload_len=length,
            fill_bits=fill,
            tag_time_s=time_s,
            source_code=code,
            sources=self.sources,
        )
