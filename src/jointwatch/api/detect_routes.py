"""REST routes of the detectors: events and user zones."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from jointwatch.api.auth import require, sharing
from jointwatch.api.routes import _body, _parse_time, _service
from jointwatch.detect.events import EVENT_KINDS
from jointwatch.errors import JointWatchError
from jointwatch.geo.zones import zones_from_geojson
from jointwatch.store.accounts import Principal

__all__ = ["router"]

router = APIRouter(prefix="/api")

MAX_ZONES_BYTES = 4 * 1024 * 1024


def _bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if text is None:
        return None
    try:
        west, south, east, north = (float(v) for v in text.split(","))
    except ValueError as exc:
        raise HTTPException(
            422, "bbox must be four numbers: min_lon,min_lat,max_lon,max_lat"
        ) from exc
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise HTTPException(422, "bbox must be min_lon,min_lat,max_lon,max_lat within the globe")
    return west, south, east, north


@router.get("/events", summary="Detector events, newest first, with filters")
async def events(
    request: Request,
    principal: Annotated[Principal, Depends(require("events:read"))],
    kind: Annotated[
        list[str] | None, Query(description=f"one or more of {', '.join(EVENT_KINDS)}")
    ] = None,
    mmsi: Annotated[int | None, Query(description="events involving this vessel")] = None,
    since: Annotated[str | None, Query(description="ISO 8601; events ending after it")] = None,
    until: Annotated[str | None, Query(description="ISO 8601; events starting before it")] = None,
    bbox: Annotated[str | None, Query(description="min_lon,min_lat,max_lon,max_lat")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
) -> dict[str, Any]:
    """What the detectors found; an event still growing has the latest end."""
    kinds = kind or []
    unknown = sorted(set(kinds) - set(EVENT_KINDS))
    if unknown:
        raise HTTPException(422, f"unknown event kind(s) {unknown}; known: {list(EVENT_KINDS)}")
    filters: dict[str, Any] = {"kinds": kinds, "mmsi": mmsi, "bbox": _bbox(bbox), "limit": limit}
    if since is not None:
        filters["since"] = _parse_time(since, "since", datetime.now(UTC))
    if until is not None:
        filters["until"] = _parse_time(until, "until", datetime.now(UTC))
    if not sharing(request).event_visible(principal):
        return {"count": 0, "events": []}
    found = await asyncio.to_thread(lambda: _service(request).events(**filters))
    banner = sharing(request).event_marking.banner()
    for event in found:
        event["banner"] = banner
    return {"count": len(found), "events": found}


@router.get(
    "/zones",
    summary="User zones as a GeoJSON FeatureCollection",
    dependencies=[Depends(require("picture:read"))],
)
async def zones(request: Request) -> dict[str, Any]:
    """The zones the zone detectors test crossings against."""
    features = await asyncio.to_thread(_service(request).zone_features)
    return {"type": "FeatureCollection", "features": features}


@router.post(
    "/zones",
    status_code=201,
    summary="Add or replace zones (GeoJSON)",
    dependencies=[Depends(require("zones:write"))],
)
async def put_zones(request: Request) -> dict[str, Any]:
    """Body: a Feature or FeatureCollection; each needs properties.name and a kind of
    territorial_sea, eez, mpa, exercise_area, high_risk_area or custom."""
    body = await _body(request)
    if len(body) > MAX_ZONES_BYTES:
        raise HTTPException(413, f"zone uploads are limited to {MAX_ZONES_BYTES} bytes")
    try:
        parsed = zones_from_geojson(json.loads(body))
    except ValueError as exc:
        raise HTTPException(422, f"not JSON: {exc}") from exc
    except JointWatchError as exc:
        raise HTTPException(422, str(exc)) from exc
    await asyncio.to_thread(_service(request).put_zones, parsed)
    return {"stored": [z.name for z in parsed]}


@router.delete(
    "/zones/{name}", summary="Remove a zone", dependencies=[Depends(require("zones:write"))]
)
async def delete_zone(request: Request, name: str) -> dict[str, Any]:
    """Later crossings of this zone are no longer reported; past events stay."""
    if not await asyncio.to_thread(_service(request).delete_zone, name):
        raise HTTPException(404, f"no zone named {name!r}")
    return {"deleted": name}
