"""`jointwatch demo` in a real headless Chromium: vessels drawn, a click opens the panel."""

from __future__ import annotations

from pathlib import Path

import pytest

from jointwatch.picture.mid import flag_for_mmsi
from tests.e2e.conftest import ARTIFACTS, CHROMIUM, DemoNode, open_console, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed")
def test_demo_draws_vessels_and_a_click_opens_the_vessel_panel(demo: DemoNode) -> None:
    from playwright.sync_api import sync_playwright

    # The demo tells its user how to sign in: the link it printed is the one the browser uses.
    assert demo.printed_link.startswith(f"{demo.url}/auth/enrol?token=")
    assert demo.printed_link in demo.log_path.read_text()
    assert (demo.data_dir / "demo-login-link.txt").stat().st_mode & 0o777 == 0o600
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    with sync_playwright() as pw:
        browser, page = open_console(pw, demo, errors)
        assert demo.unused_links == [], "the console was not opened with the printed link"
        wait_until(page, "window.jointwatch.vesselCount() >= 50")

        # Click a real vessel symbol on the canvas, at the pixel the map draws it.
        target = page.evaluate("window.jointwatch.pickVisibleVessel()")
        assert target is not None, "no vessel visible on the map"
        page.mouse.click(target["x"], target["y"])
        panel = page.locator("#vessel-panel")
        panel.wait_for(state="visible", timeout=10_000)
        wait_until(page, "document.querySelector('#vp-name').textContent !== '…'", 10)
        assert page.locator("#vp-mmsi").text_content().strip() == str(target["mmsi"])
        wait_until(page, "window.jointwatch.trackPointCount() > 1", 15)
        # The flag comes from the MMSI's MID; the scenario's exercise vessel with an invalid
        # 8-digit MMSI rightly has none.
        expected = flag_for_mmsi(int(target["mmsi"]))
        flag_text = page.locator("#vp-flag").text_content().strip()
        assert flag_text.startswith(expected.alpha3) if expected else flag_text == "—"
        page.screenshot(path=str(ARTIFACTS / "demo-console.png"))
        browser.close()
    assert errors == []
