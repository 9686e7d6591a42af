"""The incident lifecycle: which action may follow which, and what it records.

detected → acknowledged → tasked → on scene → resolved, or closed as a false alarm from any
open state; a closed incident may be reopened. Why a table: the API, the console and the
tests read the same rules, and a refusal names the state the incident is in. Every
transition is appended to the incident's timeline with a server-side time, the user and
their nation; response times are read off that timeline (``metrics.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jointwatch.errors import JointWatchError

__all__ = [
    "ACTIONS",
    "INCIDENT_KINDS",
    "OPEN_STATES",
    "SEVERITIES",
    "STATES",
    "Actor",
    "TransitionError",
    "apply_action",
    "new_incident",
]

INCIDENT_KINDS: tuple[str, ...] = (
    "piracy",
    "search_and_rescue",
    "disaster_relief",
    "illegal_fishing",
    "smuggling",
    "pollution",
    "zone_violation",
    "other",
)
SEVERITIES: tuple[str, ...] = ("low", "medium", "high", "critical")
STATES: tuple[str, ...] = (
    "detected",
    "acknowledged",
    "tasked",
    "on_scene",
    "resolved",
    "false_alarm",
)
OPEN_STATES = frozenset({"detected", "acknowledged", "tasked", "on_scene"})

# action -> (states it may start from, state it leads to; None keeps the current state)
ACTIONS: dict[str, tuple[frozenset[str], str | None]] = {
    "acknowledge": (frozenset({"detected"}), "acknowledged"),
    "task": (frozenset({"acknowledged", "tasked", "on_scene"}), None),
    "on_scene": (frozenset({"tasked", "on_scene"}), "on_scene"),
    "release_unit": (frozenset({"tasked", "on_scene"}), None),
    "resolve": (frozenset({"acknowledged", "tasked", "on_scene"}), "resolved"),
    "false_alarm": (frozenset(OPEN_STATES), "false_alarm"),
    "reopen": (frozenset({"resolved", "false_alarm"}), "acknowledged"),
}


class TransitionError(JointWatchError, ValueError):
    """An action the incident's state does not allow (e.g. resolve before acknowledge)."""


@dataclass(frozen=True)
class Actor:
    """Who acts: the user and their nation (a partner's officer acts as their nation)."""

    username: str
    nation: str


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_incident(
    fields: Mapping[str, Any], actor: Actor, at: datetime, source_alert: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The payload of a new incident in state ``detected``."""
    kind = fields.get("kind")
    if kind not in INCIDENT_KINDS:
        raise TransitionError(f"incident kind must be one of {', '.join(INCIDENT_KINDS)}")
    severity = fields.get("severity", "medium")
    if severity not in SEVERITIES:
        raise TransitionError(f"severity must be one of {', '.join(SEVERITIES)}")
    stamp = _iso(at)
    payload = {
        **{k: v for k, v in fields.items() if v is not None},
        "kind": kind,
        "severity": severity,
        "state": "detected",
        "detected_at": stamp,
        "opened_by": actor.username,
        "opened_nation": actor.nation,
        "timeline": [
            {
                "action": "open",
                "to": "detected",
                "at": stamp,
                "by": actor.username,
                "nation": actor.nation,
            }
        ],
        "taskings": [],
        "requests": list(fields.get("requests") or []),
    }
    if source_alert is not None:
        payload["source_alert"] = dict(source_alert)
    return payload


def apply_action(
    payload: Mapping[str, Any],
    action: str,
    actor: Actor,
    at: datetime,
    *,
    unit: Mapping[str, Any] | None = None,
    note: str = "",
) -> dict[str, Any]:
    """The incident after ``action``; ``TransitionError`` if its state does not allow it.

    ``task``, ``on_scene`` and ``release_unit`` name a unit (``unit`` with gid, name,
    nation). The first unit tasked moves an acknowledged incident to ``tasked``; the first
    unit on scene moves it to ``on_scene``. Resolving it or closing it as a false alarm
    releases the units still tasked to it.
    """
    if action not in ACTIONS:
        raise TransitionError(f"unknown action {action!r}; actions: {', '.join(ACTIONS)}")
    allowed, target = ACTIONS[action]
    state = str(payload.get("state"))
    if state not in allowed:
        raise TransitionError(
            f"cannot {action.replace('_', ' ')} an incident that is {state.replace('_', ' ')}"
            f" (allowed from: {', '.join(sorted(allowed))})"
        )
    stamp = _iso(at)
    out = dict(payload)
    taskings = [dict(t) for t in payload.get("taskings") or []]
    entry: dict[str, Any] = {
        "action": action,
        "from": state,
        "at": stamp,
        "by": actor.username,
        "nation": actor.nation,
    }
    if action in ("task", "on_scene", "release_unit"):
        if unit is None or not unit.get("gid"):
            raise TransitionError(f"{action.replace('_', ' ')} needs a unit")
        entry["unit"] = {"gid": unit["gid"], "name": unit.get("name"), "nation": unit.get("nation")}
        current = next(
            (t for t in taskings if t["unit_gid"] == unit["gid"] and t["status"] != "released"),
            None,
        )
        if action == "task":
            if current is not None:
                raise TransitionError(f"{unit.get('name')} is already tasked to this incident")
            taskings.append(
                {
                    "unit_gid": unit["gid"],
                    "unit_name": unit.get("name"),
                    "unit_nation": unit.get("nation"),
                    "status": "tasked",
                    "tasked_at": stamp,
                    "tasked_by": actor.username,
                    "distance_m": unit.get("distance_m"),
                    "eta_h": unit.get("eta_h"),
                }
            )
            target = "tasked" if state == "acknowledged" else state
        elif current is None:
            raise TransitionError(f"{unit.get('name')} is not tasked to this incident")
        elif action == "on_scene":
            current["status"] = "on_scene"
            current["on_scene_at"] = stamp
        else:
            current["status"] = "released"
            current["released_at"] = stamp
            target = state
    if target in ("resolved", "false_alarm"):
        # A closed incident holds no unit: a reopened one starts with its units free to task.
        for tasking in taskings:
            if tasking["status"] != "released":
                tasking["status"] = "released"
                tasking["released_at"] = stamp
    if note:
        entry["note"] = note[:2000]
    entry["to"] = target or state
    out["state"] = entry["to"]
    out["taskings"] = taskings
    out["timeline"] = [*(payload.get("timeline") or []), entry]
    return out


def first_time(payload: Mapping[str, Any], state: str) -> str | None:
    """When the incident first reached ``state`` (ISO), from its timeline."""
    for entry in payload.get("timeline") or []:
        if entry.get("to") == state and entry.get("from") != state:
            return str(entry["at"])
    return None


def last_time(payload: Mapping[str, Any], state: str) -> str | None:
    """When the incident last reached ``state`` (a reopened one may resolve twice)."""
    found = None
    for entry in payload.get("timeline") or []:
        if entry.get("to") == state and entry.get("from") != state:
            found = str(entry["at"])
    return found
