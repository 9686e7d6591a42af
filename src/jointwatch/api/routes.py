"""REST routes of the common maritime picture: vessels, tracks, statistics and ingest."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import pyarrow as pa
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel

from jointwatch.api.auth import public, require
from jointwatch.service import IngestService

__all__ = ["router"]

router = APIRouter(prefix="/api")

MAX_INGEST_BYTES = 16 * 1024 * 1024
MAX_TRACK_SPAN = timedelta(days=31)


def _service(request: Request) -> IngestService:
    service: IngestService = request.app.state.service
    return service


class IngestResult(BaseModel):
    """Outcome of one ingest request."""

    lines: int
    decoded: int
    positions: int
    vessels_changed: int


class TrackPoint(BaseModel):
    """One archived position of a vessel."""

    t: str
    lat: float
    lon: float
    sog_kn: float | None
    cog_deg: float | None


class Track(BaseModel):
    """A vessel's positions between two times, oldest first."""

    mmsi: int
    start: str
    end: str
    points: list[TrackPoint]


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _parse_time(value: str | None, name: str, default: datetime) -> datetime:
    if value is None:
        return default
    try:
        ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise HTTPException(422, f"{name}: not an ISO 8601 time: {value!r}") from exc
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


@router.get("/health", summary="Liveness of the node", dependencies=[Depends(public)])
async def health(request: Request) -> dict[str, Any]:
    """Cheap check for load balancers and the demo's start-up wait."""
    return {"status": "ok", "version": request.app.version}


@router.get(
    "/vessels",
    summary="Vessels whose last position is inside a bounding box",
    dependencies=[Depends(require("picture:read"))],
)
async def vessels_in_bbox(
    request: Request,
    bbox: Annotated[
        str,
        Query(
            description="min_lon,min_lat,max_lon,max_lat (WGS84); min_lon > max_lon "
            "crosses the antimeridian"
        ),
    ] = "-180,-90,180,90",
    limit: Annotated[int, Query(ge=1, le=100_000)] = 5000,
) -> dict[str, Any]:
    """The map's area query: latest state of each vessel in the box."""
    try:
        min_lon, min_lat, max_lon, max_lat = (float(v) for v in bbox.split(","))
    except ValueError as exc:
        raise HTTPException(
            422, "bbox must be four numbers: min_lon,min_lat,max_lon,max_lat"
        ) from exc
    if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180):
        raise HTTPException(422, "bbox longitudes must be within -180..180")
    if not (-90 <= min_lat <= max_lat <= 90):
        raise HTTPException(422, "bbox latitudes must be within -90..90 with min_lat <= max_lat")
    found = await asyncio.to_thread(
        _service(request).in_bbox, min_lon, min_lat, max_lon, max_lat, limit
    )
    return {"count": len(found), "vessels": found}


@router.get(
    "/vessels/{mmsi}",
    summary="One vessel's static data and latest state",
    dependencies=[Depends(require("picture:read"))],
)
async def vessel(request: Request, mmsi: int) -> dict[str, Any]:
    """Everything the vessel panel shows."""
    found = await asyncio.to_thread(_service(request).vessel, mmsi)
    if found is None:
        raise HTTPException(404, f"no vessel with MMSI {mmsi} in this node's picture")
    return found


@router.get(
    "/vessels/{mmsi}/track",
    summary="One vessel's track between two times",
    dependencies=[Depends(require("picture:read"))],
)
async def vessel_track(
    request: Request,
    mmsi: int,
    start: Annotated[str | None, Query(description="ISO 8601; default: end - 6 h")] = None,
    end: Annotated[str | None, Query(description="ISO 8601; default: now")] = None,
) -> Track:
    """Positions from the Parquet archive (and the not yet flushed buffer), oldest first."""
    end_ts = _parse_time(end, "end", datetime.now(UTC))
    start_ts = _parse_time(start, "start", end_ts - timedelta(hours=6))
    if start_ts > end_ts:
        raise HTTPException(422, "start must not be after end")
    if end_ts - start_ts > MAX_TRACK_SPAN:
        raise HTTPException(422, "a track query may span at most 31 days")
    table = await asyncio.to_thread(_service(request).archive.track, mmsi, start_ts, end_ts)
    times = table.column("time").to_pylist()
    lats = table.column("lat").to_pylist()
    lons = table.column("lon").to_pylist()
    sogs = table.column("sog_kn").to_pylist()
    cogs = table.column("cog_deg").to_pylist()
    points = [
        TrackPoint(t=_iso(t), lat=la, lon=lo, sog_kn=s, cog_deg=c)
        for t, la, lo, s, c in zip(times, lats, lons, sogs, cogs, strict=True)
    ]
    return Track(mmsi=mmsi, start=_iso(start_ts), end=_iso(end_ts), points=points)


@router.get(
    "/stats",
    summary="Ingest statistics",
    dependencies=[Depends(require("picture:read"))],
)
async def stats(request: Request) -> dict[str, Any]:
    """Sentences read, decoded, rejected by reason, duplicates dropped, vessels known."""
    return await asyncio.to_thread(_service(request).stats)


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared and int(declared) > MAX_INGEST_BYTES:
        raise HTTPException(413, f"ingest bodies are limited to {MAX_INGEST_BYTES} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_INGEST_BYTES:
            raise HTTPException(413, f"ingest bodies are limited to {MAX_INGEST_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/ingest",
    summary="Feed raw NMEA lines (text/plain, one sentence per line)",
    dependencies=[Depends(require("picture:ingest"))],
)
async def ingest_nmea(
    request: Request,
    source: Annotated[str, Query(max_length=200, description="name of the feed")] = "api",
) -> IngestResult:
    """The same path as the TCP/UDP listeners: journal, frame, assemble, dedupe, decode."""
    lines = (await _body(request)).splitlines()
    result = await asyncio.to_thread(_service(request).ingest_lines, lines, source, time.time())
    return IngestResult(**result.__dict__)


@router.post(
    "/ingest/arrow",
    summary="Feed columnar positions or static data (Arrow IPC stream)",
    dependencies=[Depends(require("picture:ingest"))],
)
async def ingest_arrow(
    request: Request,
    kind: Annotated[str, Query(pattern="^(positions|static)$")],
) -> IngestResult:
    """CSV archives arrive here, parsed by the client into the archive's own schema."""
    from jointwatch.picture.schema import POSITION_SCHEMA, STATIC_SCHEMA

    body = await _body(request)
    try:
        table = pa.ipc.open_stream(body).read_all()
    except (pa.ArrowInvalid, OSError) as exc:
        raise HTTPException(422, f"body is not an Arrow IPC stream: {exc}") from exc
    schema = POSITION_SCHEMA if kind == "positions" else STATIC_SCHEMA
    missing = [name for name in schema.names if name not in table.column_names]
    if missing:
        raise HTTPException(422, f"{kind} table lacks columns: {', '.join(missing)}")
    try:
        table = table.select(schema.names).cast(schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise HTTPException(422, f"{kind} table does not fit the schema: {exc}") from exc
    service = _service(request)
    if kind == "positions":
        result = await asyncio.to_thread(service.ingest_tables, table, STATIC_SCHEMA.empty_table())
    else:
        empty = POSITION_SCHEMA.empty_table()
        result = await asyncio.to_thread(service.ingest_tables, empty, table)
    return IngestResult(**result.__dict__)
