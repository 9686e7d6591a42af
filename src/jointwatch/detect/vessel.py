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
from jointwatch.geo.distance import KNOT_MS, NM_M, haversine_m
from jointwatch.geo.shore import ShoreIndex
from jointwatch.geo.zones import ZoneIndex
from jointwatch.picture.mid import flag_for_mmsi

__all__ = ["detect_gaps", "detect_loitering", "detect_spoofing", "detect_zones", "overdue_gaps"]

HOUR_US = 3_600_000_000
Emit = Callable[[Event, bool], None]


def detect_gaps(b: ExtBatch, shore_m: NDArray[np.float64], p: GapParams, emit: Emit) -> None:
    """A report after ≥ ``min_gap_h`` of silence whose previous report was far offshore."""
    has = b.real & (b.prev >= 0)
    i = np.flatnonzero(has)
    j = b.prev[i]
    dt = b.t[i] - b.t[j]
    hit = (dt >= p.min_gap_h * HOUR_US) & (shore_m[j] >= p.min_shore_nm * NM_M)
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


def overdue_gaps(state: VesselState, clock_us: int, p: GapParams, emit: Emit) -> None:
    """Open ``ais_gap`` events for vessels silent ≥ ``min_gap_h`` far offshore."""
    if not p.overdue or clock_us == NONE_T:
        return
    last = state["last_t"]
    due = (
        (last != NONE_T)
        & (last <= clock_us - int(p.min_gap_h * HOUR_US))
        & (state["last_shore_m"] >= p.min_shore_nm * NM_M)
        & ~state["overdue"]
    )
    rows = np.flatnonzero(due)
    for r in rows.tolist():
        event = Event(
            "ais_gap",
            int(state.mmsi[r]),
            int(last[r]),
            float(state["last_lat"][r]),
            float(state["last_lon"][r]),
        )
        event.details = {
            "overdue": True,
            "shore_nm": round(float(state["last_shore_m"][r]) / NM_M, 1),
        }
        emit(event, True)
    state["overdue"][rows] = True


def _segments(flag: NDArray[np.bool_], cont: NDArray[np.bool_]) -> tuple[NDArray, NDArray]:
    """First and last index of each run of flagged rows; ``cont`` marks a row that continues
    the run of the row before it."""
    starts = np.flatnonzero(flag & ~cont)
    nxt_cont = np.r_[cont[1:], False]
    ends = np.flatnonzero(flag & ~nxt_cont)
    return starts, ends


def detect_loitering(
    b: ExtBatch,
    shore_m: NDArray[np.float64],
    state: VesselState,
    p: LoiteringParams,
    emit: Emit,
) -> None:
    """Runs of slow reports far offshore lasting ≥ ``min_duration_h``."""
    slow = b.real & (b.sog < p.max_speed_kn) & (shore_m >= p.min_shore_nm * NM_M)
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


def _valid_vessel_mmsi(m: NDArray[np.int64]) -> NDArray[np.bool_]:
    """A ship station: 9 digits starting 2-7 with an allocated MID (ITU-R M.585)."""
    in_range = (m >= 200_000_000) & (m <= 799_999_999)
    uniq, inv = np.unique(m, return_inverse=True)
    known = np.array([flag_for_mmsi(int(x)) is not None for x in uniq.tolist()], dtype=bool)
    return in_range & known[inv] if len(m) else in_range


def _not_ship_station(m: NDArray[np.int64]) -> NDArray[np.bool_]:
    """9-digit identities that are not ship stations (SAR aircraft, AtoN, SART, craft...)."""
    return ((m >= 100_000_000) & (m < 200_000_000)) | ((m >= 800_000_000) & (m <= 999_999_999))


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
    dist = np.where(has, haversine_m(b.lat[j], b.lon[j], b.lat, b.lon), 0.0)
    dt_s = np.where(has, (b.t - b.t[j]) / 1e6, np.inf)
    speed_kn = np.where(dt_s > 0, dist / np.maximum(dt_s, 1e-9) / KNOT_MS, 0.0)
    jump = b.real & has & (speed_kn > p.max_speed_kn) & (dist >= p.min_jump_nm * NM_M)
    jump = jump | (~b.real & state["last_jump"][b.srow] & b.state_last)
    # Two jumps in a row that land back where the vessel was: two transmitters, one MMSI.
    has2 = has & (b.prev[j] >= 0)
    k = np.maximum(b.prev[j], 0)
    back = np.where(has2, haversine_m(b.lat[k], b.lon[k], b.lat, b.lon), np.inf)
    duplicate = jump & b.real & has & jump[j] & (back <= p.duplicate_return_nm * NM_M)
    speed = jump & b.real & ~duplicate
    inland = b.real & shore.is_land(b.lat, b.lon)
    if inland.any():
        d = p.land_inland_m / 111_320.0
        coslat = np.maximum(np.cos(np.radians(b.lat)), 0.05)
        for dlat, dlon in ((d, 0.0), (-d, 0.0), (0.0, d), (0.0, -d)):
            inland &= shore.is_land(np.clip(b.lat + dlat, -90, 90), b.lon + dlon / coslat)
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
    ep = np.cumsum(new) - 1  # episode number of each violation; -1: continues the state's
    first_new = np.flatnonzero(new)
    for n in range(-1 if not new[0] else 0, len(first_new)):
        sel = np.flatnonzero(ep == n) if n >= 0 else np.flatnonzero(ep < 0)
        if len(sel) == 0:
            continue
        # A vessel's rows are contiguous, but an episode number can span vessels only when
        # it continues a state episode; split those per vessel.
        for vessel_rows in np.split(sel, np.flatnonzero(np.diff(sr[sel])) + 1):
            r0, r1 = int(rows[vessel_rows[0]]), int(rows[vessel_rows[-1]])
            start = (
                int(t[vessel_rows[0]])
                if new[vessel_rows[0]]
                else int(start_col[sr[vessel_rows[0]]])
            )
            event = Event("spoofing", int(b.m[r0]), start, float(b.lat[r0]), float(b.lon[r0]))
            event.end_us = int(b.t[r1])
            event.details = {"reason": reason, "n_reports": len(vessel_rows)}
            if reason in ("speed", "duplicate_mmsi"):
                event.details["max_speed_kn"] = round(float(speed_kn[rows[vessel_rows]].max()), 1)
            emit(event, False)
            start_col[sr[vessel_rows[0]]] = start
            last_col[sr[vessel_rows[0]]] = int(b.t[r1])


def detect_zones(
    b: ExtBatch, zones: ZoneIndex, state_zones: dict[int, frozenset[int]], emit: Emit
) -> None:
    """Entries and exits of user zones between consecutive reports of a vessel."""
    if len(zones) == 0 or len(b) == 0:
        return
    real = np.flatnonzero(b.real)
    pos, zone = zones.containing(b.lat[real], b.lon[real])
    rows = real[pos]
    # Zones of the state rows that precede a vessel's first new report.
    extra_r: list[int] = []
    extra_z: list[int] = []
    for r in np.flatnonzero(~b.real & b.state_last).tolist():
        for z in state_zones.get(int(b.m[r]), ()):
            extra_r.append(r)
            extra_z.append(z)
    all_r = np.concatenate((rows, np.array(extra_r, dtype=np.int64)))
    all_z = np.concatenate((zone, np.array(extra_z, dtype=np.int64)))
    nz = len(zones)
    keys = all_r * nz + all_z
    has_prev = b.real & (b.prev >= 0)
    # Entry: in zone now, not in it at the previous report.
    cur = all_r[np.isin(all_r, real)]
    cur_z = all_z[np.isin(all_r, real)]
    ok = has_prev[cur]
    cur, cur_z = cur[ok], cur_z[ok]
    entered = ~np.isin(b.prev[cur] * nz + cur_z, keys)
    for r, z in zip(cur[entered].tolist(), cur_z[entered].tolist(), strict=True):
        zz = zones.zones[z]
        ev = Event(
            "zone_entry", int(b.m[r]), int(b.t[r]), float(b.lat[r]), float(b.lon[r]), zone=zz.name
        )
        ev.details = {"zone_kind": zz.kind}
        emit(ev, True)
    # Exit: in zone at the previous report, not now.
    nxt = np.full(len(b), -1)
    hp = np.flatnonzero(has_prev)
    nxt[b.prev[hp]] = hp
    prev_rows = all_r[nxt[all_r] >= 0]
    prev_z = all_z[nxt[all_r] >= 0]
    after = nxt[prev_rows]
    left = ~np.isin(after * nz + prev_z, keys)
    for r, z in zip(after[left].tolist(), prev_z[left].tolist(), strict=True):
        zz = zones.zones[z]
        ev = Event(
            "zone_exit", int(b.m[r]), int(b.t[r]), float(b.lat[r]), float(b.lon[r]), zone=zz.name
        )
        ev.details = {"zone_kind": zz.kind}
        emit(ev, True)
    # Carry each vessel's zones at its last report.
    last_rows = np.flatnonzero(b.group_last & b.real)
    by_row: dict[int, set[int]] = {}
    for r, z in zip(rows.tolist(), zone.tolist(), strict=True):
        by_row.setdefault(r, set()).add(z)
    for r in last_rows.tolist():
        inside = by_row.get(r)
        if inside:
            state_zones[int(b.m[r])] = frozenset(inside)
        else:
            state_zones.pop(int(b.m[r]), None)
