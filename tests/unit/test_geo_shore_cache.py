"""The land mask cached as memory-mapped bits: built once from the package's mask, the
same answers as that mask, read back without it, and rebuilt when the file is damaged.

A synthetic mask (all sea but one island) stands in for the package's, so the test needs
neither its seconds of decompression nor the real coastline.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from jointwatch.geo import shore

# The island: rows 1000-1009, columns 2000-2019 of the 1/120° grid (about 81.6°N, 163.3°W).
R0, R1, C0, C1 = 1000, 1010, 2000, 2020


def _mask() -> np.ndarray:
    ocean = np.ones((shore.ROWS, shore.COLS), dtype=bool)
    ocean[R0:R1, C0:C1] = False
    return ocean


def _centre(row: int, col: int) -> tuple[float, float]:
    return 90.0 - (row + 0.5) / shore.CELLS_PER_DEG, -180.0 + (col + 0.5) / shore.CELLS_PER_DEG


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(shore, "_ocean_mask", _mask)
    return tmp_path / "jointwatch"


def test_bits_answer_as_the_mask_and_are_read_back_without_it(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = shore.ShoreIndex()
    assert (cache / shore._BITS_NAME).exists()
    cells = [(R0, C0), (R1 - 1, C1 - 1), (R0 + 4, C0 + 7), (R0 - 1, C0), (R0, C1), (5, 5)]
    lat, lon = np.array([_centre(r, c) for r, c in cells]).T
    assert index.is_land(lat, lon).tolist() == [True, True, True, False, False, False]
    # The island's edge: 2 rows of 20 and 2 columns of 8 more.
    assert index.coast_cells == 2 * 20 + 2 * 8

    def no_mask() -> np.ndarray:
        raise AssertionError("the cached bits should have been used")

    monkeypatch.setattr(shore, "_ocean_mask", no_mask)
    again = shore.ShoreIndex()
    assert again.is_land(lat, lon).tolist() == [True, True, True, False, False, False]
    assert isinstance(again._bits.base, np.memmap) or isinstance(again._bits, np.memmap)


def test_a_damaged_bits_file_is_rebuilt(cache: Path) -> None:
    shore.ShoreIndex()
    path = cache / shore._BITS_NAME
    path.write_bytes(path.read_bytes()[: 1 << 20])  # cut short, as a full disk would
    index = shore.ShoreIndex()
    lat, lon = _centre(R0 + 2, C0 + 2)
    assert index.is_land(np.array([lat]), np.array([lon])).tolist() == [True]
    assert path.stat().st_size > 100 << 20
