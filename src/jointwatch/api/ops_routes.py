"""REST routes of the joint command center: incidents, actions, ops log, units, metrics.

Everything returned passed the release rule for the caller (``OpsService`` reads through
``SharingService.query_visible``); every write is a versioned, audited, federated record.
"""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from jointwatch.api.auth import require, sharing
from jointwatch.api.sharing_routes import spreadsheet_cell
from jointwatch.ops.lifecycle import ACTIONS, INCIDENT_KINDS, STATES
from jointwatch.ops.service import OpsError, OpsService
from jointwatch.store.accounts import Principal

__all__ = ["router"]

router = APIRouter(prefix="/api")


def _ops(request: Request) -> OpsService:
    service: OpsService = request.app.state.ops
    return service


async def _call(function: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return await asyncio.to_thread(lambda: function(*args, **kwargs))
    except OpsError as exc:
        raise HTTPException(exc.status, str(exc)) from exc


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewIncident(_Body):
    """An incident opened by hand or from an alert (``alert_id`` ours, ``alert_gid`` a
    partner's); fields missing are taken from the alert."""

    kind: str | None = Field(default=None, description=", ".join(INCIDENT_KINDS))
    severity: str = "medium"
    title: str | None = Field(default=None, max_length=200)
    description: str = Field(default="", max_length=20_000)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    area: dict[str, Any] | None = None
    mmsis: list[int] | None = None
    marking: dict[str, Any]
    alert_id: str | None = Field(default=None, max_length=64)
    alert_gid: str | None = Field(default=None, max_length=120)


class IncidentEdit(_Body):
    """New description fields and/or a new marking (the lifecycle changes by actions)."""

    kind: str | None = Field(default=None, description=", ".join(INCIDENT_KINDS))
    severity: str | None = None
    title: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=20_000)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    area: dict[str, Any] | None = None
    mmsis: list[int] | None = None
    marking: dict[str, Any] | None = None


class Action(_Body):
    """A lifecycle action; task, on_scene and release_unit name a unit."""

    action: Literal[tuple(ACTIONS)]  # type: ignore[valid-type]
    unit_gid: str | None = Field(default=None, max_length=120)
    note: str = Field(default="", max_length=2000)


class LogEntry(_Body):
    """One ops-log line."""

    text: str = Field(min_length=1, max_length=5000)


class ResourceRequest(_Body):
    """What a disaster-relief incident needs."""

    what: str = Field(min_length=1, max_length=200)
    quantity: float = Field(default=1, ge=0)
    unit_of_measure: str = Field(default="", max_length=40)


class Fulfilment(_Body):
    """Which unit fulfils a request."""

    unit_gid: str = Field(max_length=120)


class NewUnit(_Body):
    """A unit of this node's nation."""

    name: str = Field(min_length=1, max_length=120)
    type: str
    home_base: str = Field(default="", max_length=200)
    status: str = "available"
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    mmsi: int | None = Field(default=None, ge=0, le=999_999_999)
    speed_kn: float = Field(default=15.0, gt=0, le=600)
    notes: str = Field(default="", max_length=20_000)
    marking: dict[str, Any]


class UnitChange(_Body):
    """A unit's new status and/or position."""

    status: str | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    speed_kn: float | None = Field(default=None, gt=0, le=600)
    home_base: str | None = Field(default=None, max_length=200)
    mmsi: int | None = Field(default=None, ge=0, le=999_999_999)
    notes: str | None = Field(default=None, max_length=20_000)


def _fields(body: BaseModel, *skip: str) -> dict[str, Any]:
    return {k: v for k, v in body.model_dump(exclude_unset=True).items() if k not in skip}


Reader = Annotated[Principal, Depends(require("incidents:read"))]
Writer = Annotated[Principal, Depends(require("incidents:write"))]


@router.get("/incidents", summary="Incidents you may see, newest change first")
async def incidents(
    request: Request,
    principal: Reader,
    state: Annotated[str | None, Query(description=", ".join(STATES))] = None,
) -> dict[str, Any]:
    """Ours and those partners released to this node, with durations so far."""
    if state is not None and state not in STATES:
        raise HTTPException(422, f"state is one of {', '.join(STATES)}")
    found = await _call(_ops(request).incidents, principal, state)
    return {"count": len(found), "incidents": found}


@router.post("/incidents", status_code=201, summary="Open an incident")
async def open_incident(request: Request, body: NewIncident, principal: Writer) -> dict[str, Any]:
    """State detected, with the server's time; from an alert in one call."""
    fields = _fields(body, "marking", "alert_id", "alert_gid")
    return await _call(
        _ops(request).open_incident,
        principal,
        fields,
        body.marking,
        alert_id=body.alert_id,
        alert_gid=body.alert_gid,
    )


@router.get("/incidents/{gid}", summary="One incident with its ops log and durations")
async def incident(request: Request, gid: str, principal: Reader) -> dict[str, Any]:
    """404 alike for missing and not released to you."""
    return await _call(_ops(request).incident, principal, gid)


@router.patch("/incidents/{gid}", summary="Edit an incident's description or marking")
async def edit_incident(
    request: Request, gid: str, body: IncidentEdit, principal: Writer
) -> dict[str, Any]:
    """Only on the node that runs the incident; the lifecycle changes through actions."""
    fields = _fields(body, "marking")
    return await _call(_ops(request).edit_incident, principal, gid, fields, body.marking)


@router.post("/incidents/{gid}/actions", summary="Acknowledge, task, on scene, resolve...")
async def act(request: Request, gid: str, body: Action, principal: Writer) -> dict[str, Any]:
    """409 for an incident another node runs; 422 for an action its state forbids."""
    return await _call(
        _ops(request).act, principal, gid, body.action, unit_gid=body.unit_gid, note=body.note
    )


@router.post("/incidents/{gid}/log", status_code=201, summary="Add to an incident's ops log")
async def add_log(request: Request, gid: str, body: LogEntry, principal: Writer) -> dict[str, Any]:
    """Written on this node, marked for everyone who sees the incident, shared with them."""
    return await _call(_ops(request).add_log, principal, gid, body.text)


@router.get("/incidents/{gid}/suggest", summary="Nearest available units")
async def suggest(
    request: Request,
    gid: str,
    principal: Reader,
    limit: Annotated[int, Query(ge=1, le=50)] = 5,
) -> dict[str, Any]:
    """Units of either nation, nearest first, with distance and time to arrive."""
    found = await _call(_ops(request).suggest, principal, gid, limit)
    return {"units": found}


@router.post("/incidents/{gid}/requests", status_code=201, summary="HADR: request resources")
async def add_request(
    request: Request, gid: str, body: ResourceRequest, principal: Writer
) -> dict[str, Any]:
    """Disaster-relief incidents only."""
    return await _call(
        _ops(request).add_request, principal, gid, body.what, body.quantity, body.unit_of_measure
    )


@router.post("/incidents/{gid}/requests/{request_id}/fulfil", summary="HADR: fulfil a request")
async def fulfil(
    request: Request, gid: str, request_id: str, body: Fulfilment, principal: Writer
) -> dict[str, Any]:
    """A unit of either nation fulfils it."""
    return await _call(_ops(request).fulfil_request, principal, gid, request_id, body.unit_gid)


@router.get("/units", summary="Units of every nation you may see")
async def units(request: Request, principal: Reader) -> dict[str, Any]:
    """With live status (tasked / on scene from open incidents) and AIS positions."""
    found = await _call(_ops(request).units, principal)
    return {"count": len(found), "units": found}


@router.post("/units", status_code=201, summary="Add a unit of this node's nation")
async def create_unit(
    request: Request,
    body: NewUnit,
    principal: Annotated[Principal, Depends(require("units:write"))],
) -> dict[str, Any]:
    """Shared with partners as its marking allows, so they can task it too."""
    return await _call(_ops(request).create_unit, principal, _fields(body, "marking"), body.marking)


@router.patch("/units/{gid}", summary="Report a unit's status or position")
async def update_unit(
    request: Request,
    gid: str,
    body: UnitChange,
    principal: Annotated[Principal, Depends(require("units:write"))],
) -> dict[str, Any]:
    """Our own units only; partners' units are reported by their nodes."""
    return await _call(_ops(request).update_unit, principal, gid, _fields(body))


def _filters(
    kind: str | None, nation: str | None, since: str | None, until: str | None
) -> dict[str, Any]:
    if kind is not None and kind not in INCIDENT_KINDS:
        raise HTTPException(422, f"kind is one of {', '.join(INCIDENT_KINDS)}")
    return {"kind": kind, "nation": nation, "since": since, "until": until}


@router.get("/metrics/response-times", summary="Response times: median and 90th percentile")
async def response_times(
    request: Request,
    principal: Reader,
    group_by: Annotated[list[str] | None, Query(description="kind, nation, month, all")] = None,
    kind: str | None = None,
    nation: Annotated[str | None, Query(pattern="^[A-Z]{3}$")] = None,
    since: Annotated[str | None, Query(description="ISO date; detected at or after")] = None,
    until: Annotated[str | None, Query(description="ISO date; detected at or before")] = None,
) -> dict[str, Any]:
    """Seconds from detection to acknowledge, task, on scene and resolve, per group."""
    keys = group_by or ["kind", "nation", "month", "all"]
    bad = sorted(set(keys) - {"kind", "nation", "month", "all"})
    if bad:
        raise HTTPException(422, f"group_by is kind, nation, month or all, not {bad}")
    filters = _filters(kind, nation, since, until)
    return await _call(_ops(request).metrics, principal, keys, **filters)


@router.get("/metrics/response-times.csv", summary="Response times per incident, as CSV")
async def response_times_csv(
    request: Request,
    principal: Reader,
    kind: str | None = None,
    nation: Annotated[str | None, Query(pattern="^[A-Z]{3}$")] = None,
    since: str | None = None,
    until: str | None = None,
) -> Response:
    """One row per incident with its marking; audited as an export."""
    rows = await _call(_ops(request).metric_rows, principal, **_filters(kind, nation, since, until))
    out = io.StringIO()
    fields = ["marking", "gid", "title", "kind", "nation", "month", "state", "detected_at"]
    fields += ["acknowledge_s", "task_s", "on_scene_s", "resolve_s"]
    writer = csv.writer(out)
    writer.writerow(fields)
    for row in rows:
        values = {**row, "marking": row["banner"]}
        writer.writerow([spreadsheet_cell(values.get(name)) for name in fields])
    await asyncio.to_thread(
        sharing(request).audit_event,
        principal,
        "export",
        "metrics",
        "response-times.csv",
        count=len(rows),
    )
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="response-times.csv"'},
    )
