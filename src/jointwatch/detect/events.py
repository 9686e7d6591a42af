"""Detector events: what a detector found, with a stable id so updates replace, not add.

Why a deterministic id: the live node sees an event grow batch by batch (a loitering
episode gets longer, a silent vessel reappears) while ``jointwatch detect`` may see it in
one piece. Both derive the id from what does not change (kind, vessels, zone, start), so
the stored event is updated in place and both runs end with the same set.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

__all__ = ["EVENT_KINDS", "Event", "iso_us"]

EVENT_KINDS = (
    "ais_gap",
    "loitering",
    "encounter",
    "zone_entry",
    "zone_exit",
    "spoofing",
    "approach",
)


# Within this many seconds of the epoch ``us / 1e6`` is off by well under a microsecond, so
# the second it falls in is ``us // 1_000_000`` and one text serves every time in it.
_EXACT_S = 2**31


def iso_us(us: int | None) -> str | None:
    """Microseconds since the epoch as ISO 8601 UTC, to the second (``...T01:02:03Z``)."""
    if us is None:
        return None
    if us.__class__ is int and -_EXACT_S < (second := us // 1_000_000) < _EXACT_S:
        return _iso_second(second)
    return datetime.fromtimestamp(us / 1e6, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@lru_cache(maxsize=1 << 14)  # events cluster in time: most share a second with another
def _iso_second(second: int) -> str:
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Event:
    """One detection. Times are microseconds since the epoch, UTC."""

    kind: str
    mmsi: int
    start_us: int
    lat: float
    lon: float
    end_us: int | None = None
    other_mmsi: int | None = None
    zone: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """Stable identity: kind, vessels, zone, reason and start."""
        reason = self.details.get("reason", "")
        key = f"{self.kind}|{self.mmsi}|{self.other_mmsi}|{self.zone}|{reason}|{self.start_us}"
        return hashlib.blake2s(key.encode(), digest_size=10).hexdigest()

    def merge(self, newer: Event, *, replace: bool) -> None:
        """Fold a later sighting of the same event into this one.

        ``replace`` takes the newer end and details whole (a gap that was overdue and is now
        closed). Otherwise the event is extended: the later end wins, ``max_*`` details take
        the maximum, ``n_*`` details add up, and the rest keep their first value.
        """
        if replace:
            self.end_us = newer.end_us
            self.details = dict(newer.details)
            return
        if newer.end_us is not None and (self.end_us is None or newer.end_us > self.end_us):
            self.end_us = newer.end_us
        for key, value in newer.details.items():
            old = self.details.get(key)
            if old is None:
                self.details[key] = value
            elif key.startswith("max_"):
                self.details[key] = max(old, value)
            elif key.startswith("n_"):
                self.details[key] = old + value

    def to_json(self) -> dict[str, Any]:
        """The event as ``jointwatch detect`` prints it and ``/api/events`` returns it."""
        return {
            "id": self.id,
            "kind": self.kind,
            "mmsi": self.mmsi,
            "other_mmsi": self.other_mmsi,
            "zone": self.zone,
            "start": iso_us(self.start_us),
            "end": iso_us(self.end_us),
            "lat": round(self.lat, 6),
            "lon": round(self.lon, 6),
            "details": self.details,
        }
