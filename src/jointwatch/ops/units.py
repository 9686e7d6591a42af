"""Units of either nation and which of them to send: nearest available first.

Why great-circle distance and a straight-line ETA: a watch officer choosing whom to task
wants a quick, explainable ranking ("42 nm, 2.1 h at 20 kn"); routing around land is left to
the unit itself. Positions come from the unit record, or from its linked vessel's latest
AIS report when it has an MMSI (the node fills that in before calling here).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from jointwatch.geo.distance import haversine_m

__all__ = ["UNIT_STATUSES", "UNIT_TYPES", "suggest_units"]

UNIT_TYPES: tuple[str, ...] = ("ship", "aircraft", "boat_team", "shore_team")
UNIT_STATUSES: tuple[str, ...] = ("available", "tasked", "on_scene", "unavailable")
_M_PER_NM = 1852.0


def suggest_units(
    lat: float, lon: float, units: Iterable[Mapping[str, Any]], limit: int = 5
) -> list[dict[str, Any]]:
    """Available units with a position, nearest first, with distance and time to arrive.

    Each unit is a dict with ``gid``, ``name``, ``nation``, ``status``, ``lat``, ``lon`` and
    ``speed_kn`` (its transit speed); units without a position or speed are left out.
    """
    ready = [
        u
        for u in units
        if u.get("status") == "available"
        and u.get("lat") is not None
        and u.get("lon") is not None
        and (u.get("speed_kn") or 0) > 0
    ]
    if not ready:
        return []
    lats = np.array([float(u["lat"]) for u in ready])
    lons = np.array([float(u["lon"]) for u in ready])
    dist_m = np.asarray(haversine_m(lat, lon, lats, lons), dtype=float)
    order = np.argsort(dist_m, kind="stable")[:limit]
    out = []
    for i in order:
        unit = ready[int(i)]
        speed = float(unit["speed_kn"])
        out.append(
            {
                **unit,
                "distance_m": round(float(dist_m[i]), 1),
                "distance_nm": round(float(dist_m[i]) / _M_PER_NM, 1),
                "eta_h": round(float(dist_m[i]) / _M_PER_NM / speed, 2),
            }
        )
    return out
