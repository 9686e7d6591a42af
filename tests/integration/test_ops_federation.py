"""The joint command center across two real nodes (USA and VNM), SQLite and PostgreSQL.

The issue's definition of done: an incident opened on the USA node and released to VNM
appears on the VNM node; a VNM ops-log entry appears back on the USA node; the durations
agree. Also: what is not released (a NOFORN incident and its log) never reaches VNM, VNM
cannot act on an incident USA runs, and units of either nation can be tasked by USA.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.integration.federation_helpers import (
    NOFORN,
    Node,
    link,
    make_node,
    pg_database,
    rel_to,
    wait_until,
)

pytestmark = pytest.mark.slow

TIMEOUT_S = 15  # pushes land in well under a second; pulls every 2 s catch what they miss


@dataclass
class Pair:
    usa: Node
    vnm: Node
    usa_officer: str  # API keys of each node's watch officer
    vnm_officer: str


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def pair(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pair]:
    """USA and VNM nodes, running and linked (each releases to the other up to RESTRICTED),
    with a watch officer on each; one pair per backend for the tests of this module."""
    base = tmp_path_factory.mktemp(f"ops-federation-{request.param}")
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            usa_url, vnm_url = (f"sqlite:///{base / name}" for name in ("usa.db", "vnm.db"))
        else:
            admin = request.getfixturevalue("pg_admin_engine")
            usa_url = stack.enter_context(pg_database(admin))
            vnm_url = stack.enter_context(pg_database(admin))
        usa = make_node("USA", usa_url, base / "usa")
        stack.callback(usa.close)
        vnm = make_node("VNM", vnm_url, base / "vnm")
        stack.callback(vnm.close)
        link(usa, vnm, a_grants_b="RESTRICTED", b_grants_a="RESTRICTED")
        usa_officer = usa.proc.make_user("usa.officer", "watch_officer")
        vnm_officer = vnm.proc.make_user("vnm.officer", "watch_officer")
        started = time.monotonic()
        usa.start()
        vnm.start()
        print(f"\n[{request.param}] two nodes started in {time.monotonic() - started:.1f} s")
        yield Pair(usa, vnm, usa_officer, vnm_officer)


def call(node: Node, token: str, method: str, path: str, body: Any = None) -> Any:
    with node.api(token) as client:
        response = client.request(method, path, json=body)
    assert response.status_code in (200, 201), f"{method} {path}: {response.text}"
    return response.json()


def status_of(node: Node, token: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    with node.api(token) as client:
        response = client.request(method, path, json=body)
    return response.status_code, response.json()


def incidents(node: Node, token: str) -> dict[str, dict[str, Any]]:
    return {i["gid"]: i for i in call(node, token, "GET", "/api/incidents")["incidents"]}


def units(node: Node, token: str) -> dict[str, dict[str, Any]]:
    return {u["gid"]: u for u in call(node, token, "GET", "/api/units")["units"]}


def page(node: Node, token: str, gid: str) -> dict[str, Any] | None:
    with node.api(token) as client:
        response = client.get(f"/api/incidents/{gid}")
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    return dict(response.json())


def pushed_past(node: Node, partner: str, seq: int) -> bool:
    with node.api() as client:
        response = client.get("/api/partners")
    response.raise_for_status()
    health = next(p for p in response.json()["partners"] if p["name"] == partner)
    return int(health["push_cursor"]) >= seq


def test_incident_released_to_vnm_is_run_by_usa_and_seen_alike_on_vnm(pair: Pair) -> None:
    usa, vnm, uo, vo = pair.usa, pair.vnm, pair.usa_officer, pair.vnm_officer
    latencies: dict[str, float] = {}

    cutter = call(
        usa,
        uo,
        "POST",
        "/api/units",
        {
            "name": "USCGC Munro",
            "type": "ship",
            "lat": 10.5,
            "lon": 107.0,
            "speed_kn": 20,
            "marking": rel_to("VNM"),
        },
    )
    hidden = call(
        usa,
        uo,
        "POST",
        "/api/incidents",
        {"kind": "smuggling", "title": "F1-noforn", "lat": 9.0, "lon": 106.0, "marking": NOFORN},
    )
    hidden_log = call(usa, uo, "POST", f"/api/incidents/{hidden['gid']}/log", {"text": "quiet"})
    assert hidden_log["marking"]["local_only"] is True

    opened_at = time.monotonic()
    opened = call(
        usa,
        uo,
        "POST",
        "/api/incidents",
        {
            "kind": "piracy",
            "severity": "high",
            "title": "F1-released",
            "lat": 10.0,
            "lon": 107.0,
            "mmsis": [574001234],
            "marking": rel_to("VNM"),
        },
    )
    gid = opened["gid"]
    seen, _ = wait_until(lambda: incidents(vnm, vo), lambda found: gid in found, TIMEOUT_S)
    latencies["incident USA -> VNM"] = time.monotonic() - opened_at
    theirs = seen[gid]
    assert theirs["owned"] is False
    assert (theirs["origin_nation"], theirs["origin_node"]) == ("USA", "jw-usa")
    assert theirs["banner"] == "RESTRICTED//REL TO VNM"
    assert theirs["payload"] == opened["payload"]
    assert theirs["payload"]["state"] == "detected"

    # VNM's officer writes to the log on VNM's node; the entry travels back to USA.
    call(usa, uo, "POST", f"/api/incidents/{gid}/log", {"text": "USA: cutter en route"})
    logged_at = time.monotonic()
    entry = call(vnm, vo, "POST", f"/api/incidents/{gid}/log", {"text": "VNM: CSB 8001 near"})
    assert entry["origin_nation"] == "VNM" and entry["gid"].startswith("jw-vnm:")
    assert entry["marking"]["rel_to"] == ["USA"]

    def vnm_entries() -> list[dict[str, Any]]:
        found = page(usa, uo, gid)
        assert found is not None
        return [e for e in found["log"] if e["origin_nation"] == "VNM"]

    back, _ = wait_until(vnm_entries, bool, TIMEOUT_S)
    latencies["log entry VNM -> USA"] = time.monotonic() - logged_at
    [arrived] = back
    assert arrived["gid"] == entry["gid"]
    assert arrived["payload"]["nation"] == "VNM"
    assert arrived["payload"]["by"] == "vnm.officer"
    assert arrived["payload"]["text"] == "VNM: CSB 8001 near"
    assert arrived["payload"]["at"] == entry["payload"]["at"]  # VNM's server time
    assert arrived["received_from"] == "vnm"

    # USA runs the incident; VNM cannot act on it or edit it.
    for method, path, body in [
        ("POST", f"/api/incidents/{gid}/actions", {"action": "acknowledge"}),
        ("PATCH", f"/api/incidents/{gid}", {"title": "VNM's now"}),
    ]:
        code, answer = status_of(vnm, vo, method, path, body)
        assert code == 409, answer
        assert "run by jw-usa (USA)" in answer["detail"]

    steps = [
        ("acknowledge", None),
        ("task", cutter["gid"]),
        ("on_scene", cutter["gid"]),
        ("resolve", None),
    ]
    final: dict[str, Any] = {}
    for action, unit in steps:
        time.sleep(0.15)  # distinct, non-zero durations
        body = {"action": action, **({"unit_gid": unit} if unit else {})}
        final = call(usa, uo, "POST", f"/api/incidents/{gid}/actions", body)
        if action == "task":
            tasked_at = time.monotonic()
            # VNM sees the USA cutter as tasked: the tasking travels with the incident.
            wait_until(
                lambda: units(vnm, vo).get(cutter["gid"], {}).get("status"),
                lambda status: status == "tasked",
                TIMEOUT_S,
            )
            latencies["tasking USA -> VNM unit status"] = time.monotonic() - tasked_at
    assert final["payload"]["state"] == "resolved"
    resolved_at = time.monotonic()

    ours = page(usa, uo, gid)
    assert ours is not None
    assert ours["version"] == final["version"] == 5
    mirrored, _ = wait_until(
        lambda: page(vnm, vo, gid),
        lambda p: p is not None and p["version"] == ours["version"],
        TIMEOUT_S,
    )
    latencies["resolve USA -> VNM"] = time.monotonic() - resolved_at
    assert mirrored is not None
    assert mirrored["payload"]["state"] == "resolved"
    assert mirrored["payload"]["timeline"] == ours["payload"]["timeline"]
    assert mirrored["payload"]["taskings"] == ours["payload"]["taskings"]
    assert mirrored["durations"] == ours["durations"]
    assert all(v is not None and v > 0 for v in ours["durations"].values()), ours["durations"]
    assert [e["gid"] for e in mirrored["log"]] == [e["gid"] for e in ours["log"]]
    assert len(ours["log"]) == 2
    assert units(vnm, vo)[cutter["gid"]]["status"] == "available"  # released on resolve

    # Both nodes' metrics agree for this incident (selected by its detection time).
    detected = ours["payload"]["detected_at"]
    query = f"?group_by=all&group_by=kind&group_by=nation&since={detected}&until={detected}"
    usa_metrics = call(usa, uo, "GET", f"/api/metrics/response-times{query}")
    vnm_metrics = call(vnm, vo, "GET", f"/api/metrics/response-times{query}")
    assert usa_metrics == vnm_metrics
    assert usa_metrics["incidents"] == 1
    [overall] = usa_metrics["groups"]["all"]
    for name in ("acknowledge", "task", "on_scene", "resolve"):
        value = round(ours["durations"][f"{name}_s"], 3)
        assert overall[name] == {"count": 1, "median_s": value, "p90_s": value}
    assert [g["group"] for g in usa_metrics["groups"]["nation"]] == ["USA"]

    def csv_row(node: Node, token: str) -> str:
        with node.api(token) as client:
            text = client.get("/api/metrics/response-times.csv").text
        return next(line for line in text.splitlines() if gid in line)

    assert csv_row(usa, uo) == csv_row(vnm, vo)

    # The NOFORN incident and its log never reached VNM, not even as a trace.
    wait_until(lambda: pushed_past(usa, "vnm", int(final["seq"])), bool, TIMEOUT_S)
    never = {hidden["gid"], hidden_log["gid"]}
    assert not never & vnm.stored_gids()
    assert not usa.service.records.delivered("vnm", sorted(never))
    assert hidden["gid"] not in incidents(vnm, vo)
    assert page(vnm, vo, hidden["gid"]) is None
    print(f"\npropagation latencies: { {k: f'{v:.3f} s' for k, v in latencies.items()} }")


def test_usa_tasks_a_vnm_unit_released_to_it(pair: Pair) -> None:
    usa, vnm, uo, vo = pair.usa, pair.vnm, pair.usa_officer, pair.vnm_officer
    created_at = time.monotonic()
    boat = call(
        vnm,
        vo,
        "POST",
        "/api/units",
        {
            "name": "CSB 8001",
            "type": "ship",
            "home_base": "Vung Tau",
            "lat": 10.2,
            "lon": 107.0,
            "speed_kn": 25,
            "marking": rel_to("USA"),
        },
    )
    assert boat["payload"]["nation"] == "VNM"
    seen, _ = wait_until(lambda: units(usa, uo), lambda found: boat["gid"] in found, TIMEOUT_S)
    latency = time.monotonic() - created_at
    assert seen[boat["gid"]]["nation"] == "VNM"
    assert seen[boat["gid"]]["origin_nation"] == "VNM"

    gid = call(
        usa,
        uo,
        "POST",
        "/api/incidents",
        {
            "kind": "search_and_rescue",
            "title": "F2-sar",
            "lat": 10.0,
            "lon": 107.0,
            "marking": rel_to("VNM"),
        },
    )["gid"]
    suggested = call(usa, uo, "GET", f"/api/incidents/{gid}/suggest")["units"]
    mine = next(u for u in suggested if u["gid"] == boat["gid"])
    assert mine["nation"] == "VNM"
    assert mine["eta_h"] == round(mine["distance_m"] / 1852 / 25, 2)  # 12.0 nm at 25 kn
    assert mine["distance_nm"] == 12.0

    call(usa, uo, "POST", f"/api/incidents/{gid}/actions", {"action": "acknowledge"})
    tasked = call(
        usa,
        uo,
        "POST",
        f"/api/incidents/{gid}/actions",
        {"action": "task", "unit_gid": boat["gid"]},
    )
    assert tasked["payload"]["state"] == "tasked"
    [tasking] = tasked["payload"]["taskings"]
    assert (tasking["unit_name"], tasking["unit_nation"]) == ("CSB 8001", "VNM")
    assert units(usa, uo)[boat["gid"]]["status"] == "tasked"

    # On its own node, VNM's unit shows as tasked to USA's incident.
    wait_until(lambda: units(vnm, vo)[boat["gid"]]["status"], lambda s: s == "tasked", TIMEOUT_S)
    code, answer = status_of(
        vnm,
        vo,
        "POST",
        f"/api/incidents/{gid}/actions",
        {"action": "on_scene", "unit_gid": boat["gid"]},
    )
    assert code == 409, answer
    scene = call(
        usa,
        uo,
        "POST",
        f"/api/incidents/{gid}/actions",
        {"action": "on_scene", "unit_gid": boat["gid"]},
    )
    assert scene["payload"]["state"] == "on_scene"
    wait_until(lambda: units(vnm, vo)[boat["gid"]]["status"], lambda s: s == "on_scene", TIMEOUT_S)
    print(f"\nVNM unit created -> visible at USA: {latency:.3f} s")
