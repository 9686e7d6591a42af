"""The joint command center through its REST API, in process (one USA node, SQLite).

Every transition rule, server-side times, the authorization of each role on each ops route,
releasability to a partner's liaison, incidents opened from our alerts and from a partner's
shared alert (and how far such an incident may be released), unit suggestions and status,
HADR requests, response-time metrics and their CSV, and the marking of ops-log entries.
Partner records (alerts, units, incidents of VNM) arrive as they would from a VNM node: by a
push to ``POST /api/federation/records`` with the credential this node issued to VNM.
"""

from __future__ import annotations

import csv
import io
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from jointwatch.ais.encode import encode_message
from jointwatch.api.app import create_app
from jointwatch.config import Settings
from jointwatch.detect.events import Event
from jointwatch.ops.lifecycle import ACTIONS, STATES, Actor, apply_action, new_incident
from jointwatch.sharing.roles import ROLES, permissions_for
from jointwatch.sharing.service import SharingService

REL_VNM = {"classification": "RESTRICTED", "rel_to": ["VNM"]}
REL_USA = {"classification": "RESTRICTED", "rel_to": ["USA"]}
NOFORN = {"classification": "RESTRICTED", "local_only": True}
GROUP = "ASEAN-MARSEC"

# user name -> (role, nation, clearance)
USERS = {
    "admin": ("admin", "USA", "SECRET"),
    "officer": ("watch_officer", "USA", "SECRET"),
    "analyst": ("analyst", "USA", "SECRET"),
    "liaison": ("liaison", "USA", "SECRET"),
    "manager": ("programme_manager", "USA", "SECRET"),
    "feed": ("feed", "USA", "SECRET"),
    "vnm-liaison": ("liaison", "VNM", "RESTRICTED"),
}


def now() -> datetime:
    return datetime.now(UTC)


def parse(stamp: str) -> datetime:
    assert stamp.endswith("Z"), stamp
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


@dataclass
class Node:
    """The USA node in process, its users' credentials and a few helpers."""

    app: FastAPI
    client: TestClient
    tokens: dict[str, str]

    @property
    def sharing(self) -> SharingService:
        sharing: SharingService = self.app.state.sharing
        return sharing

    def headers(self, who: str | None) -> dict[str, str]:
        return {} if who is None else {"Authorization": f"Bearer {self.tokens[who]}"}

    def call(
        self, method: str, path: str, body: Any = None, who: str | None = "officer"
    ) -> httpx.Response:
        kwargs: dict[str, Any] = {"headers": self.headers(who)}
        if body is not None:
            kwargs["json"] = body
        return self.client.request(method, path, **kwargs)

    def get(self, path: str, who: str | None = "officer", **params: Any) -> httpx.Response:
        # params=None, not {}: an empty mapping would drop the query string of ``path``.
        return self.client.get(path, headers=self.headers(who), params=params or None)

    def ok(self, method: str, path: str, body: Any = None, who: str = "officer") -> Any:
        response = self.call(method, path, body, who)
        assert response.status_code in (200, 201), response.text
        return response.json()

    def incident(self, marking: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
        body = {"kind": "piracy", "title": "boarding", "lat": 10.0, "lon": 107.0, **fields}
        return dict(self.ok("POST", "/api/incidents", {**body, "marking": marking or REL_VNM}))

    def unit(
        self, name: str, lat: float | None, lon: float | None, marking: Any = None, **fields: Any
    ) -> dict[str, Any]:
        body = {"name": name, "type": "ship", "lat": lat, "lon": lon, **fields}
        return dict(self.ok("POST", "/api/units", {**body, "marking": marking or REL_VNM}))

    def act(
        self, gid: str, action: str, unit: str | None = None, who: str = "officer", **extra: Any
    ) -> httpx.Response:
        body = {"action": action, **extra}
        if unit is not None:
            body["unit_gid"] = unit
        return self.call("POST", f"/api/incidents/{gid}/actions", body, who)

    def step(self, gid: str, action: str, unit: str | None = None) -> dict[str, Any]:
        response = self.act(gid, action, unit)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def page(self, gid: str, who: str = "officer") -> dict[str, Any]:
        response = self.get(f"/api/incidents/{gid}", who)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def units(self, who: str = "officer") -> dict[str, dict[str, Any]]:
        return {u["gid"]: u for u in self.ok("GET", "/api/units", who=who)["units"]}

    def push(self, *records: dict[str, Any]) -> list[str]:
        """Records as VNM's node would push them; the receipts' statuses."""
        response = self.client.post(
            "/api/federation/records",
            headers=self.headers("partner"),
            json={"node": "jw-vnm", "nation": "VNM", "records": list(records)},
        )
        assert response.status_code == 200, response.text
        return [r["status"] for r in response.json()["receipts"]]


def vnm_record(
    kind: str, payload: dict[str, Any], marking: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    """A VNM record on the wire, released to USA."""
    stamp = now().isoformat()
    return {
        "gid": f"jw-vnm:{kind}:{uuid.uuid4().hex[:12]}",
        "kind": kind,
        "origin_nation": "VNM",
        "origin_node": "jw-vnm",
        "version": 1,
        "marking": marking or REL_USA,
        "rel_nations": ["USA"],
        "payload": payload,
        "created_at": stamp,
        "updated_at": stamp,
        **extra,
    }


def vnm_unit(name: str, lat: float, lon: float, **fields: Any) -> dict[str, Any]:
    payload = {"name": name, "nation": "VNM", "type": "ship", "lat": lat, "lon": lon, **fields}
    return vnm_record("unit", payload)


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    app = create_app(Settings(data_dir=tmp_path, nation="USA", detect=False, federation=False))
    with TestClient(app) as client:
        sharing: SharingService = app.state.sharing
        sharing.records.put_group(GROUP, ["PHL", "VNM"])
        sharing.reload_groups()
        tokens = {}
        for name, (role, nation, clearance) in USERS.items():
            sharing.accounts.create_user(name, nation=nation, role=role, clearance=clearance)
            tokens[name] = sharing.accounts.create_key(name)[1]
        tokens["officer-read-only"] = sharing.accounts.create_key(
            "officer", name="ro", read_only=True
        )[1]
        tokens["partner"] = sharing.add_partner("vnm", nation="VNM", url=None, ceiling="RESTRICTED")
        yield Node(app, client, tokens)


# ---- 1. the lifecycle, with the server's times -------------------------------------------


def test_lifecycle_from_detected_to_resolved_with_server_times(node: Node) -> None:
    ship = node.unit("USCGC Munro", 10.5, 107.0, speed_kn=20)
    t0 = now()
    opened = node.incident(severity="high", mmsis=[574001234], description="skiff approach")
    assert opened["kind"] == "incident"
    assert opened["origin_nation"] == "USA"
    assert opened["banner"] == "RESTRICTED//REL TO VNM"
    payload = opened["payload"]
    assert payload["state"] == "detected"
    assert payload["opened_by"] == "officer" and payload["opened_nation"] == "USA"
    assert t0 - timedelta(seconds=1) <= parse(payload["detected_at"]) <= now()
    gid = opened["gid"]

    versions = [opened["version"]]
    for action, unit, state in [
        ("acknowledge", None, "acknowledged"),
        ("task", ship["gid"], "tasked"),
        ("on_scene", ship["gid"], "on_scene"),
        ("resolve", None, "resolved"),
    ]:
        before = now()
        out = node.step(gid, action, unit)
        assert out["payload"]["state"] == state
        entry = out["payload"]["timeline"][-1]
        assert entry["action"] == action and entry["to"] == state
        assert entry["by"] == "officer" and entry["nation"] == "USA"
        assert before - timedelta(milliseconds=5) <= parse(entry["at"]) <= now()
        versions.append(out["version"])
    assert versions == [1, 2, 3, 4, 5]

    page = node.page(gid)
    timeline = page["payload"]["timeline"]
    assert [e["action"] for e in timeline] == ["open", "acknowledge", "task", "on_scene", "resolve"]
    times = [parse(e["at"]) for e in timeline]
    assert times == sorted(times)
    t_det = parse(page["payload"]["detected_at"])
    assert page["durations"] == {
        "acknowledge_s": (times[1] - t_det).total_seconds(),
        "task_s": (times[2] - t_det).total_seconds(),
        "on_scene_s": (times[3] - t_det).total_seconds(),
        "resolve_s": (times[4] - t_det).total_seconds(),
    }
    assert page["owned"] is True
    [tasking] = page["payload"]["taskings"]
    assert tasking["unit_gid"] == ship["gid"]
    assert tasking["on_scene_at"] == timeline[3]["at"]
    # Resolving the incident released the unit, at the same time.
    assert (tasking["status"], tasking["released_at"]) == ("released", timeline[4]["at"])
    assert tasking["tasked_by"] == "officer"
    assert tasking["distance_m"] == pytest.approx(55_597.5, abs=1)  # 0.5 degree of latitude
    assert tasking["eta_h"] == pytest.approx(55_597.5 / 1852 / 20, abs=0.01)

    # Each action is audited under its own name.
    audit = node.ok("GET", "/api/audit", who="admin")
    actions = [e["action"] for e in audit["entries"] if e["object_id"] == gid]
    assert set(actions) >= {"create", "acknowledge", "task", "on_scene", "resolve"}


# incident state -> the actions that lead there (units: "u" tasked first, "v" a spare)
PATHS: dict[str, list[tuple[str, str | None]]] = {
    "detected": [],
    "acknowledged": [("acknowledge", None)],
    "tasked": [("acknowledge", None), ("task", "u")],
    "on_scene": [("acknowledge", None), ("task", "u"), ("on_scene", "u")],
    "resolved": [("acknowledge", None), ("resolve", None)],
    "false_alarm": [("false_alarm", None)],
}


@pytest.mark.parametrize("state", STATES)
def test_every_action_from_every_state_follows_the_rules(node: Node, state: str) -> None:
    units = {"u": node.unit("U", 10.1, 107.0)["gid"], "v": node.unit("V", 10.2, 107.0)["gid"]}
    for action, (allowed, target) in ACTIONS.items():
        gid = node.incident(title=f"{state} then {action}")["gid"]
        for step, unit in PATHS[state]:
            node.step(gid, step, units[unit] if unit else None)
        version = node.page(gid)["version"]
        # task takes a unit not yet tasked; on scene and release the one that is (if any).
        unit_gid = units["v"] if action == "task" else units["u"]
        response = node.act(
            gid, action, unit_gid if action in ("task", "on_scene", "release_unit") else None
        )
        if state in allowed:
            assert response.status_code == 200, (state, action, response.text)
            expected = target or ("tasked" if state == "acknowledged" else state)
            assert response.json()["payload"]["state"] == expected
            assert response.json()["version"] == version + 1
        else:
            assert response.status_code == 422, (state, action, response.text)
            detail = response.json()["detail"]
            assert f"cannot {action.replace('_', ' ')} an incident that is" in detail
            assert detail.split(" (")[0].endswith(state.replace("_", " ")), detail
            page = node.page(gid)
            assert page["version"] == version  # nothing written
            assert page["payload"]["state"] == state


FORBIDDEN: list[tuple[list[tuple[str, str | None]], str, str]] = [
    ([], "resolve", "cannot resolve an incident that is detected"),
    ([], "task", "cannot task an incident that is detected"),
    ([("acknowledge", None)], "on_scene", "cannot on scene an incident that is acknowledged"),
    ([("acknowledge", None)], "acknowledge", "cannot acknowledge an incident that is acknowledged"),
    ([("acknowledge", None), ("task", "u")], "reopen", "cannot reopen an incident that is tasked"),
    ([("false_alarm", None)], "resolve", "cannot resolve an incident that is false alarm"),
    (
        [("acknowledge", None), ("resolve", None)],
        "task",
        "cannot task an incident that is resolved",
    ),
]


def test_forbidden_transitions_say_why(node: Node) -> None:
    """The issue's examples: no resolve before acknowledge, no on scene before a unit is
    tasked, no reopen of an open incident..."""
    unit = node.unit("U", 10.1, 107.0)["gid"]
    for path, action, detail in FORBIDDEN:
        gid = node.incident(title=detail)["gid"]
        for step, which in path:
            node.step(gid, step, unit if which else None)
        response = node.act(gid, action, unit if action in ("task", "on_scene") else None)
        assert response.status_code == 422, (detail, response.text)
        assert response.json()["detail"].startswith(detail + " (allowed from: ")


def test_unit_rules_of_tasking(node: Node) -> None:
    u = node.unit("U", 10.1, 107.0)["gid"]
    v = node.unit("V", 10.2, 107.0)["gid"]
    gid = node.incident()["gid"]
    node.step(gid, "acknowledge")

    def refused(action: str, unit: str | None, status: int, text: str) -> None:
        response = node.act(gid, action, unit)
        assert response.status_code == status, response.text
        assert text in response.json()["detail"]

    refused("task", None, 422, "task needs a unit")
    refused("task", "jw-usa:no-such-unit", 404, "no unit")
    node.step(gid, "task", u)
    refused("task", u, 422, "U is already tasked to this incident")
    refused("on_scene", v, 422, "V is not tasked to this incident")
    refused("release_unit", v, 422, "V is not tasked to this incident")
    refused("on_scene", None, 422, "on scene needs a unit")
    node.step(gid, "on_scene", u)
    refused("task", u, 422, "already tasked")
    assert node.step(gid, "task", v)["payload"]["state"] == "on_scene"  # a second unit
    assert node.step(gid, "release_unit", u)["payload"]["state"] == "on_scene"
    refused("on_scene", u, 422, "U is not tasked")
    assert node.step(gid, "task", u)["payload"]["state"] == "on_scene"  # tasked once more
    statuses = [(t["unit_name"], t["status"]) for t in node.page(gid)["payload"]["taskings"]]
    assert statuses == [("U", "released"), ("V", "tasked"), ("U", "tasked")]


def test_reopen_resolve_again_and_false_alarm(node: Node) -> None:
    unit = node.unit("U", 10.1, 107.0)["gid"]
    gid = node.incident()["gid"]
    node.step(gid, "acknowledge")
    node.step(gid, "task", unit)
    node.step(gid, "resolve")
    first = node.page(gid)["durations"]["resolve_s"]
    assert first is not None
    reopened = node.step(gid, "reopen")
    assert reopened["payload"]["state"] == "acknowledged"
    assert node.page(gid)["durations"]["resolve_s"] is None  # open again: not resolved
    node.step(gid, "false_alarm")
    assert node.page(gid)["durations"]["resolve_s"] is None
    node.step(gid, "reopen")
    node.step(gid, "resolve")
    again = node.page(gid)
    assert again["payload"]["state"] == "resolved"
    assert again["durations"]["resolve_s"] > first
    assert [e["action"] for e in again["payload"]["timeline"]] == [
        "open",
        "acknowledge",
        "task",
        "resolve",
        "reopen",
        "false_alarm",
        "reopen",
        "resolve",
    ]
    # The time to acknowledge and to task stay the first ones.
    assert again["durations"]["acknowledge_s"] <= again["durations"]["task_s"] <= first


def test_a_reopened_incident_can_task_its_former_unit_again(node: Node) -> None:
    """Closing an incident frees its units: after a reopen they show available and can be
    tasked again (not stuck as "already tasked" on an incident that cannot release them)."""
    unit = node.unit("U", 10.1, 107.0)["gid"]
    gid = node.incident()["gid"]
    node.step(gid, "acknowledge")
    node.step(gid, "task", unit)
    node.step(gid, "on_scene", unit)
    node.step(gid, "resolve")
    assert node.units()[unit]["status"] == "available"
    node.step(gid, "reopen")
    assert node.units()[unit]["status"] == "available"
    assert node.step(gid, "task", unit)["payload"]["state"] == "tasked"
    assert node.units()[unit]["status"] == "tasked"


# ---- 2. clients cannot write the lifecycle -----------------------------------------------


FORGED: list[dict[str, Any]] = [
    {"state": "resolved"},
    {"timeline": []},
    {"detected_at": "2020-01-01T00:00:00.000Z"},
    {"taskings": []},
    {"opened_by": "someone"},
    {"opened_nation": "VNM"},
    {"requests": []},
    {"source_alert": {"id": "x"}},
    {"title": "ok", "state": "acknowledged"},
]


def test_lifecycle_fields_cannot_be_set_by_a_client(node: Node) -> None:
    gid = node.incident()["gid"]
    for forged in FORGED:
        response = node.call("PATCH", f"/api/incidents/{gid}", forged)
        assert response.status_code == 422, (forged, response.text)
        response = node.call(
            "POST",
            "/api/incidents",
            {"kind": "piracy", "title": "forged", "marking": REL_VNM, **forged},
        )
        assert response.status_code == 422, (forged, response.text)
    page = node.page(gid)
    assert page["version"] == 1 and page["payload"]["state"] == "detected"
    assert node.ok("GET", "/api/incidents")["count"] == 1  # no forged incident was opened
    # Nor can an action carry its own time or target state.
    for extra in ({"at": "2020-01-01T00:00:00Z"}, {"to": "resolved"}, {"by": "someone"}):
        response = node.act(gid, "acknowledge", **extra)
        assert response.status_code == 422, (extra, response.text)
    assert node.page(gid)["version"] == 1


def test_description_fields_and_the_kind_can_be_edited(node: Node) -> None:
    gid = node.incident()["gid"]
    edited = node.ok(
        "PATCH",
        f"/api/incidents/{gid}",
        {"title": "armed robbery", "severity": "critical", "description": "two skiffs"},
    )
    assert edited["version"] == 2
    assert edited["payload"]["title"] == "armed robbery"
    assert edited["payload"]["severity"] == "critical"
    assert edited["payload"]["state"] == "detected"
    # The starting kind (e.g. taken from an alert) is the watch officer's to correct.
    fixed = node.ok("PATCH", f"/api/incidents/{gid}", {"kind": "smuggling"})
    assert fixed["payload"]["kind"] == "smuggling"
    for bad in ({"severity": "apocalyptic"}, {"kind": "alien_landing"}, {"title": ""}):
        assert node.call("PATCH", f"/api/incidents/{gid}", bad).status_code == 422, bad
    assert node.page(gid)["version"] == 3
    remarked = node.ok("PATCH", f"/api/incidents/{gid}", {"marking": NOFORN})
    assert remarked["banner"] == "RESTRICTED//NOFORN"


def test_opening_refuses_bad_input(node: Node) -> None:
    def status(**body: Any) -> int:
        return node.call("POST", "/api/incidents", {"marking": REL_VNM, **body}).status_code

    assert status(kind="piracy", title="ok") == 201
    assert status(title="no kind") == 422
    assert status(kind="alien_landing", title="x") == 422
    assert status(kind="piracy", title="x", severity="apocalyptic") == 422
    assert status(kind="piracy") == 422  # no title and no alert to take one from
    assert status(kind="piracy", title="x", lat=91) == 422
    assert status(kind="disaster_relief", title="x", area={"type": "Point"}) == 422
    assert node.call("POST", "/api/incidents", {"kind": "piracy", "title": "x"}).status_code == 422
    bad_marking = {"classification": "RESTRICTED", "releasable": ["VNM"]}
    assert status(kind="piracy", title="x", marking=bad_marking) == 422
    assert status(kind="piracy", title="x", marking={"classification": "TOP SECRET"}) == 422
    # Nobody marks an incident above their own clearance.
    node.sharing.accounts.create_user(
        "junior", nation="USA", role="watch_officer", clearance="RESTRICTED"
    )
    node.tokens["junior"] = node.sharing.accounts.create_key("junior")[1]
    above = {"kind": "piracy", "title": "x", "marking": {"classification": "CONFIDENTIAL"}}
    response = node.call("POST", "/api/incidents", above, who="junior")
    assert response.status_code == 403
    assert "cleared to RESTRICTED" in response.json()["detail"]


# ---- 3. authorization of each role on each ops route ---------------------------------------


READ, WRITE, UNITS = "incidents:read", "incidents:write", "units:write"
WRITERS = {"admin", "watch_officer"}
READERS = {"analyst", "liaison", "programme_manager"}
OUTSIDERS = {"partner", "feed"}


def test_the_role_table_grants_what_the_issue_says() -> None:
    assert set(ROLES) == WRITERS | READERS | OUTSIDERS
    for role in ROLES:
        granted = permissions_for(role) & {READ, WRITE, UNITS}
        if role in WRITERS:
            assert granted == {READ, WRITE, UNITS}, role
        elif role in READERS:
            assert granted == {READ}, role
        else:
            assert granted == set(), role
        assert permissions_for(role, read_only=True) & {WRITE, UNITS} == set()


def ops_calls(node: Node) -> list[tuple[str, str, Any, str, int]]:
    """(method, path, body, permission, success status) for every ops route, on fresh
    objects made by the watch officer: an incident and a disaster-relief incident with one request
    (both REL TO VNM) and a unit."""
    incident = node.incident(title="authz")["gid"]
    hadr = node.incident(kind="disaster_relief", title="flood")["gid"]
    request_id = node.ok("POST", f"/api/incidents/{hadr}/requests", {"what": "water"}, who="admin")[
        "payload"
    ]["requests"][0]["id"]
    unit = node.unit("authz unit", 10.3, 107.0)["gid"]
    new_incident = {"kind": "piracy", "title": "new", "marking": REL_VNM}
    new_unit = {"name": "new unit", "type": "boat_team", "marking": REL_VNM}
    return [
        ("GET", "/api/incidents", None, READ, 200),
        ("GET", f"/api/incidents/{incident}", None, READ, 200),
        ("GET", f"/api/incidents/{incident}/suggest", None, READ, 200),
        ("GET", "/api/units", None, READ, 200),
        ("GET", "/api/metrics/response-times", None, READ, 200),
        ("GET", "/api/metrics/response-times.csv", None, READ, 200),
        ("POST", "/api/incidents", new_incident, WRITE, 201),
        ("PATCH", f"/api/incidents/{incident}", {"title": "renamed"}, WRITE, 200),
        ("POST", f"/api/incidents/{incident}/actions", {"action": "acknowledge"}, WRITE, 200),
        ("POST", f"/api/incidents/{incident}/log", {"text": "on it"}, WRITE, 201),
        ("POST", f"/api/incidents/{hadr}/requests", {"what": "tents"}, WRITE, 201),
        (
            "POST",
            f"/api/incidents/{hadr}/requests/{request_id}/fulfil",
            {"unit_gid": unit},
            WRITE,
            200,
        ),
        ("POST", "/api/units", new_unit, UNITS, 201),
        ("PATCH", f"/api/units/{unit}", {"status": "unavailable"}, UNITS, 200),
    ]


CALLERS = [
    # (token name, role whose permissions apply, None: must not authenticate)
    ("admin", "admin"),
    ("officer", "watch_officer"),
    ("analyst", "analyst"),
    ("liaison", "liaison"),
    ("vnm-liaison", "liaison"),
    ("manager", "programme_manager"),
    ("feed", "feed"),
    ("partner", "partner"),
    ("officer-read-only", "watch_officer read-only"),
    (None, None),
    ("bogus", None),
]


@pytest.mark.parametrize(("who", "role"), CALLERS, ids=[str(c[0]) for c in CALLERS])
def test_each_role_on_each_ops_route(node: Node, who: str | None, role: str | None) -> None:
    node.tokens["bogus"] = "jw_k000000000000_" + "B" * 43
    calls = ops_calls(node)
    before = node.ok("GET", "/api/incidents", who="admin")["count"]
    if role is None:
        granted: frozenset[str] = frozenset()
    elif role.endswith(" read-only"):
        granted = permissions_for(role.split()[0], read_only=True)
    else:
        granted = permissions_for(role)
    wrote = False
    for method, path, body, permission, success in calls:
        response = node.call(method, path, body, who)
        where = f"{who} {method} {path}: {response.text[:200]}"
        if role is None:
            assert response.status_code == 401, where
            assert response.headers["www-authenticate"] == "Bearer"
        elif permission in granted:
            assert response.status_code == success, where
            wrote = wrote or method != "GET"
        else:
            assert response.status_code == 403, where
            assert f"lacks permission {permission}" in response.json()["detail"], where
    # The role table as the issue states it.
    if who in ("admin", "officer"):
        assert wrote
    elif who is not None and role is not None:
        assert not granted & {WRITE, UNITS}
    if not wrote:  # refused writes changed nothing
        after = node.ok("GET", "/api/incidents", who="admin")
        assert after["count"] == before
        assert {i["version"] for i in after["incidents"]} == {1, 2}  # 2: the HADR request


# ---- 4. releasability ----------------------------------------------------------------------


def test_a_partner_liaison_sees_only_what_is_released_to_their_nation(node: Node) -> None:
    released = node.incident(title="released")
    noforn = node.incident(NOFORN, title="noforn")
    phl_only = node.incident({"classification": "RESTRICTED", "rel_to": ["PHL"]}, title="phl")
    node.incident({"classification": "RESTRICTED", "rel_to": [GROUP]}, title="group")
    above = node.incident({"classification": "CONFIDENTIAL", "rel_to": ["VNM"]}, title="conf")
    node.step(released["gid"], "acknowledge")
    node.step(noforn["gid"], "acknowledge")
    node.ok("POST", f"/api/incidents/{released['gid']}/log", {"text": "seen"})
    node.ok("POST", f"/api/incidents/{noforn['gid']}/log", {"text": "secret detail"})
    released_unit = node.unit("released unit", 10.2, 107.0)
    hidden_unit = node.unit("hidden unit", 10.1, 107.0, marking=NOFORN)

    def titles(who: str) -> set[str]:
        found = node.ok("GET", "/api/incidents", who=who)
        assert found["count"] == len(found["incidents"])
        return {i["payload"]["title"] for i in found["incidents"]}

    assert titles("analyst") == {"released", "noforn", "phl", "group", "conf"}
    assert titles("liaison") == {"released", "noforn", "phl", "group", "conf"}  # a USA liaison
    # VNM's liaison (cleared to RESTRICTED): released to VNM, directly or by group.
    assert titles("vnm-liaison") == {"released", "group"}
    page = node.page(released["gid"], who="vnm-liaison")
    assert page["banner"] == "RESTRICTED//REL TO VNM"
    assert [e["payload"]["text"] for e in page["log"]] == ["seen"]
    for hidden in (noforn, phl_only, above):
        for path in ("", "/suggest"):
            response = node.get(f"/api/incidents/{hidden['gid']}{path}", who="vnm-liaison")
            assert response.status_code == 404, response.text
            assert response.json()["detail"] == f"no incident {hidden['gid']!r}"
    # 404 alike for a missing incident: the liaison cannot tell hidden from absent.
    missing = node.get("/api/incidents/jw-usa:nothing", who="vnm-liaison")
    assert missing.status_code == 404 and missing.json()["detail"] == "no incident 'jw-usa:nothing'"

    assert node.units("vnm-liaison").keys() == {released_unit["gid"]}
    assert node.units("analyst").keys() == {released_unit["gid"], hidden_unit["gid"]}
    suggested = node.ok("GET", f"/api/incidents/{released['gid']}/suggest", who="vnm-liaison")
    assert [u["name"] for u in suggested["units"]] == ["released unit"]

    metrics = node.ok("GET", "/api/metrics/response-times", who="vnm-liaison")
    assert metrics["incidents"] == 2
    csv_text = node.get("/api/metrics/response-times.csv", who="vnm-liaison").text
    assert {r["title"] for r in csv.DictReader(io.StringIO(csv_text))} == {"released", "group"}
    assert "noforn" not in csv_text and "secret detail" not in csv_text


def test_a_liaison_sees_ops_records_live_only_as_released(node: Node) -> None:
    released = node.incident(title="released")["gid"]
    noforn = node.incident(NOFORN, title="noforn")["gid"]
    with node.client.websocket_connect("/ws", headers=node.headers("vnm-liaison")) as ws:
        assert ws.receive_json()["type"] == "snapshot"
        node.ok("POST", f"/api/incidents/{noforn}/log", {"text": "not for VNM"})
        node.step(noforn, "acknowledge")
        logged = node.ok("POST", f"/api/incidents/{released}/log", {"text": "for VNM"})
        seen: list[dict[str, Any]] = []
        deadline = time.monotonic() + 10
        while logged["gid"] not in {r["gid"] for r in seen}:
            assert time.monotonic() < deadline, seen
            message = ws.receive_json()
            if message["type"] == "records":
                seen.extend(message["records"])
    assert noforn not in {r["gid"] for r in seen}
    assert all(r["payload"].get("incident_gid") != noforn for r in seen)
    assert all(r["banner"] != "RESTRICTED//NOFORN" for r in seen)


# ---- 5. incidents from alerts ----------------------------------------------------------------


def test_incident_from_one_of_our_alerts_in_one_call(node: Node) -> None:
    start_us = int(datetime(2026, 4, 2, 3, 4, 5, tzinfo=UTC).timestamp() * 1e6)
    event = Event(
        "approach", 574000111, start_us, 10.512345, 107.25, other_mmsi=366999000
    ).to_json()
    node.app.state.service.event_repo.upsert([event])

    opened = node.ok("POST", "/api/incidents", {"alert_id": event["id"], "marking": REL_VNM})
    payload = opened["payload"]
    assert payload["kind"] == "piracy"  # approach -> piracy
    assert (payload["lat"], payload["lon"]) == (10.512345, 107.25)
    assert payload["mmsis"] == [574000111, 366999000]
    assert payload["title"] == "approach 574000111"
    assert payload["state"] == "detected"
    assert payload["source_alert"] == {
        "id": event["id"],
        "kind": "approach",
        "origin_nation": "USA",
        "gid": None,  # ours: no partner record behind it
        "start": "2026-04-02T03:04:05Z",
    }
    # What the officer states wins over what the alert suggests.
    mine = node.ok(
        "POST",
        "/api/incidents",
        {"alert_id": event["id"], "kind": "smuggling", "title": "transfer", "marking": NOFORN},
    )
    assert (mine["payload"]["kind"], mine["payload"]["title"]) == ("smuggling", "transfer")
    assert mine["payload"]["lat"] == 10.512345
    response = node.call("POST", "/api/incidents", {"alert_id": "0" * 20, "marking": REL_VNM})
    assert response.status_code == 404
    assert "no alert" in response.json()["detail"]


def partner_alert(node: Node, marking: dict[str, Any] | None = None) -> dict[str, Any]:
    start_us = int(datetime(2026, 4, 3, 1, 0, 0, tzinfo=UTC).timestamp() * 1e6)
    event = Event("loitering", 412000222, start_us, 11.0, 109.5).to_json()
    record = vnm_record("alert", event, marking)
    record["gid"] = f"jw-vnm:alert:{event['id']}"
    assert node.push(record) == ["accepted"]
    return record


def test_incident_from_a_partners_alert_goes_no_further_than_the_alert(node: Node) -> None:
    alert = partner_alert(node)  # RESTRICTED//REL TO USA, from VNM

    def open_with(marking: dict[str, Any]) -> httpx.Response:
        return node.call("POST", "/api/incidents", {"alert_gid": alert["gid"], "marking": marking})

    response = open_with(REL_VNM)
    assert response.status_code == 201, response.text
    incident = response.json()
    assert incident["payload"]["kind"] == "illegal_fishing"  # loitering -> illegal fishing
    assert incident["payload"]["mmsis"] == [412000222]
    assert incident["payload"]["source_alert"] == {
        "id": alert["payload"]["id"],
        "kind": "loitering",
        "origin_nation": "VNM",
        "gid": alert["gid"],
        "start": "2026-04-03T01:00:00Z",
    }
    assert open_with(NOFORN).status_code == 201  # narrower is fine
    assert open_with({"classification": "SECRET", "rel_to": ["VNM"]}).status_code == 201

    wider = open_with({"classification": "RESTRICTED", "rel_to": ["PHL", "VNM"]})
    assert wider.status_code == 422
    assert "carries VNM's alert, which is not released to PHL" in wider.json()["detail"]
    group = open_with({"classification": "RESTRICTED", "rel_to": [GROUP]})
    assert group.status_code == 422 and "PHL" in group.json()["detail"]
    lower = open_with({"classification": "UNCLASSIFIED", "rel_to": ["VNM"]})
    assert lower.status_code == 422
    assert "marked RESTRICTED: mark it at least that" in lower.json()["detail"]

    # Re-marking the incident later obeys the same rule.
    gid = incident["gid"]
    widen = {"marking": {"classification": "RESTRICTED", "rel_to": ["PHL", "VNM"]}}
    assert node.call("PATCH", f"/api/incidents/{gid}", widen).status_code == 422
    raise_it = {"marking": {"classification": "CONFIDENTIAL", "rel_to": ["VNM"]}}
    assert node.call("PATCH", f"/api/incidents/{gid}", raise_it).status_code == 200

    missing = {"alert_gid": "jw-vnm:alert:nope", "marking": NOFORN}
    response = node.call("POST", "/api/incidents", missing)
    assert response.status_code == 404
    assert "no alert 'jw-vnm:alert:nope'" in response.json()["detail"]
    not_an_alert = {"alert_gid": gid, "marking": NOFORN}  # an incident is not an alert
    assert node.call("POST", "/api/incidents", not_an_alert).status_code == 404


def test_a_partners_incident_is_run_by_its_node(node: Node) -> None:
    t0 = datetime(2026, 1, 15, 6, 0, tzinfo=UTC)
    vnm = Actor("vnm.officer", "VNM")
    payload = new_incident({"kind": "search_and_rescue", "title": "MOB"}, vnm, t0, None)
    payload = apply_action(payload, "acknowledge", vnm, t0 + timedelta(seconds=45))
    record = vnm_record("incident", payload, {"classification": "RESTRICTED", "rel_to": ["USA"]})
    assert node.push(record) == ["accepted"]
    gid = record["gid"]
    page = node.page(gid)
    assert page["owned"] is False and page["origin_node"] == "jw-vnm"
    assert page["durations"]["acknowledge_s"] == 45.0

    for method, path, body in [
        ("POST", f"/api/incidents/{gid}/actions", {"action": "resolve"}),
        ("PATCH", f"/api/incidents/{gid}", {"title": "mine now"}),
    ]:
        response = node.call(method, path, body)
        assert response.status_code == 409, response.text
        assert "run by jw-vnm (VNM)" in response.json()["detail"]
    # The ops log is open to us: our entry is released to the incident's nation.
    entry = node.ok("POST", f"/api/incidents/{gid}/log", {"text": "USCG standing by"})
    assert entry["origin_nation"] == "USA"
    assert entry["marking"]["rel_to"] == ["VNM"] and not entry["marking"]["local_only"]
    assert [e["payload"]["text"] for e in node.page(gid)["log"]] == ["USCG standing by"]
    assert node.page(gid)["version"] == 1


# ---- 6. units, suggestions and status ---------------------------------------------------------


def test_suggestions_nearest_first_with_eta_for_units_of_either_nation(node: Node) -> None:
    gid = node.incident(lat=10.0, lon=107.0)["gid"]
    near = node.unit("near", 10.2, 107.0, speed_kn=10)
    node.unit("far", 11.0, 107.0, speed_kn=30)
    node.unit("resting", 10.01, 107.0, status="unavailable")
    node.unit("nowhere", None, None)
    vnm = vnm_unit("CSB 8001", 10.5, 107.0, speed_kn=25.0)
    assert node.push(vnm) == ["accepted"]

    ranked = node.ok("GET", f"/api/incidents/{gid}/suggest")["units"]
    assert [u["name"] for u in ranked] == ["near", "CSB 8001", "far"]
    assert [u["nation"] for u in ranked] == ["USA", "VNM", "USA"]
    one_degree_m = 111_195.08
    for u, degrees in zip(ranked, (0.2, 0.5, 1.0), strict=True):
        assert u["distance_m"] == pytest.approx(one_degree_m * degrees, abs=0.2)
        assert u["distance_nm"] == round(u["distance_m"] / 1852, 1)
        assert u["eta_h"] == round(u["distance_m"] / 1852 / u["speed_kn"], 2)
    assert ranked[0]["eta_h"] == 1.2  # 12.0 nm at 10 kn
    assert ranked[2]["eta_h"] == 2.0  # 60.0 nm at 30 kn
    assert [
        u["name"] for u in node.ok("GET", f"/api/incidents/{gid}/suggest?limit=1")["units"]
    ] == ["near"]
    assert node.get(f"/api/incidents/{gid}/suggest", limit=0).status_code == 422

    # Tasking a unit takes it out of the suggestions; a VNM unit may be tasked here too.
    node.step(gid, "acknowledge")
    node.step(gid, "task", near["gid"])
    node.step(gid, "task", vnm["gid"])
    ranked = node.ok("GET", f"/api/incidents/{gid}/suggest")["units"]
    assert [u["name"] for u in ranked] == ["far"]
    taskings = node.page(gid)["payload"]["taskings"]
    assert [(t["unit_name"], t["unit_nation"]) for t in taskings] == [
        ("near", "USA"),
        ("CSB 8001", "VNM"),
    ]
    assert taskings[1]["eta_h"] == 1.2  # 30.0 nm at 25 kn

    nowhere = node.incident(lat=None, lon=None, title="no position")["gid"]
    response = node.get(f"/api/incidents/{nowhere}/suggest")
    assert response.status_code == 422
    assert "no position" in response.json()["detail"]


def test_unit_status_shows_tasked_and_on_scene_while_tasked(node: Node) -> None:
    unit = node.unit("U", 10.1, 107.0)
    assert unit["payload"]["status"] == "available"
    assert unit["payload"]["nation"] == "USA"
    gid = unit["gid"]
    incident = node.incident()["gid"]
    node.step(incident, "acknowledge")

    def status() -> str:
        return str(node.units()[gid]["status"])

    assert status() == "available"
    node.step(incident, "task", gid)
    assert status() == "tasked"
    assert node.units("vnm-liaison")[gid]["status"] == "tasked"  # whoever sees both
    node.step(incident, "on_scene", gid)
    assert status() == "on_scene"
    node.step(incident, "release_unit", gid)
    assert status() == "available"
    node.step(incident, "task", gid)
    assert status() == "tasked"
    node.step(incident, "resolve")
    assert status() == "available"  # a closed incident holds no unit
    # The unit's own record was never rewritten by the tasking.
    stored = node.sharing.records.get(gid)
    assert stored is not None
    assert stored["version"] == 1 and stored["payload"]["status"] == "available"


def test_unit_reports_position_and_status_and_follows_its_ais_vessel(node: Node) -> None:
    unit = node.unit("cutter", 10.0, 107.0, home_base="Da Nang", mmsi=366123456)
    assert unit["payload"]["position_time"]
    assert unit["payload"]["home_base"] == "Da Nang"
    gid = unit["gid"]
    # Before any AIS report the recorded position stands.
    assert (node.units()[gid]["lat"], node.units()[gid]["lon"]) == (10.0, 107.0)
    lines = encode_message(
        {"msg_type": 1, "mmsi": 366123456, "lat": 10.25, "lon": 107.5, "speed": 12.0}
    )
    node.app.state.service.ingest_lines([line.encode() for line in lines], "test", time.time())
    live = node.units()[gid]
    assert (live["lat"], live["lon"]) == (10.25, 107.5)
    assert live["position_source"] == "ais"

    plain = node.unit("boat team", None, None, type="boat_team")["gid"]
    assert "lat" not in node.units()[plain]
    moved = node.ok("PATCH", f"/api/units/{plain}", {"lat": 10.4, "lon": 107.1})
    assert (moved["payload"]["lat"], moved["payload"]["lon"]) == (10.4, 107.1)
    assert moved["payload"]["position_time"]
    down = node.ok("PATCH", f"/api/units/{plain}", {"status": "unavailable"})
    assert down["payload"]["status"] == "unavailable"
    assert node.call("PATCH", f"/api/units/{plain}", {"status": "sunk"}).status_code == 422
    assert node.call("PATCH", f"/api/units/{plain}", {"nation": "VNM"}).status_code == 422
    # A unit is of this node's nation; a partner's unit is reported by its own node.
    assert (
        node.call(
            "POST", "/api/units", {"name": "x", "type": "ship", "nation": "VNM", "marking": NOFORN}
        ).status_code
        == 422
    )
    assert (
        node.call(
            "POST", "/api/units", {"name": "x", "type": "tank", "marking": NOFORN}
        ).status_code
        == 422
    )
    vnm = vnm_unit("CSB 8002", 10.0, 108.0)
    node.push(vnm)
    response = node.call("PATCH", f"/api/units/{vnm['gid']}", {"status": "unavailable"})
    assert response.status_code == 409
    assert node.call("PATCH", "/api/units/jw-usa:none", {"status": "available"}).status_code == 404


# ---- 7. HADR ---------------------------------------------------------------------------------


def test_hadr_requests_and_their_fulfilment_by_either_nation(node: Node) -> None:
    area = {
        "type": "Polygon",
        "coordinates": [
            [[106.0, 10.0], [107.0, 10.0], [107.0, 11.0], [106.0, 11.0], [106.0, 10.0]]
        ],
    }
    relief = node.incident(kind="disaster_relief", title="typhoon", area=area)
    assert relief["payload"]["area"] == area
    gid = relief["gid"]
    piracy = node.incident()["gid"]
    response = node.call("POST", f"/api/incidents/{piracy}/requests", {"what": "water"})
    assert response.status_code == 422
    assert "disaster-relief" in response.json()["detail"]

    before = now()
    water = node.ok(
        "POST",
        f"/api/incidents/{gid}/requests",
        {"what": "drinking water", "quantity": 20_000, "unit_of_measure": "litres"},
    )["payload"]["requests"]
    tents = node.ok("POST", f"/api/incidents/{gid}/requests", {"what": "tents", "quantity": 300})[
        "payload"
    ]["requests"]
    assert len(water) == 1 and len(tents) == 2
    request = tents[0]
    assert request["what"] == "drinking water" and request["quantity"] == 20_000
    assert request["status"] == "open" and request["requested_by"] == "officer"
    assert before - timedelta(milliseconds=5) <= parse(request["requested_at"]) <= now()
    assert tents[1]["id"] != request["id"]

    ours = node.unit("USNS Mercy", 12.0, 109.0, type="ship")
    theirs = vnm_unit("VNM shore team 3", 10.5, 106.5, type="shore_team")
    node.push(theirs)
    path = f"/api/incidents/{gid}/requests"
    done = node.ok("POST", f"{path}/{request['id']}/fulfil", {"unit_gid": ours["gid"]})
    first = done["payload"]["requests"][0]
    assert first["status"] == "fulfilled"
    assert (first["fulfilled_by_unit"], first["fulfilled_by_nation"]) == ("USNS Mercy", "USA")
    assert parse(first["fulfilled_at"]) <= now()
    assert done["payload"]["requests"][1]["status"] == "open"

    twice = node.call("POST", f"{path}/{request['id']}/fulfil", {"unit_gid": theirs["gid"]})
    assert twice.status_code == 422
    assert "fulfilled already" in twice.json()["detail"]
    other = node.ok("POST", f"{path}/{tents[1]['id']}/fulfil", {"unit_gid": theirs["gid"]})
    second = other["payload"]["requests"][1]
    assert (second["fulfilled_by_unit"], second["fulfilled_by_nation"]) == (
        "VNM shore team 3",
        "VNM",
    )
    unknown = node.call("POST", f"{path}/nope/fulfil", {"unit_gid": ours["gid"]})
    assert unknown.status_code == 422 and "no request 'nope'" in unknown.json()["detail"]
    no_unit = node.call("POST", f"{path}/{request['id']}/fulfil", {"unit_gid": "jw-usa:x"})
    assert no_unit.status_code == 404
    assert node.call("POST", path, {"what": ""}).status_code == 422
    assert node.call("POST", path, {"what": "fuel", "quantity": -1}).status_code == 422
    # The lifecycle is untouched by requests.
    assert node.page(gid)["payload"]["state"] == "detected"


def test_resource_requests_are_bounded_without_a_server_error(node: Node) -> None:
    gid = node.incident(kind="disaster_relief", title="many needs")["gid"]
    sharing = node.sharing
    stored = sharing.records.get(gid)
    assert stored is not None
    # Fill the list to the model's bound straight in the store, then ask once more.
    full = [
        {"id": f"r{i}", "what": "x", "requested_at": "2026-01-01T00:00:00Z"} for i in range(200)
    ]
    sharing.records.put(
        {**stored, "version": 2, "payload": {**stored["payload"], "requests": full}}
    )
    response = node.call("POST", f"/api/incidents/{gid}/requests", {"what": "one more"})
    assert response.status_code == 422, response.text


# ---- 8. metrics and CSV ----------------------------------------------------------------------


def test_response_time_metrics_json_and_csv(node: Node) -> None:
    unit = node.unit("U", 10.1, 107.0)["gid"]
    a = node.incident(title="A")["gid"]
    for action, which in [
        ("acknowledge", None),
        ("task", unit),
        ("on_scene", unit),
        ("resolve", None),
    ]:
        node.step(a, action, which)
    b = node.incident(title="B")["gid"]
    node.step(b, "acknowledge")
    c = node.incident(kind="search_and_rescue", title="C")["gid"]
    node.step(c, "acknowledge")
    node.step(c, "resolve")
    node.incident(kind="disaster_relief", title="D")  # never acknowledged
    formulas = ['=HYPERLINK("http://evil")', "+SUM(A1:A9)", "-2+3", "@cmd"]
    for title in formulas:
        node.incident(NOFORN, title=title)
    # A VNM incident, as VNM's node sent it: detected in 2020, acknowledged in 90 s.
    t0 = datetime(2020, 1, 15, 6, 0, tzinfo=UTC)
    vnm = Actor("vnm.officer", "VNM")
    payload = new_incident({"kind": "piracy", "title": "V"}, vnm, t0, None)
    payload = apply_action(payload, "acknowledge", vnm, t0 + timedelta(seconds=90))
    payload = apply_action(payload, "resolve", vnm, t0 + timedelta(hours=3))
    assert node.push(vnm_record("incident", payload)) == ["accepted"]

    listed = node.ok("GET", "/api/incidents")["incidents"]
    assert len(listed) == 9
    durations = {i["payload"]["title"]: i["durations"] for i in listed}
    rows = [
        {
            "kind": i["payload"]["kind"],
            "nation": i["origin_nation"],
            "month": i["payload"]["detected_at"][:7],
            **i["durations"],
        }
        for i in listed
    ]

    def expected(key: str) -> dict[str, Any]:
        groups: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            groups.setdefault("all" if key == "all" else r[key], []).append(r)
        out = {}
        for group, members in groups.items():
            entry: dict[str, Any] = {"group": group, "incidents": len(members)}
            for name in ("acknowledge", "task", "on_scene", "resolve"):
                values = [m[f"{name}_s"] for m in members if m[f"{name}_s"] is not None]
                entry[name] = (
                    {
                        "count": len(values),
                        "median_s": round(float(np.median(values)), 3),
                        "p90_s": round(float(np.percentile(values, 90)), 3),
                    }
                    if values
                    else {"count": 0, "median_s": None, "p90_s": None}
                )
            out[group] = entry
        return out

    metrics = node.ok("GET", "/api/metrics/response-times")
    assert metrics["incidents"] == 9
    assert set(metrics["groups"]) == {"kind", "nation", "month", "all"}
    for key, summary in metrics["groups"].items():
        assert {s["group"]: s for s in summary} == expected(key), key
    by_nation = {s["group"]: s for s in metrics["groups"]["nation"]}
    assert by_nation["VNM"]["acknowledge"] == {"count": 1, "median_s": 90.0, "p90_s": 90.0}
    assert by_nation["VNM"]["resolve"]["median_s"] == 10_800.0
    assert {s["group"] for s in metrics["groups"]["month"]} == {
        "2020-01",
        now().strftime("%Y-%m"),
    }
    by_kind = {s["group"]: s for s in metrics["groups"]["kind"]}
    assert by_kind["disaster_relief"]["incidents"] == 1
    assert by_kind["disaster_relief"]["acknowledge"]["count"] == 0
    assert by_kind["piracy"]["incidents"] == 7

    only = node.ok("GET", "/api/metrics/response-times?group_by=all&kind=search_and_rescue")
    assert only["incidents"] == 1 and list(only["groups"]) == ["all"]
    assert only["groups"]["all"][0]["resolve"]["median_s"] == round(durations["C"]["resolve_s"], 3)
    assert node.ok("GET", "/api/metrics/response-times?nation=VNM")["incidents"] == 1
    assert node.ok("GET", "/api/metrics/response-times?until=2021-01-01")["incidents"] == 1
    assert node.ok("GET", "/api/metrics/response-times?since=2021-01-01")["incidents"] == 8
    for bad in ("group_by=severity", "kind=alien_landing", "nation=vnm"):
        response = node.get(f"/api/metrics/response-times?{bad}")
        assert response.status_code == 422, bad

    response = node.get("/api/metrics/response-times.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "response-times.csv" in response.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(response.text)))
    assert table[0] == [
        "marking",
        "gid",
        "title",
        "kind",
        "nation",
        "month",
        "state",
        "detected_at",
        "acknowledge_s",
        "task_s",
        "on_scene_s",
        "resolve_s",
    ]
    by_gid = {row[1]: dict(zip(table[0], row, strict=True)) for row in table[1:]}
    assert len(by_gid) == 9
    assert by_gid[a]["marking"] == "RESTRICTED//REL TO VNM"
    assert by_gid[a]["state"] == "resolved"
    for name in ("acknowledge_s", "task_s", "on_scene_s", "resolve_s"):
        assert float(by_gid[a][name]) == durations["A"][name]
    assert by_gid[b]["task_s"] == "" and by_gid[b]["resolve_s"] == ""
    titles = {row["title"] for row in by_gid.values()}
    for title in formulas:
        assert "'" + title in titles  # neutralised: a spreadsheet shows it as text
        assert title not in titles
    for row in by_gid.values():
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@")), row
    filtered = node.get("/api/metrics/response-times.csv?kind=search_and_rescue").text
    assert len(list(csv.reader(io.StringIO(filtered)))) == 2
    assert node.get("/api/metrics/response-times.csv?kind=nope").status_code == 422

    audit = node.ok("GET", "/api/audit", who="admin")["entries"]
    exports = [e for e in audit if e["action"] == "export" and e["object_type"] == "metrics"]
    assert len(exports) == 2  # each export is audited (the refused one never ran)
    assert exports[-1]["actor"] == "officer"


# ---- 9. the ops log --------------------------------------------------------------------------


def test_ops_log_entries_are_marked_for_exactly_who_sees_the_incident(node: Node) -> None:
    cases = [
        (REL_VNM, {"classification": "RESTRICTED", "rel_to": ["VNM"], "local_only": False}),
        (
            {"classification": "RESTRICTED", "rel_to": [GROUP]},
            {"classification": "RESTRICTED", "rel_to": ["PHL", "VNM"], "local_only": False},
        ),
        (NOFORN, {"classification": "RESTRICTED", "rel_to": [], "local_only": True}),
        (
            {
                "classification": "CONFIDENTIAL",
                "rel_to": ["VNM"],
                "tlp": "TLP:AMBER",
                "caveats": ["OPS"],
            },
            {
                "classification": "CONFIDENTIAL",
                "rel_to": ["VNM"],
                "local_only": False,
                "tlp": "TLP:AMBER",
                "caveats": ["OPS"],
            },
        ),
    ]
    for marking, expected in cases:
        incident = node.incident(marking)
        before = now()
        entry = node.ok("POST", f"/api/incidents/{incident['gid']}/log", {"text": "helo up"})
        assert entry["kind"] == "ops_log"
        assert {k: entry["marking"][k] for k in expected} == expected, marking
        assert entry["rel_nations"] == expected["rel_to"]
        assert entry["payload"]["incident_gid"] == incident["gid"]
        assert entry["payload"]["by"] == "officer" and entry["payload"]["nation"] == "USA"
        assert before - timedelta(milliseconds=5) <= parse(entry["payload"]["at"]) <= now()
    rel_vnm = node.incident(REL_VNM)["gid"]
    logged = node.ok("POST", f"/api/incidents/{rel_vnm}/log", {"text": "x"})
    assert logged["banner"] == "RESTRICTED//REL TO VNM"


def test_ops_log_in_time_order_and_validated(node: Node) -> None:
    gid = node.incident()["gid"]
    other = node.incident()["gid"]
    for text in ("first", "second", "third"):
        node.ok("POST", f"/api/incidents/{gid}/log", {"text": text})
    node.ok("POST", f"/api/incidents/{other}/log", {"text": "elsewhere"})
    page = node.page(gid)
    assert [e["payload"]["text"] for e in page["log"]] == ["first", "second", "third"]
    stamps = [e["payload"]["at"] for e in page["log"]]
    assert stamps == sorted(stamps)
    assert [e["payload"]["text"] for e in node.page(gid, who="vnm-liaison")["log"]] == [
        "first",
        "second",
        "third",
    ]
    assert node.call("POST", f"/api/incidents/{gid}/log", {"text": ""}).status_code == 422
    assert node.call("POST", f"/api/incidents/{gid}/log", {"text": "x" * 5001}).status_code == 422
    assert node.call("POST", "/api/incidents/jw-usa:none/log", {"text": "x"}).status_code == 404
    forged = {"text": "x", "by": "someone", "nation": "VNM"}
    assert node.call("POST", f"/api/incidents/{gid}/log", forged).status_code == 422


def test_incident_list_filters_by_state(node: Node) -> None:
    a = node.incident(title="a")["gid"]
    node.incident(title="b")
    node.step(a, "acknowledge")
    found = node.ok("GET", "/api/incidents?state=acknowledged")
    assert [i["gid"] for i in found["incidents"]] == [a]
    assert found["incidents"][0]["owned"] is True
    assert found["incidents"][0]["durations"]["acknowledge_s"] is not None
    assert node.ok("GET", "/api/incidents?state=detected")["count"] == 1
    assert node.get("/api/incidents?state=closed").status_code == 422
