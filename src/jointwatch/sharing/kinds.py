"""Kinds of shareable record and what each payload may hold.

Why strict payload models: records travel to partner nodes and into exports, so a field a
kind does not define is refused rather than carried along unseen; every text is bounded.
Later kinds (incidents, cyber indicators) are added here and share the whole sharing path.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from jointwatch.errors import JointWatchError
from jointwatch.ops.records import IncidentPayload, OpsLogPayload, UnitPayload

__all__ = ["KINDS", "LOCAL_KINDS", "OPS_KINDS", "PayloadError", "validate_payload"]

Text = Annotated[str, Field(max_length=20_000)]
Short = Annotated[str, Field(max_length=200)]
Mmsi = Annotated[int, Field(ge=0, le=999_999_999)]
Lat = Annotated[float, Field(ge=-90, le=90)]
Lon = Annotated[float, Field(ge=-180, le=180)]


class PayloadError(JointWatchError, ValueError):
    """A record's payload does not fit its kind."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Attachment(_Strict):
    """A small file carried inside the record (base64), e.g. a photo of a sighting."""

    name: Short
    media_type: Annotated[str, Field(max_length=100, pattern=r"^[\w.+-]+/[\w.+-]+$")]
    data_b64: Annotated[str, Field(max_length=1_400_000, pattern=r"^[A-Za-z0-9+/=\s]*$")]


class Report(_Strict):
    """An intelligence report."""

    title: Annotated[str, Field(min_length=1, max_length=200)]
    text: Text = ""
    time: Short | None = None
    lat: Lat | None = None
    lon: Lon | None = None
    area: dict[str, Any] | None = None
    mmsis: Annotated[list[Mmsi], Field(max_length=100)] = []
    attachments: Annotated[list[Attachment], Field(max_length=5)] = []

    @field_validator("area")
    @classmethod
    def _polygon(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and value.get("type") not in ("Polygon", "MultiPolygon"):
            raise ValueError("area is a GeoJSON Polygon or MultiPolygon geometry")
        return value


class Sighting(_Strict):
    """A manual sighting of a vessel (patrol, aircraft, fisherman's call)."""

    time: Short
    lat: Lat
    lon: Lon
    mmsi: Mmsi | None = None
    vessel_name: Short | None = None
    observer: Short = ""
    description: Text = ""


class VesselNote(_Strict):
    """An annotation on a vessel (e.g. "known to switch AIS off near the reef")."""

    mmsi: Mmsi
    text: Annotated[str, Field(min_length=1, max_length=20_000)]


KINDS: dict[str, type[BaseModel] | None] = {
    "report": Report,
    "sighting": Sighting,
    "vessel_note": VesselNote,
    # The command center's records (ops/), written through its own routes.
    "incident": IncidentPayload,
    "unit": UnitPayload,
    "ops_log": OpsLogPayload,
    # Detector alerts are written by the node itself from its events (free-form JSON).
    "alert": None,
}
LOCAL_KINDS = ("report", "sighting", "vessel_note")
OPS_KINDS = ("incident", "unit", "ops_log")


def validate_payload(kind: str, payload: Any) -> dict[str, Any]:
    """The payload normalised by its kind's model; ``PayloadError`` says what is wrong."""
    if kind not in KINDS:
        raise PayloadError(f"unknown record kind {kind!r}; kinds: {', '.join(KINDS)}")
    if not isinstance(payload, dict):
        raise PayloadError("a record's payload is a JSON object")
    model = KINDS[kind]
    if model is None:
        return payload
    try:
        return model.model_validate(payload).model_dump(mode="json", exclude_none=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "payload"
        raise PayloadError(f"{kind} payload: {where}: {first['msg']}") from exc
