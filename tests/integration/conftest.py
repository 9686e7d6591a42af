"""A real ``jointwatch serve`` process on loopback, for the integration tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest


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

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self, timeout_s: float = 30.0) -> None:
        self.env = {
            **os.environ,
            "JOINTWATCH_DATA_DIR": str(self.data_dir),
            "JOINTWATCH_DATABASE_URL": self.database_url,
            "JOINTWATCH_STATE_FLUSH_S": "0.5",
            "JOINTWATCH_WS_PUSH_INTERVAL_S": "0.2",
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
                raise RuntimeError(f"node exited early:\n{self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
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
            stats = httpx.get(f"{self.url}/api/stats", timeout=5).json()
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
    """A node on SQLite and on PostgreSQL (``db_url`` is parametrised in tests/conftest.py)."""
    proc = new_node(db_url, tmp_path)
    proc.start()
    yield proc
    proc.stop()
