"""REST routes of sharing: records with markings, previews, exports, partners, audit, and
the federation endpoints partner nodes call.

Every record leaving through these routes passed ``SharingService.decide`` for the caller
(a user's nation and clearance, or a partner node's nation and ceiling).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field

from jointwatch.api.auth import public, require, sharing
from jointwatch.sharing.audit import verify_chain
from jointwatch.sharing.kinds import KINDS
from jointwatch.sharing.markings import TLP_LEVELS, MarkingError
from jointwatch.sharing.service import RecordError
from jointwatch.store.accounts import Principal

__all__ = ["router", "spreadsheet_cell"]

router = APIRouter(prefix="/api")

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _fail(exc: RecordError | MarkingError) -> HTTPException:
    return HTTPException(getattr(exc, "status", 422), str(exc))


class NewRecord(BaseModel):
    """A record to create: kind, payload fitting the kind, and a marking."""

    kind: str = Field(description="report, sighting or vessel_note")
    payload: dict[str, Any]
    marking: dict[str, Any]


class RecordChange(BaseModel):
    """A new version: new payload and/or marking; ``version`` guards against lost updates."""

    payload: dict[str, Any] | None = None
    marking: dict[str, Any] | None = None
    version: int | None = None


class MarkingOnly(BaseModel):
    """A marking to preview."""

    marking: dict[str, Any]


@router.get("/me", summary="Who am I, and what this node is")
async def me(
    request: Request, principal: Annotated[Principal, Depends(require(None))]
) -> dict[str, Any]:
    """The console's start-up call: the user, the node's scale, groups and partners."""
    service = sharing(request)
    groups = await asyncio.to_thread(service.records.groups)
    partners = await asyncio.to_thread(service.records.partners)
    return {
        **principal.to_json(),
        "node": {
            "nation": service.nation,
            "name": service.node_name,
            "levels": list(service.levels),
            "tlp": list(TLP_LEVELS),
            "groups": {name: g["nations"] for name, g in groups.items()},
            "partners": [
                {"name": p["name"], "nation": p["nation"], "ceiling": p["ceiling"]}
                for p in partners
            ],
            "event_marking": service.event_marking.banner(),
        },
    }


@router.get("/records", summary="Records you may see, newest change first")
async def records(
    request: Request,
    principal: Annotated[Principal, Depends(require("records:read"))],
    kind: Annotated[list[str] | None, Query(description=f"any of {', '.join(KINDS)}")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> dict[str, Any]:
    """Local records and those partners released to this node, filtered for the caller."""
    kinds = kind or []
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise HTTPException(422, f"unknown record kind(s) {unknown}; known: {list(KINDS)}")
    found = await asyncio.to_thread(sharing(request).query_visible, principal, kinds, limit)
    return {"count": len(found), "records": found}


@router.post("/records", status_code=201, summary="Create a marked record")
async def create_record(
    request: Request,
    body: NewRecord,
    principal: Annotated[Principal, Depends(require("records:write"))],
) -> dict[str, Any]:
    """Version 1 of a local record; partners allowed by its marking receive it."""
    try:
        return await asyncio.to_thread(
            sharing(request).create, principal, body.kind, body.payload, body.marking
        )
    except RecordError as exc:
        raise _fail(exc) from exc


@router.post("/records/preview", summary="Who would receive a record with this marking")
async def preview(
    request: Request,
    body: MarkingOnly,
    _principal: Annotated[Principal, Depends(require("records:write"))],
) -> dict[str, Any]:
    """Each partner node, whether it would receive the record, and why."""
    service = sharing(request)
    try:
        marking = service.marking(body.marking)
    except MarkingError as exc:
        raise _fail(exc) from exc
    partners = await asyncio.to_thread(service.preview, marking)
    return {"banner": marking.banner(), "partners": partners}


def _export_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for r in records:
        p = r["payload"]
        rows.append(
            {
                "marking": r["banner"],
                "gid": r["gid"],
                "kind": r["kind"],
                "origin": r["origin_nation"],
                "version": r["version"],
                "updated_at": r["updated_at"],
                "title": p.get("title") or p.get("vessel_name") or p.get("kind") or "",
                "text": p.get("text") or p.get("description") or "",
                "lat": p.get("lat", ""),
                "lon": p.get("lon", ""),
                "mmsi": p.get("mmsi") or " ".join(str(m) for m in p.get("mmsis", [])),
            }
        )
    return rows


def spreadsheet_cell(value: Any) -> str:
    """Spreadsheet-safe text: a leading formula character is neutralised (SECURITY rule 2)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


@router.get("/records/export.csv", summary="Export the records you may see as CSV")
async def export_csv(
    request: Request,
    principal: Annotated[Principal, Depends(require("records:read"))],
    kind: Annotated[list[str] | None, Query()] = None,
) -> Response:
    """One row per record with its marking in the first column; the export is audited."""
    service = sharing(request)
    found = await asyncio.to_thread(service.query_visible, principal, kind or [], 5000)
    rows = _export_rows(found)
    out = io.StringIO()
    fields = ["marking", "gid", "kind", "origin", "version", "updated_at", "title", "text"]
    fields += ["lat", "lon", "mmsi"]
    writer = csv.DictWriter(out, fieldnames=fields)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: spreadsheet_cell(v) for k, v in row.items()})
    await asyncio.to_thread(
        service.audit_event, principal, "export", "records", "csv", count=len(rows)
    )
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="jointwatch-records.csv"'},
    )


@router.get("/records/export.geojson", summary="Export the records you may see as GeoJSON")
async def export_geojson(
    request: Request,
    principal: Annotated[Principal, Depends(require("records:read"))],
    kind: Annotated[list[str] | None, Query()] = None,
) -> Response:
    """Records with a position as Features; each carries its marking; audited."""
    service = sharing(request)
    found = await asyncio.to_thread(service.query_visible, principal, kind or [], 5000)
    features = []
    for r in found:
        p = r["payload"]
        if p.get("lat") is None or p.get("lon") is None:
            continue
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [p["lon"], p["lat"]]},
                "properties": {k: v for k, v in r.items() if k != "payload"} | {"payload": p},
            }
        )
    await asyncio.to_thread(
        service.audit_event, principal, "export", "records", "geojson", count=len(features)
    )
    body = json.dumps({"type": "FeatureCollection", "features": features})
    return Response(body, media_type="application/geo+json")


@router.get(
    "/public/records.geojson",
    summary="Records this node publishes (TLP:CLEAR, lowest classification)",
    dependencies=[Depends(public)],
)
async def public_records(request: Request) -> Response:
    """No sign-in: only our own records marked TLP:CLEAR at the lowest level, each with its
    marking; those without a position are listed with a null geometry."""
    found = await asyncio.to_thread(sharing(request).published, ["report", "sighting", "alert"])
    features = []
    for r in found:
        p = r["payload"]
        point = None
        if p.get("lat") is not None and p.get("lon") is not None:
            point = {"type": "Point", "coordinates": [p["lon"], p["lat"]]}
        properties = {
            "gid": r["gid"],
            "kind": r["kind"],
            "marking": r["banner"],
            "origin": r["origin_nation"],
            "version": r["version"],
            "updated_at": r["updated_at"],
            "payload": p,
        }
        features.append({"type": "Feature", "geometry": point, "properties": properties})
    body = json.dumps({"type": "FeatureCollection", "features": features})
    return Response(body, media_type="application/geo+json")


@router.get("/records/{gid}", summary="One record you may see")
async def record(
    request: Request,
    gid: str,
    principal: Annotated[Principal, Depends(require("records:read"))],
) -> dict[str, Any]:
    """A record and its marking; 404 alike for missing and not releasable to you."""
    service = sharing(request)
    found = await asyncio.to_thread(service.records.get, gid)
    if found is None or found["deleted"] or not service.decide(found, service.recipient(principal)):
        raise HTTPException(404, f"no record {gid!r}")
    return service.present(found)


@router.put("/records/{gid}", summary="New version of a local record")
async def update_record(
    request: Request,
    gid: str,
    body: RecordChange,
    principal: Annotated[Principal, Depends(require("records:write"))],
) -> dict[str, Any]:
    """Content and/or marking change; partners that may no longer see it get a revocation."""
    if body.payload is None and body.marking is None:
        raise HTTPException(422, "send a new payload, a new marking, or both")
    try:
        return await asyncio.to_thread(
            lambda: sharing(request).update(
                principal,
                gid,
                payload=body.payload,
                marking_data=body.marking,
                expected_version=body.version,
            )
        )
    except RecordError as exc:
        raise _fail(exc) from exc


@router.delete("/records/{gid}", summary="Withdraw a local record")
async def delete_record(
    request: Request,
    gid: str,
    principal: Annotated[Principal, Depends(require("records:write"))],
) -> dict[str, Any]:
    """A tombstone version replaces it here and at every partner that held it."""
    try:
        return await asyncio.to_thread(sharing(request).withdraw, principal, gid)
    except RecordError as exc:
        raise _fail(exc) from exc


@router.get("/partners", summary="Partner nodes and sync health")
async def partners(
    request: Request, _principal: Annotated[Principal, Depends(require("partners:read"))]
) -> dict[str, Any]:
    """Cursors, pending changes, last exchange, last error and receipts per partner."""
    service = sharing(request)
    health = await asyncio.to_thread(service.partners_health)
    groups = await asyncio.to_thread(service.records.groups)
    return {"partners": health, "groups": groups}


@router.get("/audit", summary="Recent audit entries")
async def audit(
    request: Request,
    _principal: Annotated[Principal, Depends(require("audit:read"))],
    limit: Annotated[int, Query(ge=1, le=5000)] = 200,
    object_id: Annotated[str | None, Query(max_length=120)] = None,
) -> dict[str, Any]:
    """Newest first."""
    entries = await asyncio.to_thread(sharing(request).audit.recent, limit, object_id)
    return {"count": len(entries), "entries": entries}


@router.get("/audit/verify", summary="Verify the audit chain")
async def audit_verify(
    request: Request, _principal: Annotated[Principal, Depends(require("audit:read"))]
) -> dict[str, Any]:
    """Walks the whole chain; ``ok`` is false with the first problems if anything was edited
    or removed."""
    service = sharing(request)

    def run() -> dict[str, Any]:
        count = 0

        def counted() -> Any:
            nonlocal count
            for entry in service.audit.iter_entries():
                count += 1
                yield entry

        problems = verify_chain(counted())
        seq, head = service.audit.head()
        return {
            "ok": not problems,
            "entries": count,
            "head": {"seq": seq, "hash": head},
            "problems": [{"seq": p.seq, "problem": p.problem} for p in problems[:50]],
        }

    return await asyncio.to_thread(run)


# ---- federation (partner nodes) ---------------------------------------------------------


async def _partner(service: Any, principal: Principal) -> dict[str, Any]:
    """The partner node a federation caller speaks for (403 if none)."""
    try:
        partner: dict[str, Any] = await asyncio.to_thread(service.partner_for, principal)
    except RecordError as exc:
        raise _fail(exc) from exc
    return partner


class FederationPush(BaseModel):
    """Records (or tombstones) a partner pushes; at most a few thousand per request."""

    node: str = Field(max_length=64)
    nation: str = Field(max_length=3)
    records: list[dict[str, Any]] = Field(max_length=5000)
    audit_head: dict[str, Any] | None = None


@router.get("/federation/hello", summary="Partner handshake: who this node is")
async def federation_hello(
    request: Request, principal: Annotated[Principal, Depends(require("federation"))]
) -> dict[str, Any]:
    """Lets a partner check its credential and learn our nation and scale."""
    service = sharing(request)
    partner = await _partner(service, principal)
    return {
        "node": service.node_name,
        "nation": service.nation,
        "levels": list(service.levels),
        "you": partner["name"],
    }


@router.post("/federation/records", summary="Receive records pushed by a partner node")
async def federation_receive(
    request: Request,
    body: FederationPush,
    principal: Annotated[Principal, Depends(require("federation"))],
) -> dict[str, Any]:
    """One receipt per record: accepted, duplicate, stale or rejected (with the reason)."""
    service = sharing(request)
    partner = await _partner(service, principal)
    if body.nation.upper() != partner["nation"]:
        raise HTTPException(403, "the push names a nation other than the partner's")
    receipts = await asyncio.to_thread(service.receive, partner, body.records)
    if body.audit_head is not None:
        await asyncio.to_thread(
            service.records.update_partner, partner["name"], audit_head=body.audit_head
        )
    return {"receipts": receipts}


@router.get("/federation/records", summary="Partner pull: changes after a cursor")
async def federation_pull(
    request: Request,
    principal: Annotated[Principal, Depends(require("federation"))],
    since: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> dict[str, Any]:
    """What the calling partner may see of our changes after ``since``, with the next cursor;
    records it holds and may no longer see come as content-free tombstones."""
    service = sharing(request)
    partner = await _partner(service, principal)
    items, cursor, more = await asyncio.to_thread(service.outgoing, partner, since, limit)
    await asyncio.to_thread(service.note_sent, partner, items, None)
    return {"node": service.node_name, "records": items, "cursor": cursor, "more": more}
