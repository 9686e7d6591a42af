"""User zones from GeoJSON, with a spatial index for whole batches of positions.

Why an STRtree over shapely geometries: a node may carry hundreds of zones (EEZ segments,
protected areas, exercise boxes); a bounding-box tree answers "which zones contain each of
these positions" for a batch in one vectorised call instead of testing every zone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from jointwatch.errors import JointWatchError

__all__ = ["ZONE_KINDS", "Zone", "ZoneIndex", "load_zones", "zones_from_geojson"]

ZONE_KINDS = (
    "territorial_sea",
    "eez",
    "mpa",
    "exercise_area",
    "high_risk_area",
    "custom",
)


@dataclass(frozen=True)
class Zone:
    """One named area: a polygon or multipolygon in WGS84 degrees (lon, lat)."""

    name: str
    kind: str
    geometry: BaseGeometry = field(compare=False)
    properties: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_feature(self) -> dict[str, Any]:
        """The zone as a GeoJSON Feature, as the API and the console exchange it."""
        props = {**self.properties, "name": self.name, "kind": self.kind}
        return {"type": "Feature", "properties": props, "geometry": mapping(self.geometry)}


def _zone(feature: Any, where: str) -> Zone:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise JointWatchError(f"{where}: not a GeoJSON Feature")
    props = feature.get("properties") or {}
    name = str(props.get("name") or "").strip()
    if not name:
        raise JointWatchError(f"{where}: a zone needs a non-empty properties.name")
    kind = str(props.get("kind") or "custom")
    if kind not in ZONE_KINDS:
        raise JointWatchError(f"{where} ({name}): kind {kind!r} is not one of {ZONE_KINDS}")
    try:
        geom = shape(feature.get("geometry"))
    except Exception as exc:  # shapely raises several types for malformed geometry
        raise JointWatchError(f"{where} ({name}): bad geometry: {exc}") from exc
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise JointWatchError(f"{where} ({name}): a zone must be a Polygon or MultiPolygon")
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise JointWatchError(f"{where} ({name}): coordinates must be lon, lat in degrees")
    extra = {k: v for k, v in props.items() if k not in ("name", "kind")}
    return Zone(name=name, kind=kind, geometry=geom, properties=extra)


def zones_from_geojson(data: Any) -> list[Zone]:
    """Zones from a FeatureCollection (or one Feature); names must be unique."""
    if isinstance(data, dict) and data.get("type") == "FeatureCollection":
        features = data.get("features") or []
    elif isinstance(data, dict) and data.get("type") == "Feature":
        features = [data]
    else:
        raise JointWatchError("zones must be a GeoJSON FeatureCollection or Feature")
    zones = [_zone(f, f"feature {i}") for i, f in enumerate(features)]
    names = [z.name for z in zones]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise JointWatchError(f"zone names must be unique; repeated: {', '.join(dupes)}")
    return zones


def load_zones(path: Path) -> list[Zone]:
    """Zones from a GeoJSON file, with the file named in any error."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise JointWatchError(f"cannot read zones from {path}: {exc}") from exc
    try:
        return zones_from_geojson(data)
    except JointWatchError as exc:
        raise JointWatchError(f"{path}: {exc}") from exc


class ZoneIndex:
    """Which zones contain which positions, for whole arrays at once."""

    def __init__(self, zones: list[Zone]) -> None:
        self.zones = list(zones)
        self._tree = shapely.STRtree([z.geometry for z in self.zones])
        self._boxes = np.array([z.geometry.bounds for z in self.zones]).reshape(-1, 4)
        self._total = (
            np.array([*self._boxes[:, :2].min(axis=0), *self._boxes[:, 2:].max(axis=0)])
            if self.zones
            else np.zeros(4)
        )

    def __len__(self) -> int:
        return len(self.zones)

    def may_contain(self, lat: ArrayLike, lon: ArrayLike) -> NDArray[np.bool_]:
        """A cheap pre-filter: inside the bounding box of some zone (few zones: each box;
        many: the overall box). Building points for positions far from every zone is the
        expensive part of ``containing``."""
        la = np.asarray(lat, dtype=np.float64)
        lo = np.asarray(lon, dtype=np.float64)
        if not self.zones:
            return np.zeros(la.shape, dtype=bool)
        boxes = self._boxes if len(self.zones) <= 64 else self._total[None, :]
        out = np.zeros(la.shape, dtype=bool)
        for minx, miny, maxx, maxy in boxes:
            out |= (lo >= minx) & (lo <= maxx) & (la >= miny) & (la <= maxy)
        return out

    def containing(
        self, lat: ArrayLike, lon: ArrayLike
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """(position index, zone index) pairs, sorted by position then zone."""
        if not self.zones:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty
        points = shapely.points(
            np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
        )
        pos, zone = self._tree.query(points, predicate="within")
        order = np.lexsort((zone, pos))
        return pos[order].astype(np.int64), zone[order].astype(np.int64)
