"""The scenario's fleet: who sails where, built from one seed.

Why a seed: an exercise director reruns the same scenario for each partner and scores both
runs against the same ground truth, so the fleet (identities, routes, timings) must be
identical for identical ``(seed, vessels)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from jointwatch.exercise.geography import (
    FISHING_GROUNDS,
    LANES,
    PATROL_BOXES,
    PORTS,
    TUG_AREAS,
    Lane,
)
from jointwatch.exercise.identity import (
    callsign_for,
    fishing_name,
    imo_with_check_digit,
    merchant_name,
    mmsi_for,
)
from jointwatch.exercise.motion import (
    HoldMotion,
    LaneMotion,
    LoopMotion,
    Motion,
    OrbitMotion,
    Polyline,
)

__all__ = ["Vessel", "build_fleet", "report_interval_s"]

#: Merchant flags and their share of the traffic (open registries dominate, as in reality).
_MERCHANT_FLAGS = {
    "PAN": 0.20,
    "LBR": 0.14,
    "MHL": 0.10,
    "SGP": 0.12,
    "HKG": 0.10,
    "CHN": 0.10,
    "VNM": 0.08,
    "MYS": 0.04,
    "IDN": 0.03,
    "THA": 0.03,
    "PHL": 0.06,
}

#: Merchant categories: (ship type, speed kn, length m, beam m, draught m) ranges, share.
_MERCHANT_KINDS = (
    ("container", (70, 79), (16.0, 23.8), (170, 370), (25, 51), (9.0, 14.5), 0.30),
    ("bulk", (70, 70), (11.0, 14.0), (180, 300), (30, 50), (10.0, 17.0), 0.25),
    ("tanker", (80, 84), (12.0, 15.0), (180, 330), (32, 58), (10.0, 19.0), 0.25),
    ("general", (70, 70), (10.0, 13.0), (90, 150), (15, 24), (5.0, 9.0), 0.20),
)

ANCHORED_INTERVAL_S = 180
STATIC_INTERVAL_S = 360
CLASS_B_INTERVAL_S = 30


def report_interval_s(ais_class: str, speed_kn: float) -> int:
    """Position report interval under way (ITU-R M.1371): class A by speed, class B 30 s."""
    if ais_class == "B":
        return CLASS_B_INTERVAL_S
    if speed_kn < 14.0:
        return 10
    if speed_kn <= 23.0:
        return 6
    return 2


@dataclass
class Vessel:
    """One scenario vessel: identity, static data and how it moves."""

    index: int
    role: str
    flag: str
    mmsi: int
    name: str
    callsign: str
    imo: int
    ship_type: int
    length_m: int
    beam_m: int
    draught_m: float
    ais_class: str
    motion: Motion
    nav_status: int
    report_phase_s: int
    static_phase_s: int
    destination: str = ""
    lane: Lane | None = None
    dest_style: int = 0
    send_static: bool = True

    @property
    def interval_s(self) -> int:
        """Reporting interval while under way."""
        return report_interval_s(self.ais_class, self.motion.nominal_kn)

    def destination_at(self, t: float) -> tuple[str, float | None]:
        """(AIS destination text, ETA as UNIX time or None) at time ``t``."""
        motion = self.motion
        if self.lane is None or not isinstance(motion, LaneMotion):
            return self.destination, None
        u = float(motion.phase(np.array([t]))[0])
        leg, dwell = motion.leg_s, motion.dwell_s
        if u < leg + dwell:
            port, eta = self.lane.destination, t + max(0.0, leg - u)
        else:
            port, eta = self.lane.origin, t + max(0.0, 2 * leg + dwell - u)
        names = PORTS[port].destinations
        return names[self.dest_style % len(names)], eta


def _uniform(rng: np.random.Generator, span: tuple[float, float]) -> float:
    return float(rng.uniform(span[0], span[1]))


def _choice(rng: np.random.Generator, weights: dict[str, float]) -> str:
    keys = list(weights)
    p = np.array([weights[k] for k in keys])
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


class _Builder:
    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.taken: set[int] = set()
        self.vessels: list[Vessel] = []
        self.lines = {lane.name: Polyline(lane.waypoints) for lane in LANES}

    def add(
        self,
        role: str,
        flag: str,
        name: str,
        motion: Motion,
        *,
        ship_type: int,
        length_m: float,
        beam_m: float,
        draught_m: float,
        ais_class: str = "A",
        imo: int = 0,
        nav_status: int = 0,
        destination: str = "",
        lane: Lane | None = None,
    ) -> None:
        rng = self.rng
        self.vessels.append(
            Vessel(
                index=len(self.vessels),
                role=role,
                flag=flag,
                mmsi=mmsi_for(flag, rng, self.taken),
                name=name,
                callsign=callsign_for(flag, rng),
                imo=imo,
                ship_type=ship_type,
                length_m=round(length_m),
                beam_m=round(beam_m),
                draught_m=round(draught_m, 1),
                ais_class=ais_class,
                motion=motion,
                nav_status=nav_status,
                report_phase_s=int(rng.integers(0, 180)),
                static_phase_s=int(rng.integers(0, STATIC_INTERVAL_S)),
                destination=destination,
                lane=lane,
                dest_style=int(rng.integers(0, 4)),
            )
        )

    def merchant(self) -> None:
        rng = self.rng
        lane = LANES[
            int(
                rng.choice(
                    len(LANES),
                    p=np.array([ln.weight for ln in LANES]) / sum(ln.weight for ln in LANES),
                )
            )
        ]
        flag = (
            "VNM"
            if lane.origin == "vungtau" and rng.random() < 0.7
            else _choice(rng, _MERCHANT_FLAGS)
        )
        weights = np.array([k[-1] for k in _MERCHANT_KINDS])
        kind = _MERCHANT_KINDS[int(rng.choice(len(_MERCHANT_KINDS), p=weights / weights.sum()))]
        _, types, speed, length, beam, draught, _ = kind
        speed_kn = _uniform(rng, speed)
        line = self.lines[lane.name]
        radius_nm = float(rng.uniform(0.2, 1.2))
        angle = float(rng.uniform(0, 2 * math.pi))
        lat = line.lat[0]
        motion = LaneMotion(
            line=line,
            nominal_kn=speed_kn,
            dwell_s=float(rng.uniform(1, 8)) * 3600,
            phase_s=float(rng.uniform(0, 1e7)),
            offset_nm=float(rng.uniform(0.3, 1.5)),
            anchor_dlat=radius_nm * math.sin(angle) / 60,
            anchor_dlon=radius_nm * math.cos(angle) / (60 * math.cos(math.radians(lat))),
            key=float(rng.uniform(0, 1000)),
        )
        self.add(
            "merchant",
            flag,
            merchant_name(flag, rng),
            motion,
            ship_type=int(rng.integers(types[0], types[1] + 1)),
            length_m=_uniform(rng, length),
            beam_m=_uniform(rng, beam),
            draught_m=_uniform(rng, draught),
            imo=imo_with_check_digit(int(rng.integers(910_000, 989_999))),
            lane=lane,
        )

    def orbit(self, lat0: float, lon0: float, radius_nm: float, speed_kn: float) -> OrbitMotion:
        rng = self.rng
        amp_n = radius_nm * float(rng.uniform(0.3, 0.6))
        amp_e = radius_nm * float(rng.uniform(0.3, 0.6))
        centre_r = radius_nm * float(rng.uniform(0, 0.35))
        angle = float(rng.uniform(0, 2 * math.pi))
        lat = lat0 + centre_r * math.sin(angle) / 60
        lon = lon0 + centre_r * math.cos(angle) / (60 * math.cos(math.radians(lat0)))
        w = speed_kn / 3600.0 / max(amp_n, amp_e)
        return OrbitMotion(
            lat,
            lon,
            amp_n,
            amp_e,
            w,
            w * float(rng.uniform(0.6, 1.4)),
            float(rng.uniform(0, 2 * math.pi)),
            float(rng.uniform(0, 2 * math.pi)),
            nominal_kn=speed_kn * 0.7,
        )

    def fishing(self) -> None:
        rng = self.rng
        _, flag, lat0, lon0, radius = FISHING_GROUNDS[int(rng.integers(len(FISHING_GROUNDS)))]
        ais_class = "B" if rng.random() < 0.45 else "A"
        length = float(rng.uniform(12, 25) if ais_class == "B" else rng.uniform(20, 45))
        self.add(
            "fishing",
            flag,
            fishing_name(flag, rng),
            self.orbit(lat0, lon0, radius, float(rng.uniform(4.0, 7.0))),  # trawls at 3-5 kn
            ship_type=30,
            length_m=length,
            beam_m=length / float(rng.uniform(3.5, 5)),
            draught_m=float(rng.uniform(1.5, 4.0)),
            ais_class=ais_class,
            nav_status=7,
        )

    def patrol(self, box: tuple[str, str, int, float, float, float, float], n: int) -> None:
        rng = self.rng
        name, flag, ship_type, south, west, north, east = box
        ring = Polyline(((south, west), (north, west), (north, east), (south, east), (south, west)))
        motion = LoopMotion(
            ring,
            float(rng.uniform(12, 16)),
            float(rng.uniform(0, 1e6)),
            float(rng.uniform(0, 1000)),
        )
        names = {"VNM": f"CSB {8001 + n}", "USA": f"US WARSHIP {100 + n}", "PHL": f"PCG {9701 + n}"}
        size = (120.0, 14.0, 4.5) if flag == "VNM" else (155.0, 20.0, 9.0)
        self.add(
            "patrol",
            flag,
            names.get(flag, name.upper()),
            motion,
            ship_type=ship_type,
            length_m=size[0],
            beam_m=size[1],
            draught_m=size[2],
            destination="PATROL",
        )

    def harbour(self, n: int) -> None:
        rng = self.rng
        area, flag, lat0, lon0, radius = TUG_AREAS[n % len(TUG_AREAS)]
        if n % 3 == 2:
            # Each at its own mooring, a few hundred metres to a mile from the area's centre.
            moor_lat = lat0 + float(rng.uniform(-0.015, 0.015))
            moor_lon = lon0 + float(rng.uniform(-0.015, 0.015))
            motion: Motion = HoldMotion(moor_lat, moor_lon, float(rng.uniform(0, 1000)))
            self.add(
                "sar",
                flag,
                f"SAR {270 + n}",
                motion,
                ship_type=51,
                length_m=42,
                beam_m=8,
                draught_m=2.5,
                nav_status=1,
                destination="STANDBY",
            )
        else:
            self.add(
                "tug",
                flag,
                f"{area.split('-')[0].upper()[:10]} TUG {n + 1:02d}",
                self.orbit(lat0, lon0, radius, float(rng.uniform(5, 9))),
                ship_type=52,
                length_m=float(rng.uniform(28, 40)),
                beam_m=float(rng.uniform(9, 12)),
                draught_m=4.5,
            )


def build_fleet(seed: int = 7, vessels: int = 200) -> list[Vessel]:
    """The scenario's vessels: ~60% merchant traffic, ~30% fishing, patrols, tugs and SAR."""
    if vessels < 1:
        raise ValueError("a scenario needs at least one vessel")
    builder = _Builder(seed)
    special = min(len(PATROL_BOXES) + 9, vessels // 5)
    fishing = round(vessels * 0.3)
    merchants = vessels - special - fishing
    for _ in range(merchants):
        builder.merchant()
    for _ in range(fishing):
        builder.fishing()
    for n in range(special):
        if n < len(PATROL_BOXES):
            builder.patrol(PATROL_BOXES[n], n)
        else:
            builder.harbour(n - len(PATROL_BOXES))
    return builder.vessels
