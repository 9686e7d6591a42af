"""What an ingest counts and reports: a batch's result, a decoded block waiting to be
applied, and a node's running totals.

Why apart from ``service``: these are plain values and pure functions; the service only
decides when they change (under its lock, at the moment a batch is applied).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jointwatch.ais.pipeline import IngestStats
from jointwatch.picture.positions import PictureBatch

if TYPE_CHECKING:
    from jointwatch.detect.engine import DetectionEngine

__all__ = ["BatchResult", "DecodedBlock", "stats_view", "totals"]


@dataclass(frozen=True)
class DecodedBlock:
    """A block framed and decoded but not yet applied (``IngestService.decode_block``):
    its rows split for the picture, how many messages it decoded, what decoding it counted,
    and its journal records, built already (None when nothing is journaled)."""

    picture: PictureBatch
    decoded: int
    counts: IngestStats
    journal_records: memoryview | None
    source: str
    rx_time_s: float


@dataclass(frozen=True)
class BatchResult:
    """What one ingested batch did, for the caller's progress display."""

    lines: int
    decoded: int
    positions: int
    vessels_changed: int


def totals(
    base: Mapping[str, int],
    pipeline: IngestStats,
    service: Mapping[str, int],
    picture_rejected: Mapping[str, int],
) -> dict[str, int]:
    """Counters as stored: ``base`` (earlier runs) plus this run's pipeline counts, the
    service's own counts, and rejections as ``rejected.<reason>``."""
    current: dict[str, int] = {
        "sentences_read": pipeline.lines_read,
        "sentences_ok": pipeline.sentences_ok,
        "decoded": pipeline.decoded,
        "duplicates": pipeline.duplicates,
        **service,
    }
    for rejected in (pipeline.rejected, picture_rejected):
        for reason, count in rejected.items():
            current[f"rejected.{reason}"] = current.get(f"rejected.{reason}", 0) + count
    out = dict(base)
    for name, value in current.items():
        out[name] = out.get(name, 0) + value
    return out


def stats_view(
    counters: Mapping[str, int], vessels: int, pending: int, detector: DetectionEngine | None
) -> dict[str, Any]:
    """The node's statistics as the API and the CLI show them."""
    rejected = {
        name.removeprefix("rejected."): value
        for name, value in sorted(counters.items())
        if name.startswith("rejected.")
    }
    return {
        "sentences_read": counters.get("sentences_read", 0),
        "sentences_ok": counters.get("sentences_ok", 0),
        "decoded": counters.get("decoded", 0),
        "duplicates": counters.get("duplicates", 0),
        "rejected": rejected,
        "rejected_total": sum(rejected.values()),
        "positions": counters.get("positions", 0),
        "csv_rows": counters.get("csv_rows", 0),
        "vessels": vessels,
        "archive_pending_rows": pending,
        "detector": _detector_stats(detector),
    }


def _detector_stats(det: DetectionEngine | None) -> dict[str, Any]:
    if det is None:
        return {"enabled": False}
    return {
        "enabled": True,
        "positions": det.positions_seen,
        "events": len(det.events),
        "late_reports": det.late,
        "stale_reports": det.stale,
        "zones": len(det.zone_index),
    }
