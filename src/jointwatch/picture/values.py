"""Vessel values as the API and the store show them: flags, optional numbers, times.

Pure helpers of the picture (``vessels``), kept apart so that the picture's module holds
the state and its updates.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from jointwatch.picture.columns import NO_TIME
from jointwatch.picture.mid import flag_for_mmsi

__all__ = ["flag_alpha3", "iso_ms", "micros_of", "opt_float", "opt_int"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Flag (alpha-3) of each MID, for ship stations (MIDxxxxxx): a whole column in one lookup.
_SHIP_FLAGS = np.array(
    [(f.alpha3 if (f := flag_for_mmsi(mid * 1_000_000)) else None) for mid in range(200, 800)],
    dtype=object,
)


def flag_alpha3(mmsi: np.ndarray) -> list[str | None]:
    """Flag of each MMSI; ship stations through the MID table, other identities one by one."""
    ship = (mmsi >= 200_000_000) & (mmsi <= 799_999_999)
    out = _SHIP_FLAGS[np.where(ship, mmsi // 1_000_000 - 200, 0)]
    for i in np.flatnonzero(~ship).tolist():
        flag = flag_for_mmsi(int(mmsi[i]))
        out[i] = flag.alpha3 if flag else None
    return out.tolist()


def opt_float(value: Any, digits: int | None = None) -> float | None:
    """A column value for JSON: NaN (the picture's "none") as None, rounded if asked."""
    number = float(value)
    if math.isnan(number):
        return None
    return number if digits is None else round(number, digits)


def opt_int(value: Any, none: int = -1) -> int | None:
    """An integer column value for JSON, with its "none" marker as None."""
    number = int(value)
    return None if number == none else number


def micros_of(value: datetime | None) -> int:
    """A stored time as the picture's microseconds (naive times are UTC, as stored)."""
    if value is None:
        return int(NO_TIME)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - _EPOCH) // timedelta(microseconds=1)


def iso_ms(micros: int) -> str:
    """ISO 8601 in UTC with milliseconds and a ``Z``, as the API and console expect."""
    return (_EPOCH + timedelta(microseconds=micros)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
