"""The console's sign-in, markings, reports panel and partner alerts against a real node
process (USA, one VNM partner, one sharing group) in Chromium."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from jointwatch.config import Settings
from jointwatch.sharing.markings import DEFAULT_LEVELS
from jointwatch.sharing.service import SharingService
from jointwatch.store import make_engine, migrate
from jointwatch.store.accounts import AccountRepository
from tests.e2e.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, wait_until
from tests.integration.conftest import NodeProcess, new_node

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed"),
]

PASSWORD = "a long password 123"
HOSTILE = "<img src=x onerror=window.__pwned=1>"


@dataclass
class SharingNode:
    node: NodeProcess
    api_key: str  # the officer's API key
    partner_token: str  # what the VNM node would send us

    @property
    def url(self) -> str:
        return self.node.url


@pytest.fixture
def usa_node(tmp_path: Path) -> Iterator[SharingNode]:
    """A USA node (detectors off: starts fast) with an officer, a VNM partner and a group."""
    url = f"sqlite:///{tmp_path / 'usa.db'}"
    engine = make_engine(url)
    migrate(engine)
    accounts = AccountRepository(engine, DEFAULT_LEVELS)
    accounts.create_user("officer", nation="USA", role="watch_officer", password=PASSWORD)
    _, api_key = accounts.create_key("officer")
    service = SharingService(
        Settings(nation="USA", data_dir=tmp_path / "node", database_url=url), engine
    )
    partner_token = service.add_partner("vnm", nation="VNM", url=None, ceiling="RESTRICTED")
    service.records.put_group("ASEAN-MARSEC", ["VNM", "PHL"])
    engine.dispose()
    node = new_node(url, tmp_path, JOINTWATCH_NATION="USA", JOINTWATCH_DETECT="false")
    node.start()
    try:
        yield SharingNode(node, api_key, partner_token)
    finally:
        node.stop()


def partner_alert(n: int, title_kind: str = "loitering") -> dict[str, Any]:
    """An alert record as the VNM node pushes it (released to USA)."""
    now = datetime.now(UTC)
    start = (now - timedelta(hours=3)).isoformat()
    return {
        "gid": f"jw-vnm:alert:{n}",
        "kind": "alert",
        "origin_nation": "VNM",
        "origin_node": "jw-vnm",
        "version": 1,
        "marking": {"classification": "RESTRICTED", "rel_to": ["USA"], "tlp": "TLP:AMBER"},
        "rel_nations": ["USA"],
        "payload": {
            "id": n,
            "kind": title_kind,
            "mmsi": 574000100 + n,
            "lat": 10.5,
            "lon": 108.2 + n / 10,
            "start": start,
            "end": now.isoformat(),
            "updated": now.isoformat(),
            "details": {"duration_h": 3.0},
        },
        "created_at": start,
        "updated_at": now.isoformat(),
    }


def push_from_vnm(node: SharingNode, records: list[dict[str, Any]]) -> None:
    response = httpx.post(
        f"{node.url}/api/federation/records",
        headers={"Authorization": f"Bearer {node.partner_token}"},
        json={"node": "jw-vnm", "nation": "VNM", "records": records},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert [r["status"] for r in response.json()["receipts"]] == ["accepted"] * len(records)


def texts(page: Any, selector: str) -> list[str]:
    return [t.strip() for t in page.locator(selector).all_text_contents()]


def fill_report(page: Any, title: str, *, rel_to: list[str], noforn: bool = False) -> None:
    page.select_option("#report-kind", "report")
    page.fill("#report-title", title)
    page.fill("#report-text", f"text of {title} </textarea><script>window.__pwned=2</script>")
    page.click("#report-use-centre")
    page.select_option("#report-classification", "RESTRICTED")
    page.set_checked("#report-noforn", noforn)
    for nation in rel_to:
        page.check(f"#report-relto input[value='{nation}']")


def preview_verdict(page: Any, nation: str) -> str:
    selector = f"#report-preview-list li[data-nation='{nation}']"
    page.locator(selector).wait_for(timeout=5_000)
    return (page.locator(f"{selector} .preview-verdict").text_content() or "").strip()


def test_console_signs_in_marks_and_shares_reports(usa_node: SharingNode) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    url = usa_node.url
    push_from_vnm(usa_node, [partner_alert(1)])  # held before the console opens
    errors: list[str] = []
    sockets: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1500, "height": 1000})
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on(
            "console",
            lambda msg: (
                errors.append(msg.text)
                if msg.type == "error" and "Content Security Policy" in msg.text
                else None
            ),
        )
        page.on("websocket", lambda ws: sockets.append(ws.url))
        page.goto(url)

        # Signed out: the sign-in form, not the app, and no live feed.
        page.locator("#login-form").wait_for(state="visible", timeout=10_000)
        assert not page.locator("#map").is_visible()
        assert not page.locator("#logout").is_visible()
        assert sockets == []

        page.fill("#login-user", "officer")
        page.fill("#login-password", "not the password")
        page.click("#login-submit")
        wait_until(page, "document.querySelector('#login-error').textContent.length > 0", 10)
        assert "wrong username or password" in (page.text_content("#login-error") or "")
        assert sockets == []

        page.fill("#login-password", PASSWORD)
        page.click("#login-submit")
        wait_until(page, "document.body.dataset.ready === '1'", 15)
        assert page.locator("#map").is_visible()
        assert not page.locator("#login-screen").is_visible()
        assert len(sockets) == 1
        badge = page.text_content("#user-badge") or ""
        assert "officer" in badge and "USA" in badge and "watch officer" in badge
        me = page.evaluate("window.jointwatch.me()")
        assert me["nation"] == "USA" and me["node"]["levels"] == list(DEFAULT_LEVELS)

        # The partner alert held before sign-in: in the alerts list with origin and banner.
        wait_until(page, "document.body.dataset.recordsReady === '1'", 10)
        page.click("#alerts-toggle")
        vnm_alert = page.locator("#alerts-list li[data-origin='VNM']")
        vnm_alert.first.wait_for(timeout=5_000)
        assert vnm_alert.first.locator(".origin").text_content() == "VNM"
        marking = vnm_alert.first.locator(".marking")
        assert marking.text_content() == "RESTRICTED//REL TO USA//TLP:AMBER"
        assert "tlp-amber" in (marking.get_attribute("class") or "")
        assert "level-1" in (marking.get_attribute("class") or "")
        page.click("#alerts-close")

        # A second partner alert arrives live over the WebSocket.
        push_from_vnm(usa_node, [partner_alert(2, "encounter")])
        wait_until(
            page, "document.querySelectorAll('#alerts-list li[data-origin=VNM]').length === 2", 5
        )

        # The reports panel, its form and the live "who will see this".
        page.click("#reports-toggle")
        page.locator("#reports-panel").wait_for(state="visible", timeout=5_000)
        page.click("#report-compose > summary")
        levels = page.eval_on_selector_all(
            "#report-classification option", "(opts) => opts.map((o) => o.value)"
        )
        assert levels == list(DEFAULT_LEVELS)
        relto = page.eval_on_selector_all(
            "#report-relto input", "(boxes) => boxes.map((b) => b.value)"
        )
        assert relto == ["VNM", "ASEAN-MARSEC"]

        fill_report(page, HOSTILE, rel_to=["VNM"])
        wait_until(
            page,
            "document.querySelector('#report-preview-banner').textContent"
            " === 'RESTRICTED//REL TO VNM'",
            5,
        )
        assert preview_verdict(page, "VNM") == "yes"
        page.click("#report-submit")
        item = page.locator("#reports-list li[data-kind='report']")
        item.first.wait_for(timeout=5_000)
        assert item.first.locator(".record-title").text_content() == HOSTILE
        assert item.first.locator(".marking").text_content() == "RESTRICTED//REL TO VNM"
        assert item.first.locator(".origin").text_content() == "USA"
        assert page.input_value("#report-title") == ""  # the form was cleared
        # The POST's answer and the WebSocket copy are one record.
        time.sleep(1.0)
        assert page.locator("#reports-list li").count() == 1
        assert len(page.evaluate("window.jointwatch.records()")) == 3  # + 2 partner alerts
        assert page.locator("#reports-panel img, #reports-panel script").count() == 0

        # NOFORN: VNM may not see it, and REL TO is off.
        if not page.locator("#report-form").is_visible():
            page.click("#report-compose > summary")
        fill_report(page, "Dhow seen near the reef", rel_to=["VNM"])
        wait_until(
            page,
            "document.querySelector('#report-preview-banner').textContent"
            " === 'RESTRICTED//REL TO VNM'",
            5,
        )
        page.check("#report-noforn")
        wait_until(
            page,
            "document.querySelector('#report-preview-banner').textContent === 'RESTRICTED//NOFORN'",
            5,
        )
        assert preview_verdict(page, "VNM") == "no"
        assert "NOFORN" in (
            page.text_content("#report-preview-list li[data-nation='VNM'] .preview-reason") or ""
        )
        assert page.is_disabled("#report-relto input[value='VNM']")
        page.click("#report-submit")
        wait_until(page, "document.querySelectorAll('#reports-list li').length === 2", 5)
        assert texts(page, "#reports-list li .marking")[0] == "RESTRICTED//NOFORN"

        # An API error is shown with the server's reason.
        page.select_option("#report-kind", "vessel_note")
        page.fill("#report-mmsi", "574000101")
        page.fill("#report-text", "note")
        page.fill("#report-caveats", "bad//caveat")
        page.click("#report-submit")
        wait_until(page, "document.querySelector('#report-error').textContent.length > 0", 5)
        assert "caveat" in (page.text_content("#report-error") or "")
        page.click("#report-reset")

        # A record written through the API (another client) appears within 3 s.
        response = httpx.post(
            f"{url}/api/records",
            headers={"Authorization": f"Bearer {usa_node.api_key}"},
            json={
                "kind": "sighting",
                "payload": {
                    "time": datetime.now(UTC).isoformat(),
                    "lat": 9.9,
                    "lon": 114.3,
                    "vessel_name": "SEA <b>HORSE</b>",
                    "description": "no AIS",
                },
                "marking": {"classification": "CONFIDENTIAL", "rel_to": ["ASEAN-MARSEC"]},
            },
            timeout=10,
        )
        assert response.status_code == 201, response.text
        gid = response.json()["gid"]
        selector = json.dumps(f"#reports-list li[data-gid='{gid}']")
        wait_until(page, f"document.querySelector({selector})", 3)
        sighting = page.locator(f"#reports-list li[data-gid='{gid}']")
        assert sighting.locator(".marking").text_content() == "CONFIDENTIAL//REL TO ASEAN-MARSEC"
        assert "SEA <b>HORSE</b>" in (sighting.locator(".record-title").text_content() or "")
        assert page.locator("#report-count").text_content() == "3"

        # Clicking a record with a position flies the map there.
        sighting.locator("button").click()
        wait_until(
            page,
            "Math.abs(window.jointwatch.map.getCenter().lat - 9.9) < 0.05"
            " && Math.abs(window.jointwatch.map.getCenter().lng - 114.3) < 0.05",
            5,
        )

        # Withdrawn elsewhere: gone from the open console.
        response = httpx.delete(
            f"{url}/api/records/{gid}",
            headers={"Authorization": f"Bearer {usa_node.api_key}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        wait_until(page, f"!document.querySelector({selector})", 3)

        # Sync health: the VNM partner (pull only: no URL) with its pending count.
        page.locator("#sync-health").wait_for(state="visible", timeout=5_000)
        page.locator("#sync-list li[data-partner='vnm']").wait_for(timeout=5_000)
        health = page.text_content("#sync-list li[data-partner='vnm']") or ""
        assert "VNM" in health and "pending" in health and "pull only" in health

        page.screenshot(path=str(ARTIFACTS / "console-sharing.png"))
        assert page.evaluate("typeof window.__pwned") == "undefined"

        # The session ends (cookie gone, node restarted): the console asks to sign in again.
        context.clear_cookies()
        usa_node.node.stop()
        usa_node.node.start()
        page.locator("#login-form").wait_for(state="visible", timeout=20_000)
        assert "session has ended" in (page.text_content("#login-error") or "")
        assert not page.locator("#map").is_visible()
        page.fill("#login-password", PASSWORD)
        page.click("#login-submit")
        wait_until(page, "document.querySelector('#conn-status').dataset.state === 'live'", 15)
        wait_until(page, "document.querySelectorAll('#reports-list li').length === 2", 5)

        # Sign out: back to the sign-in form.
        page.click("#logout")
        page.locator("#login-form").wait_for(state="visible", timeout=10_000)
        assert not page.locator("#map").is_visible()
        browser.close()
    assert errors == []
