"""The detectors' shortcuts give exactly what the plain computation they replace gives.

Each shortcut (a sort skipped, a bound checked before an exact distance, a cache) is
compared with the straightforward NumPy expression it stands for, on random inputs that
include the awkward cases: ties, times out of order, values past the fast path's range.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from jointwatch.detect.batch import _ext_order, group_prefix_max
from jointwatch.detect.pairs import _newest_per_slot
from jointwatch.detect.vessel import _hop_bound_m
from jointwatch.geo.distance import NM_M, haversine_m
from jointwatch.geo.shore import CAP_M, shore_index
from jointwatch.picture.columns import by_key_then_time, stable_order

small_ints = hnp.arrays(np.int64, st.integers(0, 300), elements=st.integers(0, 6))


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


@given(small_ints, st.data())
def test_group_prefix_max_is_the_running_maximum_per_group(
    g: np.ndarray, data: st.DataObject
) -> None:
    group = np.sort(g)
    rising = data.draw(st.booleans())
    values = data.draw(hnp.arrays(np.int64, len(group), elements=st.integers(-50, 50)))
    if rising:  # the usual case, which skips the sort
        values = np.sort(values)
    expected = values.copy()
    for i in range(1, len(values)):
        if group[i] == group[i - 1]:
            expected[i] = max(expected[i - 1], values[i])
    assert np.array_equal(group_prefix_max(group, values), expected)


@given(st.integers(1, 30), st.data())
def test_ext_order_is_the_lexsort_on_vessel_part_arrival(
    n_groups: int, data: st.DataObject
) -> None:
    has_p = data.draw(hnp.arrays(bool, n_groups))
    has_l = data.draw(hnp.arrays(bool, n_groups)) | has_p  # an earlier report implies a last
    pg, lg = np.flatnonzero(has_p), np.flatnonzero(has_l)
    kg = np.sort(
        data.draw(hnp.arrays(np.int64, st.integers(0, 60), elements=st.integers(0, n_groups - 1)))
    )
    groups = np.concatenate((pg, lg, kg))
    seq = np.concatenate((np.full(len(pg), -2), np.full(len(lg), -1), np.arange(len(kg))))
    assert np.array_equal(_ext_order(pg, lg, kg, n_groups), np.lexsort((seq, groups)))


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
