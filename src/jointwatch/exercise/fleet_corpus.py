"""A reproducible corpus of a fleet at sea: the same type mix as ``corpus_sentences``, but
each message comes from one of a fixed set of vessels that sail straight, plausible tracks.

Why a second corpus: ``corpus_sentences`` draws every message from a fresh random vessel at
a random place on Earth. That is what a decoder needs (every value reachable), but no feed
looks like it: end to end it makes almost every message a new vessel and almost every
vessel an impossible jump, so an ingest benchmark on it measures an alert storm, not
traffic. Here a few thousand vessels report every few seconds, class A ships send their
static data, base stations and aids to navigation stay put, and a small share of glitches
(no position, a jump to 0°N 0°E) keeps the decoder's edge paths and the spoofing detector
honest.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

from jointwatch.ais.corpus import random_fields, traffic_mix
from jointwatch.ais.encode import encode_message
from jointwatch.exercise.identity import FLAG_MIDS

__all__ = ["FLEET_BOX", "fleet_sentences"]

#: (min lat, max lat, min lon, max lon): the South China Sea and the Gulf of Thailand.
FLEET_BOX = (2.0, 22.0, 103.0, 121.0)

_GRID_DEG = 0.01
_CLASS_OF_TYPE = {1: "A", 2: "A", 3: "A", 5: "A", 27: "A", 18: "B", 24: "B", 4: "base", 21: "aton"}
_SHARE = {"A": 0.7, "B": 0.28, "base": 0.004, "aton": 0.016}  # of the fleet's members


@dataclass
class _Member:
    """One transmitter: where it was at ``t0`` and how it moves from there."""

    mmsi: int
    lat: float
    lon: float
    sog_kn: float
    cog_deg: float
    t0: float
    static: dict[str, dict[str, Any]] = field(default_factory=dict)

    def at(self, t: float, is_land: Any) -> tuple[float, float]:
        """Position at ``t`` (dead reckoning); a track that would cross land turns round."""
        dist_deg = self.sog_kn * (t - self.t0) / 3600.0 / 60.0
        rad = math.radians(self.cog_deg)
        lat = self.lat + dist_deg * math.cos(rad)
        lon = self.lon + dist_deg * math.sin(rad) / math.cos(math.radians(self.lat))
        if dist_deg and is_land(lat, lon):
            self.cog_deg = (self.cog_deg + 180.0) % 360.0
            return self.lat, self.lon  # stays at its last fix while it turns
        self.lat, self.lon, self.t0 = lat, lon, t
        return lat, lon


def _land_test() -> Any:
    """Land, or outside ``FLEET_BOX``, on a 0.01° grid of the land mask (looked up once for
    the whole box: one scalar query of the mask costs about 0.1 ms)."""
    import numpy as np
    from global_land_mask import globe

    lat0, lat1, lon0, lon1 = FLEET_BOX
    lats = np.arange(lat0, lat1, _GRID_DEG)
    lons = np.arange(lon0, lon1, _GRID_DEG)
    grid = globe.is_land(*np.meshgrid(lats, lons, indexing="ij")).tolist()

    def is_land(lat: float, lon: float) -> bool:
        if not (lat0 <= lat < lat1 and lon0 <= lon < lon1):
            return True  # the fleet stays in its sea
        row = min(int((lat - lat0) / _GRID_DEG), len(grid) - 1)
        return bool(grid[row][min(int((lon - lon0) / _GRID_DEG), len(grid[0]) - 1)])

    return is_land


def _fleet(
    rng: random.Random, vessels: int, start_s: float, is_land: Any
) -> dict[str, list[_Member]]:
    mids = sorted({mid for flag_mids in FLAG_MIDS.values() for mid in flag_mids})
    taken: set[int] = set()
    mmsis: list[int] = []
    while len(mmsis) < vessels:  # ship MMSIs under the flags of the region's traffic
        mmsi = rng.choice(mids) * 1_000_000 + rng.randrange(1_000, 1_000_000)
        if mmsi not in taken:
            taken.add(mmsi)
            mmsis.append(mmsi)
    lat0, lat1, lon0, lon1 = FLEET_BOX
    members: dict[str, list[_Member]] = {kind: [] for kind in _SHARE}
    kinds = list(_SHARE)
    for index, mmsi in enumerate(mmsis):
        kind = rng.choices(kinds, list(_SHARE.values()))[0]
        if kind == "base":
            mmsi = 5_740_000 + index % 10_000  # base stations are 00MIDxxxx
        elif kind == "aton":
            mmsi = 995_740_000 + index % 10_000  # aids to navigation are 99MIDxxxx
        while True:
            lat, lon = rng.uniform(lat0, lat1), rng.uniform(lon0, lon1)
            if not is_land(lat, lon):
                break
        roll = rng.random()
        if kind in ("base", "aton") or roll < 0.2:
            sog = 0.0 if kind in ("base", "aton") else round(rng.uniform(0.0, 0.4), 1)
        elif roll < 0.35:
            sog = round(rng.uniform(2.0, 8.0), 1)  # fishing, working
        else:
            sog = round(rng.uniform(8.0, 22.0), 1)  # under way
        members[kind].append(_Member(mmsi, lat, lon, sog, round(rng.uniform(0, 359.9), 1), start_s))
    for kind in kinds:  # a tiny fleet still has one member of each kind
        if not members[kind]:
            mmsi = 990_000_000 + kinds.index(kind)
            members[kind].append(_Member(mmsi, 10.0, 112.0, 0.0, 0.0, start_s))
    return members


def _fields(
    msg_type: int, member: _Member, t: float, rng: random.Random, edge_rate: float, is_land: Any
) -> dict[str, Any]:
    fields = random_fields(msg_type, rng, edge_rate)
    fields["mmsi"] = member.mmsi
    if msg_type in (5, 24):
        # Static data is the vessel's own and does not change from one report to the next.
        key = f"{msg_type}:{fields.get('partno', 0)}"
        if key not in member.static:
            member.static[key] = fields
        return member.static[key]
    lat, lon = member.at(t, is_land)
    roll = rng.random()
    if roll < edge_rate / 2:
        lat, lon = 91.0, 181.0  # position not available
    elif roll < edge_rate:
        lat, lon = 0.0, 0.0  # the classic receiver glitch
    fields["lat"], fields["lon"] = round(lat, 5), round(lon, 5)
    if msg_type in (1, 2, 3, 18, 19):
        fields["speed"] = member.sog_kn
        fields["course"] = member.cog_deg
        fields["heading"] = int(member.cog_deg) % 360
    elif msg_type == 27:
        fields["speed"] = min(63, round(member.sog_kn))
        fields["course"] = round(member.cog_deg) % 360
    return fields


def fleet_sentences(
    n_sentences: int,
    seed: int = 1,
    *,
    vessels: int = 5000,
    rate_per_s: float = 400.0,
    start_s: float = 1_764_000_000.0,
    edge_rate: float = 0.002,
) -> list[tuple[int, str]]:
    """About ``n_sentences`` ``(receive second, sentence)`` pairs from ``vessels``
    transmitters, ``rate_per_s`` messages a second, deterministic for a given seed.

    The default is a busy regional feed: 5,000 transmitters each heard every ~12 s.
    """
    if vessels < 4 or rate_per_s <= 0:
        raise ValueError("a fleet needs at least 4 members and a positive rate")
    rng = random.Random(seed)
    is_land = _land_test()
    members = _fleet(rng, vessels, start_s, is_land)
    types = [t for t, _ in traffic_mix]
    weights = [w for _, w in traffic_mix]
    out: list[tuple[int, str]] = []
    seq = 0
    index = 0
    while len(out) < n_sentences:
        t = start_s + index / rate_per_s
        index += 1
        msg_type = rng.choices(types, weights)[0]
        member = rng.choice(members[_CLASS_OF_TYPE[msg_type]])
        fields = _fields(msg_type, member, t, rng, edge_rate, is_land)
        seq = (seq + 1) % 10
        channel = "A" if rng.random() < 0.5 else "B"
        second = int(t)
        out.extend((second, s) for s in encode_message(fields, radio_channel=channel, seq_id=seq))
    return out
