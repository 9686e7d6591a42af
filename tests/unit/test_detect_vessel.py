"""Per-vessel detectors of the engine: ais_gap, loitering, spoofing and zone crossings.

Each behaviour is tested with a positive case and near misses that differ from it in one
respect (silence length, distance to shore, speed, duration...). Most tests run twice: in
one batch, and in small batches so the state carried between batches is exercised too.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from jointwatch.detect.params import DetectParams, GapParams
from jointwatch.geo.shore import shore_index
from jointwatch.geo.zones import zones_from_geojson
from tests.unit.detect_helpers import (
    MIN,
    OFFSHORE,
    VUNG_TAU,
    H,
    Report,
    clock,
    dist_nm,
    move,
    of_kind,
    positions,
    run,
    times,
    track,
)
from tests.unit.detect_helpers import (
    us as t_us,
)

CHUNKS = [pytest.param(None, id="one-batch"), pytest.param(3, id="batches-of-3")]


def _with(detector: str, **changes: float) -> DetectParams:
    """The default parameters with some of one detector's changed."""
    defaults = DetectParams()
    return replace(defaults, **{detector: replace(getattr(defaults, detector), **changes)})


# ---- ais_gap ---------------------------------------------------------------------------


def _dark_offshore(silence_h: float, origin: tuple[float, float] = OFFSHORE) -> list[Report]:
    """Steams 1 h, silent ``silence_h`` h, reappears 78 nm on and steams 1 h more."""
    p0 = origin
    p1 = move(*p0, 45.0, 12.0)
    p2 = move(*p1, 45.0, 78.0)
    p3 = move(*p2, 45.0, 12.0)
    back = H + silence_h * H
    return track(352_000_001, 0, H, 10 * MIN, p0, p1, sog=12.0) + track(
        352_000_001, back, back + H, 10 * MIN, p2, p3, sog=12.0
    )


@pytest.mark.parametrize("chunk", CHUNKS)
def test_gap_13h_offshore_is_one_event_with_both_ends(chunk: int | None) -> None:
    engine = run(_dark_offshore(13.0), chunk=chunk)
    gaps = of_kind(engine, "ais_gap")
    assert len(gaps) == 1
    gap = gaps[0]
    p1 = move(*OFFSHORE, 45.0, 12.0)
    p2 = move(*p1, 45.0, 78.0)
    assert gap.mmsi == 352_000_001
    assert (gap.start_us, gap.end_us) == (t_us(H), t_us(14 * H))
    assert (gap.lat, gap.lon) == pytest.approx(p1)
    d = gap.details
    assert (d["end_lat"], d["end_lon"]) == pytest.approx(p2, abs=1e-6)
    assert d["gap_h"] == pytest.approx(13.0)
    assert d["distance_nm"] == pytest.approx(dist_nm(p1, p2), abs=0.01)
    assert d["distance_nm"] == pytest.approx(78.0, rel=0.01)
    assert d["implied_speed_kn"] == pytest.approx(d["distance_nm"] / 13.0, abs=0.01)
    assert d["shore_nm"] >= 50.0
    assert d["overdue"] is False
    assert gap.to_json()["end"] == "2025-03-01T14:00:00Z"


@pytest.mark.parametrize("silence_h", [2.0, 11.5])
@pytest.mark.parametrize("chunk", CHUNKS)
def test_shorter_silence_offshore_is_not_a_gap(silence_h: float, chunk: int | None) -> None:
    reports = _dark_offshore(silence_h)
    assert of_kind(run(reports, chunk=chunk), "ais_gap") == []
    # Missed for the right reason: with a shorter threshold it is a gap.
    relaxed = _with("ais_gap", min_gap_h=silence_h - 0.5)
    assert len(of_kind(run(reports, params=relaxed, chunk=chunk), "ais_gap")) == 1


@pytest.mark.parametrize("chunk", CHUNKS)
def test_13h_silence_near_the_coast_is_not_a_gap(chunk: int | None) -> None:
    # Anchored 1.8 nm off Vung Tau, silent 13 h while other traffic keeps the clock going.
    reports = track(574_000_002, 0, H, 10 * MIN, VUNG_TAU, sog=0.0)
    reports += track(574_000_002, 14 * H, 15 * H, 10 * MIN, VUNG_TAU, sog=0.0)
    reports += [clock(t) for t in times(0, 15 * H, H)]
    assert shore_index().distance_m([VUNG_TAU[0]], [VUNG_TAU[1]])[0] < 5 * 1852
    assert of_kind(run(reports, chunk=chunk), "ais_gap") == []
    relaxed = _with("ais_gap", min_shore_nm=1.0)
    assert len(of_kind(run(reports, params=relaxed, chunk=chunk), "ais_gap")) == 1


def _overdue_scene() -> list[Report]:
    """A goes dark offshore at 1 h and reappears at 15 h; B steams all along offshore;
    C goes silent at 1 h near the coast and stays silent."""
    p1 = move(*OFFSHORE, 45.0, 12.0)
    reports = track(352_000_001, 0, H, 10 * MIN, OFFSHORE, p1, sog=12.0)
    reports += track(352_000_001, 15 * H, 15.5 * H, 10 * MIN, move(*p1, 45.0, 50.0), sog=12.0)
    b0 = (9.0, 111.0)
    reports += track(563_000_003, 0, 16 * H, 10 * MIN, b0, move(*b0, 90.0, 160.0), sog=10.0)
    reports += track(574_000_004, 0, H, 10 * MIN, VUNG_TAU, sog=0.0)
    return reports


def _hourly(reports: list[Report]) -> list[list[Report]]:
    return [[r for r in reports if h * H <= r.t < (h + 1) * H] for h in range(16)]


def test_overdue_vessel_gets_an_open_gap_that_its_return_closes() -> None:
    from jointwatch.detect.engine import DetectionEngine

    engine = DetectionEngine()
    changed = []
    for batch in _hourly(_overdue_scene()):
        changed.append([e.to_json() for e in engine.feed(positions(batch)) if e.kind == "ais_gap"])
    # Up to 12:50 the clock is less than 12 h past A's last report at 01:00: nothing.
    assert all(c == [] for c in changed[:13])
    # The 13:00 report of B makes A overdue: an open event, raised once.
    assert len(changed[13]) == 1
    opened = changed[13][0]
    assert opened["mmsi"] == 352_000_001
    assert opened["start"] == "2025-03-01T01:00:00Z"
    assert opened["end"] is None
    assert opened["details"]["overdue"] is True
    assert changed[14] == []
    # A reappears at 15:00: the same event (same id) gets its end.
    assert len(changed[15]) == 1
    closed = changed[15][0]
    assert closed["id"] == opened["id"]
    assert closed["end"] == "2025-03-01T15:00:00Z"
    assert closed["details"]["overdue"] is False
    assert closed["details"]["gap_h"] == pytest.approx(14.0)
    # One gap in all: not B (never silent), not C (silent, but near the coast).
    gaps = of_kind(engine, "ais_gap")
    assert [(g.id, g.mmsi) for g in gaps] == [(opened["id"], 352_000_001)]


def test_overdue_events_can_be_switched_off() -> None:
    from jointwatch.detect.engine import DetectionEngine

    engine = DetectionEngine(DetectParams(ais_gap=GapParams(overdue=False)))
    batches = _hourly(_overdue_scene())
    for batch in batches[:15]:
        engine.feed(positions(batch))
    assert of_kind(engine, "ais_gap") == []
    engine.feed(positions(batches[15]))
    (gap,) = of_kind(engine, "ais_gap")
    assert gap.end_us == t_us(15 * H)


def test_overdue_waits_for_reports_still_allowed_to_arrive() -> None:
    # A's report of 12:59 (just under 12 h after 01:00) arrives after B's of 13:01, within
    # the allowed lateness. Fed one by one, nothing may be raised that one batch does not.
    from jointwatch.detect.engine import DetectionEngine

    p1 = move(*OFFSHORE, 45.0, 12.0)
    reports = track(352_000_001, 0, H, 10 * MIN, OFFSHORE, p1, sog=12.0)
    reports += track(563_000_003, 0, 13 * H, 10 * MIN, (9.0, 111.0), sog=10.0)
    reports += [Report(563_000_003, 13 * H + MIN, 9.0, 111.0, 10.0)]
    table = positions(reports)
    late = positions([Report(352_000_001, 13 * H - MIN, *p1, sog=12.0)])
    one = DetectionEngine()
    one.feed(table)
    one.feed(late)
    live = DetectionEngine()
    for i in range(table.num_rows):
        live.feed(table.slice(i, 1))
    live.feed(late)
    assert of_kind(one, "ais_gap") == of_kind(live, "ais_gap") == []


# ---- loitering -------------------------------------------------------------------------

LOITER_AT = (8.5, 109.5)  # 60 nm offshore


def _legs(
    mmsi: int, legs: list[tuple[float, float | None]], every: float = 3 * MIN
) -> list[Report]:
    """Consecutive legs of (hours, speed in knots) heading north from ``LOITER_AT``; a speed
    of None is a silence."""
    out: list[Report] = []
    t, pos = 0.0, LOITER_AT
    for hours, sog in legs:
        end = move(*pos, 0.0, (sog or 0.0) * hours)
        if sog is not None:
            out += [
                r
                for r in track(mmsi, t, t + hours * H, every, pos, end, sog=sog)
                if r.t < t + hours * H
            ]
        t, pos = t + hours * H, end
    out.append(Report(mmsi, t, *pos, sog=12.0))
    return out


@pytest.mark.parametrize("chunk", CHUNKS)
def test_three_hours_slow_far_offshore_is_loitering(chunk: int | None) -> None:
    engine = run(_legs(533_000_001, [(1.0, 12.0), (3.0, 0.5), (1.0, 12.0)]), chunk=chunk)
    (ev,) = of_kind(engine, "loitering")
    assert ev.mmsi == 533_000_001
    start = move(*LOITER_AT, 0.0, 12.0)
    assert (ev.lat, ev.lon) == pytest.approx(start)
    assert ev.start_us == t_us(H)
    assert ev.end_us == t_us(4 * H - 3 * MIN)  # the last slow report
    assert ev.details["duration_h"] == pytest.approx(2.95)


@pytest.mark.parametrize("chunk", CHUNKS)
def test_anchored_three_hours_off_a_port_is_not_loitering(chunk: int | None) -> None:
    reports = track(574_000_005, 0, 3.5 * H, 3 * MIN, VUNG_TAU, sog=0.0)
    assert of_kind(run(reports, chunk=chunk), "loitering") == []
    relaxed = _with("loitering", min_shore_nm=1.0)
    assert len(of_kind(run(reports, params=relaxed, chunk=chunk), "loitering")) == 1


@pytest.mark.parametrize(
    ("legs", "relax"),
    [
        pytest.param(
            [(1.0, 12.0), (1.5, 0.5), (1.0, 12.0)], {"min_duration_h": 1.4}, id="slow-1.5h"
        ),
        pytest.param(
            [(1.5, 0.5), (1 / 3, 10.0), (1.5, 0.5)], {"max_speed_kn": 11.0}, id="fast-leg-between"
        ),
        pytest.param(
            [(1.5, 0.5), (1.5, None), (1.5, 0.5)], {"max_report_gap_h": 2.0}, id="silence-between"
        ),
    ],
)
@pytest.mark.parametrize("chunk", CHUNKS)
def test_slow_runs_shorter_than_two_hours_are_not_loitering(
    legs: list[tuple[float, float | None]], relax: dict[str, float], chunk: int | None
) -> None:
    reports = _legs(533_000_006, legs)
    assert of_kind(run(reports, chunk=chunk), "loitering") == []
    # Missed for the right reason: relaxing that one threshold joins or accepts the run.
    relaxed = _with("loitering", **relax)
    assert len(of_kind(run(reports, params=relaxed, chunk=chunk), "loitering")) == 1


# ---- spoofing --------------------------------------------------------------------------

SEA = (10.0, 110.0)


def _spoofing(engine_reports: list[Report], chunk: int | None = None) -> list[dict]:  # type: ignore[type-arg]
    engine = run(engine_reports, chunk=chunk)
    return [e.to_json() for e in of_kind(engine, "spoofing")]


@pytest.mark.parametrize("chunk", CHUNKS)
def test_impossible_speed_over_a_mile_is_spoofing(chunk: int | None) -> None:
    # Steams east at 12 kn; from 300 s on, the positions are 5 nm further north.
    reports = track(563_000_010, 0, 600, 10, SEA, move(*SEA, 90.0, 2.0), sog=12.0)
    reports = [
        r if r.t < 300 else Report(r.mmsi, r.t, *move(r.lat, r.lon, 0.0, 5.0), sog=12.0)
        for r in reports
    ]
    events = _spoofing(reports, chunk)
    assert len(events) == 1
    ev = events[0]
    assert ev["mmsi"] == 563_000_010
    assert ev["details"]["reason"] == "speed"
    assert ev["details"]["n_reports"] == 1
    assert ev["details"]["max_speed_kn"] == pytest.approx(5 * 3600 / 10, rel=0.02)
    assert ev["start"] == ev["end"] == "2025-03-01T00:05:00Z"


def test_fast_but_possible_craft_is_not_spoofing() -> None:
    reports = track(563_000_011, 0, 600, 10, SEA, move(*SEA, 90.0, 45.0 * 600 / H), sog=45.0)
    assert _spoofing(reports) == []


@pytest.mark.parametrize("jitter_m", [30.0, 150.0, 1500.0])
@pytest.mark.parametrize("chunk", CHUNKS)
def test_position_jitter_under_a_mile_is_not_spoofing(jitter_m: float, chunk: int | None) -> None:
    # Alternates between two points ``jitter_m`` apart every 2 s: up to 1,458 kn implied,
    # but over less than the 1 nm a real jump must cover.
    other = move(*SEA, 90.0, jitter_m / 1852.0)
    reports = [
        Report(563_000_012, t, *(SEA if k % 2 == 0 else other), sog=0.2)
        for k, t in enumerate(times(0, 600, 2))
    ]
    assert _spoofing(reports, chunk) == []
    if jitter_m > 100:
        relaxed = _with("spoofing", min_jump_nm=0.01)
        assert of_kind(run(reports, params=relaxed, chunk=chunk), "spoofing") != []


@pytest.mark.parametrize("chunk", CHUNKS)
def test_position_inland_is_on_land(chunk: int | None) -> None:
    reports = track(574_000_020, 0, 9 * MIN, MIN, (11.5, 107.0), sog=0.0)
    events = _spoofing(reports, chunk)
    assert [(e["mmsi"], e["details"]["reason"]) for e in events] == [(574_000_020, "on_land")]
    assert events[0]["details"]["n_reports"] == 10
    assert (events[0]["start"], events[0]["end"]) == (
        "2025-03-01T00:00:00Z",
        "2025-03-01T00:09:00Z",
    )


@pytest.mark.parametrize("where", [(10.33, 107.08), VUNG_TAU], ids=["coastline", "port-approach"])
def test_position_on_the_coastline_is_not_on_land(where: tuple[float, float]) -> None:
    reports = track(574_000_021, 0, 9 * MIN, MIN, where, sog=0.0)
    assert _spoofing(reports) == []


def test_coastline_case_is_on_the_land_mask() -> None:
    # The coastline case above is a land cell of the mask: only the inland test spares it.
    assert bool(shore_index().is_land([10.33], [107.08])[0])


@pytest.mark.parametrize("mmsi", [12_345_678, 200_000_001], ids=["8-digits", "unallocated-mid"])
def test_invalid_mmsi_is_spoofing(mmsi: int) -> None:
    events = _spoofing(track(mmsi, 0, 4 * MIN, MIN, SEA, sog=8.0))
    assert [(e["mmsi"], e["details"]["reason"]) for e in events] == [(mmsi, "invalid_mmsi")]
    assert events[0]["details"]["n_reports"] == 5


@pytest.mark.parametrize(
    "mmsi", [970_123_456, 992_741_234, 111_574_001], ids=["sart", "aton", "sar-aircraft"]
)
def test_non_ship_stations_are_not_invalid(mmsi: int) -> None:
    assert _spoofing(track(mmsi, 0, 4 * MIN, MIN, SEA, sog=0.0)) == []


@pytest.mark.parametrize("chunk", CHUNKS)
def test_two_transmitters_alternating_are_a_duplicate_mmsi(chunk: int | None) -> None:
    a = (7.5, 110.5)
    b = move(*a, 0.0, 40.0)
    reports = track(533_000_030, 0, 600, 10, a, sog=0.0)
    reports += track(533_000_030, 5, 595, 10, b, sog=0.0)
    events = {e["details"]["reason"]: e for e in _spoofing(reports, chunk)}
    dup = events.pop("duplicate_mmsi")
    # The first jump (0 s -> 5 s) cannot yet be told from a glitch: one "speed" report.
    # Every later report jumps back to where the vessel was two reports before.
    assert events["speed"]["details"]["n_reports"] == 1
    assert set(events) == {"speed"}
    assert dup["mmsi"] == 533_000_030
    assert dup["details"]["n_reports"] == 121 - 2
    assert dup["start"] == "2025-03-01T00:00:10Z"
    assert dup["end"] == "2025-03-01T00:10:00Z"
    assert dup["details"]["max_speed_kn"] == pytest.approx(40 * 3600 / 5, rel=0.02)


def test_successive_jumps_that_never_return_are_speed_not_duplicate() -> None:
    a = (7.5, 110.5)
    reports = [Report(533_000_031, 10.0 * k, *move(*a, 0.0, 40.0 * k), sog=0.0) for k in range(4)]
    events = _spoofing(reports)
    assert [e["details"]["reason"] for e in events] == ["speed"]
    assert events[0]["details"]["n_reports"] == 3


@pytest.mark.parametrize("chunk", CHUNKS)
def test_spoofing_episodes_end_after_an_hour_of_silence_and_never_span_vessels(
    chunk: int | None,
) -> None:
    a, b, c = 12_345_678, 23_456_789, 34_567_890  # 8 digits: every report is a violation
    reports = track(a, 0, 4 * MIN, MIN, SEA, sog=8.0)
    reports += track(a, 2 * H + 4 * MIN, 2 * H + 6 * MIN, MIN, SEA, sog=8.0)  # 2 h silent
    reports += track(b, 30, 30 + 50 * MIN, 10 * MIN, SEA, sog=8.0)
    # c: silent exactly one hour (the same episode), then one hour and a second (a new one).
    reports += [Report(c, t, *SEA, sog=8.0) for t in (0.0, H, 2 * H + 1)]
    events = [
        (e["mmsi"], e["start"], e["end"], e["details"]["n_reports"])
        for e in _spoofing(reports, chunk)
    ]
    assert events == [
        (a, "2025-03-01T00:00:00Z", "2025-03-01T00:04:00Z", 5),
        (c, "2025-03-01T00:00:00Z", "2025-03-01T01:00:00Z", 2),
        (b, "2025-03-01T00:00:30Z", "2025-03-01T00:50:30Z", 6),
        (c, "2025-03-01T02:00:01Z", "2025-03-01T02:00:01Z", 1),
        (a, "2025-03-01T02:04:00Z", "2025-03-01T02:06:00Z", 3),
    ]


@pytest.mark.parametrize("chunk", CHUNKS)
def test_each_vessels_speed_episode_has_its_own_maximum(chunk: int | None) -> None:
    reports: list[Report] = []
    for mmsi, jump_nm in ((563_000_013, 5.0), (563_000_014, 10.0)):
        leg = track(mmsi, 0, 600, 10, SEA, move(*SEA, 90.0, 2.0), sog=12.0)
        reports += [
            r if r.t < 300 else Report(mmsi, r.t, *move(r.lat, r.lon, 0.0, jump_nm), sog=12.0)
            for r in leg
        ]
    events = {e["mmsi"]: e for e in _spoofing(reports, chunk)}
    assert set(events) == {563_000_013, 563_000_014}
    for mmsi, jump_nm in ((563_000_013, 5.0), (563_000_014, 10.0)):
        details = events[mmsi]["details"]
        assert (details["reason"], details["n_reports"]) == ("speed", 1)
        assert details["max_speed_kn"] == pytest.approx(jump_nm * 3600 / 10, rel=0.02)


# ---- zones -----------------------------------------------------------------------------

BOX = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"name": "ALPHA", "kind": "exercise_area"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [[110.0, 10.0], [110.5, 10.0], [110.5, 10.5], [110.0, 10.5], [110.0, 10.0]]
                ],
            },
        }
    ],
}


def _zone_events(reports: list[Report], chunk: int | None) -> list[tuple[str, int, int, str]]:
    engine = run(reports, zones=zones_from_geojson(BOX), chunk=chunk)
    return [
        (e.kind, e.mmsi, e.start_us, e.zone or "")
        for e in engine.all_events()
        if e.kind.startswith("zone_")
    ]


@pytest.mark.parametrize("chunk", CHUNKS)
def test_crossing_a_zone_gives_entry_then_exit(chunk: int | None) -> None:
    # East along 10.25N from 109.9E to 110.6E, one report a minute at 20.7 kn.
    reports = track(574_000_040, 0, 2 * H, MIN, (10.25, 109.9), (10.25, 110.6))
    inside = [r for r in reports if 110.0 < r.lon < 110.5]
    first_in = inside[0]
    first_out = next(r for r in reports if r.t > inside[-1].t)
    engine = run(reports, zones=zones_from_geojson(BOX), chunk=chunk)
    events = [e for e in engine.all_events() if e.kind.startswith("zone_")]
    assert [(e.kind, e.mmsi, e.zone) for e in events] == [
        ("zone_entry", 574_000_040, "ALPHA"),
        ("zone_exit", 574_000_040, "ALPHA"),
    ]
    entry, leave = events
    assert entry.start_us == t_us(first_in.t)
    assert (entry.lat, entry.lon) == pytest.approx((first_in.lat, first_in.lon))
    assert leave.start_us == t_us(first_out.t)
    assert entry.details == leave.details == {"zone_kind": "exercise_area"}


@pytest.mark.parametrize("chunk", CHUNKS)
def test_vessel_staying_outside_raises_nothing(chunk: int | None) -> None:
    # Along 10.51N, just north of the box, for its whole width and more.
    reports = track(574_000_041, 0, 2 * H, MIN, (10.51, 109.9), (10.51, 110.6))
    assert _zone_events(reports, chunk) == []


@pytest.mark.parametrize("chunk", CHUNKS)
def test_first_report_inside_is_no_entry(chunk: int | None) -> None:
    stays = track(574_000_042, 0, H, MIN, (10.2, 110.2), (10.3, 110.3))
    assert _zone_events(stays, chunk) == []
    # One that starts inside and leaves gets only its exit.
    leaves = track(574_000_043, 0, H, MIN, (10.25, 110.4), (10.25, 110.7))
    assert [e[0] for e in _zone_events(leaves, chunk)] == ["zone_exit"]
