"""Land and distance to shore from the ``global-land-mask`` package, with no download.

Why our own distance transform: the package only answers "land or sea" on its 1/120° grid
(GLOBE, about 1 km). The detectors need "how far from shore" against thresholds up to
50 nm, so for each 1 by 1 degree tile a query touches we run scipy's Euclidean distance transform
over the tile plus a margin of at least 60 nm, and cache the tile. A distance above the
margin is reported as the margin (``cap_m``): a lower bound, larger than every threshold.
Longitude spacing uses the cosine of the tile's centre latitude, so distances are good to a
few per cent, well inside the mask's own 1 km resolution.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from functools import cache

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage

__all__ = ["ShoreIndex", "shore_index"]

CELLS_PER_DEG = 120
CELL_LAT_M = 1852.0 * 60.0 / CELLS_PER_DEG  # one cell of latitude, metres
ROWS, COLS = 180 * CELLS_PER_DEG, 360 * CELLS_PER_DEG


def _ocean_mask() -> NDArray[np.bool_]:
    # Imported lazily: loading the mask takes a few seconds and about 1 GB of memory, which
    # only a process that runs detectors should pay.
    from global_land_mask import globe

    mask: NDArray[np.bool_] = globe._mask
    return mask


class ShoreIndex:
    """Answers "on land?" and "how far from shore?" for arrays of positions."""

    def __init__(self, max_tiles: int = 2048) -> None:
        self._ocean = _ocean_mask()
        self._tiles: OrderedDict[tuple[int, int], NDArray[np.float32] | float] = OrderedDict()
        self.max_tiles = max_tiles

    @staticmethod
    def _cells(lat: ArrayLike, lon: ArrayLike) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        la = np.clip(np.asarray(lat, dtype=np.float64), -90.0, 90.0)
        lo = np.asarray(lon, dtype=np.float64)
        lo = np.where((lo < -180.0) | (lo > 180.0), ((lo + 180.0) % 360.0) - 180.0, lo)
        rows = np.clip(((90.0 - la) * CELLS_PER_DEG).astype(np.int64), 0, ROWS - 1)
        cols = np.clip(((lo + 180.0) * CELLS_PER_DEG).astype(np.int64), 0, COLS - 1)
        return rows, cols

    def is_land(self, lat: ArrayLike, lon: ArrayLike) -> NDArray[np.bool_]:
        """True where the position is on land (lakes count as land, as in the mask)."""
        rows, cols = self._cells(lat, lon)
        return ~self._ocean[rows, cols]

    def distance_m(self, lat: ArrayLike, lon: ArrayLike) -> NDArray[np.float64]:
        """Distance to the nearest land cell in metres (0 on land, at most the tile's cap)."""
        rows, cols = self._cells(lat, lon)
        out = np.empty(rows.shape, dtype=np.float64)
        if out.size == 0:
            return out
        tile_r, tile_c = rows // CELLS_PER_DEG, cols // CELLS_PER_DEG
        keys = tile_r * 360 + tile_c
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
        ends = np.r_[starts[1:], len(order)]
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
            idx = order[s:e]
            tr, tc = int(tile_r[idx[0]]), int(tile_c[idx[0]])
            tile = self._tile(tr, tc)
            if isinstance(tile, float):
                out[idx] = tile
            else:
                out[idx] = tile[rows[idx] - tr * CELLS_PER_DEG, cols[idx] - tc * CELLS_PER_DEG]
        return out

    def _tile(self, tr: int, tc: int) -> NDArray[np.float32] | float:
        key = (tr, tc)
        hit = self._tiles.get(key)
        if hit is not None:
            self._tiles.move_to_end(key)
            return hit
        tile = self._compute(tr, tc)
        self._tiles[key] = tile
        if len(self._tiles) > self.max_tiles:
            self._tiles.popitem(last=False)
        return tile

    def _compute(self, tr: int, tc: int) -> NDArray[np.float32] | float:
        n = CELLS_PER_DEG
        centre_lat = 90.0 - (tr + 0.5)
        cos_lat = max(math.cos(math.radians(centre_lat)), 0.1)
        margin_r = n
        margin_c = min(math.ceil(n / cos_lat), 10 * n)
        r0, r1 = max(tr * n - margin_r, 0), min((tr + 1) * n + margin_r, ROWS)
        cols = np.arange(tc * n - margin_c, (tc + 1) * n + margin_c) % COLS  # wraps at ±180°
        region = self._ocean[r0:r1][:, cols]
        cell_lon_m = CELL_LAT_M * cos_lat
        cap_m = min(margin_r * CELL_LAT_M, margin_c * cell_lon_m)
        if region.all():
            return float(cap_m)  # no land within the margin: everywhere at least the cap
        dist = ndimage.distance_transform_edt(region, sampling=(CELL_LAT_M, cell_lon_m))
        inner = dist[tr * n - r0 : tr * n - r0 + n, margin_c : margin_c + n]
        return np.minimum(inner, cap_m).astype(np.float32)


@cache
def shore_index() -> ShoreIndex:
    """The process-wide index: the mask is loaded once."""
    return ShoreIndex()
