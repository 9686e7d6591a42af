"""Pairwise detectors of the engine: encounter (ship-to-ship meeting) and approach.

Both decide on a time grid and close a slot only once the stream's watermark (newest time
minus ``stream.lateness_s``) has passed it, so every scene ends with a report from a
vessel far away (``clock``) some time after the action.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from jointwatch.detect.engine import DetectionEngine
from jointwatch.detect.params import DetectParams
from jointwatch.geo.distance import NM_M
from tests.unit.detect_helpers import (
    CLOCK_MMSI,
    MIN,
    VUNG_TAU,
    H,
    Report,
    clock,
    move,
    of_kind,
    positions,
    run,
    sample,
    static,
    times,
    track,
)
from tests.unit.detect_helpers import (
    us as t_us,
)

CHUNKS = [pytest.param(None, id="one-batch"), pytest.param(7, id="batches-of-7")]
DEFAULTS = DetectParams()

# ---- encounter -------------------------------------------------------------------------

MEET = (10.0, 110.0)  # about 55 nm offshore
A, B = 412_000_101, 563_000_102


def _pair(
    hours: float,
    sog: float,
    apart_m: float = 300.0,
    at: tuple[float, float] = MEET,
    every: float = 2 * MIN,
) -> list[Report]:
    """A and B side by side ``apart_m`` apart, heading north at ``sog`` for ``hours``,
    then the clock vessel 30 min later."""
    a_end = move(*at, 0.0, sog * hours)
    b0 = move(*at, 90.0, apart_m / NM_M)
    b_end = move(*b0, 0.0, sog * hours)
    return (
        track(A, 0, hours * H, every, at, a_end, sog=sog)
        + track(B, 0, hours * H, every, b0, b_end, sog=sog)
        + [clock(hours * H + 30 * MIN)]
    )


@pytest.mark.parametrize("chunk", CHUNKS)
def test_two_slow_vessels_together_offshore_for_3h_is_an_encounter(chunk: int | None) -> None:
    engine = run(_pair(3.0, 0.5), chunk=chunk)
    (ev,) = of_kind(engine, "encounter")
    assert (ev.mmsi, ev.other_mmsi) == (A, B)
    j = ev.to_json()
    assert (j["mmsi"], j["other_mmsi"]) == (A, B)
    # On the 10-minute grid: from the slot of the first reports to the end of the last.
    assert ev.start_us == t_us(0)
    assert t_us(3 * H) < ev.end_us <= t_us(3 * H + 10 * MIN)
    assert 3.0 <= ev.details["duration_h"] <= 3.2
    assert ev.details["median_speed_kn"] == pytest.approx(0.5)
    assert ev.details["min_distance_m"] == pytest.approx(300.0, abs=3.0)
    # Where they met: between them in the first slot (its latest reports, a few minutes in).
    mid = move(*MEET, 90.0, 150.0 / NM_M)
    assert (ev.lat, ev.lon) == pytest.approx(mid, abs=0.005)


def test_encounter_waits_for_the_watermark() -> None:
    # Without later traffic the last slots stay open: the run is not yet 2 h long.
    reports = [r for r in _pair(2.0, 0.5) if r.mmsi != CLOCK_MMSI]
    assert of_kind(run(reports), "encounter") == []
    assert len(of_kind(run(_pair(2.0, 0.5)), "encounter")) == 1


def _passing_at_12kn() -> list[Report]:
    """Head-on on parallel tracks 100 m apart at 12 kn, passing at 1 h."""
    a0 = move(*MEET, 180.0, 12.0)
    b0 = move(*move(*MEET, 0.0, 12.0), 90.0, 100.0 / NM_M)
    return (
        track(A, 0, 2 * H, MIN, a0, move(*a0, 0.0, 24.0), sog=12.0)
        + track(B, 0, 2 * H, MIN, b0, move(*b0, 180.0, 24.0), sog=12.0)
        + [clock(2.5 * H)]
    )


def _enc(**changes: float) -> DetectParams:
    return replace(DEFAULTS, encounter=replace(DEFAULTS.encounter, **changes))


@pytest.mark.parametrize(
    ("reports", "relaxed"),
    [
        pytest.param(_passing_at_12kn(), None, id="passing-close-at-12kn"),
        pytest.param(_pair(3.0, 12.0), _enc(max_median_speed_kn=13.0), id="side-by-side-12kn"),
        pytest.param(_pair(3.0, 4.0), _enc(max_median_speed_kn=4.5), id="side-by-side-4kn"),
        pytest.param(_pair(3.0, 0.5, apart_m=2000.0), _enc(max_distance_m=2100.0), id="2km-apart"),
        pytest.param(_pair(1.0, 0.5), _enc(min_duration_h=1.0), id="together-1h"),
        pytest.param(_pair(3.0, 0.5, at=VUNG_TAU), _enc(min_shore_km=0.5), id="near-shore"),
    ],
)
@pytest.mark.parametrize("chunk", CHUNKS)
def test_encounter_near_misses(
    reports: list[Report], relaxed: DetectParams | None, chunk: int | None
) -> None:
    assert of_kind(run(reports, chunk=chunk), "encounter") == []
    if relaxed is not None:
        # Missed for the right reason: relaxing that one threshold makes it an encounter.
        assert len(of_kind(run(reports, params=relaxed, chunk=chunk), "encounter")) == 1


# ---- approach --------------------------------------------------------------------------

SHIP = 636_000_201  # a merchant: ship type 70, 180 m, 14 kn east
CRAFT = 574_000_202
SHIP_START = (6.0, 108.0)
SHIP_KN = 14.0


def _ship_at(t: float) -> tuple[float, float, float]:
    lat, lon = SHIP_START
    return lat, lon + SHIP_KN * (t / H) / (60.0 * math.cos(math.radians(lat))), SHIP_KN


def _closing(closing_kn: float, shadow_h: float = 0.5, start_nm: float = 4.0):  # type: ignore[no-untyped-def]
    """A craft abeam to the north at ``start_nm``, keeping pace east while closing the
    range at ``closing_kn``, then shadowing at 0.3 nm for ``shadow_h``."""
    arrive_h = (start_nm - 0.3) / closing_kn

    def where(t: float) -> tuple[float, float, float]:
        lat, lon, _ = _ship_at(t)
        closing = t / H < arrive_h
        rng = start_nm - closing_kn * t / H if closing else 0.3
        sog = math.hypot(SHIP_KN, closing_kn) if closing else SHIP_KN
        return lat + rng / 60.0, lon, sog

    return where, (arrive_h + shadow_h) * H


def _approach_scene(
    closing_kn: float,
    craft_msg_type: int = 18,
    craft_static: tuple[int | None, float | None] | None = None,
) -> tuple[list[Report], object]:
    where, end = _closing(closing_kn)
    ts = times(0, end, 10.0)
    reports = sample(SHIP, ts, _ship_at) + sample(CRAFT, ts, where, msg_type=craft_msg_type)
    reports.append(clock(end + 30 * MIN))
    rows: list[tuple[int, int | None, float | None]] = [(SHIP, 70, 180.0)]
    if craft_static is not None:
        rows.append((CRAFT, *craft_static))
    return reports, static(rows)


@pytest.mark.parametrize(
    ("msg_type", "craft_static"),
    [
        pytest.param(18, None, id="class-B-no-static"),
        pytest.param(1, None, id="class-A-no-static"),
        pytest.param(1, (37, 12.0), id="class-A-12m-pleasure-craft"),
    ],
)
@pytest.mark.parametrize("chunk", CHUNKS)
def test_small_craft_closing_fast_and_shadowing_is_an_approach(
    msg_type: int, craft_static: tuple[int, float] | None, chunk: int | None
) -> None:
    reports, st = _approach_scene(18.0, msg_type, craft_static)
    engine = run(reports, st, chunk=chunk)  # type: ignore[arg-type]
    (ev,) = of_kind(engine, "approach")
    assert (ev.mmsi, ev.other_mmsi) == (CRAFT, SHIP)
    assert ev.details["closing_kn"] == pytest.approx(18.0, abs=1.0)
    assert ev.details["min_range_nm"] == pytest.approx(0.3, abs=0.02)
    # Inside 1 nm from about 10 min (3 nm at 18 kn) to the end of the 30-minute shadow.
    assert t_us(9 * MIN) <= ev.start_us <= t_us(12 * MIN)
    assert ev.details["shadow_min"] >= 30.0
    assert (ev.lat, ev.lon) == pytest.approx(_ship_at((ev.start_us - t_us(0)) / 1e6)[:2], abs=0.01)


def _fishing_boat_passed() -> tuple[list[Report], object]:
    """A fishing boat at 3 kn heading west, 0.5 nm north of the merchant's track, which the
    merchant passes head-on at a closing speed of 17 kn."""
    f0 = move(*move(*SHIP_START, 90.0, 4.0), 0.0, 0.5)
    ts = times(0, H, 10.0)
    reports = sample(SHIP, ts, _ship_at) + [
        Report(CRAFT, t, *move(*f0, 270.0, 3.0 * t / H), sog=3.0) for t in ts
    ]
    reports.append(clock(1.5 * H))
    return reports, static([(SHIP, 70, 180.0), (CRAFT, 30, 18.0)])


@pytest.mark.parametrize(
    ("scene", "relaxed"),
    [
        pytest.param(_fishing_boat_passed, None, id="fishing-boat-passed-at-0.5nm"),
        pytest.param(
            lambda: _approach_scene(5.0),
            replace(DEFAULTS, approach=replace(DEFAULTS.approach, min_closing_kn=4.5)),
            id="drifting-in-at-5kn",
        ),
        pytest.param(lambda: _approach_scene(18.0, 1, (70, 150.0)), None, id="second-merchant"),
    ],
)
@pytest.mark.parametrize("chunk", CHUNKS)
def test_approach_near_misses(scene, relaxed: DetectParams | None, chunk: int | None) -> None:  # type: ignore[no-untyped-def]
    reports, st = scene()
    assert of_kind(run(reports, st, chunk=chunk), "approach") == []
    if relaxed is not None:
        assert len(of_kind(run(reports, st, relaxed, chunk=chunk), "approach")) == 1


def _class_b_merchant(type_heard_min: float) -> tuple[list[Report], pa.Table]:
    """The approach scene with a class B merchant (type 70, 40 m): its name (type 24 part A)
    is heard at 0, its type and size (part B) at ``type_heard_min``."""
    where, end = _closing(18.0)
    ts = times(0, end, 10.0)
    reports = sample(SHIP, ts, _ship_at, msg_type=18) + sample(CRAFT, ts, where, msg_type=18)
    reports.append(clock(end + 30 * MIN))
    part_a = static([(SHIP, None, None)], t=0.0)
    part_b = static([(SHIP, 70, 40.0)], t=type_heard_min * MIN)
    return reports, pa.concat_tables([part_a, part_b])


@pytest.mark.parametrize("live", [False, True], ids=["one-batch", "live"])
def test_ship_type_counts_only_from_when_it_is_heard(live: bool) -> None:
    # The craft is inside 1 nm from about 10 min. Type heard at 5 min: a merchant by then.
    reports, st = _class_b_merchant(5.0)
    assert len(of_kind(run(reports, st), "approach")) == 1
    # Heard at 12.5 min: while the craft closed in, the "merchant" was an unknown class B
    # craft itself, so nothing was closing on a merchant. A live node, which has not heard
    # the type yet, and a one-batch run, which has, must agree.
    reports, st = _class_b_merchant(12.5)
    if not live:
        engine = run(reports, st)
    else:
        engine = DetectionEngine()
        table = positions(reports)
        t = pc.cast(table.column("time"), pa.int64()).to_numpy()
        cut = int(np.searchsorted(t, t_us(12.5 * MIN)))
        engine.feed(table.slice(0, cut), st.slice(0, 1))
        engine.feed(table.slice(cut), st.slice(1))
    assert of_kind(engine, "approach") == []
