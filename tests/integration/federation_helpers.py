"""Two (or more) linked nodes for the federation tests: databases, partners, polling.

Why link in-process: partners, groups and credentials are rows in each node's database, so
the tests write them before the processes start (the node reads its sharing groups once at
start; partners are picked up while running too) and read the databases directly to check
for leaks and duplicates, which the API would hide.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import sqlalchemy as sa
from sqlalchemy import Engine

from jointwatch.config import Settings
from jointwatch.sharing.service import SharingService
from jointwatch.store import make_engine, migrate
from tests.integration.conftest import NodeProcess, new_node

T = TypeVar("T")

FAST_ENV = {
    "JOINTWATCH_FEDERATION_PULL_S": "2",
    "JOINTWATCH_DETECT": "false",
}


@contextmanager
def pg_database(admin: Engine) -> Iterator[str]:
    """A fresh PostgreSQL database (as tests/conftest.py makes them), dropped afterwards."""
    name = f"jointwatch_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass
class Node:
    """One nation's node: its process, and its database seen from the test."""

    nation: str
    proc: NodeProcess
    engine: Engine
    service: SharingService
    partner_tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.proc.url

    def start(self) -> None:
        """Start the process (again, on the same database); a running node is left alone."""
        if self.proc.proc is None:
            self.proc.start(timeout_s=60)

    def stop(self) -> None:
        self.proc.stop()

    def api(self, token: str | None = None) -> httpx.Client:
        return self.proc.client(token)

    def post_record(
        self,
        title: str,
        marking: dict[str, Any],
        client: httpx.Client | None = None,
        **payload: Any,
    ) -> dict[str, Any]:
        """A report created through the API as the node's admin."""
        with contextlib.ExitStack() as stack:
            api = client or stack.enter_context(self.api())
            response = api.post(
                "/api/records",
                json={"kind": "report", "payload": {"title": title, **payload}, "marking": marking},
            )
        assert response.status_code == 201, response.text
        return dict(response.json())

    def visible(self, prefix: str = "") -> dict[str, dict[str, Any]]:
        """What the node's admin sees, by title (titles are unique), of titles ``prefix*``."""
        with self.api() as client:
            response = client.get("/api/records", params={"limit": 5000})
        response.raise_for_status()
        records = response.json()["records"]
        return {
            r["payload"]["title"]: r for r in records if r["payload"]["title"].startswith(prefix)
        }

    def stored(self) -> list[dict[str, Any]]:
        """Every row of shared_records, tombstones included, straight from the database."""
        return self.service.records.query(include_deleted=True, limit=100_000)

    def stored_gids(self) -> set[str]:
        return {r["gid"] for r in self.stored()}

    def close(self) -> None:
        self.proc.stop()
        self.engine.dispose()


def make_node(
    nation: str,
    db_url: str,
    base: Path,
    groups: dict[str, list[str]] | None = None,
    **env: str,
) -> Node:
    """A node of ``nation`` (not started), migrated, with its sharing groups in place."""
    base.mkdir(parents=True, exist_ok=True)
    proc = new_node(db_url, base, JOINTWATCH_NATION=nation, **{**FAST_ENV, **env})
    engine = make_engine(db_url)
    migrate(engine)
    proc.migrated = True
    settings = Settings(nation=nation, data_dir=proc.data_dir, database_url=db_url)
    service = SharingService(settings, engine)
    for name, nations in (groups or {}).items():
        service.records.put_group(name, nations)
    service.reload_groups()
    return Node(nation, proc, engine, service)


def link(a: Node, b: Node, *, a_grants_b: str, b_grants_a: str) -> None:
    """Partners both ways: ``a`` releases to ``b`` up to ``a_grants_b`` and vice versa.

    Each side issues the inbound credential the other presents; the partner names are the
    lower-case nations. Works before start and while running (the node polls its partners).
    """
    name_b, name_a = b.nation.lower(), a.nation.lower()
    token_b_uses = a.service.add_partner(name_b, nation=b.nation, url=b.url, ceiling=a_grants_b)
    token_a_uses = b.service.add_partner(name_a, nation=a.nation, url=a.url, ceiling=b_grants_a)
    a.service.records.update_partner(name_b, outbound_token=token_a_uses)
    b.service.records.update_partner(name_a, outbound_token=token_b_uses)
    a.partner_tokens[name_b] = token_b_uses
    b.partner_tokens[name_a] = token_a_uses


def wait_until(
    probe: Callable[[], T], done: Callable[[T], bool], timeout_s: float, every_s: float = 0.05
) -> tuple[T, float]:
    """Call ``probe`` until ``done(result)``; (last result, seconds waited) or AssertionError."""
    started = time.monotonic()
    deadline = started + timeout_s
    while True:
        result = probe()
        if done(result):
            return result, time.monotonic() - started
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached in {timeout_s} s; last: {result!r}"[:3000])
        time.sleep(every_s)


def rel_to(*entries: str, classification: str = "RESTRICTED") -> dict[str, Any]:
    return {"classification": classification, "rel_to": list(entries)}


NOFORN = {"classification": "RESTRICTED", "local_only": True}
