"""``stream_scenario`` feeds a listening source as a receiver would, backfill first."""

from __future__ import annotations

import asyncio
import socket

from jointwatch.exercise.scenario import Scenario, stream_scenario
from jointwatch.sources import open_source


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_backfill_then_live_lines_reach_a_tcp_listen_source() -> None:
    port = _free_port()
    stop = asyncio.Event()
    # The feed starts before the node listens: it must retry until it can connect.
    feed = asyncio.create_task(
        stream_scenario(
            "127.0.0.1",
            port,
            scenario=Scenario(seed=1, vessels=30),
            speedup=20.0,
            backfill_h=0.05,
            stop_event=stop,
        )
    )
    await asyncio.sleep(0.3)
    received: list[bytes] = []
    async with open_source(f"tcp-listen://127.0.0.1:{port}", batch_interval_s=0.05) as source:

        async def consume() -> None:
            async for batch in source:
                received.extend(batch.lines)
                if len(received) > 1500:
                    return

        await asyncio.wait_for(consume(), 30)
    stop.set()
    await asyncio.wait_for(feed, 10)
    assert all(line.startswith(b"\\c:") and b"!AIVDM," in line for line in received)
    times = [int(line[3:13]) for line in received]
    assert times == sorted(times)
