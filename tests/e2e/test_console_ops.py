"""The console's command center against a real node in Chromium: an alert becomes an
incident in one click, is acknowledged, a suggested unit is tasked, arrives and the incident
is resolved; the metrics panel then shows the node's response times. Also: the node's refusal
of an action out of order is shown, a partner's incident is read-only but takes log entries,
and the views follow changes made elsewhere without a reload.
"""

from __future__ import annotations

import json
import math
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from jointwatch.config import Settings
from jointwatch.ops.lifecycle import Actor, apply_action, new_incident
from jointwatch.sharing.service import SharingService
from jointwatch.store import make_engine, migrate
from tests.e2e.conftest import ARTIFACTS, CHROMIUM, open_console, wait_until
from tests.integration.conftest import NodeProcess, new_node
from tests.integration.test_node import position, send_tcp

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed"),
]

SPOOFED_MMSI = 12_345_678  # eight digits: the spoofing detector flags it on the first report
ALERT_LAT, ALERT_LON = 9.5, 112.0
HOSTILE = "<img src=x onerror=window.__pwned=1> boarding team away"
DURATIONS = ("acknowledge", "task", "on_scene", "resolve")
STEP_S = 1.3  # between actions, so every response time is a second or more


def human(seconds: float | None) -> str:
    """The console's duration format (ops.js ``duration``), rounded half up like JS."""
    if seconds is None:
        return "—"
    s = max(0, math.floor(seconds + 0.5))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    m = s // 60
    if m < 1440:
        return f"{m // 60} h {m % 60:02d} min"
    h = m // 60
    return f"{h // 24} d {h % 24:02d} h"


def test_human_durations_match_the_console_format() -> None:
    assert human(None) == "—"
    assert human(2.5) == "3 s"
    assert human(125.3) == "2 min 05 s"
    assert human(3 * 3600 + 7 * 60 + 10) == "3 h 07 min"
    assert human(2 * 86400 + 4 * 3600) == "2 d 04 h"


def add_vnm_partner(db_url: str, data_dir: Path) -> str:
    """A VNM partner (pull only) on the node's database; the token VNM's node would send."""
    engine = make_engine(db_url)
    try:
        migrate(engine)
        service = SharingService(
            Settings(nation="USA", data_dir=data_dir, database_url=db_url), engine
        )
        return service.add_partner("vnm", nation="VNM", url=None, ceiling="RESTRICTED")
    finally:
        engine.dispose()


def vnm_incident() -> dict[str, Any]:
    """A search-and-rescue incident VNM's node runs, acknowledged there, released to USA."""
    vnm = Actor("vnm.officer", "VNM")
    t0 = datetime.now(UTC) - timedelta(minutes=20)
    fields = {
        "kind": "search_and_rescue",
        "severity": "high",
        "title": "Fishing boat <b>adrift</b>",
        "description": "Engine failure, 6 crew",
        "lat": 10.2,
        "lon": 109.5,
    }
    payload = new_incident(fields, vnm, t0, None)
    payload = apply_action(payload, "acknowledge", vnm, t0 + timedelta(seconds=95))
    stamp = datetime.now(UTC).isoformat()
    return {
        "gid": "jw-vnm:incident:sar-1",
        "kind": "incident",
        "origin_nation": "VNM",
        "origin_node": "jw-vnm",
        "version": 1,
        "marking": {"classification": "UNCLASSIFIED", "rel_to": ["USA"]},
        "rel_nations": ["USA"],
        "payload": payload,
        "created_at": stamp,
        "updated_at": stamp,
    }


VNM_ALERT = "jw-vnm:alert:7"


def vnm_alert() -> dict[str, Any]:
    """A loitering alert VNM's node raised and released to USA."""
    now = datetime.now(UTC)
    start = (now - timedelta(hours=3)).isoformat()
    return {
        "gid": VNM_ALERT,
        "kind": "alert",
        "origin_nation": "VNM",
        "origin_node": "jw-vnm",
        "version": 1,
        "marking": {"classification": "RESTRICTED", "rel_to": ["USA"], "tlp": "TLP:AMBER"},
        "rel_nations": ["USA"],
        "payload": {
            "id": 7,
            "kind": "loitering",
            "mmsi": 574000107,
            "lat": 10.5,
            "lon": 108.9,
            "start": start,
            "end": now.isoformat(),
            "updated": now.isoformat(),
            "details": {"duration_h": 3.0},
        },
        "created_at": start,
        "updated_at": now.isoformat(),
    }


def push_vnm(node: NodeProcess, token: str, records: list[dict[str, Any]]) -> None:
    """Records as VNM's node pushes them; all accepted."""
    response = httpx.post(
        f"{node.url}/api/federation/records",
        headers={"Authorization": f"Bearer {token}"},
        json={"node": "jw-vnm", "nation": "VNM", "records": records},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert [r["status"] for r in response.json()["receipts"]] == ["accepted"] * len(records)


def state_is(page: Any, state: str, timeout_s: float = 10) -> None:
    wait_until(
        page,
        f"document.querySelector('#incident-state').dataset.state === {json.dumps(state)}",
        timeout_s,
    )


def click_action(page: Any, action: str, unit: str | None = None) -> None:
    if unit is None:
        selector = f"#incident-actions button[data-action='{action}']"
    else:
        where = "#incident-suggest" if action == "task" else "#incident-units"
        selector = f"{where} li[data-unit='{unit}'] button[data-action='{action}']"
    page.locator(selector).click()


def metrics_cells(page: Any, table: str, group: str) -> dict[str, str]:
    """{"acknowledge/median": "2 s", ..., "incidents": "1"} of one row of a metrics table."""
    return page.evaluate(
        """([table, group]) => {
            const row = document.querySelector(`#${table} tbody tr[data-group="${group}"]`);
            if (!row) return null;
            const out = { incidents: row.querySelector(".metric-count").textContent };
            for (const cell of row.querySelectorAll(".metric-cell")) {
              out[`${cell.dataset.duration}/${cell.dataset.stat}`] = cell.textContent;
            }
            return out;
        }""",
        [table, group],
    )


def response_times(api: httpx.Client) -> dict[str, Any]:
    params = [("group_by", g) for g in ("kind", "nation", "month", "all")]
    response = api.get("/api/metrics/response-times", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_alert_to_resolved_incident_and_response_times(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    db_url = f"sqlite:///{tmp_path / 'n.db'}"
    node: NodeProcess = new_node(
        db_url, tmp_path, JOINTWATCH_NATION="USA", JOINTWATCH_DETECT="true"
    )
    partner_token = add_vnm_partner(db_url, node.data_dir)
    node.start()
    errors: list[str] = []
    try:
        api = node.client()
        # A cutter 20 nm or so from where the alert will be: the nearest available unit.
        response = api.post(
            "/api/units",
            json={
                "name": "USCGC MUNRO",
                "type": "ship",
                "home_base": "Alameda",
                "status": "available",
                "lat": 9.8,
                "lon": 112.1,
                "speed_kn": 20,
                "notes": "",
                "marking": {"classification": "UNCLASSIFIED"},
            },
        )
        assert response.status_code == 201, response.text
        unit = response.json()["gid"]

        with sync_playwright() as pw:
            browser, page = open_console(pw, node, errors)
            try:
                wait_until(page, "document.body.dataset.opsReady === '1'", 15)
                assert page.is_visible("#incidents-toggle") and page.is_visible("#metrics-toggle")
                wait_until(page, "window.jointwatch.units().length === 1", 10)

                # The alert: one spoofed report, flagged at once, listed with its button.
                send_tcp(
                    node.tcp_port, [position(SPOOFED_MMSI, ALERT_LAT, ALERT_LON, int(time.time()))]
                )
                page.click("#alerts-toggle")
                item = page.locator(f"#alerts-list li[data-mmsi='{SPOOFED_MMSI}']").first
                item.wait_for(timeout=30_000)
                opener = item.locator("input.alert-incident")
                assert opener.is_visible() and opener.get_attribute("value") == "Open incident"

                # One click: the incident exists, from the alert, and its page is open.
                opener.click()
                page.locator("#incident-page").wait_for(state="visible", timeout=10_000)
                state_is(page, "detected")
                gid = page.get_attribute("#incident-page", "data-gid")
                assert gid and page.get_attribute("#incident-page", "data-owned") == "true"
                stored = api.get(f"/api/incidents/{gid}").json()
                assert stored["payload"]["source_alert"]["kind"] == "spoofing"
                assert stored["payload"]["mmsis"] == [SPOOFED_MMSI]
                assert page.text_content("#incident-banner") == stored["banner"]
                assert page.text_content("#incident-title") == stored["payload"]["title"]
                assert str(SPOOFED_MMSI) in (page.text_content("#incident-mmsis") or "")
                assert page.locator("#incident-timeline li").count() == 1
                assert len(page.evaluate("window.jointwatch.incidents()")) == 1
                # The map flew to it.
                wait_until(
                    page,
                    f"window.jointwatch.map.getCenter().distanceTo([{ALERT_LAT}, {ALERT_LON}])"
                    " < 20000",
                    10,
                )

                # The nearest available unit, with the node's distance and ETA.
                suggested = page.locator(f"#incident-suggest li[data-unit='{unit}']")
                suggested.wait_for(timeout=10_000)
                best = api.get(f"/api/incidents/{gid}/suggest").json()["units"][0]
                assert best["gid"] == unit
                assert suggested.locator(".suggest-distance").text_content() == (
                    f"{best['distance_nm']:.1f} nm"
                )
                assert suggested.locator(".suggest-eta").text_content() == (
                    f"ETA {best['eta_h']:.1f} h"
                )

                time.sleep(STEP_S)
                click_action(page, "acknowledge")
                state_is(page, "acknowledged")
                time.sleep(STEP_S)
                click_action(page, "task", unit)
                state_is(page, "tasked")
                tasked = page.locator(f"#incident-units li[data-unit='{unit}']")
                wait_until(
                    page,
                    f"document.querySelector(\"#incident-units li[data-unit='{unit}']\")"
                    "?.dataset.status === 'tasked'",
                    5,
                )
                assert "ETA" in (tasked.text_content() or "")
                wait_until(
                    page,
                    f"window.jointwatch.units().find((u) => u.gid === {json.dumps(unit)})"
                    ".status === 'tasked'",
                    5,
                )
                time.sleep(STEP_S)
                click_action(page, "on_scene", unit)
                state_is(page, "on_scene")

                # The ops log: hostile text stays text.
                page.fill("#incident-log-text", HOSTILE)
                page.click("#incident-log-submit")
                wait_until(
                    page, "document.querySelectorAll('#incident-log li.log-item').length === 1"
                )
                assert page.text_content("#incident-log li.log-item .log-text") == HOSTILE

                time.sleep(STEP_S)
                click_action(page, "resolve")
                state_is(page, "resolved")
                assert page.text_content("#incident-error") == ""
                timeline = page.locator("#incident-timeline li")
                assert [li.get_attribute("data-to") for li in timeline.all()] == [
                    "detected",
                    "acknowledged",
                    "tasked",
                    "on_scene",
                    "resolved",
                ]
                for li in timeline.all():
                    text = li.text_content() or ""
                    assert "USA" in text and "admin" in text and "Z" in text
                stored = api.get(f"/api/incidents/{gid}").json()
                for name in DURATIONS:
                    shown = page.text_content(f"#incident-durations dd[data-duration='{name}']")
                    assert shown == human(stored["durations"][f"{name}_s"]), name
                assert (
                    page.get_attribute(
                        "#incident-actions button[data-action='reopen']", "data-allowed"
                    )
                    == "true"
                )
                page.evaluate("document.querySelector('#incident-page').scrollTop = 0")
                page.screenshot(path=str(ARTIFACTS / "console-incident.png"))

                # Response times: the table shows what the node computed, as the console
                # formats it, and the chart has a median and a p90 bar per duration.
                page.click("#metrics-toggle")
                page.locator("#metrics-panel").wait_for(state="visible", timeout=5_000)
                wait_until(
                    page, "document.querySelector('#metrics-panel').dataset.incidents === '1'"
                )
                metrics = response_times(api)
                assert metrics["incidents"] == 1
                (kind_row,) = metrics["groups"]["kind"]
                assert kind_row["group"] == stored["payload"]["kind"]
                cells = metrics_cells(page, "metrics-kind", kind_row["group"])
                assert cells is not None and cells["incidents"] == "1"
                for name in DURATIONS:
                    for stat in ("median", "p90"):
                        value = kind_row[name][f"{stat}_s"]
                        assert value is not None and value >= 1.0, (name, stat, value)
                        assert cells[f"{name}/{stat}"] == human(value), (name, stat)
                (nation_row,) = metrics["groups"]["nation"]
                assert nation_row["group"] == "USA"
                assert metrics_cells(page, "metrics-nation", "USA") == cells
                month = metrics["groups"]["month"][0]["group"]
                assert metrics_cells(page, "metrics-month", month) == cells
                bars = page.locator("#metrics-chart svg rect[data-kind]")
                assert bars.count() == 2 * len(DURATIONS)
                for name in DURATIONS:
                    median = page.get_attribute(
                        f"#metrics-chart rect[data-duration='{name}'][data-stat='median']",
                        "data-seconds",
                    )
                    assert float(median or "nan") == kind_row[name]["median_s"]
                assert page.get_attribute("#metrics-csv", "href") == (
                    "/api/metrics/response-times.csv"
                )
                page.screenshot(path=str(ARTIFACTS / "console-metrics.png"))

                # A second incident, by hand: resolving it before acknowledging it is refused,
                # and the console shows the node's reason.
                page.click("#incidents-toggle")
                page.locator("#incidents-panel").wait_for(state="visible", timeout=5_000)
                page.click("#incident-compose > summary")
                page.select_option("#new-incident-kind", "piracy")
                page.select_option("#new-incident-severity", "high")
                page.fill("#new-incident-title", "Skiff approaching <script>tanker</script>")
                page.fill("#new-incident-description", "Two skiffs, ladders seen")
                page.click("#new-incident-use-centre")
                page.click("#new-incident-submit")
                wait_until(
                    page,
                    "!document.querySelector('#incident-page').hidden && document.querySelector"
                    f"('#incident-page').dataset.gid !== {json.dumps(gid)}",
                    10,
                )
                second = page.get_attribute("#incident-page", "data-gid")
                state_is(page, "detected")
                resolve = page.locator("#incident-actions button[data-action='resolve']")
                assert resolve.get_attribute("data-allowed") == "false"
                resolve.click()
                wait_until(page, "document.querySelector('#incident-error').textContent !== ''", 5)
                refused = api.post(f"/api/incidents/{second}/actions", json={"action": "resolve"})
                assert refused.status_code == 422
                assert page.text_content("#incident-error") == refused.json()["detail"]
                assert "cannot resolve an incident that is detected" in refused.json()["detail"]
                state_is(page, "detected")

                # A change made elsewhere reaches the open page, the list and the board.
                done = api.post(f"/api/incidents/{second}/actions", json={"action": "acknowledge"})
                assert done.status_code == 200, done.text
                state_is(page, "acknowledged", 5)
                page.click("#incident-back")
                page.locator("#incidents-panel").wait_for(state="visible", timeout=5_000)
                page.select_option("#incidents-filter", "")
                assert page.locator("#incidents-list li").count() == 2
                page.click("#tab-board")
                board = "#incidents-board section[data-state='{}'] li[data-gid='{}']"
                assert page.locator(board.format("acknowledged", second)).count() == 1
                assert page.locator(board.format("closed", gid)).count() == 1
                assert "Skiff approaching <script>tanker</script>" in (
                    page.text_content(board.format("acknowledged", second)) or ""
                )
                assert page.text_content("#incident-count") == "1"
                page.screenshot(path=str(ARTIFACTS / "console-incidents-board.png"))

                # A partner's incident arrives live: read-only here, but the log takes notes.
                push_vnm(node, partner_token, [vnm_incident()])
                vnm_card = board.format("acknowledged", "jw-vnm:incident:sar-1")
                wait_until(page, f"document.querySelector({json.dumps(vnm_card)})", 5)
                page.click(vnm_card + " button")
                state_is(page, "acknowledged")
                assert page.get_attribute("#incident-page", "data-owned") == "false"
                assert page.is_visible("#incident-owner-note")
                assert "VNM" in (page.text_content("#incident-owner-note") or "")
                for button in page.locator("#incident-actions button").all():
                    assert button.is_disabled()
                page.fill("#incident-log-text", "USCGC MUNRO can be on scene in 6 h")
                page.click("#incident-log-submit")
                wait_until(
                    page, "document.querySelectorAll('#incident-log li.log-item').length === 1"
                )
                assert page.text_content("#incident-title") == "Fishing boat <b>adrift</b>"

                # A partner's alert: one click opens an incident of ours that stays within the
                # alert's release (back to VNM only), and a second click finds it again.
                push_vnm(node, partner_token, [vnm_alert()])
                alert_item = page.locator(f"#alerts-list li[data-id='{VNM_ALERT}']")
                alert_item.wait_for(timeout=5_000)
                alert_item.locator("input.alert-incident").click()
                wait_until(
                    page,
                    "document.querySelector('#incident-page').dataset.owned === 'true'",
                    10,
                )
                from_partner = page.get_attribute("#incident-page", "data-gid")
                assert page.text_content("#incident-banner") == "RESTRICTED//REL TO VNM//TLP:AMBER"
                stored = api.get(f"/api/incidents/{from_partner}").json()
                assert stored["payload"]["source_alert"]["gid"] == VNM_ALERT
                assert stored["payload"]["kind"] == "illegal_fishing"  # from loitering
                page.click("#incident-back")
                alert_item.locator("input.alert-incident").click()
                wait_until(
                    page,
                    f"document.querySelector('#incident-page').dataset.gid === '{from_partner}'",
                )
                assert len(page.evaluate("window.jointwatch.incidents()")) == 4

                # Units tab and map layer: the cutter, available again after the resolve.
                page.click("#incident-back")
                page.click("#tab-units")
                listed = page.locator(f"#units-list li[data-gid='{unit}']")
                listed.wait_for(timeout=5_000)
                assert listed.get_attribute("data-status") == "available"
                assert "USCGC MUNRO" in (listed.text_content() or "")
                assert page.locator(".leaflet-ops-pane path.unit-mark").count() == 1

                # The metrics panel follows: four incidents, two nations.
                page.click("#metrics-toggle")
                wait_until(
                    page, "document.querySelector('#metrics-panel').dataset.incidents === '4'"
                )
                assert metrics_cells(page, "metrics-nation", "VNM") is not None
                assert response_times(api)["incidents"] == 4
                assert page.evaluate("typeof window.__pwned") == "undefined"
            finally:
                browser.close()
        api.close()
        assert errors == []
    finally:
        node.stop()
