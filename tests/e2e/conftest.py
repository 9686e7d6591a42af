"""Shared pieces of the browser tests: Debian Chromium, polling under CSP, a demo node.

The browser signs in as a user would: through a single-use enrolment link, the first one
being the link ``jointwatch demo`` printed (and wrote to DATA_DIR/demo-login-link.txt).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest

from jointwatch.cli import DEMO_LINK_FILE, DEMO_USER
from jointwatch.config import Settings
from jointwatch.sharing.markings import DEFAULT_LEVELS
from jointwatch.store import make_engine
from jointwatch.store.accounts import AccountRepository
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


class ConsoleNode(Protocol):
    """A node the browser can sign in to: the demo below, or an integration NodeProcess."""

    @property
    def url(self) -> str: ...

    def enrol_link(self) -> str: ...


@dataclass
class DemoNode:
    """A running ``jointwatch demo``, reached as its admin; formats as its URL."""

    url: str
    data_dir: Path
    log_path: Path
    token: str = ""
    unused_links: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return self.url

    @property
    def printed_link(self) -> str:
        """The sign-in link the demo gave its user."""
        return (self.data_dir / DEMO_LINK_FILE).read_text().strip()

    @property
    def headers(self) -> dict[str, str]:
        """The demo admin's API key, for httpx."""
        return {"Authorization": f"Bearer {self.token}"}

    def client(self) -> httpx.Client:
        """An HTTP client on the demo, as its admin."""
        return httpx.Client(base_url=self.url, headers=self.headers, timeout=10)

    def enrol_link(self) -> str:
        """The link the demo printed first, then fresh ones made in its database."""
        if self.unused_links:
            return self.unused_links.pop(0)
        engine = make_engine(Settings(data_dir=self.data_dir).effective_database_url)
        try:
            secret = AccountRepository(engine, DEFAULT_LEVELS).create_enrolment(
                DEMO_USER, timedelta(minutes=15)
            )
        finally:
            engine.dispose()
        return f"{self.url}/auth/enrol?token={secret}"

    def create_token(self) -> str:
        """A new API key of the demo's admin."""
        engine = make_engine(Settings(data_dir=self.data_dir).effective_database_url)
        try:
            _, token = AccountRepository(engine, DEFAULT_LEVELS).create_key(DEMO_USER, name="e2e")
        finally:
            engine.dispose()
        return token


def open_console(pw: Any, node: ConsoleNode, errors: list[str]) -> tuple[Any, Any]:
    """Debian Chromium signed in to the console of ``node`` by an enrolment link, ready;
    page errors and CSP violations are appended to ``errors``."""
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
    response = page.goto(node.enrol_link())  # the node sets the session cookie, then "/"
    assert response is not None and response.ok, response and response.text()
    assert page.url == f"{node.url}/", page.url
    wait_until(page, "document.body.dataset.ready === '1'")
    return browser, page


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[DemoNode]:
    """A demo node with a short backfill: tracks within seconds, and the scripted scenario
    raises about a dozen events within half a minute."""
    port, feed = free_port(), free_port()
    log = tmp_path / "demo.log"
    node = DemoNode(url=f"http://127.0.0.1:{port}", data_dir=tmp_path / "demo", log_path=log)
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
                str(node.data_dir),
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
    try:
        started = time.monotonic()
        while time.monotonic() - started < 60:
            assert proc.poll() is None, log.read_text()[-3000:]
            if not node.token and (node.data_dir / DEMO_LINK_FILE).exists():
                node.unused_links.append(node.printed_link)
                node.token = node.create_token()
            try:
                stats = httpx.get(f"{node.url}/api/stats", headers=node.headers, timeout=1)
                if node.token and stats.json().get("vessels", 0) >= 50:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            raise AssertionError(f"demo showed no vessels within 60 s:\n{log.read_text()[-3000:]}")
        yield node
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
