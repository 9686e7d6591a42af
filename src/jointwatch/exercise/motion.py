"""Vessel kinematics as pure functions of absolute time, evaluated with NumPy.

Why functions of absolute time: the same vessel must be in the same place whether the demo
asks for the last two hours at once or for one second at a time, so ``sentences(a, c)``
equals ``sentences(a, b) + sentences(b, c)`` and a fixed seed replays exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["HoldMotion", "LaneMotion", "LoopMotion", "Motion", "OrbitMotion", "Polyline", "State"]

Floats = NDArray[np.float64]
NM_PER_DEG = 60.0


@dataclass
class State:
    """Where a vessel is at each requested time: degrees, knots, course, and anchored flag."""

    lat: Floats
    lon: Floats
    sog_kn: Floats
    cog_deg: Floats
    anchored: NDArray[np.bool_]


def noise(t: Floats, key: float) -> Floats:
    """Deterministic pseudo-noise in [-1, 1] from time and a per-vessel key (no RNG state)."""
    x = np.sin(t * 12.9898 + key * 78.233) * 43758.5453
    return 2.0 * (x - np.floor(x)) - 1.0


def bearing_deg(lat1: Floats, lon1: Floats, lat2: Floats, lon2: Floats) -> Floats:
    """Initial great-circle bearing from point 1 to point 2."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl = np.radians(lon2 - lon1)
    y = np.sin(dl) * np.cos(p2)
    x = np.cos(p1) * np.sin(p2) - np.sin(p1) * np.cos(p2) * np.cos(dl)
    return np.asarray(np.degrees(np.arctan2(y, x)) % 360.0)


class Polyline:
    """Waypoints with cumulative distance, so a distance along the line gives a position."""

    def __init__(self, waypoints: tuple[tuple[float, float], ...]) -> None:
        pts = np.asarray(waypoints, dtype=np.float64)
        self.lat, self.lon = pts[:, 0], pts[:, 1]
        mid = np.radians((self.lat[:-1] + self.lat[1:]) / 2)
        d_n = np.diff(self.lat) * NM_PER_DEG
        d_e = np.diff(self.lon) * NM_PER_DEG * np.cos(mid)
        self.cum_nm = np.concatenate([[0.0], np.cumsum(np.hypot(d_n, d_e))])
        self.length_nm = float(self.cum_nm[-1])
        self.bearings = bearing_deg(self.lat[:-1], self.lon[:-1], self.lat[1:], self.lon[1:])

    def at(self, s_nm: Floats) -> tuple[Floats, Floats, Floats]:
        """(lat, lon, bearing of the segment) at distances ``s_nm`` from the start."""
        s = np.clip(s_nm, 0.0, self.length_nm)
        seg = np.clip(np.searchsorted(self.cum_nm, s, side="right") - 1, 0, len(self.lat) - 2)
        span = self.cum_nm[seg + 1] - self.cum_nm[seg]
        frac = np.where(span > 0, (s - self.cum_nm[seg]) / np.where(span > 0, span, 1), 0.0)
        lat = self.lat[seg] + (self.lat[seg + 1] - self.lat[seg]) * frac
        lon = self.lon[seg] + (self.lon[seg + 1] - self.lon[seg]) * frac
        return lat, lon, self.bearings[seg]


def _offset(
    lat: Floats, lon: Floats, course: Floats, starboard_nm: Floats
) -> tuple[Floats, Floats]:
    """Shift positions to starboard of the course: two-way traffic keeps to its side."""
    rad = np.radians(course)
    lat2 = lat - starboard_nm * np.sin(rad) / NM_PER_DEG
    lon2 = lon + starboard_nm * np.cos(rad) / (NM_PER_DEG * np.cos(np.radians(lat)))
    return lat2, lon2


class Motion:
    """A vessel's movement; subclasses give the position at any times."""

    nominal_kn: float

    def state(self, t: Floats) -> State:  # pragma: no cover - interface
        raise NotImplementedError


@dataclass
class LaneMotion(Motion):
    """Out and back along a lane at a steady speed, anchoring off each port in between."""

    line: Polyline
    nominal_kn: float
    dwell_s: float
    phase_s: float
    offset_nm: float
    anchor_dlat: float
    anchor_dlon: float
    key: float

    @property
    def leg_s(self) -> float:
        return self.line.length_nm / self.nominal_kn * 3600.0

    @property
    def cycle_s(self) -> float:
        return 2 * (self.leg_s + self.dwell_s)

    def phase(self, t: Floats) -> Floats:
        """Seconds into the cycle: [0, leg) out, [leg, leg+dwell) anchored at the far end..."""
        return np.asarray(np.mod(t + self.phase_s, self.cycle_s))

    def state(self, t: Floats) -> State:
        leg, dwell = self.leg_s, self.dwell_s
        u = self.phase(t)
        outbound = u < leg
        returning = (u >= leg + dwell) & (u < 2 * leg + dwell)
        anchored = ~(outbound | returning)
        s_out = np.where(outbound, u, 0.0) * self.nominal_kn / 3600.0
        s_back = self.line.length_nm - np.where(returning, u - leg - dwell, 0.0) * (
            self.nominal_kn / 3600.0
        )
        s = np.where(outbound, s_out, np.where(returning, s_back, 0.0))
        at_far_end = (u >= leg) & (u < leg + dwell)
        s = np.where(at_far_end, self.line.length_nm, s)
        lat, lon, course = self.line.at(s)
        course = np.where(returning, (course + 180.0) % 360.0, course)
        # Keep to starboard in open water, fading to the centre line near the ports.
        taper = np.clip(np.minimum(s, self.line.length_nm - s) / 15.0, 0.0, 1.0)
        # Offset across a chord of the lane, not the local leg, so a sharp waypoint bends
        # the track instead of making the ship jump sideways.
        ahead_lat, ahead_lon, _ = self.line.at(np.minimum(s + 3.0, self.line.length_nm))
        behind_lat, behind_lon, _ = self.line.at(np.maximum(s - 3.0, 0.0))
        chord = bearing_deg(behind_lat, behind_lon, ahead_lat, ahead_lon)
        chord = np.where(returning, (chord + 180.0) % 360.0, chord)
        lat, lon = _offset(lat, lon, chord, self.offset_nm * taper)
        # Ease into the anchor berth over the last 2 nm, so arriving is not a jump.
        berth = np.clip(1.0 - np.minimum(s, self.line.length_nm - s) / 2.0, 0.0, 1.0)
        lat = lat + self.anchor_dlat * berth
        lon = lon + self.anchor_dlon * berth
        wobble = noise(t, self.key)
        sog = np.where(anchored, 0.1 * np.abs(wobble), self.nominal_kn * (1 + 0.02 * wobble))
        cog = np.where(anchored, (course + 40.0 * wobble) % 360.0, course + 0.8 * wobble)
        return State(lat, lon, sog, np.mod(cog, 360.0), anchored)


@dataclass
class LoopMotion(Motion):
    """Round and round a closed polyline (a patrol box) at a steady speed."""

    line: Polyline
    nominal_kn: float
    phase_s: float
    key: float

    def state(self, t: Floats) -> State:
        s = np.mod((t + self.phase_s) * self.nominal_kn / 3600.0, self.line.length_nm)
        lat, lon, course = self.line.at(s)
        wobble = noise(t, self.key)
        sog = self.nominal_kn * (1 + 0.03 * wobble)
        return State(
            lat, lon, sog, np.mod(course + 1.0 * wobble, 360.0), np.zeros(len(t), dtype=bool)
        )


@dataclass
class OrbitMotion(Motion):
    """A slow Lissajous pattern round a point: fishing, tugs, SAR craft working an area."""

    lat0: float
    lon0: float
    amp_n_nm: float
    amp_e_nm: float
    w_n: float
    w_e: float
    phase_n: float
    phase_e: float
    nominal_kn: float

    def state(self, t: Floats) -> State:
        a_n, a_e = self.w_n * t + self.phase_n, self.w_e * t + self.phase_e
        coslat = np.cos(np.radians(self.lat0))
        lat = self.lat0 + self.amp_n_nm * np.sin(a_n) / NM_PER_DEG
        lon = self.lon0 + self.amp_e_nm * np.sin(a_e) / (NM_PER_DEG * coslat)
        v_n = self.amp_n_nm * self.w_n * np.cos(a_n) * 3600.0
        v_e = self.amp_e_nm * self.w_e * np.cos(a_e) * 3600.0
        sog = np.hypot(v_n, v_e)
        cog = np.mod(np.degrees(np.arctan2(v_e, v_n)), 360.0)
        return State(lat, lon, sog, cog, np.zeros(len(t), dtype=bool))


@dataclass
class HoldMotion(Motion):
    """At anchor, swinging slowly round the anchor: a SAR craft on standby."""

    lat0: float
    lon0: float
    key: float
    nominal_kn: float = 0.0

    def state(self, t: Floats) -> State:
        swing = np.sin(t / 1800.0 + self.key)
        n = len(t)
        return State(
            np.full(n, self.lat0) + 0.0005 * swing,
            np.full(n, self.lon0),
            0.1 * np.abs(noise(t, self.key)),
            np.mod(180.0 + 60.0 * swing, 360.0),
            np.ones(n, dtype=bool),
        )
