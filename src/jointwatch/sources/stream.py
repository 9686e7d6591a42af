"""``open_source``: any source as an async stream of line batches.

Why one shape for everything: the node treats a receiver on TCP, a UDP feed, standard input
and a capture file the same way, so each producer only turns bytes into lines and puts them
on a bounded queue; this module batches them by size or time, per source name. The bounded
queue is the back-pressure: a slow pipeline slows TCP senders down instead of filling memory
(UDP, which cannot be slowed, is dropped and counted when the queue is full).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from types import TracebackType
from typing import NamedTuple

from jointwatch.errors import SourceError
from jointwatch.sources.lines import MAX_LINE_BYTES, LineBatch, SourceStats
from jointwatch.sources.spec import SourceSpec, parse_source

__all__ = ["LineSource", "SourceOptions", "open_source"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceOptions:
    """Tuning of network sources; the defaults suit a node on a ship or a watch floor.

    ``idle_timeout_s``: a connection silent this long is closed (a receiver that hung, or a
    client holding a slot). ``reconnect``/``backoff_*``: how a ``tcp://`` source retries a
    lost receiver (doubling waits up to the maximum). ``max_clients``: concurrent
    ``tcp-listen://`` connections; more are refused.
    """

    idle_timeout_s: float = 120.0
    reconnect: bool = True
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    connect_timeout_s: float = 10.0
    max_clients: int = 64
    max_line_bytes: int = MAX_LINE_BYTES
    queue_chunks: int = 256
    read_bytes: int = 64 * 1024


class Chunk(NamedTuple):
    """Lines one producer read in one go."""

    source: str
    lines: list[bytes]
    rx_time_s: float
    bytes_read: int


@dataclass
class _Pending:
    lines: list[bytes]
    rx_time_s: float
    deadline: float
    bytes_read: int = 0


_END = Chunk("", [], 0.0, 0)


@dataclass
class _Shared:
    """What producers share with the batching loop."""

    queue: asyncio.Queue[Chunk]
    stats: SourceStats
    options: SourceOptions
    ready: asyncio.Event
    addresses: list[tuple[str, int]] = field(default_factory=list)


class LineSource:
    """An opened source: iterate it with ``async for``; ``stats`` counts what it read.

    ``ready`` is set once the source listens, is connected, or has opened its file, which
    lets tests and supervisors start senders without guessing.
    """

    def __init__(
        self,
        spec: SourceSpec,
        *,
        batch_lines: int,
        batch_interval_s: float,
        stop: asyncio.Event | None,
        options: SourceOptions,
        stats: SourceStats | None = None,
    ) -> None:
        if batch_lines < 1 or batch_interval_s <= 0:
            raise ValueError("batch_lines must be >= 1 and batch_interval_s > 0")
        self.spec = spec
        self.stats = stats if stats is not None else SourceStats()
        self.options = options
        self.ready = asyncio.Event()
        self._batch_lines = batch_lines
        self._interval_s = batch_interval_s
        self._stop = stop
        self._shared: _Shared | None = None
        self._gen = self._batches()

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """Addresses a listening source is bound to (empty before ``ready``)."""
        return list(self._shared.addresses) if self._shared else []

    def __aiter__(self) -> LineSource:
        return self

    async def __anext__(self) -> LineBatch:
        return await self._gen.__anext__()

    async def aclose(self) -> None:
        """Stop reading, close sockets and files."""
        await self._gen.aclose()

    async def __aenter__(self) -> LineSource:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _produce(self, shared: _Shared) -> None:
        from jointwatch.sources import producers

        try:
            await producers.run(self.spec, shared)
        finally:
            with contextlib.suppress(asyncio.CancelledError):
                await shared.queue.put(_END)

    async def _batches(self) -> AsyncGenerator[LineBatch, None]:
        shared = _Shared(
            asyncio.Queue(maxsize=self.options.queue_chunks), self.stats, self.options, self.ready
        )
        self._shared = shared
        producer = asyncio.create_task(self._produce(shared), name=f"source {self.spec.text}")
        stop_task = asyncio.create_task(self._stop.wait()) if self._stop else None
        pending: dict[str, _Pending] = {}
        try:
            while True:
                for name in [n for n, p in pending.items() if p.deadline <= time.monotonic()]:
                    yield self._batch(name, pending.pop(name))
                item = await self._next_item(shared.queue, pending, stop_task)
                if item is None:
                    if stop_task is not None and stop_task.done():
                        break
                    continue
                if item is _END:
                    break
                for batch in self._add(pending, item):
                    yield batch
            while not shared.queue.empty():
                item = shared.queue.get_nowait()
                if item is not _END:
                    for batch in self._add(pending, item):
                        yield batch
            for name in list(pending):
                yield self._batch(name, pending.pop(name))
            if producer.done() and not producer.cancelled() and producer.exception():
                raise producer.exception()  # type: ignore[misc]
        finally:
            producer.cancel()
            if stop_task is not None:
                stop_task.cancel()
            await asyncio.gather(
                producer, *([stop_task] if stop_task else []), return_exceptions=True
            )

    async def _next_item(
        self,
        queue: asyncio.Queue[Chunk],
        pending: dict[str, _Pending],
        stop_task: asyncio.Task[bool] | None,
    ) -> Chunk | None:
        timeout = None
        if pending:
            timeout = max(0.0, min(p.deadline for p in pending.values()) - time.monotonic())
        getter = asyncio.ensure_future(queue.get())
        waits: set[asyncio.Future[object]] = {getter}  # type: ignore[arg-type]
        if stop_task is not None:
            waits.add(stop_task)  # type: ignore[arg-type]
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if getter.done():
            return getter.result()
        getter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await getter
        return None

    def _add(self, pending: dict[str, _Pending], item: Chunk) -> list[LineBatch]:
        slot = pending.get(item.source)
        if slot is None:
            slot = pending[item.source] = _Pending(
                [], item.rx_time_s, time.monotonic() + self._interval_s
            )
        slot.lines.extend(item.lines)
        slot.bytes_read = item.bytes_read
        out = []
        while len(slot.lines) >= self._batch_lines:
            head, slot.lines = slot.lines[: self._batch_lines], slot.lines[self._batch_lines :]
            out.append(LineBatch(head, item.source, slot.rx_time_s, slot.bytes_read))
            slot.rx_time_s = item.rx_time_s
        if not slot.lines:
            del pending[item.source]
        return out

    @staticmethod
    def _batch(name: str, slot: _Pending) -> LineBatch:
        return LineBatch(slot.lines, name, slot.rx_time_s, slot.bytes_read)


def open_source(
    spec: str | SourceSpec,
    *,
    batch_lines: int = 5000,
    batch_interval_s: float = 0.2,
    stop: asyncio.Event | None = None,
    options: SourceOptions | None = None,
    stats: SourceStats | None = None,
) -> LineSource:
    """Open a source as an async iterator of ``LineBatch``.

    A batch is handed over when it holds ``batch_lines`` lines or its first line has waited
    ``batch_interval_s``, so a quiet feed still reaches the picture within a fraction of a
    second and a busy one moves in large, cheap batches. Iteration ends at the end of a file
    or standard input, when ``stop`` is set (lines already received are still delivered), or
    when a ``tcp://`` receiver is lost and ``options.reconnect`` is false.
    """
    parsed = spec if isinstance(spec, SourceSpec) else parse_source(spec)
    if parsed.kind == "csv":
        raise SourceError(
            f"{parsed.text} is a CSV archive, read as tables rather than NMEA lines: "
            "load it with `jointwatch ingest`"
        )
    return LineSource(
        parsed,
        batch_lines=batch_lines,
        batch_interval_s=batch_interval_s,
        stop=stop,
        options=options or SourceOptions(),
        stats=stats,
    )
