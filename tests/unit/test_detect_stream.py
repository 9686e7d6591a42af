"""Live and batch give the same events: cutting a stream into batches never changes them.

The engine is fed the same reports in the same order, once in one batch and once cut at
points Hypothesis picks (including bursts of tiny batches); the final sets of events must
be equal, JSON for JSON. Run on the scripted exercise scenario (real NMEA through the
decoder, every detector has something to find), on a small synthetic scene, and on that
scene with reports arriving out of order within ``stream.lateness_s``.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import jointwatch.exercise
from jointwatch.ais.pipeline import AisPipeline
from jointwatch.detect.engine import DetectionEngine
from jointwatch.exercise.scenario import Scenario
from jointwatch.geo.zones import Zone, load_zones, zones_from_geojson
from jointwatch.picture.positions import split_decoded
from tests.unit.detect_helpers import (
    MIN,
    OFFSHORE,
    T0,
    VUNG_TAU,
    H,
    Report,
    clock,
    event_set,
    move,
    positions,
    sample,
    static,
    times,
    track,
)

ZONES = load_zones(Path(jointwatch.exercise.__file__).parent / "data" / "zones.geojson")


def _feed_in_pieces(
    pos: pa.Table,
    stat: pa.Table,
    cuts: list[int],
    zones: list[Zone],
    engine: DetectionEngine | None = None,
    emitted: dict[str, str] | None = None,
) -> DetectionEngine:
    """Feed ``pos`` cut at ``cuts``; each static row goes with the first batch whose newest
    position is at least as new (as a live node hears them), the rest with the last.
    ``emitted`` gets each event's JSON as last returned by a batch (what a node stores)."""
    bounds = [0, *sorted({c for c in cuts if 0 < c < pos.num_rows}), pos.num_rows]
    t = pc.cast(pos.column("time"), pa.int64()).to_numpy()
    newest = np.maximum.accumulate(t)
    st_t = pc.cast(stat.column("time"), pa.int64()).to_numpy()
    batch_of = np.full(len(st_t), len(bounds) - 2)
    for i in range(len(bounds) - 2, -1, -1):
        batch_of[st_t <= newest[bounds[i + 1] - 1]] = i
    engine = engine or DetectionEngine(zones=zones)
    for i, (a, b) in enumerate(itertools.pairwise(bounds)):
        for event in engine.feed(pos.slice(a, b - a), stat.filter(pa.array(batch_of == i))):
            if emitted is not None:
                emitted[event.id] = json.dumps(event.to_json(), sort_keys=True)
    return engine


def _cuts(n: int) -> st.SearchStrategy[list[int]]:
    """Cut points: random ones plus maybe a burst of tiny batches, or a fixed batch size."""
    spread = st.lists(st.integers(0, n), max_size=12)
    burst = st.tuples(st.integers(0, n), st.integers(1, 40), st.integers(1, 25)).map(
        lambda b: [b[0] + k * b[2] for k in range(b[1])]
    )
    scattered = st.tuples(spread, burst | st.just([])).map(lambda x: sorted({*x[0], *x[1]}))
    fixed = st.integers(2, 400).map(lambda size: list(range(size, n, size)))
    return scattered | fixed


# ---- the scripted scenario -------------------------------------------------------------


@functools.cache
def _scripted() -> tuple[pa.Table, pa.Table, list[str], list[str]]:
    """(positions, static, events of a one-batch run, kinds the script should raise)."""
    scenario = Scenario(seed=7, vessels=10, script_start=T0)
    sentences = list(scenario.sentences(T0, T0 + timedelta(hours=16)))
    decoded = AisPipeline().process([s for _, s in sentences], "scenario", sentences[-1][0])
    batch = split_decoded(decoded)
    engine = DetectionEngine(zones=ZONES)
    engine.feed(batch.positions, batch.static)
    kinds = sorted({t.kind for t in scenario.truth})
    return batch.positions, batch.static, event_set(engine), kinds


@pytest.mark.slow
def test_scripted_scenario_raises_every_scripted_kind() -> None:
    _, _, events, kinds = _scripted()
    assert kinds == sorted(
        {"ais_gap", "loitering", "encounter", "zone_entry", "zone_exit", "spoofing", "approach"}
    )
    for kind in kinds:
        assert any(f'"kind": "{kind}"' in e for e in events), kind


@pytest.mark.slow
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_scripted_scenario_events_do_not_depend_on_batches(data: st.DataObject) -> None:
    pos, stat, reference, _ = _scripted()
    cuts = data.draw(_cuts(pos.num_rows), label="cuts")
    assert event_set(_feed_in_pieces(pos, stat, cuts, ZONES)) == reference


@pytest.mark.slow
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_forgetting_final_events_changes_no_stored_event(data: st.DataObject) -> None:
    """A node's engine drops events no later report can change (``forget_after``); what
    the batches returned, as a node stores it, is still exactly the one-batch result."""
    pos, stat, reference, _ = _scripted()
    cuts = data.draw(_cuts(pos.num_rows), label="cuts")
    emitted: dict[str, str] = {}
    engine = DetectionEngine(zones=ZONES, forget_after=1)  # looks after every batch
    _feed_in_pieces(pos, stat, cuts, ZONES, engine, emitted)
    assert sorted(emitted.values()) == reference


def test_a_node_engine_holds_only_the_events_that_can_still_change() -> None:
    """Ten days of a vessel jumping 60 nm twice, half an hour apart, every three hours:
    one spoofing episode of two violations each time, fed 20 minutes at a time, so each
    episode is cut between its violations. The engine holds a handful of events, not all
    of them, and what it returned is what an engine keeping everything ends with."""
    spots = [move(*OFFSHORE, 90.0, 60.0 * k) for k in range(3)]

    def where(t: float) -> tuple[float, float, float]:
        jumps = 2 * int(t // (3 * H)) + int(t % (3 * H) >= 30 * MIN)
        return (*spots[jumps % 3], 0.0)

    table = positions(sample(352_000_001, times(0, 10 * 24 * H, 10 * MIN), where))
    keeping = DetectionEngine()
    keeping.feed(table)
    reference = event_set(keeping)
    # The first episode has one violation (the vessel starts at its first spot); there is
    # loitering too (speed 0).
    assert sum('"n_reports": 2' in e for e in reference) == 79
    forgetting = DetectionEngine(forget_after=5)
    emitted: dict[str, str] = {}
    held = []
    for start in range(0, table.num_rows, 2):
        for event in forgetting.feed(table.slice(start, 2)):
            emitted[event.id] = json.dumps(event.to_json(), sort_keys=True)
        held.append(len(forgetting.events))
    assert sorted(emitted.values()) == reference
    assert max(held) <= 10


# ---- a small synthetic scene -----------------------------------------------------------

BOX = zones_from_geojson(
    {
        "type": "Feature",
        "properties": {"name": "ALPHA", "kind": "custom"},
        "geometry": {
            "type": "Polygon",
            "coordinates": [
                [[110.0, 10.0], [110.5, 10.0], [110.5, 10.5], [110.0, 10.5], [110.0, 10.0]]
            ],
        },
    }
)


def _scene() -> tuple[pa.Table, pa.Table]:
    """Every detector's case in 16 hours: a vessel overdue and back, loitering, a meeting,
    a zone transit, speed and duplicate spoofing, an inland position, an approach."""
    r: list[Report] = []
    p1 = move(*OFFSHORE, 45.0, 12.0)
    r += track(352_000_001, 0, H, 10 * MIN, OFFSHORE, p1, sog=12.0)
    r += track(352_000_001, 14 * H, 15 * H, 10 * MIN, move(*p1, 45.0, 70.0), sog=12.0)
    r += track(574_000_002, 0, H, 10 * MIN, VUNG_TAU, sog=0.0)  # silent near the coast
    r += track(533_000_003, 2 * H, 5 * H, 3 * MIN, (8.5, 109.5), (8.525, 109.5), sog=0.5)
    meet = (10.0, 110.8)
    r += track(412_000_004, 3 * H, 6 * H, 2 * MIN, meet, sog=0.4)
    r += track(563_000_005, 3 * H, 6 * H, 2 * MIN, move(*meet, 90.0, 0.16), sog=0.4)
    r += track(574_000_006, 6 * H, 8 * H, MIN, (10.25, 109.9), (10.25, 110.6))
    jump = track(563_000_007, 4 * H, 4 * H + 600, 10, (9.0, 111.0), sog=12.0)
    r += [x if x.t < 4 * H + 300 else Report(x.mmsi, x.t, 9.1, 111.0, 12.0) for x in jump]
    r += track(533_000_008, 7 * H, 7 * H + 300, 10, (7.5, 110.5), sog=0.0)
    r += track(533_000_008, 7 * H + 5, 7 * H + 295, 10, move(7.5, 110.5, 0.0, 40.0), sog=0.0)
    r += track(574_000_009, 9 * H, 9 * H + 9 * MIN, MIN, (11.5, 107.0), sog=0.0)
    r += track(12_345_678, 10 * H, 10 * H + 5 * MIN, MIN, (10.0, 112.0), sog=5.0)
    # Approach: a class B craft closes from 4 nm at 18 kn on a 14 kn merchant, shadows.
    ship0 = (6.0, 108.0)
    for t in times(11 * H, 11 * H + 45 * MIN, 10.0):
        h = (t - 11 * H) / H
        lat, lon = ship0[0], ship0[1] + 14.0 * h / (60.0 * math.cos(math.radians(ship0[0])))
        rng = max(4.0 - 18.0 * h, 0.3)
        r.append(Report(636_000_010, t, lat, lon, 14.0))
        r.append(Report(574_000_011, t, lat + rng / 60.0, lon, 22.8 if rng > 0.3 else 14.0, 18))
    r += [clock(t) for t in times(0, 16 * H, 15 * MIN)]
    stat = static([(636_000_010, 70, 180.0), (563_000_005, 80, 120.0)], t=0.0)
    return positions(r), stat


@functools.cache
def _scene_reference() -> tuple[pa.Table, pa.Table, list[str]]:
    pos, stat = _scene()
    engine = DetectionEngine(zones=BOX)
    engine.feed(pos, stat)
    return pos, stat, event_set(engine)


def test_synthetic_scene_raises_every_kind() -> None:
    _, _, events = _scene_reference()
    for kind in ("ais_gap", "loitering", "encounter", "zone_entry", "zone_exit", "approach"):
        assert any(f'"kind": "{kind}"' in e for e in events), kind
    for reason in ("speed", "duplicate_mmsi", "on_land", "invalid_mmsi"):
        assert any(f'"reason": "{reason}"' in e for e in events), reason


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_synthetic_scene_events_do_not_depend_on_batches(data: st.DataObject) -> None:
    pos, stat, reference = _scene_reference()
    cuts = data.draw(_cuts(pos.num_rows), label="cuts")
    assert event_set(_feed_in_pieces(pos, stat, cuts, BOX)) == reference


def test_synthetic_scene_one_report_per_batch() -> None:
    pos, stat, reference = _scene_reference()
    assert event_set(_feed_in_pieces(pos, stat, list(range(pos.num_rows)), BOX)) == reference


# ---- reports out of order, within the allowed lateness ---------------------------------


def _scene_late() -> tuple[pa.Table, pa.Table]:
    """The synthetic scene plus a vessel silent offshore for just under ``min_gap_h``, and
    an approach on a class B merchant whose type (type 24 part B) is heard mid-approach."""
    pos, stat = _scene()
    r = track(352_000_012, 0, H, 10 * MIN, (9.5, 112.5), sog=0.0)
    r += track(352_000_012, 13 * H - 30, 14 * H, 10 * MIN, (9.5, 112.5), sog=0.0)
    # Busy traffic around 13:00, so that batches often end while that return is in flight.
    r += track(563_000_015, 12 * H + 58 * MIN, 13 * H + 3 * MIN, 2, (9.0, 113.0), sog=10.0)
    ship0 = (5.0, 109.0)
    for t in times(12 * H, 12 * H + 45 * MIN, 10.0):
        h = (t - 12 * H) / H
        lat, lon = ship0[0], ship0[1] + 14.0 * h / (60.0 * math.cos(math.radians(ship0[0])))
        rng = max(4.0 - 18.0 * h, 0.3)
        r.append(Report(533_000_013, t, lat, lon, 14.0, 18))
        r.append(Report(574_000_014, t, lat + rng / 60.0, lon, 22.8 if rng > 0.3 else 14.0, 18))
    parts = [
        stat,
        static([(533_000_013, None, None)], t=12 * H),
        static([(533_000_013, 70, 40.0)], t=12 * H + 12.5 * MIN),
    ]
    return pa.concat_tables([pos, positions(r)]), pa.concat_tables(parts)


def _arrival_order(pos: pa.Table, seed: int, lateness_s: float) -> pa.Table:
    """The reports in the order they arrive when some are delayed by up to ``lateness_s``
    (those of 352000012, whose return is just in time, always by nearly that much)."""
    rng = np.random.default_rng(seed)
    t = pc.cast(pos.column("time"), pa.int64()).to_numpy() / 1e6
    delayed = rng.random(len(t)) < 0.3
    delay = np.where(delayed, rng.uniform(0, 0.99 * lateness_s, len(t)), 0.0)
    mmsi = pos.column("mmsi").to_numpy()
    delay = np.where(mmsi == 352_000_012, 0.95 * lateness_s, delay)
    arrival = t + delay
    return pos.take(pa.array(np.argsort(arrival, kind="stable")))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), data=st.data())
def test_out_of_order_reports_within_lateness_do_not_depend_on_batches(
    seed: int, data: st.DataObject
) -> None:
    pos, stat = _scene_late()
    pos = _arrival_order(pos, seed, DetectionEngine().params.stream.lateness_s)
    one = DetectionEngine(zones=BOX)
    one.feed(pos, stat)
    cuts = data.draw(_cuts(pos.num_rows), label="cuts")
    assert event_set(_feed_in_pieces(pos, stat, cuts, BOX)) == event_set(one)


def test_replayed_reports_change_nothing() -> None:
    # A batch heard again (a reconnecting source, a re-sent file): every report is stale.
    pos, stat, reference = _scene_reference()
    engine = _feed_in_pieces(pos, stat, [pos.num_rows // 2], BOX)
    engine.feed(pos.slice(pos.num_rows // 2 - 50, 100), stat)
    engine.feed(pos.slice(pos.num_rows - 10), None)
    assert event_set(engine) == reference
    assert engine.stale >= 60
