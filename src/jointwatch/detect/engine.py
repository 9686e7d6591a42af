"""The detection engine: every detector over one stream of position batches.

Why one engine for the node and the CLI: "live and batch give the same events" holds by
construction when both push the same reports, in the same order, through the same code;
only the batch sizes differ, and no detector's result depends on them (tested).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jointwatch.detect.batch import ExtBatch, build_batch
from jointwatch.detect.events import Event
from jointwatch.detect.pairs import ApproachDetector, EncounterDetector, StaticRegistry
from jointwatch.detect.params import DetectParams
from jointwatch.detect.state import NONE_T, VesselState
from jointwatch.detect.vessel import (
    ZoneMemberships,
    detect_gaps,
    detect_loitering,
    detect_spoofing,
    detect_zones,
    overdue_gaps,
)
from jointwatch.geo.shore import LazyShore, ShoreIndex
from jointwatch.geo.zones import Zone, ZoneIndex

__all__ = ["DetectionEngine"]


class DetectionEngine:
    """Feeds position (and static) batches to every enabled detector; keeps the events."""

    def __init__(
        self,
        params: DetectParams | None = None,
        zones: Iterable[Zone] = (),
        shore: ShoreIndex | None = None,
        forget_after: int | None = None,
    ) -> None:
        """``forget_after``: once this many events are held, drop those no later report
        can change (``_forget_finished``), so that a node's memory does not grow with the
        alerts of a long stream; the node has stored each already. None keeps every event
        for ``all_events`` (``jointwatch detect`` prints them at the end)."""
        self.params = params or DetectParams()
        self._forget_after = forget_after
        self._forget_at = forget_after
        self.shore = shore or LazyShore()
        self.zone_index = ZoneIndex(list(zones))
        self.state = VesselState()
        self.state_zones = ZoneMemberships(len(self.zone_index))
        self.statics = StaticRegistry()
        self.encounters = EncounterDetector(self.params.encounter, self.shore)
        self.approaches = ApproachDetector(self.params.approach, self.statics)
        self.events: dict[str, Event] = {}
        self.clock_us = NONE_T
        self.positions_seen = 0
        self.late = 0
        self.stale = 0
        self._changed: dict[str, Event] = {}

    def set_zones(self, zones: Iterable[Zone]) -> None:
        """Replace the zones; crossings are judged against the new set from the next report.

        Each vessel's membership is recomputed at its last known position, so a vessel
        already inside a new zone does not "enter" it at its next report.
        """
        self.zone_index = ZoneIndex(list(zones))
        self.state_zones.clear(len(self.zone_index))
        known = np.flatnonzero(self.state["last_t"] != NONE_T)
        if len(known) == 0 or len(self.zone_index) == 0:
            return
        pos, zone = self.zone_index.containing(
            self.state["last_lat"][known], self.state["last_lon"][known]
        )
        mmsi = self.state.mmsi[known]
        self.state_zones.replace(mmsi, mmsi[pos], zone)

    def _emit(self, event: Event, replace: bool) -> None:
        key = event.id
        old = self.events.get(key)
        if old is None:
            self.events[key] = event
        else:
            old.merge(event, replace=replace)
        self._changed[key] = self.events[key]

    def feed(self, positions: pa.Table, static: pa.Table | None = None) -> list[Event]:
        """Process one batch; returns the events raised or updated by it."""
        self._changed = {}
        if static is not None and static.num_rows:
            self._static(static)
        if positions.num_rows:
            self._positions(positions)
        if self._forget_at is not None and len(self.events) >= self._forget_at:
            self._forget_finished()
            self._forget_at = max(self._forget_after or 0, 2 * len(self.events))
        return list(self._changed.values())

    def _forget_finished(self) -> None:
        """Drop every event that no later report can change.

        Each detector continues an episode only within a window of its end: a spoofing
        violation within ``episode_gap_h``, a loitering report within ``max_report_gap_h``,
        a pair within its slot plus carry. A vessel's reports reach the detectors in time
        order (older ones are stale), so once each vessel of an event has reported later
        than its end plus the longest window (doubled), and the pairwise detectors'
        watermark is past it too, the event is final. An open gap (no end yet) starts at
        its vessel's last report, so it stays until the vessel reports again and closes it.
        """
        if self.clock_us == NONE_T:
            return
        p = self.params
        window_s = max(
            p.spoofing.episode_gap_h * 3600,
            p.loitering.max_report_gap_h * 3600,
            p.encounter.slot_s + p.encounter.carry_s,
            p.approach.slot_s + p.approach.carry_s,
        )
        settle_us = int(2 * (window_s + p.stream.lateness_s) * 1e6)
        items = list(self.events.items())
        n = len(items)
        mmsi = np.fromiter((e.mmsi for _, e in items), np.int64, n)
        other = np.fromiter(
            (e.mmsi if e.other_mmsi is None else e.other_mmsi for _, e in items), np.int64, n
        )
        cutoff = np.fromiter(
            (e.start_us if e.end_us is None else e.end_us for _, e in items), np.int64, n
        )
        cutoff += settle_us
        watermark = self.clock_us - int(p.stream.lateness_s * 1e6)
        done = (
            (self._last_report(mmsi) > cutoff)
            & (self._last_report(other) > cutoff)
            & (watermark > cutoff)
        )
        for k in np.flatnonzero(done).tolist():
            del self.events[items[k][0]]

    def _last_report(self, mmsi: np.ndarray) -> np.ndarray:
        """Each vessel's latest report time (``NONE_T`` for one the state does not hold)."""
        known = self.state.mmsi
        if not len(known):
            return np.full(len(mmsi), NONE_T, dtype=np.int64)
        rows = np.minimum(np.searchsorted(known, mmsi), len(known) - 1)
        last = np.asarray(self.state["last_t"][rows], dtype=np.int64)
        return np.where(known[rows] == mmsi, last, NONE_T)

    def _static(self, static: pa.Table) -> None:
        m = np.asarray(static.column("mmsi").to_numpy(), dtype=np.int64)
        t = np.asarray(pc.cast(static.column("time"), pa.int64()).to_numpy(), dtype=np.int64)
        st = pc.fill_null(pc.cast(static.column("ship_type"), pa.int64()), -1)
        length = pc.cast(static.column("length_m"), pa.float64())
        self.statics.update(
            m,
            t,
            np.asarray(st.to_numpy(zero_copy_only=False), dtype=np.int64),
            np.asarray(length.to_numpy(zero_copy_only=False), dtype=np.float64),
        )

    def _positions(self, positions: pa.Table) -> None:
        p = self.params
        self.positions_seen += positions.num_rows
        b = build_batch(positions, self.state)
        self.stale += b.rejected_stale
        emit = self._emit
        if p.ais_gap.enabled:
            detect_gaps(b, self.shore, p.ais_gap, emit)
        if p.loitering.enabled:
            detect_loitering(b, self.shore, self.state, p.loitering, emit)
        if p.spoofing.enabled:
            jump = detect_spoofing(b, self.shore, self.state, p.spoofing, emit)
        else:
            jump = np.zeros(len(b), dtype=bool)
        if p.zones.enabled:
            detect_zones(b, self.zone_index, self.state_zones, emit)
        self._carry(b, jump)
        self._pairs(b)
        if p.ais_gap.enabled:
            # Judged at the watermark, not the newest time: a report up to lateness_s late
            # may still end the silence, and an open event once raised is never withdrawn.
            watermark = self.clock_us - int(p.stream.lateness_s * 1e6)
            overdue_gaps(self.state, watermark, self.shore, p.ais_gap, emit)

    def _carry(self, b: ExtBatch, jump: np.ndarray) -> None:
        last = np.flatnonzero(b.group_last)
        rows = b.srow[last]
        s = self.state
        s["last_t"][rows] = b.t[last]
        s["last_lat"][rows] = b.lat[last]
        s["last_lon"][rows] = b.lon[last]
        s["last_sog"][rows] = b.sog[last]
        s["last_jump"][rows] = jump[last]
        moved = b.real[last]
        s["overdue"][rows[moved]] = False
        prev = b.prev[last]
        has = prev >= 0
        p_idx = np.maximum(prev, 0)
        s["prev_t"][rows] = np.where(has, b.t[p_idx], NONE_T)
        s["prev_lat"][rows] = np.where(has, b.lat[p_idx], np.nan)
        s["prev_lon"][rows] = np.where(has, b.lon[p_idx], np.nan)

    def _pairs(self, b: ExtBatch) -> None:
        p = self.params
        t = b.input.t
        before = np.maximum.accumulate(np.r_[self.clock_us, t])[:-1]
        lateness = int(p.stream.lateness_s * 1e6)
        ok = ~(t < before - lateness) | (before == NONE_T)
        self.late += int((~ok).sum())
        self.clock_us = max(self.clock_us, int(t.max()))
        if not (p.encounter.enabled or p.approach.enabled):
            return
        # By vessel, as build_batch sorted them: the slot trackers then merge sorted runs.
        idx = b.input.by_vessel[ok[b.input.by_vessel]]
        m, lat, lon, sog = b.input.m[idx], b.input.lat[idx], b.input.lon[idx], b.input.sog[idx]
        mt = b.input.msg_type[idx]
        class_b = (mt == 18) | (mt == 19)
        watermark = self.clock_us - lateness
        for det, enabled in (
            (self.encounters, p.encounter.enabled),
            (self.approaches, p.approach.enabled),
        ):
            if enabled:
                det.tracker.add(m, t[idx], lat, lon, sog, class_b)
                det.process(watermark, self._emit)

    def all_events(self) -> list[Event]:
        """Every event so far (with ``forget_after``, those not yet final), by start time
        then kind and vessel."""
        return sorted(self.events.values(), key=lambda e: (e.start_us, e.kind, e.mmsi, e.id))
