"""`jointwatch demo` in a real headless Chromium: vessels drawn, a click opens the panel."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from jointwatch.picture.mid import flag_for_mmsi
from tests.integration.conftest import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def wait_until(page: object, expression: str, timeout_s: float = 30.0) -> None:
    """Poll a JS expression from Python: the page's CSP (no eval) forbids wait_for_function."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if page.evaluate(f"() => Boolean({expression})"):  # type: ignore[attr-defined]
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {expression}")


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[str]:
    """A demo node with a short backfill so the test sees tracks within seconds."""
    port, feed = free_port(), free_port()
    log = tmp_path / "demo.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jointwatch",
                "demo",
                "--port",
                str(port),
                "--feed-port",
                str(feed),
                "--data-dir",
                str(tmp_path / "demo"),
                "--vessels",
                "120",
                "--backfill-hours",
                "1",
                "--duration",
                "300",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(os.environ),
        )
    url = f"http://127.0.0.1:{port}"
    try:
        started = time.monotonic()
        while time.monotonic() - started < 60:
            assert proc.poll() is None, log.read_text()[-3000:]
            try:
                if httpx.get(f"{url}/api/stats", timeout=1).json().get("vessels", 0) >= 50:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            raise AssertionError(f"demo showed no vessels within 60 s:\n{log.read_text()[-3000:]}")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed")
def test_demo_draws_vessels_and_a_click_opens_the_vessel_panel(demo: str) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on(
            "console",
            lambda msg: (
                errors.append(msg.text)
                if msg.type == "error" and "Content Security Policy" in msg.text
                else None
            ),
        )
        page.goto(demo)
        wait_until(page, "document.body.dataset.ready === '1'")
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
