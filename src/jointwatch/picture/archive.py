"""The position archive: every position report, as Parquet files partitioned by UTC day.

Why Parquet by day: a track query touches one vessel over hours or days, so reading only
the day directories in range and letting row-group statistics skip other MMSIs keeps it
fast at millions of rows a day; the same files feed Spark and pandas with no export step.

Durability: files are written under a temporary name (a leading dot, which dataset readers
ignore), fsynced, then renamed into place, so a crash never leaves a half-written part that
a reader would trip over. Rows not yet flushed live in memory and are rebuilt from the raw
journal after a crash (SECURITY.md rule 5).

Thread-safe: the API reads tracks while ingest appends, so every method takes one lock.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from jointwatch.picture.columns import by_key_then_time
from jointwatch.picture.schema import POSITION_SCHEMA, TIME_TYPE

__all__ = ["PositionArchive"]

_MICROS_PER_DAY = 86_400_000_000
_EPOCH_DAY = date(1970, 1, 1)
# Small row groups let a track query skip most of a day file by its MMSI statistics.
_ROW_GROUP_ROWS = 16_384


class PositionArchive:
    """Append-only store of positions under ``root/day=YYYY-MM-DD/part-*.parquet``."""

    def __init__(self, root: Path, flush_rows: int = 100_000) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.flush_rows = flush_rows
        self._buffer: list[pa.Table] = []
        self._in_flight: list[pa.Table] = []  # taken, being written: still read from here
        self._pending = 0
        self._lock = threading.RLock()

    @property
    def pending_rows(self) -> int:
        """Rows appended but not yet visible in Parquet (buffered, or being written)."""
        return self._pending

    @property
    def buffered_rows(self) -> int:
        """Rows appended and not yet taken for writing (``take``)."""
        return self._pending - sum(t.num_rows for t in self._in_flight)

    def append(self, positions: pa.Table) -> None:
        """Buffer a batch (``POSITION_SCHEMA``); flush once ``flush_rows`` have gathered."""
        if positions.num_rows == 0:
            return
        table = positions.select(POSITION_SCHEMA.names)
        if table.schema != POSITION_SCHEMA:
            table = table.cast(POSITION_SCHEMA)
        with self._lock:
            self._buffer.append(table)
            self._pending += table.num_rows
            if self._pending >= self.flush_rows and not self._in_flight:
                self.flush()

    def flush(self) -> int:
        """Write the buffer to one new part file per UTC day; return the rows written.

        A day whose write fails stays in the buffer, so a retry loses nothing.
        """
        with self._lock:
            rows = self._pending
            self.publish(self.prepare())
            return rows - self._pending

    def prepare(self) -> list[Path]:
        """Write the buffer to hidden part files (fsynced, invisible to readers) and empty
        it; ``publish`` makes them visible. Between the two, a caller records what they
        cover (the node's journal checkpoint), so that a crash leaves the archive and the
        checkpoint in agreement: see ``recover``.

        A day whose write fails stays in the buffer (its hidden file is removed), so a retry
        loses nothing.
        """
        return self.write_taken(self.take())

    def take(self) -> list[pa.Table]:
        """Empty the buffer for ``write_taken``, which may run on another thread while
        ingest appends. Until ``publish`` the rows stay readable (``track``, ``count``).

        A take never published (its checkpoint failed) is forgotten here, as a failed
        checkpoint always did: its hidden parts are settled by ``recover`` and its rows are
        in the journal after the last checkpoint."""
        with self._lock:
            self._pending -= sum(t.num_rows for t in self._in_flight)
            taken, self._buffer = self._buffer, []
            self._in_flight = taken
            return taken

    def write_taken(self, taken: list[pa.Table]) -> list[Path]:
        """``prepare`` for rows already taken: hidden parts, one per UTC day. A day whose
        write fails goes back to the front of the buffer, and the error is raised."""
        if not taken:
            return []
        table = pa.concat_tables(taken)
        day_numbers = _day_numbers(table)
        hidden: list[Path] = []
        remaining: list[pa.Table] = []
        failure: BaseException | None = None
        first, last = int(day_numbers.min()), int(day_numbers.max())
        one_day = first == last  # nearly always: skip finding days and copying each out
        for day_number in [first] if one_day else np.unique(day_numbers).tolist():
            part = table if one_day else table.filter(pa.array(day_numbers == day_number))
            if failure is None:
                try:
                    day = _EPOCH_DAY + timedelta(days=int(day_number))
                    hidden.append(self._write_hidden(day, part))
                    continue
                except BaseException as exc:  # re-raised below, after keeping the rows
                    failure = exc
            remaining.append(part)
        if failure is not None:
            with self._lock:
                self._buffer = remaining + self._buffer
                self._in_flight = []
                self._pending = sum(t.num_rows for t in self._buffer)
            self.publish(hidden)  # the days written so far are complete: keep them
            raise failure
        return hidden

    def publish(self, hidden: list[Path]) -> None:
        """Rename prepared parts into place (each rename is atomic); their rows, which
        ``track`` read from memory until now, are read from the files from here on."""
        with self._lock:
            for path in hidden:
                if path.exists():
                    os.replace(path, _visible(path))
                    _fsync_dir(path.parent)
            self._pending -= sum(t.num_rows for t in self._in_flight)
            self._in_flight = []

    def recover(self, committed: list[str]) -> tuple[int, int]:
        """After a crash: publish the prepared parts a checkpoint recorded (``committed``,
        relative to the root) and delete any other prepared part, whose rows the journal
        replays. Returns (published, deleted)."""
        wanted = {self.root / name for name in committed}
        published = deleted = 0
        with self._lock:
            for path in sorted(self.root.glob("day=*/.part-*.parquet.tmp")):
                if path in wanted:
                    os.replace(path, _visible(path))
                    published += 1
                else:
                    path.unlink(missing_ok=True)
                    deleted += 1
        return published, deleted

    def relative(self, paths: list[Path]) -> list[str]:
        """Paths relative to the archive root, as a checkpoint records them."""
        return [path.relative_to(self.root).as_posix() for path in paths]

    def track(self, mmsi: int, start: datetime, end: datetime) -> pa.Table:
        """One vessel's positions with ``start <= time <= end``, oldest first.

        Reads only the day partitions in range plus the unflushed buffer. Identical
        (time, lat, lon) rows, heard twice or left twice by an interrupted compaction,
        appear once.
        """
        start_utc, end_utc = _utc(start), _utc(end)
        condition = (
            (ds.field("mmsi") == mmsi)
            & (ds.field("time") >= pa.scalar(start_utc, TIME_TYPE))
            & (ds.field("time") <= pa.scalar(end_utc, TIME_TYPE))
        )
        with self._lock:
            parts = [self._read_days(start_utc.date(), end_utc.date(), condition)]
            parts += [t.filter(condition) for t in self._in_flight + self._buffer]
        table = pa.concat_tables(parts)
        return _sorted_unique(table)

    def count(self) -> int:
        """Rows in the archive, flushed or not (from Parquet metadata: no data read)."""
        with self._lock:
            on_disk = sum(pq.read_metadata(path).num_rows for path in self._all_parts())
            return on_disk + self._pending

    def days(self) -> list[date]:
        """The UTC days that have at least one part file, oldest first."""
        with self._lock:
            found = [
                date.fromisoformat(d.name.removeprefix("day="))
                for d in self.root.glob("day=*")
                if d.is_dir() and any(d.glob("part-*.parquet"))
            ]
        return sorted(found)

    def compact(self, day: date | str) -> int:
        """Merge a day's part files into one; return how many files were merged.

        The merged file is renamed into place before the old ones are removed, so a reader
        never misses rows; it may briefly see them twice, which ``track`` deduplicates.
        """
        day_value = date.fromisoformat(day) if isinstance(day, str) else day
        with self._lock:
            parts = self._day_parts(day_value)
            if len(parts) < 2:
                return 0
            merged = pa.concat_tables(
                [pq.read_table(path, schema=POSITION_SCHEMA) for path in parts]
            )
            self._write_part(day_value, merged)
            for path in parts:
                path.unlink()
            return len(parts)

    # ---- internals --------------------------------------------------------------------

    def _read_days(self, first: date, last: date, condition: ds.Expression) -> pa.Table:
        for attempt in range(3):
            files = [str(p) for d in _date_range(first, last) for p in self._day_parts(d)]
            if not files:
                return POSITION_SCHEMA.empty_table()
            try:
                dataset = ds.dataset(files, format="parquet", schema=POSITION_SCHEMA)
                return dataset.to_table(filter=condition)
            except FileNotFoundError:
                # Another process compacted the day between listing and reading: list again.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _day_dir(self, day: date) -> Path:
        return self.root / f"day={day.isoformat()}"

    def _day_parts(self, day: date) -> list[Path]:
        return sorted(self._day_dir(day).glob("part-*.parquet"))

    def _all_parts(self) -> list[Path]:
        return sorted(self.root.glob("day=*/part-*.parquet"))

    def _write_part(self, day: date, table: pa.Table) -> Path:
        hidden = self._write_hidden(day, table)
        os.replace(hidden, _visible(hidden))
        _fsync_dir(hidden.parent)
        return _visible(hidden)

    def _write_hidden(self, day: date, table: pa.Table) -> Path:
        directory = self._day_dir(day)
        directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        tmp = directory / f".part-{stamp}-{uuid.uuid4().hex}.parquet.tmp"
        ordered = _by_vessel_and_time(table)
        try:
            pq.write_table(
                ordered,
                tmp,
                compression="zstd",
                row_group_size=_ROW_GROUP_ROWS,
                use_dictionary=_DICTIONARY_COLUMNS,
                use_byte_stream_split=_SPLIT_COLUMNS,
            )
            _fsync_path(tmp)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return tmp


#: Columns worth a dictionary: few distinct values, or long runs once sorted by vessel.
#: Positions, times and speeds are nearly all distinct, and trying a dictionary on them
#: before falling back cost 30% of the write and made the file 23% larger (measured).
_DICTIONARY_COLUMNS = ["mmsi", "msg_type", "nav_status", "source"]
#: Floats stored byte-stream-split (each byte of the values together) compress better:
#: 500,000 positions wrote in 97 instead of 106 ms of CPU, 7.1 instead of 7.6 MB. Readers
#: need Parquet format 2.8 (pyarrow 0.17+, Spark 3.2+).
_SPLIT_COLUMNS = ["lat", "lon", "sog_kn", "cog_deg"]


def _visible(hidden: Path) -> Path:
    """``.part-X.parquet.tmp`` -> ``part-X.parquet``."""
    return hidden.with_name(hidden.name.removeprefix(".").removesuffix(".tmp"))


def _by_vessel_and_time(table: pa.Table) -> pa.Table:
    """Rows ordered by (mmsi, time), ties in arrival order, so a track query reads few
    pages. Every checkpoint's rows are sorted: ``by_key_then_time`` gives the order
    ``Table.sort_by`` would, in about a third of the time of NumPy's lexsort (which took a
    quarter of ``sort_by``'s)."""
    mmsi = np.asarray(table.column("mmsi").to_numpy(), dtype=np.int64)
    micros = np.asarray(table.column("time").cast(pa.int64()).to_numpy(), dtype=np.int64)
    return table.take(by_key_then_time(mmsi, micros))


def _day_numbers(table: pa.Table) -> np.ndarray:
    micros = table.column("time").cast(pa.int64()).to_numpy()
    return np.floor_divide(micros, _MICROS_PER_DAY)


def _sorted_unique(table: pa.Table) -> pa.Table:
    """Sort by time and keep the first of each identical (time, lat, lon)."""
    if table.num_rows == 0:
        return table
    table = table.sort_by([("time", "ascending"), ("lat", "ascending"), ("lon", "ascending")])
    time = table.column("time").cast(pa.int64()).to_numpy()
    lat = table.column("lat").to_numpy()
    lon = table.column("lon").to_numpy()
    keep = np.ones(table.num_rows, dtype=bool)
    keep[1:] = (time[1:] != time[:-1]) | (lat[1:] != lat[:-1]) | (lon[1:] != lon[:-1])
    return table if keep.all() else table.filter(pa.array(keep))


def _utc(value: datetime) -> datetime:
    """Naive times are taken as UTC, as everywhere in JointWatch."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _date_range(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
