"""Builders for detection-engine tests: synthetic tracks as picture tables, and a runner.

Times are seconds after ``T0``; tables use the picture schemas, so the engine sees exactly
what the node feeds it. ``run`` feeds one batch, or chunks of ``chunk`` rows to exercise
the state carried between batches.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa

from jointwatch.detect.engine import DetectionEngine
from jointwatch.detect.events import Event
from jointwatch.detect.params import DetectParams
from jointwatch.geo.distance import NM_M, haversine_m
from jointwatch.geo.zones import Zone
from jointwatch.picture.schema import POSITION_SCHEMA, STATIC_SCHEMA

T0 = datetime(2025, 3, 1, tzinfo=UTC)
T0_US = int(T0.timestamp() * 1_000_000)
H = 3600.0  # one hour in seconds
MIN = 60.0

# Far offshore in the South China Sea: the shore index reports its 60 nm cap here.
OFFSHORE = (11.0, 112.0)
# 1.8 nm off Vung Tau, at sea: close to shore for every detector.
VUNG_TAU = (10.30, 107.10)
# A vessel far from every test scene, used only to move the stream clock on.
CLOCK_MMSI = 636_000_999
CLOCK_POS = (5.0, 113.5)


@dataclass(frozen=True)
class Report:
    """One position report, ``t`` in seconds after ``T0``."""

    mmsi: int
    t: float
    lat: float
    lon: float
    sog: float | None = 0.0
    msg_type: int = 1


def us(t: float) -> int:
    """Seconds after ``T0`` as microseconds since the epoch (the events' unit)."""
    return T0_US + round(t * 1_000_000)


def move(lat: float, lon: float, bearing_deg: float, dist_nm: float) -> tuple[float, float]:
    """The position ``dist_nm`` from (lat, lon) on ``bearing_deg`` (flat earth, short hops)."""
    b = math.radians(bearing_deg)
    dlat = dist_nm * math.cos(b) / 60.0
    dlon = dist_nm * math.sin(b) / (60.0 * math.cos(math.radians(lat)))
    return lat + dlat, lon + dlon


def times(start: float, end: float, every: float) -> list[float]:
    """``start, start + every, ...`` up to and including ``end``."""
    n = math.floor((end - start) / every + 1e-9)
    return [start + k * every for k in range(n + 1)]


def track(
    mmsi: int,
    start: float,
    end: float,
    every: float,
    a: tuple[float, float],
    b: tuple[float, float] | None = None,
    sog: float | None = None,
    msg_type: int = 1,
) -> list[Report]:
    """Reports every ``every`` s from ``a`` at ``start`` to ``b`` at ``end`` in a straight
    line (``b`` None: stays at ``a``). ``sog`` defaults to the leg's true speed."""
    b = a if b is None else b
    if sog is None:
        dist = math.hypot((b[0] - a[0]) * 60.0, (b[1] - a[1]) * 60.0 * math.cos(math.radians(a[0])))
        sog = dist / max((end - start) / H, 1e-9)
    out = []
    for t in times(start, end, every):
        f = (t - start) / (end - start) if end > start else 0.0
        lat, lon = a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f
        out.append(Report(mmsi, t, lat, lon, sog, msg_type))
    return out


def sample(
    mmsi: int,
    ts: Iterable[float],
    where: Callable[[float], tuple[float, float, float]],
    msg_type: int = 1,
) -> list[Report]:
    """Reports at ``ts`` with (lat, lon, sog) = ``where(t)``."""
    return [Report(mmsi, t, *where(t), msg_type=msg_type) for t in ts]


def clock(t: float) -> Report:
    """A report far from everything that moves the stream clock (and watermark) to ``t``."""
    return Report(CLOCK_MMSI, t, *CLOCK_POS, sog=10.0)


def positions(reports: Sequence[Report]) -> pa.Table:
    """The reports as a ``POSITION_SCHEMA`` table in time order (ties by MMSI)."""
    rs = sorted(reports, key=lambda r: (r.t, r.mmsi))
    n = len(rs)
    return pa.table(
        {
            "mmsi": pa.array([r.mmsi for r in rs], pa.int64()),
            "time": pa.array([us(r.t) for r in rs], POSITION_SCHEMA.field("time").type),
            "lat": pa.array([r.lat for r in rs], pa.float64()),
            "lon": pa.array([r.lon for r in rs], pa.float64()),
            "sog_kn": pa.array([r.sog for r in rs], pa.float32()),
            "cog_deg": pa.nulls(n, pa.float32()),
            "heading_deg": pa.nulls(n, pa.int16()),
            "nav_status": pa.nulls(n, pa.int8()),
            "msg_type": pa.array([r.msg_type for r in rs], pa.int8()),
            "source": pa.array(["test"] * n, pa.string()),
        },
        schema=POSITION_SCHEMA,
    )


def static(rows: Sequence[tuple[int, int | None, float | None]], t: float = 0.0) -> pa.Table:
    """A ``STATIC_SCHEMA`` table of (mmsi, ship_type, length_m) heard at ``t``."""
    n = len(rows)
    cols: dict[str, pa.Array] = {
        "mmsi": pa.array([r[0] for r in rows], pa.int64()),
        "time": pa.array([us(t)] * n, STATIC_SCHEMA.field("time").type),
        "ship_type": pa.array([r[1] for r in rows], pa.int16()),
        "length_m": pa.array([r[2] for r in rows], pa.float32()),
    }
    for f in STATIC_SCHEMA:
        if f.name not in cols:
            cols[f.name] = pa.nulls(n, f.type)
    return pa.table({f.name: cols[f.name] for f in STATIC_SCHEMA}, schema=STATIC_SCHEMA)


def run(
    reports: Sequence[Report],
    static_table: pa.Table | None = None,
    params: DetectParams | None = None,
    zones: Iterable[Zone] = (),
    chunk: int | None = None,
) -> DetectionEngine:
    """A fresh engine fed the reports in one batch, or in batches of ``chunk`` rows."""
    engine = DetectionEngine(params, zones)
    table = positions(reports)
    if chunk is None:
        engine.feed(table, static_table)
        return engine
    for i, start in enumerate(range(0, max(table.num_rows, 1), chunk)):
        engine.feed(table.slice(start, chunk), static_table if i == 0 else None)
    return engine


def of_kind(engine: DetectionEngine, kind: str) -> list[Event]:
    """The engine's events of one kind, in its order."""
    return [e for e in engine.all_events() if e.kind == kind]


def event_set(engine: DetectionEngine) -> list[str]:
    """Every event as canonical JSON text, sorted: equal lists mean equal results."""
    return sorted(json.dumps(e.to_json(), sort_keys=True) for e in engine.all_events())


def dist_nm(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two positions in nautical miles."""
    return float(np.asarray(haversine_m(a[0], a[1], b[0], b[1]))) / NM_M
