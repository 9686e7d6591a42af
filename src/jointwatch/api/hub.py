"""WebSocket hub: pushes the vessels that changed, once a second, to every console, and
detector events and shared records as they come, each console getting only what its user
may see (``SharingService.decide``).

Why batched: a busy node changes thousands of vessels a second; one message per interval
keeps the browser's main thread and the socket calm, and a slow console only ever holds the
latest update (its queue is bounded and it is dropped if it cannot keep up).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from fastapi import WebSocket

from jointwatch.service import IngestService
from jointwatch.sharing.service import SharingService
from jointwatch.store.accounts import Principal

__all__ = ["Hub"]

log = logging.getLogger(__name__)

_QUEUE_MAX = 8
_GROUPS_RELOAD_S = 5.0
_CLOSE = ""  # sentinel: the hub gave up on this console


class Hub:
    """Fan-out of vessel updates to connected consoles."""

    def __init__(
        self, service: IngestService, sharing: SharingService, interval_s: float = 1.0
    ) -> None:
        self.service = service
        self.sharing = sharing
        self.interval_s = interval_s
        self._clients: dict[asyncio.Queue[str], Principal] = {}

    @property
    def clients(self) -> int:
        """Number of connected consoles."""
        return len(self._clients)

    async def serve(self, ws: WebSocket, principal: Principal) -> None:
        """Run one console connection: a snapshot first, then queued updates."""
        await ws.accept()
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=_QUEUE_MAX)
        snapshot = await asyncio.to_thread(self.service.summaries, None)
        await ws.send_text(json.dumps({"type": "snapshot", "vessels": snapshot}))
        self._clients[queue] = principal
        receiver = asyncio.create_task(self._drain_incoming(ws))
        try:
            while not receiver.done():
                getter = asyncio.create_task(queue.get())
                done, _ = await asyncio.wait(
                    {getter, receiver}, return_when=asyncio.FIRST_COMPLETED
                )
                if getter not in done:
                    getter.cancel()
                    break
                text = getter.result()
                if text == _CLOSE:
                    break
                await ws.send_text(text)
        except Exception as exc:  # a closed socket ends this console only
            log.debug("console connection ended: %s", exc)
        finally:
            self._clients.pop(queue, None)
            receiver.cancel()
            with contextlib.suppress(Exception):
                await ws.close()

    @staticmethod
    async def _drain_incoming(ws: WebSocket) -> None:
        # Consoles send nothing yet; reading lets us notice a disconnect promptly.
        with contextlib.suppress(Exception):
            while True:
                await ws.receive_text()

    def publish(self, message: dict[str, Any]) -> None:
        """Queue a message for every console; a console that lags is disconnected."""
        text = json.dumps(message)
        for queue in list(self._clients):
            self._put(queue, text)

    def _put(self, queue: asyncio.Queue[str], text: str) -> None:
        try:
            queue.put_nowait(text)
        except asyncio.QueueFull:
            log.warning("console too slow; disconnecting it")
            self._clients.pop(queue, None)
            while not queue.empty():
                queue.get_nowait()
            queue.put_nowait(_CLOSE)

    def publish_events(self, events: list[dict[str, Any]]) -> None:
        """Our detector events, to the consoles whose users may see them."""
        banner = self.sharing.event_marking.banner()
        text = json.dumps({"type": "events", "events": [{**e, "banner": banner} for e in events]})
        for queue, principal in list(self._clients.items()):
            if self.sharing.event_visible(principal):
                self._put(queue, text)

    def publish_records(self, records: list[dict[str, Any]]) -> None:
        """Changed records, each console getting those its user may see."""
        own_alerts = self.sharing.node_name
        wanted = [
            r for r in records if not (r["kind"] == "alert" and r["origin_node"] == own_alerts)
        ]
        if not wanted:
            return
        for queue, principal in list(self._clients.items()):
            if "records:read" not in principal.permissions:
                continue
            visible = self.sharing.visible(wanted, principal)
            if visible:
                self._put(queue, json.dumps({"type": "records", "records": visible}))

    async def run(self, stop: asyncio.Event) -> None:
        """Publish detector events within a quarter second, changed vessels every interval."""
        tick = min(0.25, self.interval_s)
        last_vessels = 0.0
        last_groups = 0.0
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=tick)
            events = self.service.take_events()
            if events:
                await asyncio.to_thread(self.sharing.mirror_alerts, events)
                if self._clients:
                    self.publish_events(events)
            if loop.time() - last_groups >= _GROUPS_RELOAD_S:
                # Admins change sharing groups from the CLI, next to the running node.
                last_groups = loop.time()
                await asyncio.to_thread(self.sharing.reload_groups)
            records = self.sharing.take_changed_records()
            if records and self._clients:
                self.publish_records(records)
            if loop.time() - last_vessels < self.interval_s:
                continue
            last_vessels = loop.time()
            changed = self.service.take_changed()
            if not changed or not self._clients:
                continue
            vessels = await asyncio.to_thread(self.service.summaries, sorted(changed))
            self.publish({"type": "update", "vessels": vessels})
