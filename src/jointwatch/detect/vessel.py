"""The per-vessel detectors: gap, loitering, spoofing and zone crossings.

Each is a function of one ``ExtBatch`` (a vessel's new reports after its previous ones)
plus the vessel state it reads and updates; none loops over reports in Python.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from jointwatch.detect.batch import ExtBatch
from jointwatch.detect.events import Event
from jointwatch.detect.params import GapParams, LoiteringParams, SpoofingParams
from jointwatch.detect.state import NONE_T, VesselState
from jointwatch.geo.distance import EARTH_RADIUS_M, KNOT_MS, NM_M, haversine_m
from jointwatch.geo.shore import ShoreIndex
from jointwatch.geo.zones import ZoneIndex
from jointwatch.picture.mid import flag_for_mmsi

__all__ = ["detect_gaps", "detect_loitering", "detect_spoofing", "detect_zones", "overdue_gaps"]

HOUR_US = 3_600_000_000
F64 = NDArray[np.float64]
Emit = Callable[[Event, bool], None]


def detect_gaps(b: ExtBatch, shore: ShoreIndex, p: GapParams, emit: Emit) -> None:
    """A report after ≥ ``min_gap_h`` of silence whose previous report was far offshore."""
    has = b.real & (b.prev >= 0)
    i = np.flatnonzero(has)
    j = b.prev[i]
    long = (b.t[i] - b.t[j]) >= p.min_gap_h * HOUR_US
    i, j = i[long], j[long]
    # Distance to shore only for the few silences long enough to matter.
    shore_m = np.full(len(b), np.nan)
    shore_m[j] = shore.distance_m(b.lat[j], b.lon[j])
    hit = shore_m[j] >= p.min_shore_nm * NM_M
    for a, z in zip(i[hit].tolist(), j[hit].tolist(), strict=True):
        dist = float(haversine_m(b.lat[z], b.lon[z], b.lat[a], b.lon[a]))
        hours = (int(b.t[a]) - int(b.t[z])) / HOUR_US
        details = {
            "gap_h": round(hours, 3),
            "distance_nm": round(dist / NM_M, 2),
            "implied_speed_kn": round(dist / NM_M / hours, 2),
            "shore_nm": round(float(shore_m[z]) / NM_M, 1),
            "end_lat": round(float(b.lat[a]), 6),
            "end_lon": round(float(b.lon[a]), 6),
            "overdue": False,
        }
        event = Event("ais_gap", int(b.m[a]), int(b.t[z]), float(b.lat[z]), float(b.lon[z]))
        event.end_us, event.details = int(b.t[a]), details
        emit(event, True)


def overdue_gaps(
    state: VesselState, clock_us: int, shore: ShoreIndex, p: GapParams, emit: Emit
) -> None:
    """Open ``ais_gap`` events for vessels silent ≥ ``min_gap_h`` far offshore.

    Each silence is judged once (``overdue`` marks it judged, whatever the verdict) and
    again only after the vessel has reported; distance to shore is looked up only then.
    """
    if not p.overdue or clock_us == NONE_T:
        return
    last = state["last_t"]
    due = np.flatnonzero(
        (last != NONE_T) & (last <= clock_us - int(p.min_gap_h * HOUR_US)) & ~state["overdue"]
    )
    state["overdue"][due] = True
    shore_m = shore.distance_m(state["last_lat"][due], state["last_lon"][due])
    far = shore_m >= p.min_shore_nm * NM_M
    for r, d in zip(due[far].tolist(), shore_m[far].tolist(), strict=True):
        event = Event(
            "ais_gap",
            int(state.mmsi[r]),
            int(last[r]),
            float(state["last_lat"][r]),
            float(state["last_lon"][r]),
        )
        event.details = {"overdue": True, "shore_nm": round(d / NM_M, 1)}
        emit(event, True)


def _segments(flag: NDArray[np.bool_], cont: NDArray[np.bool_]) -> tuple[NDArray, NDArray]:
    """First and last index of each run of flagged rows; ``cont`` marks a row that continues
    the run of the row before it."""
    starts = np.flatnonzero(flag & ~cont)
    nxt_cont = np.r_[cont[1:], False]
    ends = np.flatnonzero(flag & ~nxt_cont)
    return starts, ends


def detect_loitering(
    b: ExtBatch,
    shore: ShoreIndex,
    state: VesselState,
    p: LoiteringParams,
    emit: Emit,
) -> None:
    """Runs of slow reports far offshore lasting ≥ ``min_duration_h``."""
    slow = b.real & (b.sog < p.max_speed_kn)
    rows = np.flatnonzero(slow)  # distance to shore only where it can matter
    slow[rows] = shore.farther_than(b.lat[rows], b.lon[rows], p.min_shore_nm * NM_M)
    # A vessel's previous report (from state) continues a run if the state has one open.
    state_open = ~b.real & (state["lo_start_t"][b.srow] != NONE_T) & b.state_last
    flag = slow | state_open
    prev_flag = np.r_[False, flag[:-1]] & (b.prev >= 0)
    dt = b.t - np.where(b.prev >= 0, b.t[np.maximum(b.prev, 0)], b.t)
    cont = flag & prev_flag & (dt <= p.max_report_gap_h * HOUR_US)
    starts, ends = _segments(flag, cont)
    start_t = np.where(b.real[starts], b.t[starts], state["lo_start_t"][b.srow[starts]])
    start_lat = np.where(b.real[starts], b.lat[starts], state["lo_lat"][b.srow[starts]])
    start_lon = np.where(b.real[starts], b.lon[starts], state["lo_lon"][b.srow[starts]])
    end_t = b.t[ends]
    long_enough = ((end_t - start_t) >= p.min_duration_h * HOUR_US) & b.real[ends]
    for k in np.flatnonzero(long_enough).tolist():
        s = int(starts[k])
        event = Event(
            "loitering", int(b.m[s]), int(start_t[k]), float(start_lat[k]), float(start_lon[k])
        )
        event.end_us = int(end_t[k])
        event.details = {"duration_h": round((int(end_t[k]) - int(start_t[k])) / HOUR_US, 3)}
        emit(event, True)
    # Carry the run that is open at each vessel's last report.
    last = np.flatnonzero(b.group_last)
    open_run = flag[last]
    seg_of_end = np.searchsorted(ends, last)
    rows = b.srow[last]
    lo_t = np.full(len(last), NONE_T)
    lo_lat = np.full(len(last), np.nan)
    lo_lon = np.full(len(last), np.nan)
    ok = open_run & (seg_of_end < len(ends))
    ok[ok] &= ends[seg_of_end[ok]] == last[ok]
    lo_t[ok] = start_t[seg_of_end[ok]]
    lo_lat[ok] = start_lat[seg_of_end[ok]]
    lo_lon[ok] = start_lon[seg_of_end[ok]]
    state["lo_start_t"][rows] = lo_t
    state["lo_lat"][rows] = lo_lat
    state["lo_lon"][rows] = lo_lon


# Allocated MIDs as a lookup table, so a whole batch is checked with one indexing step.
_SHIP_MID = np.array([flag_for_mmsi(mid * 1_000_000 + 1) is not None for mid in range(1000)])


def _valid_vessel_mmsi(m: NDArray[np.int64]) -> NDArray[np.bool_]:
    """A ship station: 9 digits starting 2-7 with an allocated MID (ITU-R M.585)."""
    in_range = (m >= 200_000_000) & (m <= 799_999_999)
    return in_range & _SHIP_MID[np.clip(m // 1_000_000, 0, 999)]


def _not_ship_station(m: NDArray[np.int64]) -> NDArray[np.bool_]:
    """9-digit identities that are not ship stations (SAR aircraft, AtoN, SART, craft...)."""
    return ((m >= 100_000_000) & (m < 200_000_000)) | ((m >= 800_000_000) & (m <= 999_999_999))


def _hop_bound_m(lat: F64, lon: F64, j: NDArray[np.int64]) -> F64:
    """An upper bound on the great-circle distance from row ``j`` to each row.

    Why it holds for any angles: along a path in (lat, lon) the point on the sphere moves at
    most R·|dlat| + R·cos(lat)·|dlon| <= R·(|dlat| + |dlon|); the haversine, which the
    detectors use, is the shortest such path (within a metre, hence the 10 m of slack).
    """
    dlon = np.abs(lon - lon[j])
    if bool((dlon > 360.0).any()):  # longitudes off the usual range only
        dlon %= 360.0
    degrees = np.abs(lat - lat[j]) + np.minimum(dlon, 360.0 - dlon)
    return np.asarray(degrees * (np.pi / 180 * EARTH_RADIUS_M))


def detect_spoofing(
    b: ExtBatch,
    shore: ShoreIndex,
    state: VesselState,
    p: SpoofingParams,
    emit: Emit,
) -> NDArray[np.bool_]:
    """Impossible speed, duplicated MMSI, position on land, invalid MMSI; returns the jump
    flag of every row (kept in state for the duplicate test of the next batch)."""
    has = b.prev >= 0
    j = np.maximum(b.prev, 0)
    # The implied speed only matters for a hop of at least min_jump_nm, and consecutive
    # reports are almost always far closer: the haversine (the costly part) is taken only
    # where a cheap upper bound on the hop reaches that far, which leaves the result as is.
    cand = np.flatnonzero(
        b.real & has & (_hop_bound_m(b.lat, b.lon, j) >= p.min_jump_nm * NM_M - 10.0)
    )
    jc = j[cand]
    dist = haversine_m(b.lat[jc], b.lon[jc], b.lat[cand], b.lon[cand])
    dt_s = (b.t[cand] - b.t[jc]) / 1e6
    speed_kn = np.zeros(len(b))
    speed_kn[cand] = np.where(dt_s > 0, dist / np.maximum(dt_s, 1e-9) / KNOT_MS, 0.0)
    jump = state["last_jump"][b.srow] & b.state_last & ~b.real
    jump[cand] = (speed_kn[cand] > p.max_speed_kn) & (dist >= p.min_jump_nm * NM_M)
    # Two jumps in a row that land back where the vessel was: two transmitters, one MMSI.
    two = np.flatnonzero(jump & b.real & jump[j] & has & (b.prev[j] >= 0))
    k = b.prev[j[two]]
    back = haversine_m(b.lat[k], b.lon[k], b.lat[two], b.lon[two])
    duplicate = np.zeros(len(b), dtype=bool)
    duplicate[two] = back <= p.duplicate_return_nm * NM_M
    speed = jump & b.real & ~duplicate
    real = np.flatnonzero(b.real)
    inland = np.zeros(len(b), dtype=bool)
    inland[real] = shore.is_land(b.lat[real], b.lon[real])
    on = np.flatnonzero(inland)
    if len(on):
        # Land here and 1 km north, south, east and west: not a coastline or port error.
        d = p.land_inland_m / 111_320.0
        lat, lon = b.lat[on], b.lon[on]
        coslat = np.maximum(np.cos(np.radians(lat)), 0.05)
        deep = np.ones(len(on), dtype=bool)
        for dlat, dlon in ((d, 0.0), (-d, 0.0), (0.0, d), (0.0, -d)):
            deep &= shore.is_land(np.clip(lat + dlat, -90, 90), lon + dlon / coslat)
        inland[on[~deep]] = False
    invalid = b.real & ~_valid_vessel_mmsi(b.m) & ~_not_ship_station(b.m)
    flags = {
        "speed": speed,
        "duplicate_mmsi": duplicate,
        "on_land": inland,
        "invalid_mmsi": invalid,
    }
    for reason, flag in flags.items():
        _episodes(b, state, reason, flag, speed_kn, p, emit)
    return jump


def _episodes(
    b: ExtBatch,
    state: VesselState,
    reason: str,
    flag: NDArray[np.bool_],
    speed_kn: NDArray[np.float64],
    p: SpoofingParams,
    emit: Emit,
) -> None:
    """One event per episode of violations, continuing the vessel's open episode if any.

    An episode is a run of a vessel's flagged reports with no silence between them longer
    than ``episode_gap_h``; the first one of a batch may continue the episode kept in state.
    The runs are found with array operations (a vessel's rows are contiguous in the batch);
    Python only builds the events.
    """
    rows = np.flatnonzero(flag)
    if len(rows) == 0:
        return
    start_col, last_col = state[f"sp_{reason}_start"], state[f"sp_{reason}_last"]
    sr = b.srow[rows]
    t = b.t[rows]
    same = np.r_[False, sr[1:] == sr[:-1]]
    prev_t = np.where(same, np.r_[NONE_T, t[:-1]], last_col[sr])
    gap = p.episode_gap_h * HOUR_US
    new = (prev_t == NONE_T) | (t - prev_t > gap)
    # Episode k covers rows[first[k]] .. rows[last[k]]: a new episode or another vessel.
    first = np.flatnonzero(new | ~same)
    last = np.r_[first[1:] - 1, len(rows) - 1]
    vessel = sr[first]
    start = np.where(new[first], t[first], start_col[vessel])
    end = t[last]
    r0 = rows[first]
    n_reports = last - first + 1
    with_speed = reason in ("speed", "duplicate_mmsi")
    max_speed = np.maximum.reduceat(speed_kn[rows], first) if with_speed else None
    for k, (m, s, e, lat, lon, n) in enumerate(
        zip(
            b.m[r0].tolist(),
            start.tolist(),
            end.tolist(),
            b.lat[r0].tolist(),
            b.lon[r0].tolist(),
            n_reports.tolist(),
            strict=True,
        )
    ):
        event = Event("spoofing", m, s, lat, lon)
        event.end_us = e
        event.details = {"reason": reason, "n_reports": n}
        if max_speed is not None:
            event.details["max_speed_kn"] = round(float(max_speed[k]), 1)
        emit(event, False)
    # A vessel's episodes are consecutive: the last one is what stays open in state.
    open_ = np.r_[vessel[1:] != vessel[:-1], True]
    start_col[vessel[open_]] = start[open_]
    last_col[vessel[open_]] = end[open_]


def detect_zones(b: ExtBatch, zones: ZoneIndex, state_zones: ZoneMemberships, emit: Emit) -> None:
    """Entries and exits of user zones between consecutive reports of a vessel."""
    nz = len(zones)
    if nz == 0 or len(b) == 0:
        return
    real = np.flatnonzero(b.real)
    near = real[zones.may_contain(b.lat[real], b.lon[real])]
    pos, zone = zones.containing(b.lat[near], b.lon[near])
    rows = near[pos]
    cur_keys = np.sort(rows * nz + zone)
    # Where each row's previous report was: a row of this batch, or the vessel's state.
    prev = b.prev
    has_prev = b.real & (prev >= 0)
    prev_is_state = has_prev & ~b.real[np.maximum(prev, 0)]

    def in_cur(r: NDArray[np.int64], z: NDArray[np.int64]) -> NDArray[np.bool_]:
        return _contains(cur_keys, r * nz + z)

    # Entry: in the zone now, not at the previous report.
    ok = has_prev[rows]
    er, ez = rows[ok], zone[ok]
    p = prev[er]
    before = np.where(prev_is_state[er], state_zones.contains(b.m[er], ez), in_cur(p, ez))
    for r, z in zip(er[~before].tolist(), ez[~before].tolist(), strict=True):
        _zone_event(b, zones, "zone_entry", r, z, emit)
    # Exit: in the zone at the previous report, not now.
    nxt = np.full(len(b), -1)
    hp = np.flatnonzero(has_prev)
    nxt[prev[hp]] = hp
    was_r = rows[nxt[rows] >= 0]
    was_z = zone[nxt[rows] >= 0]
    after = nxt[was_r]
    first = np.flatnonzero(prev_is_state)  # first new report after a state row
    _, sz, owner = state_zones.pairs_of(b.m[first])
    after = np.concatenate((after, first[owner]))
    was_z = np.concatenate((was_z, sz))
    left = ~in_cur(after, was_z)
    for r, z in zip(after[left].tolist(), was_z[left].tolist(), strict=True):
        _zone_event(b, zones, "zone_exit", r, z, emit)
    # Carry each vessel's zones at its last report.
    is_last = b.group_last & b.real
    at_last = is_last[rows]
    state_zones.replace(b.m[is_last], b.m[rows[at_last]], zone[at_last])


def _contains(sorted_keys: NDArray[np.int64], keys: NDArray[np.int64]) -> NDArray[np.bool_]:
    if len(sorted_keys) == 0:
        return np.zeros(len(keys), dtype=bool)
    i = np.clip(np.searchsorted(sorted_keys, keys), 0, len(sorted_keys) - 1)
    return np.asarray(sorted_keys[i] == keys)


def _zone_event(b: ExtBatch, zones: ZoneIndex, kind: str, r: int, z: int, emit: Emit) -> None:
    zz = zones.zones[z]
    ev = Event(kind, int(b.m[r]), int(b.t[r]), float(b.lat[r]), float(b.lon[r]), zone=zz.name)
    ev.details = {"zone_kind": zz.kind}
    emit(ev, True)


class ZoneMemberships:
    """Which zones each vessel was in at its last report, as sorted (MMSI, zone) keys."""

    def __init__(self, zone_count: int) -> None:
        self.nz = max(zone_count, 1)
        self.keys = np.empty(0, dtype=np.int64)

    def clear(self, zone_count: int) -> None:
        """Forget everything (the zone set changed)."""
        self.nz = max(zone_count, 1)
        self.keys = np.empty(0, dtype=np.int64)

    def contains(self, mmsi: NDArray[np.int64], zone: NDArray[np.int64]) -> NDArray[np.bool_]:
        """Was each vessel in the given zone at its last report?"""
        return _contains(self.keys, mmsi * self.nz + zone)

    def pairs_of(
        self, mmsis: NDArray[np.int64]
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
        """(MMSI, zone, index into ``mmsis``) for every zone of the given (unique) vessels."""
        if len(self.keys) == 0 or len(mmsis) == 0:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty, empty
        owners = self.keys // self.nz
        order = np.argsort(mmsis)
        sorted_m = mmsis[order]
        i = np.clip(np.searchsorted(sorted_m, owners), 0, len(sorted_m) - 1)
        hit = sorted_m[i] == owners
        return owners[hit], self.keys[hit] % self.nz, order[i[hit]]

    def replace(
        self, vessels: NDArray[np.int64], mmsi: NDArray[np.int64], zone: NDArray[np.int64]
    ) -> None:
        """Set the zones of ``vessels`` to the given (MMSI, zone) pairs."""
        keep = ~_contains(np.sort(vessels), self.keys // self.nz)  # no sort of the keys
        self.keys = np.unique(np.concatenate((self.keys[keep], mmsi * self.nz + zone)))
