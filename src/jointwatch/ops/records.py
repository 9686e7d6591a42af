"""Payloads of the command center's shareable records: incidents, units, ops-log entries.

Why strict models: these records travel to partner nodes, which validate them on receipt
with the same models; every text is bounded, unknown fields are refused.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from jointwatch.ops.lifecycle import INCIDENT_KINDS, SEVERITIES, STATES
from jointwatch.ops.units import UNIT_STATUSES, UNIT_TYPES

__all__ = ["IncidentPayload", "OpsLogPayload", "UnitPayload"]

Short = Annotated[str, Field(max_length=200)]
Text = Annotated[str, Field(max_length=20_000)]
Lat = Annotated[float, Field(ge=-90, le=90)]
Lon = Annotated[float, Field(ge=-180, le=180)]
Mmsi = Annotated[int, Field(ge=0, le=999_999_999)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Loose(BaseModel):
    """Nested entries written by the server (timeline, taskings): bounded, not enumerated."""

    model_config = ConfigDict(extra="allow")


class ResourceRequest(_Strict):
    """HADR: a request for resources and who fulfilled it."""

    id: Annotated[str, Field(min_length=1, max_length=40)]
    what: Annotated[str, Field(min_length=1, max_length=200)]
    quantity: Annotated[float, Field(ge=0)] = 1
    unit_of_measure: Short = ""
    requested_at: Short
    requested_by: Short = ""
    status: Literal["open", "fulfilled", "cancelled"] = "open"
    fulfilled_by_unit: Short | None = None
    fulfilled_by_nation: Short | None = None
    fulfilled_at: Short | None = None


class IncidentPayload(_Strict):
    """An incident; ``state``, ``timeline`` and ``taskings`` are written by the server."""

    kind: Literal[INCIDENT_KINDS]  # type: ignore[valid-type]
    severity: Literal[SEVERITIES] = "medium"  # type: ignore[valid-type]
    title: Annotated[str, Field(min_length=1, max_length=200)]
    description: Text = ""
    lat: Lat | None = None
    lon: Lon | None = None
    area: dict[str, Any] | None = None
    mmsis: Annotated[list[Mmsi], Field(max_length=100)] = []
    state: Literal[STATES] = "detected"  # type: ignore[valid-type]
    detected_at: Short
    opened_by: Short = ""
    opened_nation: Short = ""
    timeline: Annotated[list[_Loose], Field(max_length=2000)] = []
    taskings: Annotated[list[_Loose], Field(max_length=200)] = []
    requests: Annotated[list[ResourceRequest], Field(max_length=200)] = []
    source_alert: dict[str, Any] | None = None

    @field_validator("area")
    @classmethod
    def _polygon(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and value.get("type") not in ("Polygon", "MultiPolygon"):
            raise ValueError("area is a GeoJSON Polygon or MultiPolygon geometry")
        return value


class UnitPayload(_Strict):
    """A unit of one nation: ship, aircraft, boat team or shore team."""

    name: Annotated[str, Field(min_length=1, max_length=120)]
    nation: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    type: Literal[UNIT_TYPES]  # type: ignore[valid-type]
    home_base: Short = ""
    status: Literal[UNIT_STATUSES] = "available"  # type: ignore[valid-type]
    lat: Lat | None = None
    lon: Lon | None = None
    position_time: Short | None = None
    mmsi: Mmsi | None = None
    speed_kn: Annotated[float, Field(gt=0, le=600)] = 15.0
    notes: Text = ""


class OpsLogPayload(_Strict):
    """One ops-log entry of an incident, written on the node of its author."""

    incident_gid: Annotated[str, Field(min_length=1, max_length=120)]
    text: Annotated[str, Field(min_length=1, max_length=5000)]
    at: Short
    by: Short
    nation: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
