"""A real ``jointwatch serve`` process on loopback, for the integration tests.

Every route but the health check needs a credential, so each node gets an admin user and an
API key (``node.token``, ``node.headers``) written into its database before it starts;
``node.make_user`` adds more users, ``node.enrol_link`` signs a browser in.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from jointwatch.sharing.markings import DEFAULT_LEVELS
from jointwatch.store import make_engine, migrate
from jointwatch.store.accounts import AccountRepository

ADMIN = "admin"
DEFAULT_NATION = "USA"


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port nobody listens on right now (TCP and UDP checked separately)."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class NodeProcess:
    """A running node and how to reach it."""

    data_dir: Path
    database_url: str
    http_port: int
    tcp_port: int
    udp_port: int
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)
    env_extra: dict[str, str] = field(default_factory=dict)
    token: str = ""  # the admin's API key, created by the first start()
    migrated: bool = field(default=False, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def nation(self) -> str:
        return self.env_extra.get("JOINTWATCH_NATION", DEFAULT_NATION)

    @property
    def headers(self) -> dict[str, str]:
        """The admin's credential, for httpx and websockets."""
        assert self.token, "the node has no admin token before start()"
        return {"Authorization": f"Bearer {self.token}"}

    def client(self, token: str | None = None) -> httpx.Client:
        """An HTTP client on the node, as the admin (or as the owner of ``token``)."""
        headers = {"Authorization": f"Bearer {token}"} if token else self.headers
        return httpx.Client(base_url=self.url, headers=headers, timeout=10)

    @contextmanager
    def accounts(self) -> Iterator[AccountRepository]:
        """The node's accounts, through a short-lived engine (no SQLite lock stays held)."""
        engine = make_engine(self.database_url)
        try:
            if not self.migrated:
                migrate(engine)
                self.migrated = True
            yield AccountRepository(engine, DEFAULT_LEVELS)
        finally:
            engine.dispose()

    def make_user(
        self,
        username: str,
        role: str,
        *,
        nation: str | None = None,
        clearance: str | None = None,
        read_only: bool = False,
    ) -> str:
        """A new user of the node (running or not) and an API key of theirs: the token."""
        with self.accounts() as accounts:
            accounts.create_user(
                username, nation=nation or self.nation, role=role, clearance=clearance
            )
            _, token = accounts.create_key(username, read_only=read_only)
        return token

    def enrol_link(self, username: str = ADMIN) -> str:
        """A single-use sign-in link: a browser that opens it gets a console session."""
        with self.accounts() as accounts:
            secret = accounts.create_enrolment(username, timedelta(minutes=15))
        return f"{self.url}/auth/enrol?token={secret}"

    def start(self, timeout_s: float = 60.0) -> None:
        if not self.token:
            self.token = self.make_user(ADMIN, "admin")
        self.env = {
            **os.environ,
            "JOINTWATCH_DATA_DIR": str(self.data_dir),
            "JOINTWATCH_DATABASE_URL": self.database_url,
            "JOINTWATCH_STATE_FLUSH_S": "0.5",
            "JOINTWATCH_WS_PUSH_INTERVAL_S": "0.2",
            "JOINTWATCH_NATION": DEFAULT_NATION,
            **self.env_extra,
        }
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child process
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jointwatch",
                "serve",
                "--port",
                str(self.http_port),
                "--source",
                f"tcp-listen://127.0.0.1:{self.tcp_port}",
                "--source",
                f"udp://127.0.0.1:{self.udp_port}",
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.proc = None
                raise RuntimeError(f"node exited early:\n{self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.kill()  # no node left behind by a failed start
        raise RuntimeError(f"node did not start:\n{self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        """kill -9: no shutdown hook runs, as in a power cut of the process."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def wait_for(self, predicate, timeout_s: float = 15.0):  # type: ignore[no-untyped-def]
        """Poll the node's stats until ``predicate(stats)`` holds; return the stats."""
        deadline = time.monotonic() + timeout_s
        stats: dict = {}
        while time.monotonic() < deadline:
            response = httpx.get(f"{self.url}/api/stats", headers=self.headers, timeout=5)
            response.raise_for_status()
            stats = response.json()
            if predicate(stats):
                return stats
            time.sleep(0.2)
        raise AssertionError(f"condition not met in {timeout_s} s; last stats: {stats}")


def new_node(db_url: str, tmp_path: Path, **env_extra: str) -> NodeProcess:
    """A node (not started yet) on free loopback ports, with extra environment settings."""
    return NodeProcess(
        data_dir=tmp_path / "node",
        database_url=db_url,
        http_port=free_port(),
        tcp_port=free_port(),
        udp_port=free_port(socket.SOCK_DGRAM),
        log_path=tmp_path / "node.log",
        env_extra=dict(env_extra),
    )


@pytest.fixture
def node(db_url: str, tmp_path: Path) -> Iterator[NodeProcess]:
    """A node on SQLite and on PostgreSQL (``db_url`` is parametrised in tests/conftest.py).

    Detectors off: these tests are about ingest, the picture, the API and durability, and a
    node without them starts without loading the land mask (seconds per start on this
    machine); the detector tests start their own nodes with them on.
    """
    proc = new_node(db_url, tmp_path, JOINTWATCH_DETECT="false")
    proc.start()
    yield proc
    proc.stop()
