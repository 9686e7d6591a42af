"""The ingest service: the one path every sentence takes into a node.

Why one class: the TCP/UDP listeners, ``POST /api/ingest``, ``jointwatch ingest --direct``
and the demo all feed the same ``IngestService``, so the picture, the archive, the counters
and the journal cannot disagree about what a node has seen.

Threading: ingest is CPU work on NumPy/Arrow batches; the server runs it in worker threads
(``asyncio.to_thread``) under ``_lock`` so the event loop keeps serving the console. Bulk
file ingest decodes the next block outside ``_lock`` (``readahead``), and checkpoints are
written on their own thread (``checkpoint``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import pyarrow as pa

from jointwatch.ais import AisPipeline
from jointwatch.ais.framing import block_bounds, block_records
from jointwatch.ais.pipeline import IngestStats
from jointwatch.checkpoint import Checkpoint, CheckpointWriter
from jointwatch.config import Settings
from jointwatch.detect.engine import DetectionEngine
from jointwatch.detect.params import load_params
from jointwatch.geo.shore import shore_index
from jointwatch.geo.zones import Zone, load_zones, zones_from_geojson
from jointwatch.ingest_counts import BatchResult, DecodedBlock, stats_view, totals
from jointwatch.journal import (
    JournalPosition,
    RawJournal,
    read_checkpoint,
    read_checkpoint_counters,
    read_checkpoint_parts,
    record_prefix,
)
from jointwatch.journal_blocks import REPLAY_BATCH_LINES, iter_journal_blocks
from jointwatch.picture.archive import PositionArchive
from jointwatch.picture.positions import PictureBatch, split_decoded
from jointwatch.picture.schema import POSITION_SCHEMA, STATIC_SCHEMA
from jointwatch.picture.vessels import VesselPicture
from jointwatch.store import CounterRepository, VesselRepository, make_engine, migrate
from jointwatch.store.repositories import EventRepository, ZoneRepository

__all__ = ["BatchResult", "DecodedBlock", "IngestService"]

log = logging.getLogger(__name__)
T = TypeVar("T")

# The archive is flushed by the service, never on its own, so that every Parquet write is
# paired with a journal checkpoint (see ``_checkpoint_locked``).
_NO_AUTO_FLUSH = 2**62
#: Events the detectors hold before they drop the final ones: every event is stored (and
#: pushed) when raised, and only one still open can change.
_FORGET_EVENTS_AFTER = 10_000


class IngestService:
    """Owns a node's pipeline, vessel picture, position archive, journal and counters."""

    def __init__(self, settings: Settings, *, publish: bool = False) -> None:
        """``publish``: keep the events raised and the vessels changed for ``take_events``
        and ``take_changed``, which a running node's WebSocket hub drains. Off for bulk
        ingest and replay, where nothing drains them: held for nobody, and with the
        detectors' own copies, a 10 GB file's 186,000 events grew the process by about
        200 MB (benchmarks/global_day.py)."""
        self.settings = settings
        self._publish = publish
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.engine = make_engine(settings.effective_database_url)
        migrate(self.engine)
        self.vessel_repo = VesselRepository(self.engine)
        self.counter_repo = CounterRepository(self.engine)
        self.pipeline = AisPipeline(
            dedupe_window_s=settings.dedupe_window_s,
            assembly_timeout_s=settings.assembly_timeout_s,
        )
        self.picture = VesselPicture()
        self.picture.load(self.vessel_repo.load_all())
        self.archive = PositionArchive(
            settings.data_dir / "archive" / "positions", flush_rows=_NO_AUTO_FLUSH
        )
        self.journal = RawJournal(settings.data_dir / "journal") if settings.journal else None
        # Counters persisted by earlier runs; this run's counts are added on top.
        self._base_counters = self._saved_counters()
        self._picture_rejected: dict[str, int] = {}
        self._csv_rows = 0
        self._positions = 0
        self._changed: set[int] = set()
        self._lock = threading.Lock()
        # Held around every use of the pipeline, which a read-ahead worker may be using
        # while ``_lock`` is held to apply a block; ``_lock`` is always taken first.
        self._pipeline_lock = threading.Lock()
        # The pipeline's counts of the batches applied (a decoded block not yet applied is
        # not in them), so that a checkpoint's counters match its journal position.
        self._stats = IngestStats()
        self._last_archive_flush = time.monotonic()
        self._replaying = False
        self._replay_position: JournalPosition | None = None
        self.event_repo = EventRepository(self.engine)
        self.zone_repo = ZoneRepository(self.engine)
        self.checkpoints = CheckpointWriter(
            self.archive,
            self.vessel_repo,
            self.event_repo,
            self.counter_repo,
            self.journal.root if self.journal is not None else None,
        )
        self._events_dirty: dict[str, dict[str, Any]] = {}
        self._events_out: dict[str, dict[str, Any]] = {}
        self.detector: DetectionEngine | None = None
        if settings.detect:
            # The land mask is loaded now, not on the first position, so that a live node's
            # first batch is not held up for seconds behind it.
            self.detector = DetectionEngine(
                load_params(settings.detect_config),
                self._zones(),
                shore=shore_index(),
                forget_after=_FORGET_EVENTS_AFTER,
            )
        self.recovered_lines = self._recover() if self.journal is not None else 0

    def _saved_counters(self) -> dict[str, int]:
        """The totals up to the last checkpoint: the checkpoint's own copy when it has one.

        Why not the database: it is written after the checkpoint (see ``_checkpoint_locked``),
        so after a kill between the two it lags the journal position recovery replays from.
        Without a journal, or with a checkpoint from before checkpoints held counters, the
        database copy is the only one.
        """
        if self.journal is not None:
            counters = read_checkpoint_counters(self.journal.root)
            if counters is not None:
                return counters
        return self.counter_repo.load()

    def _zones(self) -> list[Zone]:
        """Stored zones; a node with none stores those of ``settings.zones_file``."""
        features = self.zone_repo.load()
        if not features and self.settings.zones_file is not None:
            zones = load_zones(self.settings.zones_file)
            self.zone_repo.put([z.to_feature() for z in zones])
            return zones
        return zones_from_geojson({"type": "FeatureCollection", "features": features})

    def zone_features(self) -> list[dict[str, Any]]:
        """Every zone as a GeoJSON Feature."""
        return self.zone_repo.load()

    def put_zones(self, zones: Sequence[Zone]) -> None:
        """Add or replace zones by name; crossings are judged against them from now on."""
        with self._lock:
            self.zone_repo.put([z.to_feature() for z in zones])
            if self.detector is not None:
                self.detector.set_zones(self._zones())

    def delete_zone(self, name: str) -> bool:
        """Remove a zone; False if there was none of that name."""
        with self._lock:
            found = self.zone_repo.delete(name)
            if found and self.detector is not None:
                self.detector.set_zones(self._zones())
            return found

    def take_events(self) -> list[dict[str, Any]]:
        """Events raised or updated since the last call (the WebSocket hub pushes them)."""
        with self._lock:
            out, self._events_out = self._events_out, {}
        return list(out.values())

    def events(self, **filters: Any) -> list[dict[str, Any]]:
        """Stored events (unsaved ones are saved first, so a query sees every event)."""
        with self._lock:
            self._save_events_locked()
        return self.event_repo.query(**filters)

    def event(self, event_id: str) -> dict[str, Any] | None:
        """One stored event (unsaved ones are saved first)."""
        with self._lock:
            self._save_events_locked()
        return self.event_repo.get(event_id)

    def _save_events_locked(self) -> None:
        self.checkpoints.wait()  # database writes land in the order they were made
        if self._events_dirty:
            events, self._events_dirty = list(self._events_dirty.values()), {}
            self.event_repo.upsert(events)

    def _recover(self) -> int:
        """Replay the journal written after the last checkpoint (the node did not stop cleanly).

        Why this is exact: the archive, the vessel rows and the counters are saved together
        with the checkpoint (the counters inside it), so what lies after it reached none of
        them; vessel rows it did reach are upserted again harmlessly.
        """
        assert self.journal is not None
        lines = 0
        published, deleted = self.archive.recover(read_checkpoint_parts(self.journal.root))
        if published or deleted:
            log.warning(
                "archive: finished %d part(s) the last checkpoint named, removed %d it did not",
                published,
                deleted,
            )
        self._replaying = True  # replayed lines are journaled already
        try:
            root = self.journal.root
            after = read_checkpoint(root)
            for record in iter_journal_blocks(root, REPLAY_BATCH_LINES, after=after):
                self._replay_position = record.end
                self.ingest_block(record.data, record.source, record.rx_time_s)
                lines += record.lines
        finally:
            self._replaying = False
            self._replay_position = None
        if lines:
            log.warning("recovered %d journaled lines the store did not have yet", lines)
        with self._lock:
            self._checkpoint_locked()
        return lines

    # ---- ingest -------------------------------------------------------------------------

    def ingest_lines(
        self, lines: Sequence[bytes], source: str, rx_time_s: float | None = None
    ) -> BatchResult:
        """Journal, then decode and apply a batch of raw NMEA lines."""
        rx = time.time() if rx_time_s is None else rx_time_s
        with self._lock:
            if self.journal is not None and not self._replaying:
                self.journal.append(lines, source, rx)
            decoded, counts = self._counted(lambda p: p.process(lines, source, rx))
            self._stats.merge(counts)
            return self._picture_locked(len(lines), decoded.num_rows, split_decoded(decoded))

    def ingest_block(
        self, block: bytes, source: str, rx_time_s: float | None = None
    ) -> BatchResult:
        """``ingest_lines`` for a block of whole lines (a file read, a socket read): framed in
        place, with no Python object per line (see ``AisPipeline.process_block``)."""
        with self._lock:
            return self._apply_block_locked(self.decode_block(block, source, rx_time_s))

    def decode_block(
        self, block: bytes, source: str, rx_time_s: float | None = None
    ) -> DecodedBlock:
        """Frame and decode a block without applying it, so that a worker thread can decode
        the next block while this one is applied (``readahead.ingest_blocks``).

        Nothing durable changes here: the block is journaled, and its counts added, only by
        ``apply_block``. Blocks must be applied in the order they were decoded.
        """
        rx = time.time() if rx_time_s is None else rx_time_s
        bounds = block_bounds(block)  # found once, for the journal and for framing
        journaled = None
        if self.journal is not None and not self._replaying:
            journaled = block_records(block, record_prefix(source, rx), bounds)
        table, counts = self._counted(lambda p: p.process_block(block, source, rx, bounds))
        # Split here too: it is a pure function of the table, and its Arrow work overlaps
        # the block being applied on the other thread.
        return DecodedBlock(split_decoded(table), table.num_rows, counts, journaled, source, rx)

    def _counted(self, step: Callable[[AisPipeline], T]) -> tuple[T, IngestStats]:
        """Run ``step`` on the pipeline; returns its result and what it counted."""
        with self._pipeline_lock:
            before = self.pipeline.stats.copy()
            out = step(self.pipeline)
            return out, self.pipeline.stats.since(before)

    def apply_block(self, decoded: DecodedBlock) -> BatchResult:
        """Journal a decoded block, count it and apply it to the picture and the store."""
        with self._lock:
            return self._apply_block_locked(decoded)

    def _apply_block_locked(self, decoded: DecodedBlock) -> BatchResult:
        if decoded.journal_records is not None and self.journal is not None:
            self.journal.append_records(decoded.journal_records, decoded.rx_time_s)
        self._stats.merge(decoded.counts)
        return self._picture_locked(decoded.counts.lines_read, decoded.decoded, decoded.picture)

    def _picture_locked(self, n_lines: int, n_decoded: int, batch: PictureBatch) -> BatchResult:
        """Count what the split of a decoded batch dropped, and apply the rest."""
        for reason, count in batch.rejected.items():
            self._picture_rejected[reason] = self._picture_rejected.get(reason, 0) + count
        changed = self._apply(batch.positions, batch.static)
        return BatchResult(n_lines, n_decoded, batch.positions.num_rows, changed)

    def ingest_tables(self, positions: pa.Table, static: pa.Table) -> BatchResult:
        """Apply already-columnar positions and static data (CSV archives)."""
        positions = positions.select(POSITION_SCHEMA.names).cast(POSITION_SCHEMA)
        static = static.select(STATIC_SCHEMA.names).cast(STATIC_SCHEMA)
        with self._lock:
            self._csv_rows += positions.num_rows
            changed = self._apply(positions, static)
        return BatchResult(positions.num_rows, positions.num_rows, positions.num_rows, changed)

    def _apply(self, positions: pa.Table, static: pa.Table) -> int:
        if positions.num_rows:
            self.archive.append(positions)
            self._positions += positions.num_rows
        changed = self.picture.apply(positions, static)
        if self._publish:
            self._changed |= changed
        if self.detector is not None:
            for event in self.detector.feed(positions, static):
                data = event.to_json()
                self._events_dirty[data["id"]] = data
                if self._publish:
                    self._events_out[data["id"]] = data
        if self.archive.buffered_rows >= self.settings.archive_flush_rows:
            self._checkpoint_locked(background=True)
        return len(changed)

    def take_changed(self) -> set[int]:
        """MMSIs changed since the last call (the WebSocket hub pushes them)."""
        with self._lock:
            changed, self._changed = self._changed, set()
        return changed

    # ---- queries (under the lock: ingest threads mutate the picture) -------------------

    def summaries(self, mmsis: Sequence[int] | None = None) -> list[dict[str, Any]]:
        """Map summaries of the given vessels, or of every vessel when ``mmsis`` is None."""
        with self._lock:
            wanted = self.picture.mmsis() if mmsis is None else mmsis
            return self.picture.summaries(wanted)

    def vessel(self, mmsi: int) -> dict[str, Any] | None:
        """Full state and static data of one vessel."""
        with self._lock:
            return self.picture.get(mmsi)

    def in_bbox(
        self, min_lon: float, min_lat: float, max_lon: float, max_lat: float, limit: int
    ) -> list[dict[str, Any]]:
        """Vessels whose last position is inside the box."""
        with self._lock:
            return self.picture.in_bbox(min_lon, min_lat, max_lon, max_lat, limit=limit)

    # ---- persistence --------------------------------------------------------------------

    def flush(self, *, force_archive: bool = False) -> None:
        """Persist changed vessels; write the archive and a checkpoint when due or forced.

        A forced flush returns once everything is durable; a due one leaves the checkpoint
        to the background writer (``checkpoint``)."""
        with self._lock:
            self._stats.merge(self._counted(lambda p: p.flush(time.time()))[1])
            due = time.monotonic() - self._last_archive_flush >= self.settings.archive_flush_s
            if force_archive or due:
                self._checkpoint_locked(background=not force_archive)
            else:
                self._save_vessels_locked()

    def _save_vessels_locked(self) -> None:
        # Idempotent: a replayed older position never overwrites a newer vessel state.
        self.checkpoints.wait()
        rows = self.picture.dirty_rows()
        self.picture.clear_dirty()
        if rows:
            self.vessel_repo.upsert(rows)
        self._save_events_locked()

    def _checkpoint_locked(self, *, background: bool = False) -> None:
        """Archive, vessels and counters to disk, then mark the journal position they cover.

        Counters are saved only here so that a crash followed by recovery counts every
        journaled line exactly once: they go into the checkpoint record itself, in the same
        atomic rename as its position, and only then to the database (what queries and other
        tools read). A kill between the two leaves the database behind, never ahead; the
        next start takes the checkpoint's copy (``_saved_counters``) and rewrites it.

        The snapshot is taken here, at one instant; ``background`` leaves writing it to the
        checkpoint thread while ingest goes on (see ``checkpoint``).
        """
        self.checkpoints.wait()  # the previous one is durable (or its error raised) first
        if self._replaying:
            position = self._replay_position
        else:
            position = self.journal.position() if self.journal is not None else None
        vessels = self.picture.dirty_rows()
        self.picture.clear_dirty()
        events, self._events_dirty = list(self._events_dirty.values()), {}
        snapshot = Checkpoint(
            position,
            self.archive.take(),
            vessels if vessels else None,
            events,
            self._counters_locked(),
        )
        self.checkpoints.write(snapshot, background=background)
        self._last_archive_flush = time.monotonic()

    def close(self) -> None:
        """Flush everything; a restarted node sees all that was ingested before."""
        try:
            self.flush(force_archive=True)
        finally:
            self.checkpoints.close()
        if self.journal is not None:
            self.journal.close()
        self.engine.dispose()

    # ---- statistics ---------------------------------------------------------------------

    def _counters_locked(self) -> dict[str, int]:
        return totals(
            self._base_counters,
            self._stats,
            {"positions": self._positions, "csv_rows": self._csv_rows},
            self._picture_rejected,
        )

    def stats(self) -> dict[str, Any]:
        """Ingest statistics since the node's database was created."""
        with self._lock:
            counters = self._counters_locked()
            vessels = len(self.picture)
            pending = self.archive.pending_rows
        return stats_view(counters, vessels, pending, self.detector)
