"""Detector parameters: one dataclass per detector, every default documented and sourced
in ``docs/detectors.md``, overridable per node from a TOML file.

Why dataclasses and not settings fields: the detectors are pure code that runs in the node,
the CLI and tests alike; they take plain values, and the TOML file has one table per
detector (``[loitering]``, ``[encounter]``...) so an operator changes one threshold without
restating the others.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from jointwatch.errors import JointWatchError

__all__ = [
    "ApproachParams",
    "DetectParams",
    "EncounterParams",
    "GapParams",
    "LoiteringParams",
    "SpoofingParams",
    "StreamParams",
    "ZoneParams",
    "load_params",
]


@dataclass(frozen=True)
class StreamParams:
    """How the engine orders a live stream before the pairwise detectors see it."""

    lateness_s: float = 120.0  # a report older than the newest seen by this much is late


@dataclass(frozen=True)
class GapParams:
    """``ais_gap``: a vessel goes dark offshore."""

    enabled: bool = True
    min_gap_h: float = 12.0
    min_shore_nm: float = 50.0
    overdue: bool = True  # raise an open event while the vessel is still silent


@dataclass(frozen=True)
class LoiteringParams:
    """``loitering``: one vessel slow, far from shore, for a long time."""

    enabled: bool = True
    max_speed_kn: float = 2.0
    min_duration_h: float = 2.0
    min_shore_nm: float = 20.0
    max_report_gap_h: float = 1.0  # a longer silence ends the episode


@dataclass(frozen=True)
class EncounterParams:
    """``encounter``: two vessels together, slow, offshore (ship-to-ship rendezvous)."""

    enabled: bool = True
    max_distance_m: float = 500.0
    min_duration_h: float = 2.0
    max_median_speed_kn: float = 2.0
    min_shore_km: float = 10.0
    slot_s: float = 600.0  # positions are compared on a 10-minute grid
    carry_s: float = 1800.0  # a vessel's last position stands in for up to 30 min


@dataclass(frozen=True)
class ZoneParams:
    """``zone_entry`` / ``zone_exit``: crossings of user zones."""

    enabled: bool = True


@dataclass(frozen=True)
class SpoofingParams:
    """``spoofing``: impossible speed, position on land, invalid or duplicated MMSI."""

    enabled: bool = True
    max_speed_kn: float = 50.0
    min_jump_nm: float = 1.0  # below this a fast implied speed is position noise
    duplicate_return_nm: float = 1.0  # back here after two jumps: two transmitters
    episode_gap_h: float = 1.0  # violations closer than this are one event
    land_inland_m: float = 1000.0  # on land and this far from the sea, not a coast error


@dataclass(frozen=True)
class ApproachParams:
    """``approach``: a small or unidentified craft closing fast on a merchant and shadowing."""

    enabled: bool = True
    range_nm: float = 1.0
    min_closing_kn: float = 10.0
    min_shadow_min: float = 10.0
    small_length_m: float = 30.0
    merchant_min_speed_kn: float = 5.0
    min_speed_ratio: float = 0.5  # craft speed over merchant speed while shadowing
    watch_range_nm: float = 3.0  # pairs are followed from this range to measure closing
    slot_s: float = 60.0
    carry_s: float = 180.0


@dataclass(frozen=True)
class DetectParams:
    """All detector parameters of a node."""

    stream: StreamParams = field(default_factory=StreamParams)
    ais_gap: GapParams = field(default_factory=GapParams)
    loitering: LoiteringParams = field(default_factory=LoiteringParams)
    encounter: EncounterParams = field(default_factory=EncounterParams)
    zones: ZoneParams = field(default_factory=ZoneParams)
    spoofing: SpoofingParams = field(default_factory=SpoofingParams)
    approach: ApproachParams = field(default_factory=ApproachParams)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """The parameters as the TOML tables they are read from."""
        return {f.name: dict(vars(getattr(self, f.name))) for f in fields(self)}


def _section(current: Any, values: Any, name: str) -> Any:
    if not isinstance(values, dict):
        raise JointWatchError(f"[{name}] must be a table")
    known = {f.name: f for f in fields(current)}
    changes: dict[str, Any] = {}
    for key, value in values.items():
        if key not in known:
            raise JointWatchError(f"[{name}] has no parameter {key!r}; known: {sorted(known)}")
        default = getattr(current, key)
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise JointWatchError(f"[{name}] {key} must be true or false")
        elif isinstance(default, float):
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise JointWatchError(f"[{name}] {key} must be a number >= 0")
            value = float(value)
        changes[key] = value
    return replace(current, **changes)


def parse_params(data: dict[str, Any]) -> DetectParams:
    """Parameters from a parsed TOML document; unknown tables or keys are errors."""
    params = DetectParams()
    known = {f.name for f in fields(params)}
    changes: dict[str, Any] = {}
    for name, values in data.items():
        if name not in known:
            raise JointWatchError(f"unknown detector table [{name}]; known: {sorted(known)}")
        changes[name] = _section(getattr(params, name), values, name)
    return replace(params, **changes)


def load_params(path: Path | None) -> DetectParams:
    """Parameters from a TOML file, or the defaults when no file is given."""
    if path is None:
        return DetectParams()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise JointWatchError(f"cannot read detector parameters from {path}: {exc}") from exc
    try:
        return parse_params(data)
    except JointWatchError as exc:
        raise JointWatchError(f"{path}: {exc}") from exc
