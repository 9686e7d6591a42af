"""The South China Sea scenario: deterministic, at sea, decodable, on the AIS timetable."""

from __future__ import annotations

import itertools
import re
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from functools import reduce
from pathlib import Path

import numpy as np
import pytest
from global_land_mask import globe
from pyais import decode

from jointwatch.exercise.fleet import build_fleet
from jointwatch.exercise.geography import LANES, PATROL_BOXES
from jointwatch.exercise.identity import is_valid_imo
from jointwatch.exercise.motion import Polyline
from jointwatch.exercise.scenario import Scenario, write_scenario_file

END = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
START = END - timedelta(minutes=40)
TAG = re.compile(r"^\\(c:(\d+),s:(rx-[a-z]+))\*([0-9A-F]{2})\\(!AIVDM,.*)$")


@pytest.fixture(scope="module")
def lines() -> list[tuple[float, str]]:
    return list(Scenario(seed=7, vessels=200).sentences(START, END))


@pytest.fixture(scope="module")
def decoded(lines: list[tuple[float, str]]) -> list[tuple[int, str, dict]]:  # type: ignore[type-arg]
    """(time, station, decoded fields) per message; multi-part messages joined."""
    out = []
    parts: dict[tuple[str, str], list[bytes]] = {}
    for _, line in lines:
        match = TAG.match(line)
        assert match, line
        body, c, station, checksum, sentence = match.groups()
        assert int(checksum, 16) == reduce(lambda a, ch: a ^ ord(ch), body, 0)
        fields = sentence.split(",")
        if fields[1] == "1":
            out.append((int(c), station, decode(sentence.encode()).asdict()))
            continue
        key = (station, fields[3])
        parts.setdefault(key, []).append(sentence.encode())
        if fields[2] == fields[1]:
            out.append((int(c), station, decode(*parts.pop(key)).asdict()))
    assert not parts
    return out


def _sample(waypoints: tuple[tuple[float, float], ...], step_km: float = 5.0) -> np.ndarray:
    pts = []
    for (a, b), (c, d) in itertools.pairwise(waypoints):
        km = np.hypot((c - a) * 111.2, (d - b) * 111.2 * np.cos(np.radians((a + c) / 2)))
        t = np.linspace(0.0, 1.0, max(2, int(km / step_km) + 2))
        pts.append(np.stack([a + (c - a) * t, b + (d - b) * t], axis=1))
    return np.concatenate(pts)


@pytest.mark.parametrize("lane", LANES, ids=lambda lane: lane.name)
def test_every_lane_segment_stays_at_sea_sampled_every_5_km(lane) -> None:  # type: ignore[no-untyped-def]
    pts = _sample(lane.waypoints)
    on_land = globe.is_land(pts[:, 0], pts[:, 1])
    assert not on_land.any(), f"{lane.name} crosses land at {pts[on_land][:3].tolist()}"
    assert Polyline(lane.waypoints).length_nm > 300


def test_patrol_boxes_are_at_sea() -> None:
    for _, _, _, south, west, north, east in PATROL_BOXES:
        pts = _sample(((south, west), (north, west), (north, east), (south, east), (south, west)))
        assert not globe.is_land(pts[:, 0], pts[:, 1]).any()


def test_fixed_seed_gives_identical_output_and_windows_join_seamlessly(
    lines: list[tuple[float, str]],
) -> None:
    middle = START + timedelta(minutes=17, seconds=13)
    again = Scenario(seed=7, vessels=200)
    split = list(again.sentences(START, middle)) + list(again.sentences(middle, END))
    assert split == lines
    other = list(Scenario(seed=8, vessels=200).sentences(START, START + timedelta(minutes=1)))
    assert [ln for _, ln in other] != [ln for _, ln in lines[: len(other)]]


def test_sentences_are_time_ordered_inside_the_window(lines: list[tuple[float, str]]) -> None:
    times = [t for t, _ in lines]
    assert times == sorted(times)
    assert START.timestamp() <= times[0] and times[-1] < END.timestamp()
    assert 50_000 < len(lines) < 120_000


def test_every_position_is_at_sea(decoded) -> None:  # type: ignore[no-untyped-def]
    pos = np.array([(m["lat"], m["lon"]) for _, _, m in decoded if m["msg_type"] in (1, 18)])
    on_land = globe.is_land(pos[:, 0], pos[:, 1])
    assert not on_land.any(), pos[on_land][:5].tolist()
    assert (pos[:, 0] > 0).all() and (pos[:, 0] < 23).all()
    assert (pos[:, 1] > 100).all() and (pos[:, 1] < 121).all()


def test_all_messages_decode_with_the_expected_mix(decoded) -> None:  # type: ignore[no-untyped-def]
    types = Counter(m["msg_type"] for _, _, m in decoded)
    assert set(types) == {1, 5, 18, 24}
    assert types[1] > types[18] > types[5]
    stations = Counter(s for _, s, _ in decoded)
    assert {"rx-spore", "rx-vungtau", "rx-danang", "rx-manila"} <= set(stations)
    mmsis = {m["mmsi"] for _, _, m in decoded}
    assert len(mmsis) == 200


def test_reporting_intervals_follow_the_ais_standard(decoded) -> None:  # type: ignore[no-untyped-def]
    fleet = {v.mmsi: v for v in build_fleet(7, 200)}
    times: dict[int, list[tuple[int, bool]]] = defaultdict(list)
    for t, _, m in decoded:
        if m["msg_type"] in (1, 18):
            times[m["mmsi"]].append((t, m["msg_type"] == 1 and m["status"] == 1))
    checked = Counter()
    for mmsi, reports in times.items():
        vessel = fleet[mmsi]
        gaps = {b - a for (a, anc_a), (b, anc_b) in itertools.pairwise(reports) if anc_a == anc_b}
        anchored = all(anc for _, anc in reports)
        if vessel.ais_class == "B":
            expected = {30}
        elif anchored:
            expected = {180}
        elif not any(anc for _, anc in reports):
            speed = vessel.motion.nominal_kn
            expected = {10 if speed < 14 else 6 if speed <= 23 else 2}
        else:
            continue
        assert gaps == expected, (vessel.name, vessel.role, gaps, expected)
        checked[min(expected)] += 1
    assert checked[30] and checked[10] and checked[6] and checked[180]


def test_static_reports_every_six_minutes_with_valid_identities(decoded) -> None:  # type: ignore[no-untyped-def]
    merchants = {v.mmsi for v in build_fleet(7, 200) if v.role == "merchant"}
    statics: dict[int, list[int]] = defaultdict(list)
    for t, _, m in decoded:
        if m["msg_type"] == 5:
            statics[m["mmsi"]].append(t)
            if m["imo"]:
                assert is_valid_imo(m["imo"]), m
            assert m["callsign"] and (m["destination"] or m["mmsi"] not in merchants)
        if m["msg_type"] == 24 and m["partno"] == 0:
            statics[m["mmsi"]].append(t)
    for t_list in statics.values():
        assert {b - a for a, b in itertools.pairwise(t_list)} <= {360}
    assert all(len(t) >= 6 for t in statics.values())


def test_two_part_type_5_rotates_sequence_ids_and_channels(lines) -> None:  # type: ignore[no-untyped-def]
    first_parts = [ln.split("\\")[2].split(",") for _, ln in lines if ",2,1," in ln]
    assert len({f[3] for f in first_parts}) == 10
    channels = Counter(ln.split("\\")[2].split(",")[4] for _, ln in lines)
    assert 0.4 < channels["A"] / (channels["A"] + channels["B"]) < 0.6


def test_fleet_has_realistic_flags_roles_and_ship_types() -> None:
    fleet = build_fleet(7, 200)
    flags = Counter(v.flag for v in fleet)
    assert {"VNM", "USA", "CHN", "PHL", "SGP", "PAN", "LBR", "MHL", "HKG"} <= set(flags)
    assert all(str(v.mmsi)[:3] in {"574"} for v in fleet if v.flag == "VNM")
    assert all(
        v.mmsi // 1_000_000 == 338 or 366 <= v.mmsi // 1_000_000 <= 369
        for v in fleet
        if v.flag == "USA"
    )
    roles = Counter(v.role for v in fleet)
    assert 100 <= roles["merchant"] <= 140 and 50 <= roles["fishing"] <= 70
    assert roles["patrol"] == 4 and roles["tug"] and roles["sar"]
    types = {v.ship_type for v in fleet if v.role == "patrol"}
    assert types == {35, 55}
    assert any(v.ais_class == "B" for v in fleet if v.role == "fishing")
    assert {v.flag for v in fleet if v.role == "fishing"} == {"VNM", "CHN"}
    assert len({v.mmsi for v in fleet}) == 200
    assert all(is_valid_imo(v.imo) for v in fleet if v.role == "merchant")
    assert all(len(v.name) <= 20 and len(v.callsign) <= 7 for v in fleet)


def test_write_scenario_file_plain_and_gzip(tmp_path: Path) -> None:
    plain, packed = tmp_path / "s.nmea", tmp_path / "s.nmea.gz"
    n1 = write_scenario_file(plain, hours=0.05, seed=3, vessels=40, end=END)
    n2 = write_scenario_file(packed, hours=0.05, seed=3, vessels=40, end=END)
    assert n1 == n2 > 500
    assert packed.read_bytes()[:2] == b"\x1f\x8b"
    assert len(plain.read_text().splitlines()) == n1


def test_every_vessel_stays_at_sea_over_its_whole_cycle() -> None:
    """Beyond the NMEA window: sample each track over days (lanes, anchorages, offsets)."""
    t = np.linspace(0.0, 12 * 86_400.0, 20_000)
    for vessel in build_fleet(7, 200):
        state = vessel.motion.state(t)
        on_land = globe.is_land(state.lat, state.lon)
        assert not on_land.any(), (
            vessel.name,
            vessel.role,
            state.lat[on_land][:1],
            state.lon[on_land][:1],
        )
