"""The fleet corpus (benchmarks' B1/B2 traffic): deterministic, the stated type mix, and
tracks a vessel could really sail, so that an end-to-end benchmark on it measures traffic
and not an alert storm."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from itertools import pairwise

from pyais import decode

from jointwatch.ais.corpus import traffic_mix
from jointwatch.exercise.fleet_corpus import FLEET_BOX, fleet_sentences
from jointwatch.geo.distance import haversine_m

N = 6_000


def _messages(seed: int) -> list[tuple[int, object]]:
    out = []
    pending: list[str] = []
    for second, sentence in fleet_sentences(N, seed=seed, vessels=300, rate_per_s=25.0):
        fields = sentence.split(",")
        pending.append(sentence)
        if fields[1] == fields[2]:
            out.append((second, decode(*pending)))
            pending = []
    return out


def test_same_seed_same_sentences_other_seed_other_sentences() -> None:
    a = fleet_sentences(500, seed=3, vessels=50)
    assert a == fleet_sentences(500, seed=3, vessels=50)
    assert a != fleet_sentences(500, seed=4, vessels=50)


def test_type_mix_fleet_size_and_sea_tracks() -> None:
    messages = _messages(seed=9)
    kinds = Counter(m.msg_type for _, m in messages)  # type: ignore[attr-defined]
    for msg_type, weight in traffic_mix:
        share = kinds[msg_type] / len(messages)
        assert abs(share - weight) < 0.03 + weight * 0.3, (msg_type, share, weight)
    mmsis = {m.mmsi for _, m in messages}  # type: ignore[attr-defined]
    assert 150 <= len(mmsis) <= 310  # every message comes from the fleet
    tracks: dict[int, list[tuple[int, float, float]]] = defaultdict(list)
    lat0, lat1, lon0, lon1 = FLEET_BOX
    glitches = 0
    for second, m in messages:
        if m.msg_type not in (1, 2, 3, 18):  # type: ignore[attr-defined]
            continue
        lat, lon = m.lat, m.lon  # type: ignore[attr-defined]
        if (lat, lon) in ((0.0, 0.0), (91.0, 181.0)):
            glitches += 1
            continue
        assert lat0 <= lat <= lat1 and lon0 <= lon <= lon1
        tracks[m.mmsi].append((second, lat, lon))  # type: ignore[attr-defined]
    assert glitches < len(messages) * 0.01
    # Between two fixes a vessel moves no faster than the fastest ship of the fleet (22 kn,
    # plus a second of TAG rounding and 1e-5° of position rounding).
    for fixes in tracks.values():
        for (t1, a1, o1), (t2, a2, o2) in pairwise(fixes):
            metres = float(haversine_m(a1, o1, a2, o2))
            assert metres <= 22 * 1852 / 3600 * (t2 - t1 + 1) + 5, (fixes[0], metres)
    assert math.isclose(len(tracks), len(mmsis), rel_tol=0.4)
