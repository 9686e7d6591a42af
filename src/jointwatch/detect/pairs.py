"""The pairwise detectors, encounter and approach, on a time grid with a spatial tree.

Why a grid of time slots: two vessels report at different instants, so "within 500 m for
2 hours" is decided on a common grid (each vessel's latest report in the slot, carried for
a while if it falls silent). A slot is processed only once the stream's watermark (newest
time minus the allowed lateness) has passed its end, so every report that can belong to it
is in, whatever batches the stream came in. Within a slot a k-d tree over the positions on
the sphere finds the close pairs in O(n log n): no vessel is compared with every other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from jointwatch.detect.events import Event
from jointwatch.detect.params import ApproachParams, EncounterParams
from jointwatch.geo.distance import NM_M, haversine_m, unit_vectors
from jointwatch.geo.shore import ShoreIndex
from jointwatch.picture.columns import by_key_then_time

__all__ = ["ApproachDetector", "EncounterDetector", "SlotTracker", "StaticRegistry"]

Emit = Callable[[Event, bool], None]
I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
NONE_T = np.iinfo(np.int64).min


@dataclass
class Slot:
    """The vessels present in one time slot: latest (or carried) report of each."""

    k: int
    start_us: int
    end_us: int
    m: I64
    t: I64
    lat: F64
    lon: F64
    sog: F64
    class_b: NDArray[np.bool_]


class SlotTracker:
    """Collects accepted reports and releases whole slots once the watermark passes them."""

    def __init__(self, slot_s: float, carry_s: float) -> None:
        self.slot_us = int(slot_s * 1e6)
        self.carry_us = int(carry_s * 1e6)
        self._pending: list[tuple[I64, I64, F64, F64, F64, NDArray[np.bool_]]] = []
        self.m = np.empty(0, np.int64)
        self.t = np.empty(0, np.int64)
        self.lat = np.empty(0)
        self.lon = np.empty(0)
        self.sog = np.empty(0)
        self.class_b = np.empty(0, bool)

    def add(self, m: I64, t: I64, lat: F64, lon: F64, sog: F64, class_b: NDArray[np.bool_]) -> None:
        """Queue reports (already known not to be late), in arrival order within a vessel;
        sorted by vessel they are cheaper to close."""
        if len(m):
            self._pending.append((m, t, lat, lon, sog, class_b))

    def close(self, watermark_us: int) -> Iterator[Slot]:
        """Every slot that ends at or before the watermark and holds reports, in order.

        Only the newest report of each (slot, vessel) can ever be used, so that is all that
        stays pending for an open slot (by slot and vessel, ahead of every later arrival): a
        10-minute slot is otherwise sorted again with every batch that reaches it.
        """
        if not self._pending:
            return
        m, t, lat, lon, sog, cb = (np.concatenate(c) for c in zip(*self._pending, strict=True))
        k = np.floor_divide(t, self.slot_us)
        win = _newest_per_slot(k, m, t)  # by slot, then vessel
        n_done = int(np.searchsorted(k[win], watermark_us // self.slot_us - 1, side="right"))
        keep = win[n_done:]
        self._pending = (
            [(m[keep], t[keep], lat[keep], lon[keep], sog[keep], cb[keep])] if len(keep) else []
        )
        if n_done == 0:
            return
        order = win[:n_done]
        ks = k[order]
        bounds = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1], True])
        for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            rows = order[a:b]
            slot_k = int(ks[a])
            self._merge(m[rows], t[rows], lat[rows], lon[rows], sog[rows], cb[rows])
            start, end = slot_k * self.slot_us, (slot_k + 1) * self.slot_us
            live = self.t >= end - self.carry_us
            yield Slot(
                slot_k,
                start,
                end,
                self.m[live],
                self.t[live],
                self.lat[live],
                self.lon[live],
                self.sog[live],
                self.class_b[live],
            )

    def _merge(self, m: I64, t: I64, lat: F64, lon: F64, sog: F64, cb: NDArray[np.bool_]) -> None:
        """Update each vessel's carried report (rows are unique per vessel, sorted by MMSI)."""
        rows = np.searchsorted(self.m, m)
        new = ~_found(self.m, m, rows)
        if new.any():
            mm = np.concatenate((self.m, m[new]))
            order = np.argsort(mm, kind="stable")
            self.m = mm[order]
            n = int(new.sum())
            self.t = np.concatenate((self.t, np.full(n, NONE_T)))[order]
            self.lat = np.concatenate((self.lat, np.full(n, np.nan)))[order]
            self.lon = np.concatenate((self.lon, np.full(n, np.nan)))[order]
            self.sog = np.concatenate((self.sog, np.full(n, np.nan)))[order]
            self.class_b = np.concatenate((self.class_b, np.zeros(n, bool)))[order]
            rows = np.searchsorted(self.m, m)
        newer = t >= self.t[rows]
        rows = rows[newer]
        self.t[rows] = t[newer]
        self.lat[rows] = lat[newer]
        self.lon[rows] = lon[newer]
        self.sog[rows] = sog[newer]
        self.class_b[rows] = cb[newer]
        # Forget vessels silent far longer than any carry, so the table stays bounded.
        if len(self.t) and int(self.t.max()) - int(self.t.min()) > 100 * self.carry_us:
            keep = self.t >= int(self.t.max()) - 10 * self.carry_us
            self.m, self.t, self.lat = self.m[keep], self.t[keep], self.lat[keep]
            self.lon, self.sog, self.class_b = self.lon[keep], self.sog[keep], self.class_b[keep]


def _found(sorted_keys: I64, keys: I64, pos: I64 | None = None) -> NDArray[np.bool_]:
    """Whether each key is in ``sorted_keys`` (``pos``: where a binary search puts it, if
    already known); where ``np.isin`` would sort both arrays together every batch."""
    if len(sorted_keys) == 0:
        return np.zeros(len(keys), dtype=bool)
    if pos is None:
        pos = np.searchsorted(sorted_keys, keys)
    return np.asarray(sorted_keys[np.minimum(pos, len(sorted_keys) - 1)] == keys)


def _newest_per_slot(k: I64, m: I64, t: I64) -> I64:
    """Index of the newest report (latest time, then latest arrival) of each (slot, vessel),
    ordered by slot then vessel.

    Why not one ``lexsort`` on (slot, vessel, time, arrival): the rows come as a few runs
    already sorted by vessel (what is pending, then the new batch as ``build_batch`` sorted
    it), so ``by_key_then_time`` orders them by (vessel, time, arrival) with radix passes
    when each vessel's times rise with arrival; a stable sort on the few slot numbers then
    finishes the order.
    """
    if len(k) == 0:
        return np.empty(0, np.int64)
    k0 = int(k.min())
    by_m = by_key_then_time(m, t)
    slots = k[by_m] - k0
    if int(k.max()) - k0 < 1 << 16:
        slots = slots.astype(np.uint16)  # NumPy radix-sorts 16-bit keys
    order = by_m[np.argsort(slots, kind="stable")]
    ks, ms = k[order], m[order]
    last = np.r_[(ks[1:] != ks[:-1]) | (ms[1:] != ms[:-1]), True]
    return np.asarray(order[last], dtype=np.int64)


class StaticRegistry:
    """Ship type and length per MMSI, with when static data and each field were first heard.

    Why a time per field: a class B vessel sends its name (type 24 part A) and its type and
    size (part B) in separate messages, and a slot must only see what was heard by its end,
    or a run fed in one batch would know a vessel's type before a live run could.
    """

    NEVER = np.iinfo(np.int64).max

    def __init__(self) -> None:
        self.m = np.empty(0, np.int64)
        self.ship_type = np.empty(0, np.int64)
        self.length_m = np.empty(0)
        self.first_t = np.empty(0, np.int64)
        self.type_t = np.empty(0, np.int64)
        self.length_t = np.empty(0, np.int64)

    def update(self, m: I64, t: I64, ship_type: I64, length_m: F64) -> None:
        """Fold static reports in: the last value given wins, each field keeps the time it
        was first heard; missing values (-1 / NaN) do not overwrite."""
        if len(m) == 0:
            return
        heard = np.unique(m)
        new = heard[~_found(self.m, heard)]
        if len(new):
            order = np.argsort(np.concatenate((self.m, new)), kind="stable")
            k = len(new)
            self.m = np.concatenate((self.m, new))[order]
            self.ship_type = np.concatenate((self.ship_type, np.full(k, -1)))[order]
            self.length_m = np.concatenate((self.length_m, np.full(k, np.nan)))[order]
            self.first_t = np.concatenate((self.first_t, np.full(k, self.NEVER)))[order]
            self.type_t = np.concatenate((self.type_t, np.full(k, self.NEVER)))[order]
            self.length_t = np.concatenate((self.length_t, np.full(k, self.NEVER)))[order]
        r = np.searchsorted(self.m, m)
        np.minimum.at(self.first_t, r, t)
        fields: tuple[tuple[NDArray[np.bool_], NDArray[Any], NDArray[Any], I64], ...] = (
            (ship_type >= 0, ship_type, self.ship_type, self.type_t),
            (length_m > 0, length_m, self.length_m, self.length_t),  # NaN compares False
        )
        for valid, given, values, times in fields:
            rows = np.flatnonzero(valid)
            np.minimum.at(times, r[rows], t[rows])
            latest = rows[::-1][np.unique(r[rows[::-1]], return_index=True)[1]]
            values[r[latest]] = given[latest]

    def lookup(self, m: I64, at_us: int) -> tuple[I64, F64, NDArray[np.bool_]]:
        """(ship type or -1, length or NaN, known) of each vessel as of ``at_us``."""
        r = np.clip(np.searchsorted(self.m, m), 0, max(len(self.m) - 1, 0))
        if len(self.m) == 0:
            return np.full(len(m), -1), np.full(len(m), np.nan), np.zeros(len(m), bool)
        known = (self.m[r] == m) & (self.first_t[r] <= at_us)
        return (
            np.where(known & (self.type_t[r] <= at_us), self.ship_type[r], -1),
            np.where(known & (self.length_t[r] <= at_us), self.length_m[r], np.nan),
            known,
        )


@dataclass
class _Run:
    start_k: int
    last_k: int
    lat: float
    lon: float
    speeds: list[float] = field(default_factory=list)
    min_dist_m: float = float("inf")
    emitted: bool = False


class EncounterDetector:
    """Two vessels within ``max_distance_m`` for ``min_duration_h``, slow, offshore."""

    def __init__(self, p: EncounterParams, shore: ShoreIndex) -> None:
        self.p = p
        self.shore = shore
        self.tracker = SlotTracker(p.slot_s, p.carry_s)
        self.runs: dict[tuple[int, int], _Run] = {}

    def process(self, watermark_us: int, emit: Emit) -> None:
        """Run every slot the watermark has closed."""
        p = self.p
        for s in self.tracker.close(watermark_us):
            slow = ~(s.sog > 3 * p.max_median_speed_kn)  # NaN speed stays a candidate
            idx = np.flatnonzero(slow)
            if len(idx) >= 2:
                far = self.shore.farther_than(s.lat[idx], s.lon[idx], p.min_shore_km * 1000)
                idx = idx[far]
            pairs = np.empty((0, 2), np.int64)
            if len(idx) >= 2:
                tree = cKDTree(unit_vectors(s.lat[idx], s.lon[idx]))
                pairs = idx[tree.query_pairs(p.max_distance_m, output_type="ndarray")]
            self._slot(s, pairs, emit)

    def _slot(self, s: Slot, pairs: NDArray[np.int64], emit: Emit) -> None:
        p = self.p
        if len(pairs):
            a, b = pairs[:, 0], pairs[:, 1]
            swap = s.m[a] > s.m[b]
            a, b = np.where(swap, b, a), np.where(swap, a, b)
            dist = haversine_m(s.lat[a], s.lon[a], s.lat[b], s.lon[b])
        else:
            a = b = np.empty(0, np.int64)
            dist = np.empty(0)
        seen: dict[tuple[int, int], _Run] = {}
        for i, j, d in zip(a.tolist(), b.tolist(), dist.tolist(), strict=True):
            key = (int(s.m[i]), int(s.m[j]))
            run = self.runs.get(key)
            if run is None or run.last_k != s.k - 1:
                mid_lat = (s.lat[i] + s.lat[j]) / 2
                mid_lon = (s.lon[i] + s.lon[j]) / 2
                run = _Run(s.k, s.k, float(mid_lat), float(mid_lon))
            run.last_k = s.k
            run.speeds.extend(float(x) for x in (s.sog[i], s.sog[j]) if not np.isnan(x))
            run.min_dist_m = min(run.min_dist_m, d)
            seen[key] = run
            duration_s = (run.last_k - run.start_k + 1) * p.slot_s
            median = float(np.median(run.speeds)) if run.speeds else float("nan")
            if duration_s >= p.min_duration_h * 3600 and (
                run.emitted or median < p.max_median_speed_kn
            ):
                run.emitted = True
                ev = Event(
                    "encounter", key[0], run.start_k * self.tracker.slot_us, run.lat, run.lon
                )
                ev.other_mmsi = key[1]
                ev.end_us = (run.last_k + 1) * self.tracker.slot_us
                ev.details = {
                    "duration_h": round(duration_s / 3600, 3),
                    "median_speed_kn": round(median, 2),
                    "min_distance_m": round(run.min_dist_m, 1),
                }
                emit(ev, True)
        self.runs = seen  # a pair not together in this slot has ended its run


@dataclass
class _Watch:
    last_k: int
    range_m: float
    inside_k: int | None = None  # first slot of the current stay within range
    closing_kn: float = 0.0
    min_range_m: float = float("inf")
    lat: float = 0.0
    lon: float = 0.0


class ApproachDetector:
    """A small or unidentified craft closes fast on a merchant underway, then shadows it."""

    def __init__(self, p: ApproachParams, statics: StaticRegistry) -> None:
        self.p = p
        self.statics = statics
        self.tracker = SlotTracker(p.slot_s, p.carry_s)
        self.watch: dict[tuple[int, int], _Watch] = {}

    def process(self, watermark_us: int, emit: Emit) -> None:
        """Run every slot the watermark has closed."""
        p = self.p
        for s in self.tracker.close(watermark_us):
            ship_type, length, known = self.statics.lookup(s.m, s.end_us)
            merchant = (ship_type >= 70) & (ship_type <= 89) & (s.sog >= p.merchant_min_speed_kn)
            small = ~merchant & (s.class_b | ~known | (length < p.small_length_m))
            mi, ci = np.flatnonzero(merchant), np.flatnonzero(small)
            if len(mi) == 0 or len(ci) == 0:
                self.watch = {}
                continue
            mt = cKDTree(unit_vectors(s.lat[mi], s.lon[mi]))
            ct = cKDTree(unit_vectors(s.lat[ci], s.lon[ci]))
            near = ct.sparse_distance_matrix(mt, p.watch_range_nm * NM_M, output_type="ndarray")
            self._slot(s, ci[near["i"]], mi[near["j"]], emit)

    def _slot(self, s: Slot, craft: I64, ship: I64, emit: Emit) -> None:
        p = self.p
        seen: dict[tuple[int, int], _Watch] = {}
        rng = haversine_m(s.lat[craft], s.lon[craft], s.lat[ship], s.lon[ship])
        slot_h = p.slot_s / 3600
        for c, m, r in zip(craft.tolist(), ship.tolist(), rng.tolist(), strict=True):
            key = (int(s.m[c]), int(s.m[m]))
            prev = self.watch.get(key)
            if prev is not None and prev.last_k != s.k - 1:
                prev = None
            w = _Watch(s.k, r)
            shadowing = s.sog[c] >= p.min_speed_ratio * s.sog[m]
            if r <= p.range_nm * NM_M and shadowing:
                if prev is not None and prev.inside_k is not None:
                    w.inside_k, w.closing_kn = prev.inside_k, prev.closing_kn
                    w.min_range_m, w.lat, w.lon = min(prev.min_range_m, r), prev.lat, prev.lon
                else:
                    w.inside_k = s.k
                    w.closing_kn = (prev.range_m - r) / NM_M / slot_h if prev is not None else 0.0
                    w.min_range_m, w.lat, w.lon = r, float(s.lat[m]), float(s.lon[m])
                stay_s = (s.k - w.inside_k + 1) * p.slot_s
                if w.closing_kn >= p.min_closing_kn and stay_s >= p.min_shadow_min * 60:
                    ev = Event("approach", key[0], w.inside_k * self.tracker.slot_us, w.lat, w.lon)
                    ev.other_mmsi = key[1]
                    ev.end_us = (s.k + 1) * self.tracker.slot_us
                    ev.details = {
                        "closing_kn": round(w.closing_kn, 1),
                        "min_range_nm": round(w.min_range_m / NM_M, 3),
                        "shadow_min": round(stay_s / 60, 1),
                    }
                    emit(ev, True)
            seen[key] = w
        self.watch = seen
