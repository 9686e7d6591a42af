"""The incident lifecycle (``ops/lifecycle.py``): every state x action against ``ACTIONS``.

Pure: payloads in, payloads out, the time handed in by the caller (the node passes its own
clock), so each expected timeline entry is known exactly.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from jointwatch.ops.lifecycle import (
    ACTIONS,
    INCIDENT_KINDS,
    OPEN_STATES,
    SEVERITIES,
    STATES,
    Actor,
    TransitionError,
    apply_action,
    first_time,
    last_time,
    new_incident,
)

T0 = datetime(2026, 3, 1, 8, 0, 0, tzinfo=UTC)
OFFICER = Actor("officer", "USA")
PARTNER = Actor("vnm.officer", "VNM")
TASKED = {"gid": "jw-usa:unit-1", "name": "USCGC Munro", "nation": "USA"}
FRESH = {"gid": "jw-vnm:unit-2", "name": "CSB 8001", "nation": "VNM"}
UNIT_ACTIONS = ("task", "on_scene", "release_unit")


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def opened(**fields: Any) -> dict[str, Any]:
    return new_incident({"kind": "piracy", "title": "boarding", **fields}, OFFICER, T0, None)


def in_state(state: str) -> dict[str, Any]:
    """An incident in ``state``; from tasked on, ``TASKED`` is tasked to it (and on scene
    from on_scene on), as the real path there would have left it."""
    payload = opened()
    payload["state"] = state
    if state in ("tasked", "on_scene", "resolved", "false_alarm"):
        payload["taskings"] = [
            {
                "unit_gid": TASKED["gid"],
                "unit_name": TASKED["name"],
                "unit_nation": TASKED["nation"],
                "status": "on_scene" if state == "on_scene" else "tasked",
                "tasked_at": iso(T0),
                "tasked_by": "officer",
            }
        ]
    return payload


def unit_for(action: str) -> dict[str, Any] | None:
    if action == "task":
        return FRESH  # a unit not tasked yet
    if action in ("on_scene", "release_unit"):
        return TASKED
    return None


def expected_state(state: str, action: str) -> str:
    _, target = ACTIONS[action]
    if action == "task":
        return "tasked" if state == "acknowledged" else state
    if action == "release_unit":
        return state
    assert target is not None
    return target


# ---- the table, pair by pair ---------------------------------------------------------------


def test_the_table_covers_the_lifecycle_of_the_issue() -> None:
    assert STATES == ("detected", "acknowledged", "tasked", "on_scene", "resolved", "false_alarm")
    assert set(OPEN_STATES) == {"detected", "acknowledged", "tasked", "on_scene"}
    assert set(ACTIONS) == {
        "acknowledge",
        "task",
        "on_scene",
        "release_unit",
        "resolve",
        "false_alarm",
        "reopen",
    }
    for allowed, target in ACTIONS.values():
        assert allowed <= set(STATES)
        assert target is None or target in STATES
    # The issue's rules, spelled out once more than the table does.
    assert "detected" not in ACTIONS["resolve"][0]  # no resolve before acknowledge
    assert "detected" not in ACTIONS["task"][0]
    assert "acknowledged" not in ACTIONS["on_scene"][0]  # no on scene before a unit is tasked
    assert ACTIONS["false_alarm"][0] == OPEN_STATES
    assert ACTIONS["reopen"][0] == {"resolved", "false_alarm"}


@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize("state", STATES)
def test_every_state_action_pair_follows_the_table(state: str, action: str) -> None:
    payload = in_state(state)
    before = copy.deepcopy(payload)
    at = T0 + timedelta(minutes=7, seconds=3, milliseconds=250)
    allowed, _ = ACTIONS[action]

    if state not in allowed:
        with pytest.raises(TransitionError) as refused:
            apply_action(payload, action, OFFICER, at, unit=unit_for(action))
        message = str(refused.value)
        assert f"an incident that is {state.replace('_', ' ')}" in message
        assert f"cannot {action.replace('_', ' ')}" in message
        for origin in allowed:
            assert origin in message  # says where the action would be allowed from
        assert payload == before
        return

    out = apply_action(payload, action, PARTNER, at, unit=unit_for(action), note="radio call")
    assert out["state"] == expected_state(state, action)
    assert payload == before  # the input is not touched
    assert out["timeline"][:-1] == before["timeline"]
    entry = out["timeline"][-1]
    assert entry["action"] == action
    assert entry["from"] == state
    assert entry["to"] == out["state"]
    assert entry["at"] == "2026-03-01T08:07:03.250Z"  # the time handed in, UTC, to the ms
    assert entry["by"] == "vnm.officer"
    assert entry["nation"] == "VNM"
    assert entry["note"] == "radio call"
    unit = unit_for(action)
    if unit is not None:
        assert entry["unit"] == {"gid": unit["gid"], "name": unit["name"], "nation": unit["nation"]}
    else:
        assert "unit" not in entry
    # Fields the action does not concern pass through unchanged.
    for key in ("kind", "title", "detected_at", "opened_by", "requests"):
        assert out[key] == before[key]


def test_unknown_action_is_refused_naming_the_actions() -> None:
    with pytest.raises(TransitionError, match=r"unknown action 'escalate'.*acknowledge"):
        apply_action(opened(), "escalate", OFFICER, T0)


# ---- tasking -----------------------------------------------------------------------------


def acknowledged() -> dict[str, Any]:
    return apply_action(opened(), "acknowledge", OFFICER, T0 + timedelta(minutes=1))


def test_first_unit_moves_to_tasked_and_records_the_tasking() -> None:
    at = T0 + timedelta(minutes=2)
    unit = {**TASKED, "distance_m": 12_345.6, "eta_h": 0.42}
    out = apply_action(acknowledged(), "task", OFFICER, at, unit=unit)
    assert out["state"] == "tasked"
    assert out["taskings"] == [
        {
            "unit_gid": TASKED["gid"],
            "unit_name": TASKED["name"],
            "unit_nation": "USA",
            "status": "tasked",
            "tasked_at": iso(at),
            "tasked_by": "officer",
            "distance_m": 12_345.6,
            "eta_h": 0.42,
        }
    ]
    # A second unit (of the other nation) joins without moving the state back or forth.
    both = apply_action(out, "task", PARTNER, at, unit=FRESH)
    assert both["state"] == "tasked"
    assert [t["unit_gid"] for t in both["taskings"]] == [TASKED["gid"], FRESH["gid"]]
    assert both["taskings"][1]["unit_nation"] == "VNM"


def test_tasking_the_same_unit_twice_is_refused() -> None:
    once = apply_action(acknowledged(), "task", OFFICER, T0, unit=TASKED)
    with pytest.raises(TransitionError, match="USCGC Munro is already tasked"):
        apply_action(once, "task", OFFICER, T0, unit=TASKED)
    on_scene = apply_action(once, "on_scene", OFFICER, T0, unit=TASKED)
    with pytest.raises(TransitionError, match="already tasked"):
        apply_action(on_scene, "task", OFFICER, T0, unit=TASKED)
    # Released, the unit may be tasked again: a new tasking, the old one kept as history.
    released = apply_action(on_scene, "release_unit", OFFICER, T0, unit=TASKED)
    again = apply_action(released, "task", OFFICER, T0, unit=TASKED)
    assert [t["status"] for t in again["taskings"]] == ["released", "tasked"]


@pytest.mark.parametrize("action", ["on_scene", "release_unit"])
def test_on_scene_or_release_of_an_untasked_unit_is_refused(action: str) -> None:
    tasked = apply_action(acknowledged(), "task", OFFICER, T0, unit=TASKED)
    with pytest.raises(TransitionError, match="CSB 8001 is not tasked to this incident"):
        apply_action(tasked, action, OFFICER, T0, unit=FRESH)
    released = apply_action(tasked, "release_unit", OFFICER, T0, unit=TASKED)
    with pytest.raises(TransitionError, match="not tasked"):
        apply_action(released, action, OFFICER, T0, unit=TASKED)


@pytest.mark.parametrize("action", UNIT_ACTIONS)
def test_unit_actions_need_a_unit(action: str) -> None:
    payload = in_state("tasked")
    for unit in (None, {"name": "no gid"}, {"gid": ""}):
        with pytest.raises(TransitionError, match="needs a unit"):
            apply_action(payload, action, OFFICER, T0, unit=unit)


def test_on_scene_and_release_record_their_times_on_the_tasking() -> None:
    tasked = apply_action(acknowledged(), "task", OFFICER, T0, unit=TASKED)
    arrived = apply_action(tasked, "on_scene", OFFICER, T0 + timedelta(hours=1), unit=TASKED)
    assert arrived["state"] == "on_scene"
    assert arrived["taskings"][0]["status"] == "on_scene"
    assert arrived["taskings"][0]["on_scene_at"] == iso(T0 + timedelta(hours=1))
    assert tasked["taskings"][0]["status"] == "tasked"  # the earlier version is untouched
    left = apply_action(arrived, "release_unit", OFFICER, T0 + timedelta(hours=2), unit=TASKED)
    assert left["state"] == "on_scene"  # releasing a unit does not move the incident back
    assert left["taskings"][0]["status"] == "released"
    assert left["taskings"][0]["released_at"] == iso(T0 + timedelta(hours=2))


# ---- closing and reopening -----------------------------------------------------------------


@pytest.mark.parametrize("state", sorted(OPEN_STATES))
def test_false_alarm_from_every_open_state(state: str) -> None:
    out = apply_action(in_state(state), "false_alarm", OFFICER, T0, note="fishing fleet")
    assert out["state"] == "false_alarm"
    assert out["timeline"][-1]["from"] == state
    assert out["timeline"][-1]["note"] == "fishing fleet"
    again = apply_action(out, "reopen", OFFICER, T0)
    assert again["state"] == "acknowledged"


@pytest.mark.parametrize("state", ["resolved", "false_alarm"])
def test_closed_incidents_refuse_everything_but_reopen(state: str) -> None:
    for action in ACTIONS:
        if action == "reopen":
            continue
        with pytest.raises(TransitionError, match=f"that is {state.replace('_', ' ')}"):
            apply_action(in_state(state), action, OFFICER, T0, unit=unit_for(action))


def test_reopen_then_resolve_again_keeps_both_resolutions() -> None:
    times = [T0 + timedelta(minutes=m) for m in range(6)]
    p = apply_action(opened(), "acknowledge", OFFICER, times[1])
    p = apply_action(p, "resolve", OFFICER, times[2])
    p = apply_action(p, "reopen", PARTNER, times[3], note="vessel seen again")
    assert p["state"] == "acknowledged"
    assert p["timeline"][-1]["from"] == "resolved"
    with pytest.raises(TransitionError, match="reopen an incident that is acknowledged"):
        apply_action(p, "reopen", OFFICER, times[4])
    p = apply_action(p, "resolve", OFFICER, times[4])
    assert p["state"] == "resolved"
    assert [e["action"] for e in p["timeline"]] == [
        "open",
        "acknowledge",
        "resolve",
        "reopen",
        "resolve",
    ]
    assert first_time(p, "resolved") == iso(times[2])
    assert last_time(p, "resolved") == iso(times[4])
    assert first_time(p, "acknowledged") == iso(times[1])  # the reopen is not a first
    assert last_time(p, "acknowledged") == iso(times[3])
    assert first_time(p, "tasked") is None


@pytest.mark.parametrize("close", ["resolve", "false_alarm"])
def test_closing_releases_the_units_and_a_reopen_can_task_them_again(close: str) -> None:
    at = [T0 + timedelta(minutes=m) for m in range(8)]
    p = apply_action(acknowledged(), "task", OFFICER, at[2], unit=TASKED)
    p = apply_action(p, "task", OFFICER, at[3], unit=FRESH)
    p = apply_action(p, "release_unit", OFFICER, at[4], unit=FRESH)
    p = apply_action(p, "on_scene", OFFICER, at[5], unit=TASKED)
    closed = apply_action(p, close, OFFICER, at[6])
    assert [(t["unit_gid"], t["status"]) for t in closed["taskings"]] == [
        (TASKED["gid"], "released"),
        (FRESH["gid"], "released"),
    ]
    assert closed["taskings"][0]["released_at"] == iso(at[6])
    assert closed["taskings"][0]["on_scene_at"] == iso(at[5])  # history is kept
    assert closed["taskings"][1]["released_at"] == iso(at[4])  # released before: unchanged
    assert p["taskings"][0]["status"] == "on_scene"  # the earlier version is untouched
    reopened = apply_action(closed, "reopen", OFFICER, at[7])
    again = apply_action(reopened, "task", OFFICER, at[7], unit=TASKED)
    assert again["state"] == "tasked"
    assert [t["status"] for t in again["taskings"]] == ["released", "released", "tasked"]
    with pytest.raises(TransitionError, match="not tasked"):
        apply_action(again, "on_scene", OFFICER, at[7], unit=FRESH)


# ---- opening -------------------------------------------------------------------------------


def test_new_incident_is_detected_with_the_server_time_and_who_opened_it() -> None:
    at = datetime(2026, 3, 1, 15, 30, 0, 123_456, tzinfo=timezone(timedelta(hours=7)))
    alert = {"id": "abc", "kind": "approach", "origin_nation": "VNM", "gid": "jw-vnm:alert:abc"}
    payload = new_incident(
        {"kind": "search_and_rescue", "title": "MOB", "lat": 10.5, "lon": None},
        PARTNER,
        at,
        alert,
    )
    assert payload["state"] == "detected"
    assert payload["severity"] == "medium"
    assert payload["detected_at"] == "2026-03-01T08:30:00.123Z"  # UTC whatever the zone
    assert payload["opened_by"] == "vnm.officer"
    assert payload["opened_nation"] == "VNM"
    assert payload["timeline"] == [
        {
            "action": "open",
            "to": "detected",
            "at": "2026-03-01T08:30:00.123Z",
            "by": "vnm.officer",
            "nation": "VNM",
        }
    ]
    assert payload["taskings"] == [] and payload["requests"] == []
    assert payload["source_alert"] == alert
    assert "lon" not in payload  # None fields are left out
    # Whatever state or timeline a caller slips in, the server's win.
    forged = new_incident(
        {"kind": "piracy", "title": "x", "state": "resolved", "timeline": [], "detected_at": "1"},
        OFFICER,
        T0,
        None,
    )
    assert forged["state"] == "detected"
    assert forged["detected_at"] == iso(T0)
    assert len(forged["timeline"]) == 1
    assert "source_alert" not in forged


def test_new_incident_refuses_unknown_kind_and_severity() -> None:
    for kind in INCIDENT_KINDS:
        assert new_incident({"kind": kind}, OFFICER, T0, None)["kind"] == kind
    for severity in SEVERITIES:
        assert opened(severity=severity)["severity"] == severity
    with pytest.raises(TransitionError, match="incident kind must be one of piracy"):
        new_incident({"kind": "alien_landing"}, OFFICER, T0, None)
    with pytest.raises(TransitionError, match="incident kind"):
        new_incident({}, OFFICER, T0, None)
    with pytest.raises(TransitionError, match="severity must be one of low"):
        opened(severity="apocalyptic")
