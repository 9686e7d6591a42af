"""The raw journal read back in blocks, so that a replay runs on the block path.

Why: ``journal.iter_journal`` splits every line in Python and hands lists of lines to
``ingest_lines``; ``jointwatch replay`` of a million lines took 7.3 s where ingesting the
same file took 2.0 s. Here the journal is read 4 MiB at a time, each line's prefix (receive
time and source) is hashed in compiled code, Python runs once per run of lines that share a
prefix (a batch as it was journaled), and each record's lines are gathered into one block
for ``AisPipeline.process_block``.

The records are exactly ``iter_journal``'s: the same lines, grouped by the same rules
(consecutive lines of one source whose receive time is within a second of the record's
first, at most ``batch_lines``), with the same receive time and end position (tested), so
a replay gives the same result either way.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from jointwatch.ais import kernels, spans
from jointwatch.journal import JournalPosition, journal_files
from jointwatch.sources.files import BLOCK_BYTES

__all__ = ["REPLAY_BATCH_LINES", "JournalBlock", "iter_journal_blocks"]

_NO_PREFIX = np.frombuffer(b"", dtype=np.uint8)  # read-only, as block_records passes it
#: Lines per record for a replay: about a 4 MiB block's worth. The picture and the detectors
#: do work per vessel a batch touches, so iter_journal's 5,000 made a replay of a million
#: lines take 5.8 s instead of 1.7 s.
REPLAY_BATCH_LINES = 50_000


@dataclass(frozen=True)
class JournalBlock:
    """One record of ``iter_journal`` as a block: its lines, each ending in a newline."""

    data: bytes
    source: str
    rx_time_s: float
    lines: int
    end: JournalPosition  # where the record's last line ends in the journal
    bytes_read: int  # of the journal files, up to that end (for progress)


@dataclass
class _Record:
    rx_time_s: float
    source: str
    pieces: list[bytes] = field(default_factory=list)
    lines: int = 0
    end: JournalPosition | None = None
    bytes_read: int = 0

    def block(self) -> JournalBlock:
        assert self.end is not None
        data = b"".join(self.pieces)
        return JournalBlock(
            data, self.source, self.rx_time_s, self.lines, self.end, self.bytes_read
        )


def iter_journal_blocks(
    root: Path,
    batch_lines: int = 5000,
    *,
    after: JournalPosition | None = None,
    chunk_bytes: int = BLOCK_BYTES,
) -> Iterator[JournalBlock]:
    """``iter_journal``'s records, in order, each as one block of lines."""
    if not root.exists():
        return
    files = journal_files(root) if root.is_dir() else [root]
    done_before = 0
    for path in files:
        rel = path.relative_to(root).as_posix() if root.is_dir() else path.name
        size = path.stat().st_size
        if after is not None and rel < after.file:
            done_before += size
            continue
        start = after.offset if after is not None and rel == after.file else 0
        current: _Record | None = None
        for offset, chunk in _chunks(path, start, chunk_bytes):
            closed, current = _records(chunk, offset, rel, done_before, batch_lines, current)
            yield from (record.block() for record in closed)
        if current is not None and current.lines:
            yield current.block()
        done_before += size


def _chunks(path: Path, start: int, chunk_bytes: int) -> Iterator[tuple[int, bytes]]:
    """(file offset, whole lines) from ``start``; the last chunk may lack its newline."""
    with open(path, "rb") as fh:
        fh.seek(start)
        offset, carry = start, b""
        while True:
            data = fh.read(chunk_bytes)
            if not data:
                if carry:
                    yield offset, carry
                return
            data = carry + data
            cut = data.rfind(b"\n") + 1
            if cut:
                yield offset, data[:cut]
                offset += cut
            carry = data[cut:]


def _records(
    chunk: bytes,
    offset: int,
    rel: str,
    done_before: int,
    batch_lines: int,
    current: _Record | None,
) -> tuple[list[_Record], _Record | None]:
    """The records a chunk closes, and the one still open after it, continuing
    ``current`` from the chunk before."""
    closed: list[_Record] = []
    buf = np.frombuffer(chunk, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 10)
    starts = np.concatenate(([0], newlines + 1))
    ends = np.concatenate((newlines, [len(buf)]))
    if chunk.endswith(b"\n"):  # nothing after the last newline
        starts, ends = starts[:-1], ends[:-1]
    # A line is read when it has two tabs: receive time, source, then the raw line.
    tabs = np.flatnonzero(buf == 9)
    padded = np.concatenate((tabs, [len(buf), len(buf)]))  # past every line's end
    first = np.searchsorted(tabs, starts)
    tab1, tab2 = padded[first], padded[first + 1]
    rows = np.flatnonzero(tab2 < ends)
    runs: list[int] = []
    if len(rows):
        keys = kernels.payload_hashes(
            buf, starts[rows], tab2[rows] - starts[rows], np.zeros(len(rows), dtype=np.int64)
        )
        runs = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1]))).tolist()
    for a, b in zip(runs, [*runs[1:], len(rows)][: len(runs)], strict=True):
        line = int(rows[a])
        try:
            rx = float(chunk[starts[line] : tab1[line]])
        except ValueError:
            continue  # as iter_journal: a line whose time does not read is skipped
        source = chunk[tab1[line] + 1 : tab2[line]].decode("utf-8", "replace")
        k = a
        while k < b:
            if (
                current is None
                or current.source != source
                or current.lines >= batch_lines
                or abs(current.rx_time_s - rx) > 1.0
            ):
                if current is not None and current.lines:
                    closed.append(current)
                current = _Record(rx, source)
            take = min(b - k, batch_lines - current.lines)
            picked = rows[k : k + take]
            body = tab2[picked] + 1
            length = ends[picked] - body
            out = np.empty(int(length.sum()) + take, dtype=np.uint8)
            spans.gather_records(buf, body, length, _NO_PREFIX, out)
            current.pieces.append(out.tobytes())
            current.lines += take
            last = int(picked[-1])
            end = offset + int(ends[last]) + (1 if ends[last] < len(buf) else 0)
            current.end = JournalPosition(rel, end)
            current.bytes_read = done_before + end
            k += take
    return closed, current
