"""Shared pieces of the browser tests: Debian Chromium, polling under CSP, a demo node."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.conftest import free_port

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


def open_console(pw: Any, url: str, errors: list[str]) -> tuple[Any, Any]:
    """Debian Chromium on the console at ``url``, ready; page errors and CSP violations
    are appended to ``errors``."""
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
    page.goto(url)
    wait_until(page, "document.body.dataset.ready === '1'")
    return browser, page


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[str]:
    """A demo node with a short backfill: tracks within seconds, and the scripted scenario
    raises about a dozen events within half a minute."""
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
