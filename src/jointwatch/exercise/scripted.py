"""Scripted events of the South China Sea scenario, with their ground truth.

Why scripted vessels beside the background traffic: an exercise is scored against what
really happened. Each scripted vessel acts out one behaviour the detectors look for (going
dark offshore, loitering, a ship-to-ship meeting, a zone transit, three kinds of spoofing, a
fast craft closing on a merchant), on a timetable relative to the script's start, and the
script states the event it should raise. ``score`` compares detected events with it.

Every scripted vessel carries ``EXERCISE`` in its AIS destination, and the ground truth is
only for exercise runs: nothing here is real traffic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray

from jointwatch.exercise.motion import Motion, State
from jointwatch.geo.distance import NM_M, haversine_m

__all__ = [
    "SCRIPT_HOURS",
    "Score",
    "ScriptedMotion",
    "TruthEvent",
    "score",
    "script",
]

SCRIPT_HOURS = 16.0  # the last scripted event ends before this

Floats = NDArray[np.float64]


def _move(lat: float, lon: float, bearing_deg: float, dist_nm: float) -> tuple[float, float]:
    """Position ``dist_nm`` from (lat, lon) on ``bearing_deg`` (flat-earth, short hops)."""
    b = math.radians(bearing_deg)
    dlat = dist_nm * math.cos(b) / 60.0
    dlon = dist_nm * math.sin(b) / (60.0 * math.cos(math.radians(lat)))
    return lat + dlat, lon + dlon


@dataclass
class ScriptedMotion(Motion):
    """Piecewise-straight legs between timed waypoints, silences and false positions.

    ``waypoints`` are (unix time, lat, lon); speed and course come from each leg.
    ``silent`` windows transmit nothing; ``fake`` windows transmit a fixed false position.
    """

    waypoints: list[tuple[float, float, float]]
    nominal_kn: float = 10.0
    silent: list[tuple[float, float]] = field(default_factory=list)
    fake: list[tuple[float, float, float, float]] = field(default_factory=list)

    def state(self, t: Floats) -> State:
        """Position, speed and course at each time (clamped to the first and last point)."""
        wt = np.array([w[0] for w in self.waypoints])
        wlat = np.array([w[1] for w in self.waypoints])
        wlon = np.array([w[2] for w in self.waypoints])
        lat = np.interp(t, wt, wlat)
        lon = np.interp(t, wt, wlon)
        leg = np.clip(np.searchsorted(wt, t, side="right") - 1, 0, len(wt) - 2)
        dist = haversine_m(wlat[leg], wlon[leg], wlat[leg + 1], wlon[leg + 1])
        dur = np.maximum(wt[leg + 1] - wt[leg], 1.0)
        sog = dist / NM_M / (dur / 3600.0)
        dy = wlat[leg + 1] - wlat[leg]
        dx = (wlon[leg + 1] - wlon[leg]) * np.cos(np.radians(wlat[leg]))
        cog = np.mod(np.degrees(np.arctan2(dx, dy)), 360.0)
        for t0, t1, flat, flon in self.fake:
            inside = (t >= t0) & (t < t1)
            lat = np.where(inside, flat, lat)
            lon = np.where(inside, flon, lon)
        return State(lat, lon, sog, cog, np.zeros(len(t), dtype=bool))

    def transmitting(self, t: Floats) -> NDArray[np.bool_]:
        """True while the vessel exists in the script and is not silent."""
        on = (t >= self.waypoints[0][0]) & (t <= self.waypoints[-1][0])
        for t0, t1 in self.silent:
            on &= ~((t >= t0) & (t < t1))
        return np.asarray(on)


@dataclass(frozen=True)
class ScriptedVessel:
    """Identity and motion of one scripted vessel (the fleet turns it into a ``Vessel``)."""

    mmsi: int
    name: str
    flag: str
    ship_type: int
    length_m: int
    ais_class: str
    motion: ScriptedMotion
    send_static: bool = True


@dataclass(frozen=True)
class TruthEvent:
    """What the script makes happen: the event a detector should raise."""

    kind: str
    mmsi: int
    start: datetime
    end: datetime
    other_mmsi: int | None = None
    zone: str | None = None
    note: str = ""


def script(start: datetime) -> tuple[list[ScriptedVessel], list[TruthEvent]]:
    """The scripted vessels and the events they should raise, from ``start`` on."""
    s0 = start.timestamp()

    def at(hours: float) -> float:
        return s0 + hours * 3600.0

    def when(hours: float) -> datetime:
        return start + timedelta(hours=hours)

    vessels: list[ScriptedVessel] = []
    truth: list[TruthEvent] = []

    # Going dark 60+ nm offshore: silent 13 h, reappears 78 nm further on.
    p0 = (11.0, 112.0)
    p1 = _move(*p0, 45.0, 12.0)
    p2 = _move(*p1, 45.0, 78.0)
    p3 = _move(*p2, 45.0, 24.0)
    dark = ScriptedMotion(
        [(at(0), *p0), (at(1), *p1), (at(14), *p2), (at(16), *p3)],
        nominal_kn=12.0,
        silent=[(at(1) + 1, at(14))],
    )
    vessels.append(ScriptedVessel(352_001_001, "OCEAN TRADER", "PAN", 80, 183, "A", dark))
    truth.append(TruthEvent("ais_gap", 352_001_001, when(1), when(14), note="dark 13 h"))

    # Loitering: steams in, drifts at 0.6 kn for 3 h 60 nm offshore, steams off.
    a = (8.2, 109.2)
    b = (8.5, 109.5)
    c = _move(*b, 0.0, 1.8)
    d = _move(*c, 90.0, 24.0)
    loiter = ScriptedMotion([(at(0), *a), (at(2), *b), (at(5), *c), (at(7), *d)], nominal_kn=12.0)
    vessels.append(ScriptedVessel(533_001_002, "SEA PIONEER", "MYS", 84, 228, "A", loiter))
    truth.append(TruthEvent("loitering", 533_001_002, when(2), when(5)))

    # Ship-to-ship: two vessels meet 14 nm off the coast, 300 m apart at 0.4 kn for 3 h.
    meet = (12.0, 109.5)
    m2 = _move(*meet, 90.0, 300.0 / NM_M)
    drift = 1.2  # nm in 3 h
    one = ScriptedMotion(
        [
            (at(1), *_move(*meet, 200.0, 20.0)),
            (at(3), *meet),
            (at(6), *_move(*meet, 20.0, drift)),
            (at(8), *_move(*meet, 150.0, 20.0)),
        ],
        nominal_kn=10.0,
    )
    two = ScriptedMotion(
        [
            (at(1), *_move(*m2, 120.0, 20.0)),
            (at(3), *m2),
            (at(6), *_move(*m2, 20.0, drift)),
            (at(8), *_move(*m2, 60.0, 20.0)),
        ],
        nominal_kn=10.0,
    )
    vessels.append(ScriptedVessel(563_001_003, "GOLDEN BRIDGE", "SGP", 80, 145, "A", one))
    vessels.append(ScriptedVessel(412_001_004, "HAI XING 7", "CHN", 70, 98, "A", two))
    truth.append(TruthEvent("encounter", 563_001_003, when(3), when(6), other_mmsi=412_001_004))

    # Zone transit: west to east through exercise area BRAVO (110.5E to 111.0E at 13.25N).
    lat_z = 13.25
    west, east = (lat_z, 110.2), (lat_z, 111.3)
    nm_total = float(haversine_m(*west, *east)) / NM_M
    hours_total = nm_total / 12.0
    transit = ScriptedMotion([(at(0.5), *west), (at(0.5 + hours_total), *east)], nominal_kn=12.0)
    vessels.append(ScriptedVessel(574_001_005, "BINH MINH 05", "VNM", 70, 120, "A", transit))
    t_in = 0.5 + hours_total * (110.5 - 110.2) / 1.1
    t_out = 0.5 + hours_total * (111.0 - 110.2) / 1.1
    truth.append(TruthEvent("zone_entry", 574_001_005, when(t_in), when(t_in), zone="BRAVO"))
    truth.append(TruthEvent("zone_exit", 574_001_005, when(t_out), when(t_out), zone="BRAVO"))

    # Spoofing 1: one false position 120 nm away for 25 s.
    q0 = (6.0, 108.0)
    q1 = _move(*q0, 30.0, 60.0)
    fake_at = at(2)
    tele = ScriptedMotion(
        [(at(0), *q0), (at(6), *q1)],
        nominal_kn=10.0,
        fake=[(fake_at, fake_at + 25, *_move(*q0, 300.0, 120.0))],
    )
    vessels.append(ScriptedVessel(477_001_006, "STAR LIGHT", "HKG", 70, 160, "A", tele))
    truth.append(TruthEvent("spoofing", 477_001_006, when(2), when(2.02), note="teleport"))

    # Spoofing 2: reports a position 60 km inland for 10 minutes.
    r0 = (9.6, 107.6)
    r1 = _move(*r0, 60.0, 50.0)
    land = ScriptedMotion(
        [(at(0), *r0), (at(5), *r1)],
        nominal_kn=10.0,
        fake=[(at(3), at(3) + 600, 11.5, 107.0)],
    )
    vessels.append(ScriptedVessel(574_001_007, "MEKONG STAR", "VNM", 70, 110, "A", land))
    truth.append(TruthEvent("spoofing", 574_001_007, when(3), when(3.17), note="on land"))

    # Spoofing 3: an 8-digit MMSI, not a valid ship station.
    u0 = (5.5, 110.0)
    invalid = ScriptedMotion([(at(0), *u0), (at(4), *_move(*u0, 90.0, 24.0))], nominal_kn=6.0)
    vessels.append(ScriptedVessel(12_345_678, "", "", 30, 18, "B", invalid, send_static=False))
    truth.append(TruthEvent("spoofing", 12_345_678, when(0), when(4), note="invalid MMSI"))

    # Spoofing 4: two transmitters with one MMSI, 40 nm apart, for an hour.
    k0 = (7.0, 110.0)
    first = ScriptedMotion([(at(2), *k0), (at(7), *_move(*k0, 0.0, 50.0))], nominal_kn=10.0)
    k1 = (7.5, 110.5)
    second = ScriptedMotion([(at(4), *k1), (at(5), *_move(*k1, 180.0, 10.0))], nominal_kn=10.0)
    vessels.append(ScriptedVessel(533_001_008, "KOTA MAS", "MYS", 70, 170, "A", first))
    vessels.append(
        ScriptedVessel(533_001_008, "KOTA MAS", "MYS", 70, 170, "A", second, send_static=False)
    )
    truth.append(TruthEvent("spoofing", 533_001_008, when(4), when(5), note="duplicate MMSI"))

    # Piracy-like approach: an unidentified fast craft closes from 4 nm abeam at ~18 kn,
    # shadows a container ship at 0.3 nm for 30 min, then breaks away.
    w0 = (4.2, 105.7)
    course, speed = 40.0, 14.0

    def ship(hours: float) -> tuple[float, float]:
        return _move(*w0, course, speed * hours)

    merchant = ScriptedMotion([(at(0), *w0), (at(6), *ship(6))], nominal_kn=speed)
    craft = ScriptedMotion(
        [
            (at(3.0), *_move(*ship(3.0), course + 90, 4.0)),
            (at(3.2), *_move(*ship(3.2), course + 90, 0.3)),
            (at(3.7), *_move(*ship(3.7), course + 90, 0.3)),
            (at(4.0), *_move(*ship(4.0), course + 120, 5.0)),
        ],
        nominal_kn=20.0,
    )
    vessels.append(ScriptedVessel(352_001_009, "PACIFIC GRACE", "PAN", 71, 300, "A", merchant))
    vessels.append(ScriptedVessel(574_990_010, "", "VNM", 0, 9, "B", craft, send_static=False))
    truth.append(TruthEvent("approach", 574_990_010, when(3.15), when(3.7), other_mmsi=352_001_009))
    # Every vessel but the second transmitter sails on to the end of the script, so none
    # vanishes offshore (which would rightly raise an overdue dark-vessel alert).
    end = at(SCRIPT_HOURS)
    for v in vessels:
        if v.motion is not second:
            _sail_on(v.motion, end)
    return vessels, truth


def _sail_on(motion: ScriptedMotion, until: float) -> None:
    (t0, lat0, lon0), (t1, lat1, lon1) = motion.waypoints[-2], motion.waypoints[-1]
    if t1 >= until:
        return
    f = (until - t1) / (t1 - t0)
    motion.waypoints.append((until, lat1 + (lat1 - lat0) * f, lon1 + (lon1 - lon0) * f))


@dataclass
class Score:
    """Detector performance against the script, per kind and overall."""

    recall: float
    precision: float
    matched: list[TruthEvent]
    missed: list[TruthEvent]
    false_alarms: list[dict[str, Any]]
    per_kind: dict[str, tuple[int, int, int]]  # kind: (truth, found, false alarms)

    def table(self) -> str:
        """A plain-text table for test output and the exercise report."""
        lines = [f"{'kind':<12} {'truth':>5} {'found':>5} {'false':>5}"]
        for kind, (n, found, false) in sorted(self.per_kind.items()):
            lines.append(f"{kind:<12} {n:>5} {found:>5} {false:>5}")
        lines.append(f"recall {self.recall:.3f}  precision {self.precision:.3f}")
        return "\n".join(lines)


def _matches(event: dict[str, Any], truth: TruthEvent, slack: timedelta) -> bool:
    if event["kind"] != truth.kind:
        return False
    pair = {event["mmsi"], event.get("other_mmsi")}
    if truth.other_mmsi is not None:
        if pair != {truth.mmsi, truth.other_mmsi}:
            return False
    elif event["mmsi"] != truth.mmsi:
        return False
    if truth.zone is not None and event.get("zone") != truth.zone:
        return False
    start = datetime.fromisoformat(event["start"].replace("Z", "+00:00"))
    end_text = event.get("end") or event["start"]
    end = datetime.fromisoformat(end_text.replace("Z", "+00:00"))
    return start <= truth.end + slack and end >= truth.start - slack


def score(
    events: list[dict[str, Any]],
    truth: list[TruthEvent],
    *,
    slack: timedelta = timedelta(minutes=30),
    only_mmsis: set[int] | None = None,
) -> Score:
    """Recall (truth events found) and precision (detected events that are true).

    ``events`` are detector events as JSON objects. ``only_mmsis`` limits precision to
    events involving those vessels (a run on top of real traffic); None counts every event.
    """
    counted = [
        e
        for e in events
        if only_mmsis is None or e["mmsi"] in only_mmsis or e.get("other_mmsi") in only_mmsis
    ]
    matched = [t for t in truth if any(_matches(e, t, slack) for e in counted)]
    missed = [t for t in truth if t not in matched]
    true_events = [e for e in counted if any(_matches(e, t, slack) for t in truth)]
    false_alarms = [e for e in counted if e not in true_events]
    per_kind: dict[str, tuple[int, int, int]] = {}
    kinds = {t.kind for t in truth} | {e["kind"] for e in counted}
    for kind in kinds:
        per_kind[kind] = (
            sum(t.kind == kind for t in truth),
            sum(t.kind == kind for t in matched),
            sum(e["kind"] == kind for e in false_alarms),
        )
    recall = len(matched) / len(truth) if truth else 1.0
    precision = len(true_events) / len(counted) if counted else 1.0
    return Score(recall, precision, matched, missed, false_alarms, per_kind)
