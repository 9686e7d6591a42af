"""The producers behind ``open_source``: bytes from files, stdin, TCP and UDP into lines.

Each producer only reads, splits lines (capped, see ``lines.py``) and puts them on the
shared bounded queue; batching and stop handling live in ``stream.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from typing import TYPE_CHECKING

from jointwatch.errors import SourceError
from jointwatch.sources.files import FileReader
from jointwatch.sources.lines import LineSplitter, split_datagram
from jointwatch.sources.spec import SourceSpec

if TYPE_CHECKING:
    from jointwatch.sources.stream import _Shared

__all__ = ["run"]

log = logging.getLogger("jointwatch.sources")

#: Distinct UDP peers remembered for the ``connections`` counter (spoofed floods stay bounded).
_MAX_UDP_PEERS = 10_000


async def run(spec: SourceSpec, shared: _Shared) -> None:
    """Read ``spec`` until its end (files, stdin) or until cancelled (network)."""
    if spec.kind == "file":
        await _file(spec, shared)
    elif spec.kind == "stdin":
        await _stdin(shared)
    elif spec.kind == "tcp":
        await _tcp_client(spec, shared)
    elif spec.kind == "tcp-listen":
        await _tcp_listen(spec, shared)
    elif spec.kind == "udp":
        await _udp(spec, shared)
    else:
        raise SourceError(f"source {spec.text!r} cannot be read as NMEA lines")


async def _put(shared: _Shared, splitter: LineSplitter, name: str, data: bytes, total: int) -> None:
    before = splitter.dropped_too_long
    lines = splitter.feed(data) if data else splitter.finish()
    stats = shared.stats
    stats.dropped_too_long += splitter.dropped_too_long - before
    stats.bytes += len(data)
    if lines:
        stats.lines += len(lines)
        from jointwatch.sources.stream import Chunk

        await shared.queue.put(Chunk(name, lines, time.time(), total))


async def _file(spec: SourceSpec, shared: _Shared) -> None:
    assert spec.path is not None
    reader = await asyncio.to_thread(FileReader, spec.path)
    splitter = LineSplitter(shared.options.max_line_bytes)
    shared.stats.connections += 1
    shared.ready.set()
    try:
        while True:
            chunk = await asyncio.to_thread(reader.read)
            await _put(shared, splitter, spec.name, chunk, reader.bytes_read)
            if not chunk:
                return
    finally:
        reader.close()


async def _stdin(shared: _Shared) -> None:
    splitter = LineSplitter(shared.options.max_line_bytes)
    shared.stats.connections += 1
    total = 0
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=shared.options.read_bytes)
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
    except (ValueError, OSError):
        stdin = sys.stdin.buffer
        read = getattr(stdin, "read1", stdin.read)
        # A regular file redirected to stdin cannot be polled; reading it never blocks for
        # long, so a worker thread is safe here (it could hang on a silent pipe or tty).
        shared.ready.set()
        while True:
            data = await asyncio.to_thread(read, shared.options.read_bytes)
            total += len(data)
            await _put(shared, splitter, "stdin", data, total)
            if not data:
                return
    shared.ready.set()
    while True:
        data = await reader.read(shared.options.read_bytes)
        total += len(data)
        await _put(shared, splitter, "stdin", data, total)
        if not data:
            return


async def _pump(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, name: str, shared: _Shared
) -> bool:
    """Read one connection until EOF, error or idle timeout; True if any data came."""
    opts = shared.options
    splitter = LineSplitter(opts.max_line_bytes)
    total = 0
    try:
        while True:
            try:
                data = await asyncio.wait_for(reader.read(opts.read_bytes), opts.idle_timeout_s)
            except TimeoutError:
                log.warning(
                    "%s: no data for %.0f s, closing the connection", name, opts.idle_timeout_s
                )
                break
            except OSError as exc:
                log.warning("%s: connection error: %s", name, exc)
                break
            if not data:
                break
            total += len(data)
            await _put(shared, splitter, name, data, total)
        await _put(shared, splitter, name, b"", total)
    finally:
        writer.close()
        with contextlib.suppress(OSError, asyncio.CancelledError):
            await writer.wait_closed()
    return total > 0


async def _tcp_client(spec: SourceSpec, shared: _Shared) -> None:
    assert spec.host is not None and spec.port is not None
    opts = shared.options
    backoff = opts.backoff_initial_s
    while True:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(spec.host, spec.port), opts.connect_timeout_s
            )
        except (OSError, TimeoutError) as exc:
            if not opts.reconnect:
                raise SourceError(
                    f"cannot connect to the receiver at {spec.host}:{spec.port} ({exc}); "
                    "check that it is running and reachable"
                ) from exc
            log.warning("%s: cannot connect (%s); retrying in %.1f s", spec.text, exc, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, opts.backoff_max_s)
            continue
        shared.stats.connections += 1
        shared.ready.set()
        log.info("%s: connected", spec.text)
        if await _pump(reader, writer, spec.name, shared):
            backoff = opts.backoff_initial_s
        if not opts.reconnect:
            return
        log.warning("%s: connection lost; reconnecting in %.1f s", spec.text, backoff)
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, opts.backoff_max_s)


def _peer_name(kind: str, peer: object) -> str:
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{kind}:{peer[0]}:{peer[1]}"
    return f"{kind}:{peer}"


async def _tcp_listen(spec: SourceSpec, shared: _Shared) -> None:
    handlers: set[asyncio.Task[object]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        name = _peer_name("tcp", writer.get_extra_info("peername"))
        if len(handlers) >= shared.options.max_clients:
            log.warning("%s: refused, already %d receivers connected", name, len(handlers))
            writer.close()
            return
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        shared.stats.connections += 1
        log.info("%s: receiver connected", name)
        try:
            await _pump(reader, writer, name, shared)
        except asyncio.CancelledError:
            # The node is stopping. Ending quietly matters: asyncio's stream callback
            # re-raises a handler's cancellation as an unhandled-exception traceback.
            log.info("%s: closed, node stopping", name)
        finally:
            handlers.discard(task)

    try:
        server = await asyncio.start_server(handle, spec.host, spec.port)
    except OSError as exc:
        raise SourceError(
            f"cannot listen on {spec.host}:{spec.port} ({exc.strerror or exc}); "
            "is another program using the port?"
        ) from exc
    shared.addresses.extend(sock.getsockname()[:2] for sock in server.sockets)
    shared.ready.set()
    try:
        await asyncio.Future()
    finally:
        server.close()
        for task in list(handlers):
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, shared: _Shared) -> None:
        self.shared = shared
        self.peers: set[str] = set()

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        from jointwatch.sources.stream import Chunk

        name = _peer_name("udp", addr)
        stats = self.shared.stats
        if name not in self.peers and len(self.peers) < _MAX_UDP_PEERS:
            self.peers.add(name)
            stats.connections += 1
        lines, too_long = split_datagram(data, self.shared.options.max_line_bytes)
        stats.bytes += len(data)
        stats.dropped_too_long += too_long
        if not lines:
            return
        try:
            self.shared.queue.put_nowait(Chunk(name, lines, time.time(), stats.bytes))
        except asyncio.QueueFull:
            stats.dropped_overload += len(lines)
            return
        stats.lines += len(lines)

    def error_received(self, exc: Exception) -> None:
        log.warning("udp source: %s", exc)


async def _udp(spec: SourceSpec, shared: _Shared) -> None:
    assert spec.host is not None and spec.port is not None
    loop = asyncio.get_running_loop()
    try:
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _UdpProtocol(shared), local_addr=(spec.host, spec.port)
        )
    except OSError as exc:
        raise SourceError(
            f"cannot listen for UDP on {spec.host}:{spec.port} ({exc.strerror or exc}); "
            "is another program using the port?"
        ) from exc
    shared.addresses.append(transport.get_extra_info("sockname")[:2])
    shared.ready.set()
    try:
        await asyncio.Future()
    finally:
        transport.close()
