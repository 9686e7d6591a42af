"""Response-time metrics: how fast the partners acknowledge, task, arrive and resolve.

Why from the timeline: each duration is the first time an incident reached a state minus
the time it was detected, both written by the server of the node that owns the incident;
the partner node holds the same timeline (it travels with the record), so both nodes compute
the same figures. Percentiles are NumPy's default (linear interpolation).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import numpy as np

from jointwatch.ops.lifecycle import first_time, last_time

__all__ = ["DURATIONS", "incident_durations", "summarise"]

# name -> (state whose first reaching ends the span; use the last time instead)
DURATIONS: dict[str, tuple[str, bool]] = {
    "acknowledge": ("acknowledged", False),
    "task": ("tasked", False),
    "on_scene": ("on_scene", False),
    "resolve": ("resolved", True),
}


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def incident_durations(payload: Mapping[str, Any]) -> dict[str, float | None]:
    """Seconds from detection to each milestone (None where not reached)."""
    detected = _time(payload.get("detected_at"))
    out: dict[str, float | None] = {}
    for name, (state, use_last) in DURATIONS.items():
        reached = _time(last_time(payload, state) if use_last else first_time(payload, state))
        if use_last and payload.get("state") != state:
            reached = None  # reopened and not resolved again: not resolved now
        out[f"{name}_s"] = (reached - detected).total_seconds() if reached and detected else None
    return out


def _stats(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"count": 0, "median_s": None, "p90_s": None}
    arr = np.asarray(values, dtype=float)
    return {
        "count": len(values),
        "median_s": round(float(np.median(arr)), 3),
        "p90_s": round(float(np.percentile(arr, 90)), 3),
    }


def summarise(
    incidents: Iterable[Mapping[str, Any]], group_by: str = "kind"
) -> list[dict[str, Any]]:
    """Median and 90th percentile of each duration per group.

    ``incidents`` are dicts with ``kind``, ``nation`` (the owning nation), ``month``
    (YYYY-MM of detection) and ``payload``; ``group_by`` is kind, nation, month or all.
    """
    if group_by not in ("kind", "nation", "month", "all"):
        raise ValueError("group_by is kind, nation, month or all")
    groups: dict[str, dict[str, list[float]]] = {}
    counts: dict[str, int] = {}
    for incident in incidents:
        key = "all" if group_by == "all" else str(incident[group_by])
        bucket = groups.setdefault(key, {name: [] for name in DURATIONS})
        counts[key] = counts.get(key, 0) + 1
        durations = incident_durations(incident["payload"])
        for name in DURATIONS:
            value = durations[f"{name}_s"]
            if value is not None:
                bucket[name].append(value)
    return [
        {
            "group": key,
            "incidents": counts[key],
            **{name: _stats(values) for name, values in bucket.items()},
        }
        for key, bucket in sorted(groups.items())
    ]
