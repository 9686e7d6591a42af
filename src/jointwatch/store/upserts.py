"""Batch upserts run straight through the DB-API ``executemany``.

Why not ``connection.execute(insert, list_of_dicts)``: for every row SQLAlchemy rebuilds the
parameter dict and calls each column's type processor one value at a time, which cost more
than the database write for 100,000 vessels. Here the statement is still SQLAlchemy's own
``INSERT ... ON CONFLICT DO UPDATE`` compiled for the engine's dialect, and each value still
goes through the processor SQLAlchemy would use, so the database receives the same values;
only the per-row bookkeeping is gone, and times given as microseconds are formatted a whole
column at a time when the dialect stores them as text (SQLite).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa
from numpy.typing import NDArray
from sqlalchemy import Connection, Engine
from sqlalchemy.dialects import postgresql, sqlite

from jointwatch.store.engine import DatabaseUrlError
from jointwatch.store.rows import NO_TIME, datetime_of

__all__ = ["RawUpsert", "dialect_insert", "last_of_each", "memo_map", "take", "truncate"]

_PYFORMAT = re.compile(r"%\((\w+)\)s")
# Instants whose stored form decides whether a whole column may be formatted by NumPy.
_PROBES = (
    datetime(2025, 11, 24, 16, 0, 1, 123456, tzinfo=UTC),
    datetime(1970, 1, 1, tzinfo=UTC),
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
)


def dialect_insert(engine: Engine) -> Callable[[sa.Table], Any]:
    """The dialect's INSERT construct, the one that offers ``on_conflict_do_update``."""
    name = engine.dialect.name
    if name == "postgresql":
        return postgresql.insert
    if name == "sqlite":
        return sqlite.insert
    raise DatabaseUrlError(f"unsupported database {name!r}: use SQLite or PostgreSQL")


class RawUpsert:
    """``INSERT ... ON CONFLICT (key) DO UPDATE`` of every column of a table, as DB-API SQL."""

    def __init__(self, connection: Connection, table: sa.Table, key: str) -> None:
        insert = dialect_insert(connection.engine)(table)
        statement = insert.on_conflict_do_update(
            index_elements=[table.c[key]],
            set_={c.name: insert.excluded[c.name] for c in table.columns if c.name != key},
        )
        dialect = connection.dialect
        compiled = statement.compile(dialect=dialect, column_keys=[c.name for c in table.columns])
        if compiled.positiontup is not None:
            self.sql, self.params = compiled.string, list(compiled.positiontup)
        elif dialect.paramstyle == "pyformat":
            params: list[str] = []

            def positional(match: re.Match[str]) -> str:
                params.append(match.group(1))
                return "%s"

            self.sql, self.params = _PYFORMAT.sub(positional, compiled.string), params
        else:
            raise DatabaseUrlError(f"unsupported parameter style {dialect.paramstyle!r}")
        self.processors: dict[str, Callable[[Any], Any] | None] = {
            c.name: c.type.dialect_impl(dialect).bind_processor(dialect) for c in table.columns
        }
        self._text_times = {
            c.name
            for c in table.columns
            if _is_time(c) and _stores_numpy_text(self.processors[c.name])
        }

    def process(self, name: str, values: Iterable[Any]) -> list[Any]:
        """Column values as the DB-API receives them (SQLAlchemy's bind processor)."""
        processor = self.processors[name]
        return list(values) if processor is None else [processor(v) for v in values]

    def processor(self, name: str) -> Callable[[Any], Any]:
        """The bind processor of one column (identity when SQLAlchemy has none)."""
        return self.processors[name] or _identity

    def process_micros(self, name: str, micros: NDArray[np.int64]) -> list[Any]:
        """A time column given as microseconds since the epoch (``NO_TIME`` for null)."""
        known = micros[micros != NO_TIME]
        in_range = not len(known) or (known.min() >= _MIN_US and known.max() <= _MAX_US)
        if name in self._text_times and in_range:
            return _numpy_text(micros)
        return self.process(name, (datetime_of(us) for us in micros.tolist()))

    def write(
        self, connection: Connection, columns: Mapping[str, Sequence[Any]], batch_rows: int
    ) -> None:
        """Upsert rows given as processed columns (every parameter, equal lengths)."""
        rows = list(zip(*(columns[name] for name in self.params), strict=True))
        for start in range(0, len(rows), batch_rows):
            connection.exec_driver_sql(self.sql, rows[start : start + batch_rows])


def _identity(value: Any) -> Any:
    return value


def _is_time(column: sa.Column[Any]) -> bool:
    kind = column.type
    if isinstance(kind, sa.types.TypeDecorator):
        kind = kind.impl_instance
    return isinstance(kind, sa.DateTime)


def _stores_numpy_text(processor: Callable[[Any], Any] | None) -> bool:
    """Does the dialect store a time as the text NumPy formats (SQLite's DATETIME)?"""
    if processor is None:
        return False
    probes = [processor(p) for p in _PROBES]
    micros = np.array([(p - _PROBES[1]) // _MICRO for p in _PROBES], dtype=np.int64)
    return probes == _numpy_text(micros) and all(isinstance(p, str) for p in probes)


_MICRO = timedelta(microseconds=1)
# The range of datetime (years 1-9999), in which NumPy's text has the year's four digits.
_MIN_US = (_PROBES[2] - _PROBES[1]) // _MICRO
_MAX_US = (_PROBES[3] - _PROBES[1]) // _MICRO


def _numpy_text(micros: NDArray[np.int64]) -> list[str | None]:
    """``YYYY-MM-DD HH:MM:SS.ffffff`` per value (years 1-9999), None for ``NO_TIME``."""
    text = np.datetime_as_string(micros.view("datetime64[us]"), unit="us")
    if len(text):
        text.view(np.uint32).reshape(len(text), -1)[:, 10] = ord(" ")  # the "T"
    out = text.astype(object)
    out[micros == NO_TIME] = None
    return out.tolist()


def last_of_each(keys: Sequence[Any]) -> list[int] | None:
    """Index of the last row of each key, keys in order of first appearance; None when
    every key is unique (every row is kept, in order)."""
    last: dict[Any, int] = {}
    for i, key in enumerate(keys):
        last[key] = i
    return None if len(last) == len(keys) else list(last.values())


def take(values: Sequence[Any], pick: list[int] | None) -> list[Any]:
    """The picked values (``last_of_each``), in order."""
    return list(values) if pick is None else [values[i] for i in pick]


def memo_map(fn: Callable[[Any], Any], values: Iterable[Any]) -> list[Any]:
    """``fn`` of each value, computed once per distinct string (``fn`` must be pure)."""
    done: dict[str, Any] = {}
    out = []
    for value in values:
        if value.__class__ is not str:
            out.append(fn(value))
        elif value in done:
            out.append(done[value])
        else:
            out.append(done.setdefault(value, fn(value)))
    return out


def truncate(values: Sequence[Any], limit: int) -> Sequence[Any]:
    """Strings longer than the column's length cut to it; anything else unchanged."""
    try:  # the usual case, every value short enough, checked without a Python loop
        if max(map(len, filter(None, values)), default=0) <= limit:
            return values
    except Exception:  # a value without a length: look at each one
        pass
    return [v[:limit] if isinstance(v, str) and len(v) > limit else v for v in values]
