"""A partner's shared alert reaches the other node's console within 2 s (issue: sharing).

Two real nodes on loopback: the USA node runs its detectors with alerts marked
REL TO VNM; a VNM watch officer has the VNM console open in Chromium. A sentence that makes
the USA detectors raise an alert goes into the USA node's TCP feed, and we time how long
until the alert, with the USA marking and origin, is in the VNM console's alerts list.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.e2e.conftest import ARTIFACTS, CHROMIUM, open_console
from tests.integration.federation_helpers import link, make_node
from tests.integration.test_node import position, send_tcp

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed"),
]

SPOOFED_MMSI = 12_345_678  # eight digits: the spoofing detector flags it on the first report


def test_partner_alert_reaches_the_partner_console_within_2_s(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    usa = make_node(
        "USA",
        f"sqlite:///{tmp_path / 'usa.db'}",
        tmp_path / "usa",
        JOINTWATCH_DETECT="true",
        JOINTWATCH_EVENT_MARKING="UNCLASSIFIED//REL TO VNM//TLP:GREEN",
    )
    vnm = make_node("VNM", f"sqlite:///{tmp_path / 'vnm.db'}", tmp_path / "vnm")
    link(usa, vnm, a_grants_b="RESTRICTED", b_grants_a="RESTRICTED")
    errors: list[str] = []
    try:
        usa.start()
        vnm.start()
        with sync_playwright() as pw:
            browser, page = open_console(pw, vnm.proc, errors)
            try:
                # The console is live once its WebSocket delivered the (empty) snapshot.
                time.sleep(1.0)
                started = time.monotonic()
                send_tcp(usa.proc.tcp_port, [position(SPOOFED_MMSI, 9.5, 112.0, int(time.time()))])
                selector = "#alerts-list [data-origin='USA']"
                deadline = started + 10
                while time.monotonic() < deadline and page.locator(selector).count() == 0:
                    time.sleep(0.02)
                latency = time.monotonic() - started
                page.screenshot(path=str(ARTIFACTS / "partner-alert.png"))
                assert page.locator(selector).count() >= 1, "no USA alert on the VNM console"
                item = page.locator(selector).first
                text = item.inner_text()
                print(f"USA alert on the VNM console {latency * 1000:.0f} ms after the sentence")
                assert latency < 2.0, f"{latency:.2f} s"
                assert "UNCLASSIFIED//REL TO VNM//TLP:GREEN" in text
                assert str(SPOOFED_MMSI) in text or "spoofing" in text.lower()
            finally:
                browser.close()
        assert errors == []
        received = [r for r in vnm.stored() if r["kind"] == "alert"]
        assert len(received) == 1
        assert received[0]["origin_nation"] == "USA"
        assert received[0]["payload"]["mmsi"] == SPOOFED_MMSI
    finally:
        usa.close()
        vnm.close()
