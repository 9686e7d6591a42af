"""Detectors in a running node: same events as ``jointwatch detect``, API, WebSocket push."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jointwatch.detect.events import EVENT_KINDS
from jointwatch.exercise.scenario import write_scenario_file
from jointwatch.exercise.scripted import SCRIPT_HOURS
from tests.integration.conftest import NodeProcess, new_node
from tests.integration.test_node import position, send_tcp

ZONES = Path(__file__).parents[2] / "src" / "jointwatch" / "exercise" / "data" / "zones.geojson"
START = datetime(2026, 5, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def scripted_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scenario") / "scripted.nmea"
    hours = SCRIPT_HOURS + 0.5
    write_scenario_file(
        path,
        hours=hours,
        seed=3,
        vessels=12,
        end=START + timedelta(hours=hours),
        script_start=START,
    )
    return path


@pytest.fixture
def zoned_node(db_url: str, tmp_path: Path) -> Iterator[NodeProcess]:
    proc = new_node(db_url, tmp_path, JOINTWATCH_ZONES_FILE=str(ZONES))
    proc.start(timeout_s=60)
    yield proc
    proc.stop()


def _comparable(events: list[dict]) -> list[str]:
    """The detector's own fields (the API adds the node's marking ``banner`` to each)."""
    return sorted(
        json.dumps({k: v for k, v in e.items() if k not in ("updated", "banner")}, sort_keys=True)
        for e in events
    )


@pytest.mark.slow
def test_live_node_and_batch_detect_give_the_same_events(
    zoned_node: NodeProcess, scripted_file: Path, tmp_path: Path
) -> None:
    fed = subprocess.run(
        [
            sys.executable,
            "-m",
            "jointwatch",
            "ingest",
            str(scripted_file),
            "--node",
            zoned_node.url,
            "--token",
            zoned_node.token,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=zoned_node.env,
    )
    assert fed.returncode == 0, fed.stderr
    out = tmp_path / "events.jsonl"
    batch = subprocess.run(
        [
            sys.executable,
            "-m",
            "jointwatch",
            "detect",
            str(scripted_file),
            "--zones",
            str(ZONES),
            "--output",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=zoned_node.env,
    )
    assert batch.returncode == 0, batch.stderr
    assert "positions/s" in batch.stdout + batch.stderr
    offline = [json.loads(line) for line in out.read_text().splitlines()]
    with zoned_node.client() as client:
        live = client.get("/api/events", params={"limit": 10_000}, timeout=30).json()

    assert len(offline) >= 9  # every scripted kind is there (scored in the unit tests)
    assert {e["kind"] for e in offline} == set(EVENT_KINDS)
    assert _comparable(live["events"]) == _comparable(offline)
    # Alerts stay on the node by default (JOINTWATCH_EVENT_MARKING).
    assert {e["banner"] for e in live["events"]} == {"UNCLASSIFIED//NOFORN"}


def test_event_is_pushed_over_the_websocket_within_a_second(zoned_node: NodeProcess) -> None:
    import websockets

    now = int(time.time())

    async def scenario() -> tuple[float, dict]:
        url = f"ws://127.0.0.1:{zoned_node.http_port}/ws"
        async with websockets.connect(url, additional_headers=zoned_node.headers) as ws:
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "snapshot"
            sent = time.monotonic()
            # An 8-digit MMSI is no ship station: a spoofing event on its first report.
            send_tcp(zoned_node.tcp_port, [position(12_345_678, 6.0, 111.0, now)])
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), 5))
                if message["type"] == "events":
                    return time.monotonic() - sent, message

    latency, message = asyncio.run(scenario())
    print(f"event pushed {latency * 1000:.0f} ms after the sentence was sent")
    assert latency < 2.0  # generous for a loaded CI machine; typically a few hundred ms
    event = message["events"][0]
    assert event["kind"] == "spoofing"
    assert event["mmsi"] == 12_345_678
    assert event["details"]["reason"] == "invalid_mmsi"


def test_zones_api_stores_checks_and_deletes_zones(zoned_node: NodeProcess) -> None:
    with zoned_node.client() as http:
        names = [f["properties"]["name"] for f in http.get("/api/zones").json()["features"]]
        assert sorted(names) == ["BRAVO", "HON MUN MPA", "SPRATLY HRA"]

        box = {
            "type": "Feature",
            "properties": {"name": "TEST BOX", "kind": "custom"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [[111.0, 6.0], [111.2, 6.0], [111.2, 6.2], [111.0, 6.2], [111.0, 6.0]]
                ],
            },
        }
        created = http.post("/api/zones", json=box)
        assert created.status_code == 201
        assert created.json() == {"stored": ["TEST BOX"]}

        # A vessel sailing east into the new zone raises a zone_entry.
        now = int(time.time())
        send_tcp(
            zoned_node.tcp_port,
            [position(574_333_001, 6.1, 110.9 + 0.05 * i, now - 600 + 60 * i) for i in range(4)],
        )
        deadline = time.monotonic() + 10
        entries: list[dict] = []
        while time.monotonic() < deadline and not entries:
            got = http.get("/api/events", params={"kind": "zone_entry", "mmsi": 574_333_001})
            entries = got.json()["events"]
            time.sleep(0.2)
        assert [e["zone"] for e in entries] == ["TEST BOX"]

        bad = dict(box, properties={"name": "X", "kind": "moat"})
        refused = http.post("/api/zones", json=bad)
        assert refused.status_code == 422
        assert "moat" in refused.json()["detail"]
        assert http.post("/api/zones", content=b"{not json").status_code == 422

        assert http.delete("/api/zones/TEST%20BOX").status_code == 200
        assert http.delete("/api/zones/TEST%20BOX").status_code == 404
        names = [f["properties"]["name"] for f in http.get("/api/zones").json()["features"]]
        assert "TEST BOX" not in names


def test_events_api_checks_its_filters(zoned_node: NodeProcess) -> None:
    with zoned_node.client() as http:
        assert http.get("/api/events", params={"kind": "piracy"}).status_code == 422
        assert http.get("/api/events", params={"bbox": "1,2,3"}).status_code == 422
        assert http.get("/api/events", params={"since": "yesterday"}).status_code == 422
        ok = http.get("/api/events", params={"kind": ["ais_gap", "encounter"], "limit": 5})
    assert ok.status_code == 200
    assert ok.json() == {"count": 0, "events": []}
