"""Network sources on real loopback sockets: every line arrives exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections import Counter

from jointwatch.sources import LineBatch, SourceOptions, open_source


def _free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _collect(source, until: int, timeout_s: float = 20.0) -> list[LineBatch]:  # type: ignore[no-untyped-def]
    batches: list[LineBatch] = []
    total = 0

    async def run() -> None:
        nonlocal total
        async for batch in source:
            batches.append(batch)
            total += len(batch.lines)
            if total >= until:
                return

    await asyncio.wait_for(run(), timeout_s)
    return batches


async def test_tcp_listen_takes_two_concurrent_receivers() -> None:
    port = _free_port()
    source = open_source(f"tcp-listen://127.0.0.1:{port}", batch_lines=500, batch_interval_s=0.05)

    async def sender(name: str, n: int) -> None:
        await asyncio.wait_for(source.ready.wait(), 10)
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        for i in range(0, n, 100):
            chunk = "".join(f"{name}-{j}\r\n" for j in range(i, min(i + 100, n)))
            # Split writes mid-line so the source has to carry partial lines.
            writer.write(chunk[:7].encode())
            await writer.drain()
            writer.write(chunk[7:].encode())
            await writer.drain()
        writer.close()
        await writer.wait_closed()

    async with source:
        senders = asyncio.gather(sender("a", 3000), sender("b", 2000))
        batches = await _collect(source, 5000)
        await senders
    lines = Counter(line for b in batches for line in b.lines)
    assert len(lines) == 5000 and set(lines.values()) == {1}
    peers = {b.source for b in batches}
    assert len(peers) == 2 and all(p.startswith("tcp:127.0.0.1:") for p in peers)
    for batch in batches:  # one batch holds one peer's lines
        assert len({line[:1] for line in batch.lines}) == 1
    assert source.stats.connections == 2 and source.stats.lines == 5000


async def test_tcp_client_reconnects_after_the_server_drops_it() -> None:
    connections = 0

    async def receiver(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        first = connections == 1
        start = 0 if first else 100
        writer.write("".join(f"line-{i}\n" for i in range(start, start + 100)).encode())
        await writer.drain()
        if first:
            writer.close()  # the receiver drops us; the source must come back
            return
        await asyncio.sleep(30)

    server = await asyncio.start_server(receiver, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    options = SourceOptions(backoff_initial_s=0.05, backoff_max_s=0.2)
    try:
        async with open_source(
            f"tcp://127.0.0.1:{port}", options=options, batch_interval_s=0.05
        ) as source:
            batches = await _collect(source, 200)
            assert source.stats.connections == 2
    finally:
        server.close()
    lines = [line for b in batches for line in b.lines]
    assert sorted(lines) == sorted(f"line-{i}".encode() for i in range(200))
    assert {b.source for b in batches} == {f"tcp:127.0.0.1:{port}"}


async def test_udp_datagrams_with_several_lines_each() -> None:
    port = _free_port(socket.SOCK_DGRAM)
    stop = asyncio.Event()
    source = open_source(f"udp://127.0.0.1:{port}", stop=stop, batch_interval_s=0.05)
    sent = []

    async def send() -> None:
        await asyncio.wait_for(source.ready.wait(), 10)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for d in range(200):
                lines = [f"dgram-{d}-{i}" for i in range(5)]
                sent.extend(lines)
                # The last line of a datagram needs no newline.
                sock.sendto("\r\n".join(lines).encode(), ("127.0.0.1", port))
                if d % 20 == 0:
                    await asyncio.sleep(0.01)

    async with source:
        sending = asyncio.create_task(send())
        batches = await _collect(source, 1000)
        await sending
    got = Counter(line.decode() for b in batches for line in b.lines)
    assert set(got) == set(sent) and set(got.values()) == {1}
    assert all(b.source.startswith("udp:127.0.0.1:") for b in batches)


async def test_stop_event_ends_a_listening_source_and_delivers_what_arrived() -> None:
    port = _free_port()
    stop = asyncio.Event()
    source = open_source(f"tcp-listen://127.0.0.1:{port}", stop=stop, batch_interval_s=5.0)
    got: list[bytes] = []

    async def consume() -> None:
        async for batch in source:
            got.extend(batch.lines)

    task = asyncio.create_task(consume())
    await asyncio.wait_for(source.ready.wait(), 10)
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"one\ntwo\n")
    await writer.drain()
    await asyncio.sleep(0.2)
    stop.set()
    await asyncio.wait_for(task, 5)
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    assert got == [b"one", b"two"]


async def test_idle_connections_are_closed() -> None:
    port = _free_port()
    options = SourceOptions(idle_timeout_s=0.2)
    stop = asyncio.Event()
    source = open_source(f"tcp-listen://127.0.0.1:{port}", stop=stop, options=options)
    consumer = asyncio.create_task(_collect(source, 10**9, timeout_s=30))
    await asyncio.wait_for(source.ready.wait(), 10)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    assert await asyncio.wait_for(reader.read(), 5) == b""  # server closed us
    writer.close()
    stop.set()
    await asyncio.wait_for(consumer, 5)
