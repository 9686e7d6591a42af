"""The raw journal: every line a node receives, written before it is processed.

Why: SECURITY.md rule 5. The journal is the node's ground truth; the picture, the archive and
everything downstream can be rebuilt from it (``jointwatch replay``), so a crash or a decoder
bug never loses what a receiver sent.

Layout: ``ROOT/YYYY-MM-DD/HH.jnl`` (UTC hour of receipt), one record per line:
``<receive time, UNIX seconds>\\t<source>\\t<raw line>``. Tabs and line breaks cannot occur
in a raw line (sources split on line breaks; framing rejects tabs), and are replaced in the
source name, so the format needs no escaping.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

__all__ = [
    "JournalPosition",
    "JournalRecord",
    "RawJournal",
    "iter_journal",
    "journal_files",
    "read_checkpoint",
    "read_checkpoint_counters",
    "read_checkpoint_parts",
    "record_prefix",
    "write_checkpoint",
]

CHECKPOINT = "checkpoint.json"


@dataclass(frozen=True, order=True)
class JournalPosition:
    """A point in the journal: a file (relative to the journal root) and a byte offset."""

    file: str
    offset: int


@dataclass
class JournalRecord:
    """One batch of journaled lines that share a receive time and source."""

    rx_time_s: float
    source: str
    lines: list[bytes]
    end: JournalPosition | None = None  # where the record's last line ends in the journal


def record_prefix(source: str, rx_time_s: float) -> bytes:
    """What goes before each line of a batch in the journal: receive time and source."""
    return b"%.3f\t" % rx_time_s + _clean_source(source) + b"\t"


def _clean_source(source: str) -> bytes:
    return (
        source.replace("\t", " ").replace("\n", " ").replace("\r", " ").encode("utf-8", "replace")
    )


class RawJournal:
    """Append-only journal, one file per UTC hour; safe to call from several threads."""

    def __init__(self, root: Path, *, fsync: bool = False) -> None:
        self.root = root
        self.fsync = fsync
        self._lock = threading.Lock()
        self._path: Path | None = None
        self._fh: BinaryIO | None = None
        self._end = self._end_on_disk()

    def _end_on_disk(self) -> JournalPosition | None:
        files = journal_files(self.root)
        if not files:
            return None
        last = files[-1]
        size = last.stat().st_size
        if size:
            with open(last, "rb+") as fh:
                fh.seek(size - 1)
                if fh.read(1) != b"\n":
                    # A batch cut short by a crash: end it, so the next batch starts clean.
                    fh.write(b"\n")
                    size += 1
        return JournalPosition(last.relative_to(self.root).as_posix(), size)

    def position(self) -> JournalPosition | None:
        """Where the journal ends now: everything before it has been handed to ingest."""
        with self._lock:
            return self._end

    def _file_for(self, rx_time_s: float) -> BinaryIO:
        stamp = datetime.fromtimestamp(rx_time_s, tz=UTC)
        path = self.root / stamp.strftime("%Y-%m-%d") / f"{stamp:%H}.jnl"
        if path != self._path:
            self.close()
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(path, "ab")  # noqa: SIM115 - kept open across batches
            self._path = path
        assert self._fh is not None
        return self._fh

    def append(self, lines: Sequence[bytes], source: str, rx_time_s: float) -> None:
        """Write a batch; one write call per batch keeps this off the per-line hot path."""
        if not lines:
            return
        prefix = record_prefix(source, rx_time_s)
        body = b"".join(prefix + line.rstrip(b"\r\n") + b"\n" for line in lines)
        self._write(body, rx_time_s)

    def append_records(self, records: bytes | memoryview, rx_time_s: float) -> None:
        """Write records already built as ``append`` builds them (``framing.block_records``
        with ``record_prefix``): the ingest thread only writes."""
        if records:
            self._write(records, rx_time_s)

    def _write(self, body: bytes | memoryview, rx_time_s: float) -> None:
        with self._lock:
            fh = self._file_for(rx_time_s)
            fh.write(body)
            fh.flush()
            if self.fsync:
                os.fsync(fh.fileno())
            assert self._path is not None
            self._end = JournalPosition(self._path.relative_to(self.root).as_posix(), fh.tell())

    def close(self) -> None:
        """Close the current hour file (a later append reopens it)."""
        fh, self._fh, self._path = self._fh, None, None
        if fh is not None:
            fh.close()


def journal_files(root: Path) -> list[Path]:
    """A journal's files in time order (``YYYY-MM-DD/HH.jnl`` sorts so as text)."""
    return sorted(root.glob("*/*.jnl")) if root.is_dir() else []


def _checkpoint_record(root: Path) -> dict[str, Any] | None:
    """The last checkpoint as written, or None when there is none yet."""
    try:
        data = json.loads((root / CHECKPOINT).read_text())
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise ValueError(f"unreadable journal checkpoint {root / CHECKPOINT}: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"unreadable journal checkpoint {root / CHECKPOINT}: not an object")
    return data


def read_checkpoint(root: Path) -> JournalPosition | None:
    """The journal position up to which a node's store is known to be complete."""
    data = _checkpoint_record(root)
    if data is None:
        return None
    try:
        return JournalPosition(str(data["file"]), int(data["offset"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"unreadable journal checkpoint {root / CHECKPOINT}: {exc}") from exc


def read_checkpoint_parts(root: Path) -> list[str]:
    """The archive parts the last checkpoint recorded as prepared (see ``write_checkpoint``)."""
    data = _checkpoint_record(root)
    parts = data.get("archive_parts", []) if data is not None else []
    return [str(part) for part in parts]


def read_checkpoint_counters(root: Path) -> dict[str, int] | None:
    """The ingest counters the last checkpoint recorded, or None if it recorded none.

    None covers both no checkpoint and one written before checkpoints held counters: the
    caller then falls back to the counters in the database.
    """
    data = _checkpoint_record(root)
    if data is None or data.get("counters") is None:
        return None
    try:
        return {str(name): int(value) for name, value in data["counters"].items()}
    except (ValueError, TypeError, AttributeError) as exc:
        raise ValueError(f"unreadable journal checkpoint {root / CHECKPOINT}: {exc}") from exc


def write_checkpoint(
    root: Path,
    position: JournalPosition,
    archive_parts: Sequence[str] = (),
    counters: Mapping[str, int] | None = None,
) -> None:
    """Record a checkpoint atomically (write, fsync, rename): a crash leaves old or new.

    ``archive_parts`` are archive files prepared (written, not yet visible) for this
    checkpoint: recovery publishes them, and deletes prepared files no checkpoint names, so
    the archive never holds a line the journal will replay.

    ``counters`` are the node's ingest totals up to ``position``. They live in this record,
    not only in the database, because the two must change in one atomic step: totals saved
    without their position (or the reverse) make recovery count replayed lines twice (or
    never).
    """
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / (CHECKPOINT + ".tmp")
    record: dict[str, Any] = {
        "file": position.file,
        "offset": position.offset,
        "archive_parts": list(archive_parts),
    }
    if counters is not None:
        record["counters"] = {str(name): int(value) for name, value in counters.items()}
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(record, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, root / CHECKPOINT)


def iter_journal(
    root: Path, batch_lines: int = 5000, *, after: JournalPosition | None = None
) -> Iterator[JournalRecord]:
    """Read a journal back in time order, grouping consecutive lines of the same source.

    ``after`` skips everything up to a checkpoint (crash recovery replays only the tail).
    This is the plain reference, a line at a time: replay and recovery read the same
    records in blocks (``journal_blocks.iter_journal_blocks``), tested against it.
    """
    if not root.exists():
        return
    files = journal_files(root) if root.is_dir() else [root]
    for path in files:
        rel = path.relative_to(root).as_posix() if root.is_dir() else path.name
        if after is not None and rel < after.file:
            continue
        with open(path, "rb") as fh:
            offset = 0
            if after is not None and rel == after.file:
                fh.seek(after.offset)
                offset = after.offset
            current: JournalRecord | None = None
            for raw in fh:
                offset += len(raw)
                parts = raw.rstrip(b"\n").split(b"\t", 2)
                if len(parts) != 3:
                    continue
                try:
                    rx = float(parts[0])
                except ValueError:
                    continue
                src = parts[1].decode("utf-8", "replace")
                if (
                    current is None
                    or current.source != src
                    or len(current.lines) >= batch_lines
                    or abs(current.rx_time_s - rx) > 1.0
                ):
                    if current is not None:
                        yield current
                    current = JournalRecord(rx, src, [])
                current.lines.append(parts[2])
                current.end = JournalPosition(rel, offset)
            if current is not None:
                yield current
