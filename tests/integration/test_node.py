"""A real node process fed over real TCP and UDP sockets, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from functools import reduce
from pathlib import Path

import httpx
import pytest
from pyais.encode import encode_dict

from tests.integration.conftest import NodeProcess

NOW = int(time.time())


def tagged(sentence: str, c: int, s: str = "rx-test") -> str:
    """Prefix a TAG block with its checksum, written here independently of the encoder."""
    body = f"c:{c},s:{s}"
    checksum = reduce(lambda acc, ch: acc ^ ord(ch), body, 0)
    return f"\\{body}*{checksum:02X}\\{sentence}"


def position(mmsi: int, lat: float, lon: float, t: int, *, speed: float = 12.0) -> str:
    fields = {
        "msg_type": 1,
        "mmsi": mmsi,
        "lat": lat,
        "lon": lon,
        "speed": speed,
        "course": 45.0,
        "heading": 44,
        "status": 0,
    }
    return tagged(encode_dict(fields, talker_id="AI")[0], t)


def static(mmsi: int, name: str, t: int) -> list[str]:
    fields = {
        "msg_type": 5,
        "mmsi": mmsi,
        "shipname": name,
        "callsign": "XVAB1",
        "imo": 9234567,
        "ship_type": 70,
        "to_bow": 120,
        "to_stern": 30,
        "to_port": 12,
        "to_starboard": 10,
        "destination": "HAI PHONG",
        "draught": 8.5,
    }
    parts = encode_dict(fields, talker_id="AI", seq_id=3)
    return [tagged(parts[0], t), *parts[1:]]


def send_tcp(port: int, lines: list[str]) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n").encode())


def send_udp(port: int, lines: list[str]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(("\n".join(lines) + "\n").encode(), ("127.0.0.1", port))


def get(node: NodeProcess, path: str, **params: str) -> httpx.Response:
    return httpx.get(f"{node.url}{path}", params=params, headers=node.headers, timeout=10)


def test_tcp_and_udp_feeds_build_the_vessel_picture(node: NodeProcess) -> None:
    vnm, usa = 574001001, 366123456
    track = [
        position(vnm, 10.0 + i * 0.01, 107.0 + i * 0.01, NOW - 600 + i * 60) for i in range(10)
    ]
    send_tcp(node.tcp_port, [*track, position(usa, 11.5, 112.0, NOW - 30)])
    send_udp(node.udp_port, static(vnm, "HAI PHONG 01", NOW - 20))
    node.wait_for(lambda s: s["decoded"] >= 12 and s["vessels"] >= 2)

    vessel = get(node, f"/api/vessels/{vnm}")
    vessel.raise_for_status()
    detail = vessel.json()
    assert detail["name"] == "HAI PHONG 01"
    assert detail["flag"] == "VNM"
    assert detail["destination"] == "HAI PHONG"
    assert detail["length_m"] == 150
    assert detail["lat"] == pytest.approx(10.09, abs=1e-4)
    assert get(node, f"/api/vessels/{usa}").json()["flag"] == "USA"

    in_box = get(node, "/api/vessels", bbox="106,9,108,11").json()
    assert [v["mmsi"] for v in in_box["vessels"]] == [vnm]

    start = datetime.fromtimestamp(NOW - 3600, UTC).isoformat()
    end = datetime.fromtimestamp(NOW, UTC).isoformat()
    points = get(node, f"/api/vessels/{vnm}/track", start=start, end=end).json()["points"]
    assert len(points) == 10
    assert points[0]["lat"] == pytest.approx(10.0, abs=1e-4)
    assert [p["t"] for p in points] == sorted(p["t"] for p in points)


def test_bad_input_is_counted_by_reason_and_ingest_goes_on(node: NodeProcess) -> None:
    good = position(574001002, 10.0, 107.0, NOW)
    bad_checksum = good[:-2] + ("00" if not good.endswith("00") else "01")
    lines = [
        "garbage that is not NMEA",
        bad_checksum,
        position(0, 10.0, 107.0, NOW),  # MMSI 0
        position(574001003, 91.0, 181.0, NOW),  # position not available
        "!AIVDM,2,1,7,A,55NBjP01mtGIL@CW;SM<D60P5Ld000000000000P0`<3557l0<50@kk@K5h@00000,0*5B",
        good,
    ]
    send_tcp(node.tcp_port, lines)
    stats = node.wait_for(lambda s: s["decoded"] >= 1 and s["rejected_total"] >= 3)
    assert stats["rejected"].get("bad_checksum", 0) >= 1
    assert stats["rejected"].get("invalid_mmsi", 0) >= 1
    assert stats["rejected"].get("no_position", 0) >= 1
    assert get(node, "/api/vessels/574001002").status_code == 200
    assert get(node, "/api/vessels/574001003").status_code == 404  # no position, no static


def test_same_sentence_from_two_receivers_counts_once(node: NodeProcess) -> None:
    sentence = encode_dict(
        {"msg_type": 1, "mmsi": 574001004, "lat": 9.0, "lon": 108.0}, talker_id="AI"
    )[0]
    send_tcp(node.tcp_port, [tagged(sentence, NOW, "rx-danang")])
    send_udp(node.udp_port, [tagged(sentence, NOW + 1, "rx-vungtau")])
    stats = node.wait_for(lambda s: s["sentences_read"] >= 2)
    time.sleep(0.5)
    stats = get(node, "/api/stats").json()
    assert stats["duplicates"] == 1
    assert stats["positions"] == 1


def test_restarted_node_keeps_vessels_tracks_and_counters(node: NodeProcess) -> None:
    mmsi = 574001005
    send_tcp(
        node.tcp_port, [position(mmsi, 8.0 + i * 0.01, 109.0, NOW - 300 + i * 10) for i in range(5)]
    )
    node.wait_for(lambda s: s["positions"] >= 5)
    node.stop()
    node.start()
    assert get(node, f"/api/vessels/{mmsi}").json()["lat"] == pytest.approx(8.04, abs=1e-4)
    start = datetime.fromtimestamp(NOW - 3600, UTC).isoformat()
    points = get(node, f"/api/vessels/{mmsi}/track", start=start).json()["points"]
    assert len(points) == 5
    assert get(node, "/api/stats").json()["positions"] >= 5


def test_cli_ingest_feeds_a_running_node_from_gzip_and_csv(
    node: NodeProcess, tmp_path: Path
) -> None:
    nmea = tmp_path / "feed.nmea.gz"
    with gzip.open(nmea, "wt") as fh:
        for i in range(200):
            fh.write(position(574002000 + i % 20, 10 + i * 0.001, 110.0, NOW - 1000 + i) + "\n")
    csv = tmp_path / "AIS_2026_11_24.csv"
    csv.write_text(
        "MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,"
        "Status,Length,Width,Draft,Cargo,TranscieverClass\n"
        '367000001,2026-11-24T10:00:00,29.5,-94.5,10.2,90.0,511,=HYPERLINK("x"),'
        "IMO9123456,WDX1234,70,0,180,30,9.5,70,A\n"
        "367000001,2026-11-24T10:01:00,29.5,-94.49,10.1,91.0,89,,,,,,,,,,A\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "jointwatch", "ingest", str(nmea), str(csv), "--node", node.url],
        capture_output=True,
        text=True,
        timeout=60,
        env={**node.env, "JOINTWATCH_TOKEN": node.token},
    )
    assert result.returncode == 0, result.stderr
    assert "sentences/s" in result.stderr
    stats = node.wait_for(lambda s: s["decoded"] >= 200 and s["csv_rows"] >= 2)
    assert stats["vessels"] >= 21
    vessel = get(node, "/api/vessels/367000001").json()
    assert vessel["name"] == '=HYPERLINK("x")'
    assert vessel["lon"] == pytest.approx(-94.49)


def test_cli_ingest_reports_an_unreachable_node_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "x.nmea"
    path.write_text(position(574001006, 10, 110, NOW) + "\n")
    result = subprocess.run(
        [sys.executable, "-m", "jointwatch", "ingest", str(path), "--node", "http://127.0.0.1:9"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "cannot reach a JointWatch node" in result.stderr
    assert "Traceback" not in result.stderr


def test_websocket_pushes_a_new_vessel_within_a_second(node: NodeProcess) -> None:
    import websockets

    async def scenario() -> dict:
        url = f"ws://127.0.0.1:{node.http_port}/ws"
        async with websockets.connect(url, additional_headers=node.headers) as ws:
            snapshot = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert snapshot["type"] == "snapshot"
            sent = time.monotonic()
            send_tcp(node.tcp_port, [position(574001007, 12.0, 111.0, NOW)])
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), 5))
                if any(v["mmsi"] == 574001007 for v in message.get("vessels", [])):
                    return {"latency_s": time.monotonic() - sent, **message}

    message = asyncio.run(scenario())
    assert message["type"] == "update"
    assert message["latency_s"] < 2.0  # generous bound for a loaded CI machine
    vessel = next(v for v in message["vessels"] if v["mmsi"] == 574001007)
    assert vessel["lat"] == pytest.approx(12.0)


def test_ingest_endpoint_refuses_non_arrow_bodies(node: NodeProcess) -> None:
    response = httpx.post(
        f"{node.url}/api/ingest/arrow",
        params={"kind": "positions"},
        content=b"not arrow",
        headers=node.headers,
        timeout=10,
    )
    assert response.status_code == 422


def test_console_is_served_with_a_strict_content_security_policy(node: NodeProcess) -> None:
    response = get(node, "/")
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    docs = get(node, "/docs")
    assert docs.status_code == 200
    assert "/static/vendor/swagger-ui/" in docs.text and "https://" not in docs.text
    assert "paths" in get(node, "/openapi.json").json()


def test_cli_ingest_reads_standard_input_into_the_node(node: NodeProcess) -> None:
    lines = [position(574003000 + i, 9.5, 109.0 + i * 0.01, NOW - 60 + i) for i in range(30)]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "jointwatch",
            "ingest",
            "-",
            "--node",
            node.url,
            "--token",
            node.token,
        ],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        env=node.env,
    )
    assert result.returncode == 0, result.stderr
    node.wait_for(lambda s: s["decoded"] >= 30 and s["vessels"] >= 30)


def test_ingest_needs_a_credential_with_the_ingest_permission(node: NodeProcess) -> None:
    liaison = node.make_user("vnm-liaison", "liaison", nation="VNM")
    feed = node.make_user("rx-danang", "feed")
    body = position(574004000, 10.0, 107.0, NOW).encode()

    def post(headers: dict[str, str]) -> httpx.Response:
        return httpx.post(
            f"{node.url}/api/ingest",
            params={"source": "rx-test"},
            content=body,
            headers={"Content-Type": "text/plain", **headers},
            timeout=10,
        )

    assert post({}).status_code == 401
    assert post({"Authorization": "Bearer jw_knotakey_forged"}).status_code == 401
    assert post({"Authorization": f"Bearer {liaison}"}).status_code == 403
    assert post({"Authorization": f"Bearer {feed}"}).status_code == 200
    node.wait_for(lambda s: s["decoded"] >= 1)
    assert get(node, "/api/vessels/574004000").status_code == 200
    # A feed key only feeds: it cannot read the picture back.
    stats = httpx.get(
        f"{node.url}/api/stats", headers={"Authorization": f"Bearer {feed}"}, timeout=10
    )
    assert stats.status_code == 403
    assert httpx.get(f"{node.url}/api/stats", timeout=10).status_code == 401
    assert httpx.get(f"{node.url}/api/health", timeout=10).json()["status"] == "ok"


def test_cli_ingest_without_the_ingest_permission_says_how_to_get_a_token(
    node: NodeProcess, tmp_path: Path
) -> None:
    path = tmp_path / "x.nmea"
    path.write_text(position(574004001, 10, 110, NOW) + "\n")
    liaison = node.make_user("phl-liaison", "liaison", nation="PHL")
    feed = node.make_user("rx-vungtau", "feed")
    env = {k: v for k, v in node.env.items() if k != "JOINTWATCH_TOKEN"}

    def ingest(*token: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "jointwatch", "ingest", str(path), "--node", node.url, *token],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )

    for refused, status in ((ingest(), "401"), (ingest("--token", liaison), "403")):
        assert refused.returncode == 2, refused.stderr
        assert status in refused.stderr
        assert "jointwatch admin token create" in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
        assert "Traceback" not in refused.stderr
    fed = ingest("--token", feed)
    assert fed.returncode == 0, fed.stderr
    node.wait_for(lambda s: s["decoded"] >= 1)
    assert get(node, "/api/vessels/574004001").status_code == 200


def test_websocket_without_a_credential_is_closed_with_4401(node: NodeProcess) -> None:
    import websockets

    async def scenario() -> int | None:
        async with websockets.connect(f"ws://127.0.0.1:{node.http_port}/ws") as ws:
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 5)
            return ws.close_code

    assert asyncio.run(scenario()) == 4401
