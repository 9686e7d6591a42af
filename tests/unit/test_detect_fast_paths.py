"""The detectors' shortcuts give exactly what the plain computation they replace gives.

Each shortcut (a sort skipped, a bound checked before an exact distance, a cache) is
compared with the straightforward NumPy expression it stands for, on random inputs that
include the awkward cases: ties, times out of order, values past the fast path's range.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from jointwatch.detect.batch import build_batch
from jointwatch.detect.pairs import _newest_per_slot
from jointwatch.detect.state import NONE_T, VesselState
from jointwatch.detect.vessel import _hop_bound_m
from jointwatch.geo.distance import NM_M, haversine_m
from jointwatch.geo.shore import CAP_M, shore_index
from jointwatch.picture.columns import by_key_then_time, stable_order


@given(
    hnp.arrays(
        np.int64,
        st.integers(0, 200),
        elements=st.sampled_from([0, 1, 7, 65_535, 65_536, 412_000_001, 2**32 - 1, 2**32, -3]),
    )
)
def test_stable_order_is_a_stable_argsort(values: np.ndarray) -> None:
    assert np.array_equal(stable_order(values), np.argsort(values, kind="stable"))


@given(
    st.lists(
        hnp.arrays(
            np.int64,
            st.integers(0, 40),
            elements=st.sampled_from([0, 7, 65_536, 412_000_001, 412_000_002, 2**32 - 1]),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_stable_order_of_sorted_runs_is_a_stable_argsort(runs: list[np.ndarray]) -> None:
    """A few sorted runs (what the pair trackers hold) take the merge sort, more take the
    radix passes: either way the order of a stable argsort, ties in arrival order."""
    values = np.concatenate([np.sort(run) for run in runs])
    assert np.array_equal(stable_order(values), np.argsort(values, kind="stable"))


@given(
    st.integers(0, 300).flatmap(
        lambda n: st.tuples(
            hnp.arrays(np.int64, n, elements=st.sampled_from([412_000_001, 563_000_002, 7])),
            hnp.arrays(np.int64, n, elements=st.integers(0, 4)),
        )
    ),
    st.booleans(),
)
def test_archive_order_is_the_lexsort_of_vessel_then_time(
    columns: tuple[np.ndarray, np.ndarray], rising: bool
) -> None:
    """Both ways in: times rising within each vessel (the radix path), and any times (the
    lexsort path); ties in time keep arrival order either way."""
    keys, times = columns
    if rising:
        times = np.cumsum(times)  # each vessel's times then rise with arrival, ties included
    expected = np.lexsort((times, keys))
    assert np.array_equal(by_key_then_time(keys, times), expected)


def _reference_join(
    m: list[int],
    t: list[int],
    values: list[tuple[float, float, float, int]],
    state: dict[int, tuple[int, float, float, int, float, float, float]],
) -> list[tuple[object, ...]]:
    """The extended batch as the detectors define it, one vessel at a time: its report
    before last and its last one from the state, then each new report (arrival order) that
    is newer than everything the vessel reported before it."""
    rows: list[tuple[object, ...]] = []
    for mmsi in sorted(set(m)):
        start = len(rows)
        prev_t, prev_lat, prev_lon, last_t, last_lat, last_lon, last_sog = state.get(
            mmsi, (NONE_T, math.nan, math.nan, NONE_T, math.nan, math.nan, math.nan)
        )
        if prev_t != NONE_T:
            rows.append((mmsi, prev_t, prev_lat, prev_lon, math.nan, 0, False, False))
        if last_t != NONE_T:
            rows.append((mmsi, last_t, last_lat, last_lon, last_sog, 0, False, True))
        newest = last_t
        for i in (i for i in range(len(m)) if m[i] == mmsi):
            if t[i] > newest:
                lat, lon, sog, msg_type = values[i]
                rows.append((mmsi, t[i], lat, lon, sog, msg_type, True, False))
                newest = t[i]
        rows[start:] = [
            (*row, start + k - 1 if k else -1, start + k == len(rows) - 1)
            for k, row in enumerate(rows[start:])
        ]
    return rows


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 60), st.data())
def test_batch_join_is_the_plain_vessel_by_vessel_join(n: int, data: st.DataObject) -> None:
    mmsis = [412_000_001, 412_000_002, 563_000_003, 9]
    m = data.draw(st.lists(st.sampled_from(mmsis), min_size=n, max_size=n))
    t = data.draw(st.lists(st.integers(0, 8), min_size=n, max_size=n))  # ties, out of order
    sog = data.draw(st.lists(st.sampled_from([1.5, 12.0, math.nan]), min_size=n, max_size=n))
    values = [(10.0 + i, 100.0 + i, sog[i], 1 + i % 3) for i in range(n)]
    state = VesselState()
    known: dict[int, tuple[int, float, float, int, float, float, float]] = {}
    for mmsi in data.draw(st.lists(st.sampled_from(mmsis), unique=True)):
        last_t = data.draw(st.sampled_from([NONE_T, 2, 5]))
        prev_t = NONE_T if last_t == NONE_T else data.draw(st.sampled_from([NONE_T, 1]))
        known[mmsi] = (prev_t, 1.0, 2.0, last_t, 3.0, 4.0, 7.5)
        row = state.rows_for(np.array([mmsi], np.int64))[0]
        for name, value in zip(
            ("prev_t", "prev_lat", "prev_lon", "last_t", "last_lat", "last_lon", "last_sog"),
            known[mmsi],
            strict=True,
        ):
            state[name][row] = value
    table = pa.table(
        {
            "mmsi": pa.array(m, pa.int64()),
            "time": pa.array(t, pa.int64()).cast(pa.timestamp("us", tz="UTC")),
            "lat": pa.array([v[0] for v in values], pa.float64()),
            "lon": pa.array([v[1] for v in values], pa.float64()),
            "sog_kn": pa.array([v[2] for v in values], pa.float32(), from_pandas=True),
            "msg_type": pa.array([v[3] for v in values], pa.int8()),
        }
    )
    b = build_batch(table, state)
    got = list(
        zip(
            b.m.tolist(),
            b.t.tolist(),
            b.lat.tolist(),
            b.lon.tolist(),
            b.sog.tolist(),
            b.msg_type.tolist(),
            b.real.tolist(),
            b.state_last.tolist(),
            b.prev.tolist(),
            b.group_last.tolist(),
            strict=True,
        )
    )
    expected = _reference_join(m, t, values, known)
    assert len(got) == len(expected)
    for row, want in zip(got, expected, strict=True):
        assert all(
            (isinstance(x, float) and math.isnan(x) and math.isnan(y)) or x == y
            for x, y in zip(row, want, strict=True)
        ), (row, want)
    assert b.rejected_stale == n - sum(1 for row in expected if row[6])
    assert np.array_equal(b.srow, state.rows_for(b.m)) or len(b.m) == 0
    assert np.array_equal(b.input.by_vessel, np.argsort(np.array(m, np.int64), kind="stable"))


@settings(max_examples=200)
@given(st.integers(0, 120), st.data())
def test_newest_per_slot_matches_the_full_lexsort(n: int, data: st.DataObject) -> None:
    m = data.draw(hnp.arrays(np.int64, n, elements=st.sampled_from([5, 9, 412_000_001, 2**40])))
    if data.draw(st.booleans()):  # as the engine sends them: by vessel, arrival within
        m = np.sort(m)
    t = data.draw(hnp.arrays(np.int64, n, elements=st.integers(0, 40) | st.just(1 << 17)))
    if data.draw(st.booleans()):  # times rising, or any order
        t = np.sort(t)
    k = t // data.draw(st.sampled_from([1, 7, 60]))
    order = np.lexsort((np.arange(n), t, m, k))
    ks, ms = k[order], m[order]
    expected = order[np.r_[(ks[1:] != ks[:-1]) | (ms[1:] != ms[:-1]), True]] if n else order
    assert np.array_equal(_newest_per_slot(k, m, t), expected)


def test_hop_bound_never_undercuts_the_haversine() -> None:
    rng = np.random.default_rng(3)
    n = 200_000
    lat1, lat2 = rng.uniform(-95, 95, (2, n))
    lon1 = rng.uniform(-540, 540, n)
    lon2 = lon1 + rng.normal(0, 2, n) * rng.choice([0.001, 1, 100], n)
    bound = _hop_bound_m(np.r_[lat1, lat2], np.r_[lon1, lon2], np.r_[np.arange(n), np.arange(n)])
    assert (bound[n:] + 10.0 >= haversine_m(lat1, lon1, lat2, lon2)).all()


@pytest.mark.parametrize("threshold_m", [1_000.0, 10_000.0, 20 * NM_M, 50 * NM_M, CAP_M, 0.0])
def test_farther_than_is_distance_to_shore_against_the_threshold(threshold_m: float) -> None:
    shore = shore_index()
    rng = np.random.default_rng(11)
    # Near coasts (around the test scenes and the threshold), anywhere, and odd inputs.
    lat = np.r_[rng.uniform(8, 13, 40_000), rng.uniform(-90, 90, 5_000), 90.0, -90.0, 91.0]
    lon = np.r_[rng.uniform(103, 111, 40_000), rng.uniform(-180, 180, 5_000), 0.0, 180.0, 200.0]
    expected = shore.distance_m(lat, lon) >= threshold_m
    assert np.array_equal(shore.farther_than(lat, lon, threshold_m), expected)
    assert np.array_equal(shore.farther_than(lat, lon, threshold_m), expected)  # cached


def test_an_open_episode_re_emitted_every_batch_stays_one_event() -> None:
    """Each batch's sighting of an open episode updates the event the engine holds, in place
    and under the id the store keys on, and is reported as changed by that batch."""
    from jointwatch.detect.engine import DetectionEngine
    from jointwatch.detect.events import Event

    engine = DetectionEngine()
    for k in range(1, 4):
        engine._changed = {}
        sighting = Event("spoofing", 563_000_001, 1_000_000, 10.0, 110.0, end_us=k * 1_000_000)
        sighting.details = {"reason": "on_land", "n_reports": 1}
        engine._emit(sighting, False)
        (changed,) = engine._changed.values()
        assert changed.end_us == k * 1_000_000 and changed.details["n_reports"] == k
    (held,) = engine.events.values()
    assert list(engine.events) == [held.id] and held.details["n_reports"] == 3
