"""Checkpoints written on a background thread, one at a time, while ingest goes on.

A checkpoint makes durable what a node has applied up to a journal position: the archive
rows, the changed vessels and events, and the counters, then the position itself
(``journal.write_checkpoint``). The service takes a snapshot of all of that under its lock
(``Checkpoint``), in a few milliseconds; writing it (Parquet, SQL upserts, fsyncs) takes
a good part of a second per 100,000 positions and releases the GIL for most of it, so it
runs here while the next batches are decoded and applied.

Why this stays exact: the snapshot is taken at one instant, and the durable steps run in
the order recovery expects (hidden parts and rows, the two at once, then the checkpoint
record, database counters, publish), so a kill at any point leaves what
``IngestService._recover`` already handles: hidden parts no record names are removed, and
rows ahead of the record are rewritten by the replay, whose upserts are idempotent. One
checkpoint is written at a time, and any other database write of the service waits for it
(``wait``), so writes land in the order they were made.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from jointwatch.journal import JournalPosition, write_checkpoint
from jointwatch.picture.archive import PositionArchive
from jointwatch.store import CounterRepository, VesselRepository
from jointwatch.store.repositories import EventRepository
from jointwatch.store.rows import ColumnRows

__all__ = ["Checkpoint", "CheckpointWriter"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Checkpoint:
    """Everything one checkpoint writes, taken at one instant under the service's lock."""

    position: JournalPosition | None
    archive_rows: list[pa.Table]
    vessels: ColumnRows | None
    events: list[dict[str, Any]]
    counters: dict[str, int]


class CheckpointWriter:
    """Writes ``Checkpoint`` snapshots in order, in the background or inline."""

    def __init__(
        self,
        archive: PositionArchive,
        vessels: VesselRepository,
        events: EventRepository,
        counters: CounterRepository,
        journal_root: Path | None,
    ) -> None:
        self._archive = archive
        self._vessels = vessels
        self._events = events
        self._counters = counters
        self._journal_root = journal_root
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="jw-checkpoint")
        # Parquet parts are written beside the row upserts: pyarrow's writer runs without
        # the GIL, and at close, when nothing else is left to overlap, the two in turn were
        # a tenth of a bulk ingest's wall time.
        self._parts_pool = ThreadPoolExecutor(1, thread_name_prefix="jw-parts")
        self._running: Future[None] | None = None

    def wait(self) -> None:
        """Until the checkpoint being written is durable; its error, if it failed, is
        raised here (once), in the caller's thread."""
        running, self._running = self._running, None
        if running is not None:
            running.result()

    def write(self, checkpoint: Checkpoint, *, background: bool) -> None:
        """Write ``checkpoint`` after any earlier one; ``background`` returns at once."""
        self.wait()
        if background:
            self._running = self._pool.submit(self._logged, checkpoint)
        else:
            self._write(checkpoint)

    def _logged(self, checkpoint: Checkpoint) -> None:
        # Whichever call waits next gets the error (an ingest batch, a flush, an events
        # query); the log says what happened whoever that is.
        try:
            self._write(checkpoint)
        except BaseException:
            log.exception(
                "background checkpoint failed: the journal position stays at the last good "
                "checkpoint, so a restart replays from there"
            )
            raise

    def close(self) -> None:
        """Finish the checkpoint being written and stop the thread."""
        try:
            self.wait()
        finally:
            self._pool.shutdown()
            self._parts_pool.shutdown()

    def _write(self, checkpoint: Checkpoint) -> None:
        # Two phases, so that a kill at any point leaves archive and checkpoint agreeing:
        # parts are written hidden, the checkpoint names them, then they are made visible
        # (recovery finishes or discards what a kill interrupted).
        # Parts and rows may be written in either order, or at once: both come before the
        # checkpoint record, and a kill or error between them leaves rows ahead of the
        # checkpoint, which replay handles because the upserts are idempotent.
        writing = self._parts_pool.submit(self._archive.write_taken, checkpoint.archive_rows)
        try:
            if checkpoint.vessels is not None:
                # Idempotent: a replayed older position never overwrites a newer vessel state.
                self._vessels.upsert(checkpoint.vessels)
            if checkpoint.events:
                self._events.upsert(checkpoint.events)
        finally:
            prepared = writing.result()  # never left running; its error, if any, is raised
        if checkpoint.position is not None and self._journal_root is not None:
            parts = self._archive.relative(prepared)
            write_checkpoint(
                self._journal_root, checkpoint.position, parts, counters=checkpoint.counters
            )
        # The database copy of the counters follows the checkpoint record, so that after a
        # kill between the two it lags behind, never runs ahead (``_saved_counters``).
        self._counters.save(checkpoint.counters)
        self._archive.publish(prepared)
