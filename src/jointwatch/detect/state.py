"""Per-vessel streaming state as columns, looked up for a whole batch at once.

Why columns and not a dict of objects: a batch touches thousands of vessels; reading and
writing their state as NumPy arrays indexed through one ``searchsorted`` keeps the hot path
free of per-row Python, and the state of 100,000 vessels is a few megabytes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["NONE_T", "SPOOF_REASONS", "VesselState"]

NONE_T = np.iinfo(np.int64).min  # "no time": sorts before every real time

SPOOF_REASONS = ("speed", "duplicate_mmsi", "on_land", "invalid_mmsi")

_COLUMNS: dict[str, tuple[type, Any]] = {
    "last_t": (np.int64, NONE_T),
    "last_lat": (np.float64, np.nan),
    "last_lon": (np.float64, np.nan),
    "last_sog": (np.float64, np.nan),
    "prev_t": (np.int64, NONE_T),
    "prev_lat": (np.float64, np.nan),
    "prev_lon": (np.float64, np.nan),
    "last_jump": (np.bool_, False),
    "overdue": (np.bool_, False),  # the current silence has been judged for an overdue gap
    "lo_start_t": (np.int64, NONE_T),
    "lo_lat": (np.float64, np.nan),
    "lo_lon": (np.float64, np.nan),
    **{f"sp_{r}_start": (np.int64, NONE_T) for r in SPOOF_REASONS},
    **{f"sp_{r}_last": (np.int64, NONE_T) for r in SPOOF_REASONS},
}


class VesselState:
    """Columns of per-vessel state, one row per MMSI, kept sorted by MMSI."""

    def __init__(self) -> None:
        self.mmsi: NDArray[np.int64] = np.empty(0, dtype=np.int64)
        self.cols: dict[str, NDArray[Any]] = {
            name: np.empty(0, dtype=dtype) for name, (dtype, _) in _COLUMNS.items()
        }

    def __len__(self) -> int:
        return len(self.mmsi)

    def rows_for(self, mmsis: NDArray[np.int64]) -> NDArray[np.int64]:
        """Row of each (unique, sorted) MMSI, adding rows for vessels not seen before."""
        # Found by binary search, not ``np.setdiff1d``, which sorts state and batch together.
        rows = np.searchsorted(self.mmsi, mmsis)
        found = rows < len(self.mmsi)
        found[found] = self.mmsi[rows[found]] == mmsis[found]
        missing = mmsis[~found]
        if len(missing):
            merged = np.concatenate((self.mmsi, missing))
            order = np.argsort(merged, kind="stable")
            self.mmsi = merged[order]
            for name, (dtype, fill) in _COLUMNS.items():
                grown = np.concatenate((self.cols[name], np.full(len(missing), fill, dtype=dtype)))
                self.cols[name] = grown[order]
            rows = np.searchsorted(self.mmsi, mmsis)
        return rows.astype(np.int64)

    def __getitem__(self, name: str) -> NDArray[Any]:
        return self.cols[name]
