"""Response-time metrics (``ops/metrics.py``): durations read off a timeline, and their
median and 90th percentile per kind, nation, month and overall, checked against NumPy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from jointwatch.ops.lifecycle import Actor, apply_action, new_incident
from jointwatch.ops.metrics import DURATIONS, incident_durations, summarise

T0 = datetime(2026, 5, 31, 23, 0, 0, tzinfo=UTC)
USA = Actor("usa.officer", "USA")
VNM = Actor("vnm.officer", "VNM")
UNIT_A = {"gid": "jw-usa:a", "name": "A", "nation": "USA"}
UNIT_B = {"gid": "jw-vnm:b", "name": "B", "nation": "VNM"}


def run(
    steps: list[tuple[str, float, dict[str, Any] | None]],
    *,
    kind: str = "piracy",
    start: datetime = T0,
) -> dict[str, Any]:
    """An incident opened at ``start`` taken through (action, seconds after start, unit)."""
    payload = new_incident({"kind": kind, "title": "t"}, USA, start, None)
    for action, seconds, unit in steps:
        payload = apply_action(payload, action, USA, start + timedelta(seconds=seconds), unit=unit)
    return payload


def full(ack: float, task: float, scene: float, resolve: float, **kw: Any) -> dict[str, Any]:
    return run(
        [
            ("acknowledge", ack, None),
            ("task", task, UNIT_A),
            ("on_scene", scene, UNIT_A),
            ("resolve", resolve, None),
        ],
        **kw,
    )


# ---- one incident ------------------------------------------------------------------------


def test_durations_of_a_straight_run() -> None:
    assert incident_durations(full(30, 90.5, 3600, 7200.25)) == {
        "acknowledge_s": 30.0,
        "task_s": 90.5,
        "on_scene_s": 3600.0,
        "resolve_s": 7200.25,
    }
    assert set(DURATIONS) == {"acknowledge", "task", "on_scene", "resolve"}


def test_a_fresh_incident_has_no_durations() -> None:
    fresh = run([])
    assert incident_durations(fresh) == dict.fromkeys(
        ("acknowledge_s", "task_s", "on_scene_s", "resolve_s")
    )


def test_first_acknowledged_tasked_and_on_scene_count_not_later_ones() -> None:
    payload = run(
        [
            ("acknowledge", 10, None),
            ("task", 20, UNIT_A),
            ("task", 25, UNIT_B),  # a second unit: tasked -> tasked
            ("on_scene", 40, UNIT_A),
            ("on_scene", 45, UNIT_B),  # on_scene -> on_scene
            ("resolve", 60, None),
            ("reopen", 70, None),  # -> acknowledged again
            ("task", 80, {"gid": "jw-usa:c", "name": "C", "nation": "USA"}),  # tasked again
            ("resolve", 100, None),
        ]
    )
    assert incident_durations(payload) == {
        "acknowledge_s": 10.0,
        "task_s": 20.0,
        "on_scene_s": 40.0,
        "resolve_s": 100.0,  # the last resolution
    }


def test_reopened_and_not_resolved_again_has_no_resolve_time() -> None:
    payload = run([("acknowledge", 10, None), ("resolve", 50, None), ("reopen", 60, None)])
    assert incident_durations(payload) == {
        "acknowledge_s": 10.0,
        "task_s": None,
        "on_scene_s": None,
        "resolve_s": None,
    }
    closed = apply_action(payload, "false_alarm", USA, T0 + timedelta(seconds=70))
    assert incident_durations(closed)["resolve_s"] is None  # a false alarm is not resolved


def test_false_alarm_keeps_the_times_reached_before_it() -> None:
    payload = run([("acknowledge", 5, None), ("task", 8, UNIT_B), ("false_alarm", 9, None)])
    assert incident_durations(payload) == {
        "acknowledge_s": 5.0,
        "task_s": 8.0,
        "on_scene_s": None,
        "resolve_s": None,
    }


def test_durations_come_from_the_timeline_times_only() -> None:
    """Milliseconds count, and the end of May becomes June without a hiccup."""
    payload = run([("acknowledge", 3600.001, None)])
    assert payload["timeline"][-1]["at"] == "2026-06-01T00:00:00.001Z"
    assert incident_durations(payload)["acknowledge_s"] == pytest.approx(3600.001, abs=1e-6)
    assert incident_durations({})["acknowledge_s"] is None  # nothing to read


# ---- many incidents ----------------------------------------------------------------------


def row(payload: dict[str, Any], nation: str = "USA") -> dict[str, Any]:
    return {
        "kind": payload["kind"],
        "nation": nation,
        "month": payload["detected_at"][:7],
        "payload": payload,
    }


def numpy_stats(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"count": 0, "median_s": None, "p90_s": None}
    return {
        "count": len(values),
        "median_s": round(float(np.median(values)), 3),
        "p90_s": round(float(np.percentile(values, 90)), 3),
    }


ACKS = [12.0, 30.0, 45.5, 61.0, 300.0, 17.25, 1000.0]


def test_median_and_p90_match_numpy_on_a_hand_made_set() -> None:
    rows = [row(full(a, a * 2, a * 3, a * 4)) for a in ACKS]
    [summary] = summarise(rows, "all")
    assert summary["group"] == "all"
    assert summary["incidents"] == len(ACKS)
    for name, factor in (("acknowledge", 1), ("task", 2), ("on_scene", 3), ("resolve", 4)):
        assert summary[name] == numpy_stats([a * factor for a in ACKS]), name
    # Hand-checked too (NumPy's linear interpolation): sorted 12, 17.25, 30, 45.5, 61, 300,
    # 1000 -> median 45.5; p90 at rank 5.4 -> 300 + 0.4 * 700 = 580.
    assert summary["acknowledge"]["median_s"] == 45.5
    assert summary["acknowledge"]["p90_s"] == 580.0


def test_even_sets_interpolate_and_single_values_are_their_own_percentiles() -> None:
    [two] = summarise([row(full(10, 20, 30, 40)), row(full(20, 40, 60, 80))], "all")
    assert two["acknowledge"] == {"count": 2, "median_s": 15.0, "p90_s": 19.0}
    [one] = summarise([row(full(7, 8, 9, 10))], "all")
    assert one["resolve"] == {"count": 1, "median_s": 10.0, "p90_s": 10.0}


def test_counts_include_incidents_that_never_reached_a_state() -> None:
    rows = [
        row(full(10, 20, 30, 40)),
        row(run([("acknowledge", 20, None)])),  # acknowledged only
        row(run([])),  # never acknowledged
        row(run([("acknowledge", 60, None), ("false_alarm", 61, None)])),
    ]
    [summary] = summarise(rows, "all")
    assert summary["incidents"] == 4
    assert summary["acknowledge"] == numpy_stats([10.0, 20.0, 60.0])
    assert summary["task"] == numpy_stats([20.0])
    assert summary["on_scene"] == numpy_stats([30.0])
    assert summary["resolve"] == numpy_stats([40.0])
    [nothing] = summarise([row(run([]))], "all")
    assert nothing["incidents"] == 1
    for name in DURATIONS:
        assert nothing[name] == {"count": 0, "median_s": None, "p90_s": None}


def test_grouping_by_kind_nation_month_and_all() -> None:
    may = T0  # 2026-05-31 23:00 UTC
    june = T0 + timedelta(hours=2)
    incidents = [
        (full(10, 20, 30, 40, kind="piracy", start=may), "USA"),
        (full(20, 30, 40, 50, kind="piracy", start=june), "VNM"),
        (full(40, 50, 60, 70, kind="piracy", start=june), "VNM"),
        (full(100, 110, 120, 130, kind="search_and_rescue", start=may), "USA"),
        (run([], kind="disaster_relief", start=june), "USA"),
    ]
    rows = [row(p, nation) for p, nation in incidents]
    acks = {id(r): incident_durations(r["payload"])["acknowledge_s"] for r in rows}

    def expect(key: str) -> dict[str, tuple[int, dict[str, Any]]]:
        groups: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            groups.setdefault("all" if key == "all" else r[key], []).append(r)
        return {
            g: (len(members), numpy_stats([acks[id(m)] for m in members if acks[id(m)]]))
            for g, members in groups.items()
        }

    for key in ("kind", "nation", "month", "all"):
        summary = summarise(rows, key)
        assert [s["group"] for s in summary] == sorted(s["group"] for s in summary)
        got = {s["group"]: (s["incidents"], s["acknowledge"]) for s in summary}
        assert got == expect(key), key
    assert [s["group"] for s in summarise(rows, "month")] == ["2026-05", "2026-06"]
    assert [s["group"] for s in summarise(rows, "nation")] == ["USA", "VNM"]
    by_kind = {s["group"]: s for s in summarise(rows, "kind")}
    assert by_kind["disaster_relief"]["incidents"] == 1
    assert by_kind["disaster_relief"]["acknowledge"]["count"] == 0
    assert by_kind["piracy"]["resolve"] == numpy_stats([40.0, 50.0, 70.0])


def test_no_incidents_no_groups_and_unknown_grouping_refused() -> None:
    assert summarise([], "kind") == []
    with pytest.raises(ValueError, match="group_by is kind, nation, month or all"):
        summarise([], "severity")
