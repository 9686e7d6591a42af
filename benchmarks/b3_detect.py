"""B3: batch detection scaling, 10k to 10M positions, 1k to 100k vessels.

The peer is the engine itself at other sizes: the figure of merit is the time per position,
which must stay flat (nothing quadratic in vessels or positions). Positions are generated
directly as Arrow tables (a fixed-seed random walk over the South China Sea, each vessel
reporting every 60 s), so only detection is timed, not decoding.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
from common import write_result

from jointwatch.detect.engine import DetectionEngine
from jointwatch.geo.shore import shore_index
from jointwatch.geo.zones import zones_from_geojson
from jointwatch.picture.mid import flag_for_mmsi
from jointwatch.picture.schema import POSITION_SCHEMA, TIME_TYPE

START_S = 1_764_000_000
INTERVAL_S = 60
BATCH_ROWS = 100_000
# BENCHMARKS.md's sizes, plus 10M positions of the 10,000-vessel fleet and 1M of the
# 100,000-vessel one: with those, positions and fleet size are varied one at a time, so the
# table shows what the cost per position depends on.
SIZES = (
    (10_000, 1_000),
    (100_000, 10_000),
    (1_000_000, 10_000),
    (10_000_000, 10_000),
    (1_000_000, 100_000),
    (10_000_000, 100_000),
)


def _zones() -> list[Any]:
    boxes = []
    for i in range(20):
        lat, lon = 6.0 + (i % 5) * 3.0, 110.5 + (i // 5) * 1.8
        ring = [[lon, lat], [lon + 0.5, lat], [lon + 0.5, lat + 0.5], [lon, lat + 0.5], [lon, lat]]
        boxes.append(
            {
                "type": "Feature",
                "properties": {"name": f"Z{i}", "kind": "custom"},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    return zones_from_geojson({"type": "FeatureCollection", "features": boxes})


def batches(positions: int, vessels: int, seed: int = 3) -> Iterator[pa.Table]:
    """Time-ordered batches: every vessel reports every 60 s, at its own second."""
    rng = np.random.default_rng(seed)
    lat = rng.uniform(5.0, 20.0, vessels)
    lon = rng.uniform(110.5, 118.0, vessels)
    speed = np.where(
        rng.random(vessels) < 0.2, rng.uniform(0, 1.5, vessels), rng.uniform(6, 18, vessels)
    )
    course = rng.uniform(0, 360, vessels)
    mids = np.array([m for m in range(201, 776) if flag_for_mmsi(m * 1_000_000 + 1)])
    ids = rng.choice(1_000_000, vessels, replace=False)
    mmsi = rng.choice(mids, vessels) * 1_000_000 + ids  # valid ship stations, all distinct
    steps = positions // vessels
    phase_s = rng.uniform(0, INTERVAL_S, vessels)  # each vessel reports at its own second
    order = np.argsort(phase_s)  # rows in time order within a step
    pending: list[pa.Table] = []
    rows = 0
    for step in range(steps):
        course = (course + rng.normal(0, 5, vessels)) % 360
        dist_deg = speed * INTERVAL_S / 3600 / 60
        lat = np.clip(lat + dist_deg * np.cos(np.radians(course)), -80, 80)
        lon = (
            lon + dist_deg * np.sin(np.radians(course)) / np.cos(np.radians(lat)) + 180
        ) % 360 - 180
        t = ((START_S + step * INTERVAL_S + phase_s[order]) * 1_000_000).astype(np.int64)
        table = pa.table(
            {
                "mmsi": pa.array(mmsi[order], pa.int64()),
                "time": pa.array(t, pa.int64()).cast(TIME_TYPE),
                "lat": lat[order],
                "lon": lon[order],
                "sog_kn": pa.array(speed[order], pa.float32()),
                "cog_deg": pa.array(course[order], pa.float32()),
                "heading_deg": pa.nulls(vessels, pa.int16()),
                "nav_status": pa.nulls(vessels, pa.int8()),
                "msg_type": pa.array(np.ones(vessels), pa.int8()),
                "source": pa.nulls(vessels, pa.string()),
            },
            schema=POSITION_SCHEMA,
        )
        pending.append(table)
        rows += vessels
        if rows >= BATCH_ROWS:
            yield pa.concat_tables(pending)
            pending, rows = [], 0
    if pending:
        yield pa.concat_tables(pending)


def run_size(positions: int, vessels: int, runs: int = 1) -> dict[str, Any]:
    """Time a fresh engine over the same batches ``runs`` times; the median is reported
    (single runs on a shared VM vary by up to 2x), with min and max."""
    data = list(batches(positions, vessels))
    n = sum(t.num_rows for t in data)
    times = []
    for _ in range(runs):
        engine = DetectionEngine(zones=_zones())
        started = time.perf_counter()
        for table in data:
            engine.feed(table)
        times.append(time.perf_counter() - started)
    seconds = statistics.median(times)
    kinds: dict[str, int] = {}
    for e in engine.events.values():
        kinds[e.kind] = kinds.get(e.kind, 0) + 1
    return {
        "positions": n,
        "vessels": vessels,
        "runs": runs,
        "seconds": seconds,
        "min_s": min(times),
        "max_s": max(times),
        # How often each vessel reports within one batch: the per-vessel work of a batch
        # (state joins, zone memberships, open episodes) is shared by this many positions.
        "reports_per_vessel_per_batch": max(1, min(positions, BATCH_ROWS) // vessels),
        "us_per_position": seconds / n * 1e6,
        "positions_per_s": n / seconds,
        "events": kinds,
    }


def run(max_positions: int, runs: int = 3) -> dict[str, Any]:
    shore_index()  # load the land mask before timing
    run_size(*SIZES[0])  # and fill the distance-to-shore tile cache once
    results = [run_size(p, v, runs) for p, v in SIZES if p <= max_positions]
    base = results[0]["us_per_position"]
    for r in results:
        r["cost_vs_smallest"] = r["us_per_position"] / base
    result = {"benchmark": "B3 batch detection scaling", "sizes": results}
    write_result("b3", result)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-positions", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3, help="runs per size (median reported)")
    args = parser.parse_args()
    for r in run(args.max_positions, args.runs)["sizes"]:
        print(
            f"| B3 detect, {r['positions']:,} positions, {r['vessels']:,} vessels | "
            f"{r['reports_per_vessel_per_batch']} per batch | "
            f"{r['seconds']:.2f} s | {r['us_per_position']:.2f} µs/position | "
            f"{r['cost_vs_smallest']:.2f}x smallest |"
        )


if __name__ == "__main__":
    main()
