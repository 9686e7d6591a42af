"""Land and distance to shore from the ``global-land-mask`` package, with no download.

Why a tree of coastline cells: the package only answers "land or sea" on its 1/120 degree
grid (GLOBE, about 1 km). The detectors need "how far from shore" against thresholds from
10 km to 50 nm, for positions anywhere on earth. The land cells that touch the sea (about
1.5 million) are found once, placed on the sphere, and put in a k-d tree; a batch of
positions is then one nearest-neighbour query, exact to the grid's resolution, with no
per-region warm-up, so scattered global traffic costs no more than a busy strait. The cells,
and the mask itself as packed bits, are cached in the user's cache directory after the first
extraction (a few seconds); later starts map the bits and take under a second.
"""

from __future__ import annotations

import os
import threading
from functools import cache
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree

from jointwatch.geo.distance import EARTH_RADIUS_M, unit_vectors

__all__ = ["CAP_M", "LazyShore", "ShoreIndex", "shore_index"]

CELLS_PER_DEG = 120
ROWS, COLS = 180 * CELLS_PER_DEG, 360 * CELLS_PER_DEG
_CACHE_NAME = "coast-cells-v1.npz"
_BITS_NAME = "ocean-bits-v1.npy"
#: Distances are exact up to this (about 108 nm) and reported as this beyond it: every
#: threshold is far below it, and an open-ocean query that stops here is several times
#: cheaper than one that searches on for the nearest coast.
CAP_M = 200_000.0
_BAND_ROWS = 1200  # rows per pass when scanning the 933-million-cell mask
#: Cells of the distance-to-shore cache for threshold tests: one arc minute (about 1 nm).
_COARSE_PER_DEG = 60
#: No point of a coarse cell is further than this from its centre: half a cell along the
#: meridian plus at most half a cell along the parallel, each at most R * (1/120 degree).
#: The chord is shorter than the arc, and 1 m more absorbs every rounding error.
_COARSE_RADIUS_M = EARTH_RADIUS_M * np.radians(1.0 / _COARSE_PER_DEG) + 1.0
#: Past this many cached cells the cache starts afresh, so a node that sees the whole
#: world over months does not grow without bound (16 bytes a cell).
_COARSE_MAX_CELLS = 1 << 20


def _ocean_mask() -> NDArray[np.bool_]:
    # Imported lazily: loading the mask takes a few seconds and about 1 GB of memory, which
    # only the first process on a machine pays (``_ocean_bits`` caches it).
    from global_land_mask import globe

    mask: NDArray[np.bool_] = globe._mask
    return mask


def _ocean_bits() -> NDArray[np.uint8]:
    """The mask as bits (1 = sea, most significant bit first), memory-mapped from the user's
    cache directory.

    Why: the package's mask is a 1 GB boolean array decompressed at every start (about
    2.7 s). Packed, it is 117 MB, and mapped, a node reads only the pages of the seas its
    traffic is in: starting takes a fraction of a second and resident memory stays small.
    The file is built from the package's mask the first time, written whole under a
    temporary name and renamed, so a reader never sees half of it.
    """
    path = _cache_dir() / _BITS_NAME
    try:
        bits: NDArray[np.uint8] = np.load(path, mmap_mode="r")
        if bits.shape == (ROWS, COLS // 8) and bits.dtype == np.uint8:
            return bits
    except (OSError, ValueError):
        pass
    packed = np.packbits(_ocean_mask(), axis=1)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp.npy")
        np.save(tmp, packed)
        tmp.replace(path)
        mapped: NDArray[np.uint8] = np.load(path, mmap_mode="r")
        return mapped
    except OSError:
        return packed  # a read-only home only costs the unpacking again next time


def _unpacked_rows(bits: NDArray[np.uint8], r0: int, r1: int) -> NDArray[np.bool_]:
    return np.unpackbits(bits[r0:r1], axis=1, count=COLS).astype(bool)


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "jointwatch"


def coast_cells(ocean_bits: NDArray[np.uint8]) -> tuple[NDArray[np.int32], NDArray[np.int32]]:
    """(row, col) of every land cell with a sea cell north, south, east or west of it."""
    rows: list[NDArray[np.int64]] = []
    cols: list[NDArray[np.int64]] = []
    for r0 in range(0, ROWS, _BAND_ROWS):
        r1 = min(ROWS, r0 + _BAND_ROWS)
        # The band with one row either side of it (where there is one).
        lo, hi = max(r0 - 1, 0), min(r1 + 1, ROWS)
        band = _unpacked_rows(ocean_bits, lo, hi)
        core = band[r0 - lo : r0 - lo + (r1 - r0)]
        sea_near = np.roll(core, 1, axis=1) | np.roll(core, -1, axis=1)  # wraps at 180°
        sea_near[1:] |= core[:-1]
        sea_near[:-1] |= core[1:]
        if r0 > 0:
            sea_near[0] |= band[0]
        if r1 < ROWS:
            sea_near[-1] |= band[-1]
        rr, cc = np.nonzero(~core & sea_near)
        rows.append(rr + r0)
        cols.append(cc)
    return np.concatenate(rows).astype(np.int32), np.concatenate(cols).astype(np.int32)


def _load_coast(ocean_bits: NDArray[np.uint8]) -> tuple[NDArray[np.int32], NDArray[np.int32]]:
    path = _cache_dir() / _CACHE_NAME
    try:
        with np.load(path) as data:
            return data["rows"], data["cols"]
    except (OSError, KeyError, ValueError):
        pass
    rows, cols = coast_cells(ocean_bits)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp.npz")
        np.savez_compressed(tmp, rows=rows, cols=cols)
        tmp.replace(path)
    except OSError:
        pass  # a read-only home only costs the extraction again next time
    return rows, cols


class ShoreIndex:
    """Answers "on land?" and "how far from shore?" for arrays of positions."""

    def __init__(self) -> None:
        bits = _ocean_bits()
        # One index into the flat array is several times faster than a (row, col) pair.
        self._bits = bits.reshape(-1)
        rows, cols = _load_coast(bits)
        lat = 90.0 - (rows + 0.5) / CELLS_PER_DEG
        lon = -180.0 + (cols + 0.5) / CELLS_PER_DEG
        self._tree = cKDTree(unit_vectors(lat, lon))
        self.coast_cells = len(rows)
        # (sorted coarse-cell keys, capped chord from each cell's centre to the coast),
        # replaced whole so that a thread reading it never sees the two out of step.
        self._coarse: tuple[NDArray[np.int64], NDArray[np.float64]] = (
            np.empty(0, np.int64),
            np.empty(0, np.float64),
        )

    @staticmethod
    def _cells(lat: ArrayLike, lon: ArrayLike) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        la = np.clip(np.asarray(lat, dtype=np.float64), -90.0, 90.0)
        lo = np.asarray(lon, dtype=np.float64)
        wrap = (lo < -180.0) | (lo > 180.0)
        if wrap.any():  # rare: spares every batch the modulo
            lo = np.where(wrap, ((lo + 180.0) % 360.0) - 180.0, lo)
        rows = np.clip(((90.0 - la) * CELLS_PER_DEG).astype(np.int64), 0, ROWS - 1)
        cols = np.clip(((lo + 180.0) * CELLS_PER_DEG).astype(np.int64), 0, COLS - 1)
        return rows, cols

    def is_land(self, lat: ArrayLike, lon: ArrayLike) -> NDArray[np.bool_]:
        """True where the position is on land (lakes count as land, as in the mask)."""
        rows, cols = self._cells(lat, lon)
        byte = self._bits[rows * (COLS // 8) + (cols >> 3)]
        return ((byte >> (7 - (cols & 7)).astype(np.uint8)) & 1) == 0

    def distance_m(self, lat: ArrayLike, lon: ArrayLike) -> NDArray[np.float64]:
        """Distance in metres to the nearest coastline cell (0 on land, at most ``CAP_M``)."""
        la = np.atleast_1d(np.asarray(lat, dtype=np.float64))
        lo = np.atleast_1d(np.asarray(lon, dtype=np.float64))
        if la.size == 0:
            return np.empty(0, dtype=np.float64)
        chord, _ = self._tree.query(
            unit_vectors(np.clip(la, -90, 90), lo), k=1, distance_upper_bound=CAP_M
        )
        chord = np.minimum(chord, CAP_M)  # beyond the cap the search stops early: inf
        arc = 2 * EARTH_RADIUS_M * np.arcsin(np.clip(chord / (2 * EARTH_RADIUS_M), 0.0, 1.0))
        return np.where(self.is_land(la, lo), 0.0, arc)

    def farther_than(self, lat: ArrayLike, lon: ArrayLike, min_m: float) -> NDArray[np.bool_]:
        """Exactly ``distance_m(lat, lon) >= min_m``, mostly without a tree query.

        Why: the detectors only compare distance to shore with a threshold, for thousands
        of slow or moored vessels each batch, most of them sitting in the same few hundred
        square miles. The distance from each one-arc-minute cell's centre is kept; a point
        is within ``_COARSE_RADIUS_M`` of its cell's centre, so unless the centre's distance
        is within that of the threshold the answer follows (the triangle inequality holds
        for the chord, which is what the tree measures). The few points near the threshold
        and any odd input (NaN, off the grid) get the exact query.
        """
        la = np.atleast_1d(np.asarray(lat, dtype=np.float64))
        lo = np.atleast_1d(np.asarray(lon, dtype=np.float64))
        if la.size == 0:
            return np.zeros(0, dtype=bool)
        if not 0.0 < min_m < CAP_M:
            return np.asarray(self.distance_m(la, lo) >= min_m)
        with np.errstate(invalid="ignore"):
            ok = (la >= -90.0) & (la < 90.0) & (lo >= -180.0) & (lo < 180.0)
        per_row = 360 * _COARSE_PER_DEG
        # Clipped so that rounding at +90 or +180 cannot put a point in the next row's cell.
        rows = np.minimum(np.where(ok, la + 90.0, 0.0) * _COARSE_PER_DEG, 180 * _COARSE_PER_DEG - 1)
        cols = np.minimum(np.where(ok, lo + 180.0, 0.0) * _COARSE_PER_DEG, per_row - 1)
        center = self._coarse_chords(rows.astype(np.int64) * per_row + cols.astype(np.int64))
        chord_min = 2 * EARTH_RADIUS_M * np.sin(min_m / (2 * EARTH_RADIUS_M))
        far = ok & (center - _COARSE_RADIUS_M >= chord_min + 1.0)
        exact = np.flatnonzero(~far & ~(ok & (center + _COARSE_RADIUS_M <= chord_min - 1.0)))
        out = far.copy()
        f = np.flatnonzero(far)
        out[f] = ~self.is_land(la[f], lo[f])  # inland, far from any coast, is still land
        out[exact] = self.distance_m(la[exact], lo[exact]) >= min_m
        return out

    def _coarse_chords(self, keys: NDArray[np.int64]) -> NDArray[np.float64]:
        """Capped chord to the coast from the centre of each coarse cell, cached."""
        known, chords = self._coarse
        pos = np.searchsorted(known, keys)
        hit = np.zeros(len(keys), dtype=bool)
        if len(known):
            hit = known[np.minimum(pos, len(known) - 1)] == keys
        if not hit.all():
            new = np.unique(keys[~hit])
            if len(known) + len(new) > _COARSE_MAX_CELLS:
                known, chords = known[:0], chords[:0]
                new = np.unique(keys)
            per_row = 360 * _COARSE_PER_DEG
            c_lat = -90.0 + (new // per_row + 0.5) / _COARSE_PER_DEG
            c_lon = -180.0 + (new % per_row + 0.5) / _COARSE_PER_DEG
            d, _ = self._tree.query(unit_vectors(c_lat, c_lon), k=1, distance_upper_bound=CAP_M)
            merged = np.concatenate((known, new))
            order = np.argsort(merged, kind="stable")
            known = merged[order]
            chords = np.concatenate((chords, np.minimum(d, CAP_M)))[order]
            self._coarse = (known, chords)
            pos = np.searchsorted(known, keys)
        return chords[pos]


_BUILD_LOCK = threading.Lock()


@cache
def _built() -> ShoreIndex:
    return ShoreIndex()


def shore_index() -> ShoreIndex:
    """The process-wide index: the mask is loaded and the tree built once, by one thread."""
    with _BUILD_LOCK:
        return _built()


class LazyShore(ShoreIndex):
    """The process-wide index, built on first use: a node that receives no positions (or
    runs with detectors off) never loads the 1 GB mask."""

    def __init__(self) -> None:  # no super().__init__(): nothing is loaded yet
        pass

    def is_land(self, lat: ArrayLike, lon: ArrayLike) -> NDArray[np.bool_]:
        """As ``ShoreIndex.is_land``."""
        return shore_index().is_land(lat, lon)

    def distance_m(self, lat: ArrayLike, lon: ArrayLike) -> NDArray[np.float64]:
        """As ``ShoreIndex.distance_m``."""
        return shore_index().distance_m(lat, lon)

    def farther_than(self, lat: ArrayLike, lon: ArrayLike, min_m: float) -> NDArray[np.bool_]:
        """As ``ShoreIndex.farther_than``."""
        return shore_index().farther_than(lat, lon, min_m)
