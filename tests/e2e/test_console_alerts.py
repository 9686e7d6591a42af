"""The console's alerts list, event layer and zone tools against `jointwatch demo` in Chromium."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import ARTIFACTS, CHROMIUM, DemoNode, open_console, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DEMO_ZONES = {"BRAVO", "SPRATLY HRA", "HON MUN MPA"}
TEST_ZONE = "E2E UPLOAD BOX"


def zone_file(name: str, kind: str) -> bytes:
    feature = {
        "type": "Feature",
        "properties": {"name": name, "kind": kind},
        "geometry": {
            "type": "Polygon",
            "coordinates": [
                [[111.5, 12.0], [112.0, 12.0], [112.0, 12.5], [111.5, 12.5], [111.5, 12.0]]
            ],
        },
    }
    return json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed")
def test_console_lists_alerts_draws_events_and_manages_zones(demo: DemoNode) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    with sync_playwright() as pw:
        browser, page = open_console(pw, demo, errors)

        # Alerts: loaded from /api/events, then live over the WebSocket.
        wait_until(page, "document.querySelectorAll('#alerts-list li').length >= 5", 90)
        badge = page.locator("#alert-badge").text_content() or ""
        assert re.search(r"\d+", badge), badge
        assert int(page.locator("#alert-total").text_content() or "0") >= 5
        assert int(page.locator("#alert-new").text_content() or "0") >= 1, "nothing marked new"

        page.click("#alerts-toggle")
        page.locator("#alerts-panel").wait_for(state="visible", timeout=5_000)
        assert page.get_attribute("#alerts-toggle", "aria-expanded") == "true"
        assert page.get_attribute("#alerts-list", "aria-live") == "polite"
        wait_until(page, "document.querySelector('#alert-new').textContent === '0'", 5)

        # Newest first.
        ids = page.evaluate(
            "() => Array.from(document.querySelectorAll('#alerts-list li'), (li) => li.dataset.id)"
        )
        events = httpx.get(
            f"{demo}/api/events", params={"limit": 500}, headers=demo.headers
        ).json()["events"]
        by_id = {e["id"]: e for e in events}
        listed = [by_id[i]["start"] for i in ids if i in by_id]
        assert listed == sorted(listed, reverse=True)

        # Zones: the demo's three, drawn and listed.
        wait_until(page, "window.jointwatch.zoneNames().length >= 3", 15)
        assert set(page.evaluate("window.jointwatch.zoneNames()")) >= DEMO_ZONES
        page.click("#zone-details > summary")
        listed_zones = page.locator("#zone-list").text_content() or ""
        for name in DEMO_ZONES:
            assert name in listed_zones

        # Click an encounter (or AIS gap) alert: event layer drawn, vessel panel opened.
        selector = "#alerts-list li[data-kind='encounter'], #alerts-list li[data-kind='ais_gap']"
        wait_until(page, f"document.querySelector({json.dumps(selector)})", 60)
        item = page.locator(selector).first
        mmsi = item.get_attribute("data-mmsi")
        kind = item.get_attribute("data-kind")
        item.locator("button").click()
        wait_until(page, "window.jointwatch.eventLayerCount() >= 1", 10)
        wait_until(page, "document.querySelectorAll('.leaflet-events-pane path').length >= 1", 10)
        page.locator("#vessel-panel").wait_for(state="visible", timeout=10_000)
        assert page.locator("#vp-mmsi").text_content().strip() == mmsi
        assert item.locator("button").get_attribute("aria-current") == "true"
        if kind == "encounter":
            # Both vessels of an encounter get a ring when they are on the map.
            assert len(page.evaluate("window.jointwatch.highlightedVessels()")) >= 1

        # A bad upload shows the server's reason; a good one appears on the map and in the list.
        page.set_input_files(
            "#zone-file",
            files=[
                {
                    "name": "bad.geojson",
                    "mimeType": "application/json",
                    "buffer": zone_file("BAD ZONE", "moat"),
                }
            ],
        )
        wait_until(page, "document.querySelector('#zone-status').dataset.tone === 'error'", 10)
        assert "moat" in (page.locator("#zone-status").text_content() or "")
        page.set_input_files(
            "#zone-file",
            files=[
                {
                    "name": "box.geojson",
                    "mimeType": "application/json",
                    "buffer": zone_file(TEST_ZONE, "custom"),
                }
            ],
        )
        wait_until(page, f"window.jointwatch.zoneNames().includes({json.dumps(TEST_ZONE)})", 10)
        assert page.locator("#zone-status").get_attribute("data-tone") == "ok"
        assert TEST_ZONE in (page.locator("#zone-list").text_content() or "")
        assert page.locator("#zone-count").text_content() == "4"
        page.screenshot(path=str(ARTIFACTS / "console-alerts.png"))

        response = httpx.delete(f"{demo}/api/zones/{TEST_ZONE}", headers=demo.headers)
        assert response.status_code == 200, response.text
        page.evaluate("window.jointwatch.loadZones()")
        wait_until(page, f"!window.jointwatch.zoneNames().includes({json.dumps(TEST_ZONE)})", 10)
        browser.close()
    assert errors == []
