"""Rows held as columns, handed from the in-memory picture to the store in one piece.

Why: the picture keeps its state in NumPy columns and the store writes whole columns through
the DB-API; a dict per row in between cost more than the write itself for 100,000 vessels.
``ColumnRows`` still reads as a sequence of dicts, so callers that want rows get the same
rows as before, built only when asked for.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, overload

import numpy as np
from numpy.typing import NDArray

__all__ = ["NO_TIME", "ColumnRows", "datetime_of", "optional_floats", "optional_ints"]

NO_TIME = int(np.iinfo(np.int64).min)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MIN_US = (datetime.min.replace(tzinfo=UTC) - _EPOCH) // timedelta(microseconds=1)
_MAX_US = (datetime.max.replace(tzinfo=UTC) - _EPOCH) // timedelta(microseconds=1)


def datetime_of(micros: int) -> datetime | None:
    """Microseconds since the epoch as an aware UTC datetime; ``NO_TIME`` as None."""
    return None if micros == NO_TIME else _EPOCH + timedelta(microseconds=micros)


def optional_floats(values: NDArray[Any]) -> list[float | None]:
    """A float column as Python floats, NaN as None."""
    floats = values.astype(np.float64)
    out = floats.astype(object)
    out[np.isnan(floats)] = None
    return out.tolist()


def optional_ints(values: NDArray[Any], none: int) -> list[int | None]:
    """An integer column as Python ints, the value ``none`` as None."""
    ints = values.astype(np.int64)
    out = ints.astype(object)
    out[ints == none] = None
    return out.tolist()


class ColumnRows(Sequence[dict[str, Any]]):
    """Equal-length columns read as rows (dicts keyed by column name, in column order).

    ``values`` hold Python values as they appear in a row; ``times`` hold microseconds since
    the epoch (``NO_TIME`` for none) and appear in a row as aware UTC datetimes.
    """

    __hash__ = None  # type: ignore[assignment]

    def __init__(
        self,
        names: Sequence[str],
        values: Mapping[str, list[Any]],
        times: Mapping[str, NDArray[np.int64]],
    ) -> None:
        self.names = list(names)
        self.values = dict(values)
        self.times = {name: np.asarray(column, dtype=np.int64) for name, column in times.items()}
        lengths = {len(c) for c in self.values.values()} | {len(c) for c in self.times.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns of different lengths: {sorted(lengths)}")
        if set(self.names) != set(self.values) | set(self.times):
            raise ValueError("names must list every column exactly once")
        self._length = lengths.pop() if lengths else 0
        for column in self.times.values():
            # A time beyond datetime's range fails here, as building the rows one by one did.
            known = column[column != NO_TIME]
            if len(known) and (known.min() < _MIN_US or known.max() > _MAX_US):
                bad = known[(known < _MIN_US) | (known > _MAX_US)]
                datetime_of(int(bad[0]))

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [self._row(i) for i in range(*index.indices(self._length))]
        if index < 0:
            index += self._length
        if not 0 <= index < self._length:
            raise IndexError("row index out of range")
        return self._row(index)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (self._row(i) for i in range(self._length))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    def __repr__(self) -> str:
        return f"ColumnRows({len(self)} rows: {', '.join(self.names)})"

    def column(self, name: str) -> list[Any]:
        """One column as the values its rows hold (times as datetimes)."""
        if name in self.times:
            return [datetime_of(us) for us in self.times[name].tolist()]
        return list(self.values[name])

    def _row(self, i: int) -> dict[str, Any]:
        values, times = self.values, self.times
        return {
            name: datetime_of(int(times[name][i])) if name in times else values[name][i]
            for name in self.names
        }
