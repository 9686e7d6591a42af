"""Federation client: push our changes to each partner, pull theirs, resume after outages.

Why both push and pull: push delivers within a second while a partner is up; pull with a
cursor lets a node that was down, or whose pushes failed, catch up on start and then every
``federation_pull_s``. Both are idempotent on the receiving side (global id + version), so
overlap costs bandwidth, never duplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from jointwatch.sharing.audit import sign_head
from jointwatch.sharing.service import SharingService

__all__ = ["Federation", "load_node_key"]

log = logging.getLogger(__name__)

_MAX_BACKOFF_S = 30.0
_IDLE_WAIT_S = 5.0


def load_node_key(data_dir: Path) -> Ed25519PrivateKey:
    """The node's Ed25519 key (created on first use, 0600), which signs audit heads."""
    path = data_dir / "node-ed25519.pem"
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(key, Ed25519PrivateKey)
        return key
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (data_dir / "node-ed25519.pub").write_bytes(public)
    return key


def _now() -> datetime:
    return datetime.now(UTC)


class Federation:
    """The push and pull tasks of one node, one pair per partner."""

    def __init__(self, service: SharingService, data_dir: Path) -> None:
        self.service = service
        self.data_dir = data_dir
        self.key = load_node_key(data_dir)
        self._wake: dict[str, asyncio.Event] = {}
        self._clients: dict[str, tuple[tuple[Any, ...], httpx.AsyncClient]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        service.add_listener(self._on_change)

    def _on_change(self) -> None:
        loop = self._loop
        if loop is None:
            return
        for event in list(self._wake.values()):
            loop.call_soon_threadsafe(event.set)

    def signed_head(self) -> dict[str, Any]:
        """Our audit head, signed; also written to ``audit-head.json`` for ``audit verify``."""
        seq, head = self.service.audit.head()
        signed = sign_head(self.key, self.service.node_name, seq, head)
        path = self.data_dir / "audit-head.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(signed))
        tmp.replace(path)
        return signed

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop``; partners added while running are picked up within seconds."""
        self._loop = asyncio.get_running_loop()
        tasks: dict[str, list[asyncio.Task[None]]] = {}
        try:
            while not stop.is_set():
                partners = await asyncio.to_thread(self.service.records.partners)
                for partner in partners:
                    name = partner["name"]
                    if name not in tasks:
                        self._wake[name] = asyncio.Event()
                        tasks[name] = [
                            asyncio.create_task(self._push_loop(name, stop), name=f"push {name}"),
                            asyncio.create_task(self._pull_loop(name, stop), name=f"pull {name}"),
                        ]
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=_IDLE_WAIT_S)
        finally:
            for pair in tasks.values():
                for task in pair:
                    task.cancel()
            await asyncio.gather(
                *(t for pair in tasks.values() for t in pair), return_exceptions=True
            )
            for _, client in self._clients.values():
                with contextlib.suppress(Exception):
                    await client.aclose()
            self._clients.clear()
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.signed_head)

    async def _client(self, partner: Mapping[str, Any]) -> httpx.AsyncClient:
        """The partner's HTTP client, kept between exchanges.

        Why kept: building one loads the trust store (tens of milliseconds of CPU with the
        system CAs) and a new one pays a TLS handshake, once per push of a single record
        otherwise. A new client replaces it when the partner's URL, credential or CA changes.
        """
        name = str(partner["name"])
        key = (partner["url"], partner["outbound_token"], partner["ca_file"])
        cached = self._clients.get(name)
        if cached is not None and cached[0] == key:
            return cached[1]
        verify: Any = partner["ca_file"] or True
        headers = {"Authorization": f"Bearer {partner['outbound_token']}"}
        client = httpx.AsyncClient(
            base_url=str(partner["url"]), headers=headers, verify=verify, timeout=15.0
        )
        self._clients[name] = (key, client)
        if cached is not None:
            await cached[1].aclose()
        return client

    async def _partner(self, name: str) -> dict[str, Any] | None:
        partner = await asyncio.to_thread(self.service.records.partner, name)
        if partner is None or not partner["enabled"]:
            return None
        if not partner["url"] or not partner["outbound_token"]:
            return None
        return partner

    async def _wait(self, name: str, stop: asyncio.Event, timeout: float) -> None:
        wake = self._wake[name]
        waiters = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())}
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        wake.clear()

    async def _error(self, name: str, exc: BaseException) -> None:
        message = f"{type(exc).__name__}: {exc}"[:500]
        log.warning("federation with %s: %s", name, message)
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self.service.records.update_partner, name, last_error=message)

    async def push_once(self, name: str) -> int:
        """Push what is pending for one partner; 0 when nothing was pending."""
        partner = await self._partner(name)
        if partner is None:
            return 0
        batch = self.service.settings.federation_batch
        items, cursor, _more = await asyncio.to_thread(
            self.service.outgoing, partner, int(partner["push_cursor"]), batch
        )
        if items:
            head = await asyncio.to_thread(self.signed_head)
            client = await self._client(partner)
            response = await client.post(
                "/api/federation/records",
                json={
                    "node": self.service.node_name,
                    "nation": self.service.nation,
                    "records": items,
                    "audit_head": head,
                },
            )
            if response.status_code != 200:
                raise RuntimeError(
                    f"push refused: HTTP {response.status_code} {response.text[:200]}"
                )
            receipts = response.json().get("receipts", [])
            await asyncio.to_thread(self.service.note_sent, partner, items, receipts)
        moved = cursor != int(partner["push_cursor"])
        if moved or items:
            await asyncio.to_thread(
                self.service.records.update_partner,
                name,
                push_cursor=cursor,
                last_push_at=_now(),
                last_error=None,
            )
        return len(items) or int(moved)

    async def pull_once(self, name: str) -> bool:
        """Pull one page of the partner's changes; True if more are waiting."""
        partner = await self._partner(name)
        if partner is None:
            return False
        batch = self.service.settings.federation_batch
        client = await self._client(partner)
        response = await client.get(
            "/api/federation/records",
            params={"since": int(partner["pull_cursor"]), "limit": batch},
        )
        if response.status_code != 200:
            raise RuntimeError(f"pull refused: HTTP {response.status_code} {response.text[:200]}")
        body = response.json()
        records = body.get("records") or []
        if records:
            await asyncio.to_thread(self.service.receive, partner, records)
        await asyncio.to_thread(
            self.service.records.update_partner,
            name,
            pull_cursor=int(body.get("cursor", partner["pull_cursor"])),
            last_pull_at=_now(),
        )
        return bool(body.get("more"))

    async def _push_loop(self, name: str, stop: asyncio.Event) -> None:
        backoff = 1.0
        while not stop.is_set():
            try:
                sent = await self.push_once(name)
                backoff = 1.0
                if not sent:
                    await self._wait(name, stop, _IDLE_WAIT_S)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                await self._error(name, exc)
                # Only ``stop`` cuts the back-off short: waking on every local change would
                # retry (and rescan the whole backlog) once per write while the partner is
                # down; its own pull catches it up when it returns.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=backoff)
                backoff = min(_MAX_BACKOFF_S, backoff * 2)

    async def _pull_loop(self, name: str, stop: asyncio.Event) -> None:
        interval = self.service.settings.federation_pull_s
        while not stop.is_set():
            delay = interval
            try:
                if await self.pull_once(name):
                    delay = 0.0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                await self._error(name, exc)
                delay = min(interval, 5.0)
            if delay:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)
