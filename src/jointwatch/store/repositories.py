"""Repositories: the only code that reads or writes the store's tables.

Why upserts: the picture persists "every vessel that changed since the last flush" every
few seconds, and a restart may persist a vessel again; ``INSERT ... ON CONFLICT DO UPDATE``
makes each write idempotent and lets one statement carry a whole batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite

from jointwatch.store.engine import DatabaseUrlError
from jointwatch.store.models import IngestCounter, Vessel

__all__ = ["CounterRepository", "VesselRepository"]

_VESSELS: sa.Table = Vessel.__table__  # type: ignore[assignment]
_COUNTERS: sa.Table = IngestCounter.__table__  # type: ignore[assignment]
# Rows per INSERT: well under SQLite's 32,766 bound parameters at 25 columns a row.
_BATCH_ROWS = 1000


class VesselRepository:
    """Vessel state rows (the output of ``VesselPicture.dirty_rows``)."""

    def __init__(self, engine: Engine, batch_rows: int = _BATCH_ROWS) -> None:
        self.engine = engine
        self.batch_rows = batch_rows
        self._columns = [c.name for c in _VESSELS.columns if c.name != "updated_at"]
        self._text_limits = {
            c.name: c.type.length
            for c in _VESSELS.columns
            if isinstance(c.type, sa.String) and c.type.length
        }

    def upsert(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """Insert or replace complete vessel rows; return how many vessels were written.

        Keys missing from a row are stored as null (a row is a vessel's whole state); keys
        the table does not have are ignored; the last row of an MMSI in the batch wins.
        """
        now = datetime.now(UTC)
        latest: dict[int, dict[str, Any]] = {}
        for row in rows:
            record = {name: row.get(name) for name in self._columns}
            for name, limit in self._text_limits.items():
                value = record.get(name)
                if isinstance(value, str) and len(value) > limit:
                    record[name] = value[:limit]
            mmsi = int(row["mmsi"])
            record["mmsi"] = mmsi
            record["positions"] = int(row.get("positions") or 0)
            record["updated_at"] = now
            latest[mmsi] = record
        if not latest:
            return 0
        insert = _dialect_insert(self.engine)(_VESSELS)
        statement = insert.on_conflict_do_update(
            index_elements=[_VESSELS.c.mmsi],
            set_={
                name: insert.excluded[name]
                for name in [*self._columns, "updated_at"]
                if name != "mmsi"
            },
        )
        with self.engine.begin() as connection:
            for batch in _batches(list(latest.values()), self.batch_rows):
                connection.execute(statement, batch)
        return len(latest)

    def load_all(self) -> list[dict[str, Any]]:
        """Every stored vessel as a dict keyed by column name (restores the picture)."""
        with self.engine.connect() as connection:
            result = connection.execute(sa.select(_VESSELS).order_by(_VESSELS.c.mmsi))
            return [dict(row) for row in result.mappings()]


class CounterRepository:
    """Named ingest counters, so statistics survive a restart."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def save(self, counters: Mapping[str, int]) -> None:
        """Store the given totals (absolute values, not increments); others are kept."""
        if not counters:
            return
        records = [{"name": str(name), "value": int(value)} for name, value in counters.items()]
        insert = _dialect_insert(self.engine)(_COUNTERS)
        statement = insert.on_conflict_do_update(
            index_elements=[_COUNTERS.c.name], set_={"value": insert.excluded.value}
        )
        with self.engine.begin() as connection:
            for batch in _batches(records, _BATCH_ROWS):
                connection.execute(statement, batch)

    def load(self) -> dict[str, int]:
        """Every stored counter."""
        with self.engine.connect() as connection:
            result = connection.execute(sa.select(_COUNTERS.c.name, _COUNTERS.c.value))
            return {name: int(value) for name, value in result}


def _dialect_insert(engine: Engine) -> Callable[[sa.Table], Any]:
    """The dialect's INSERT construct, the one that offers ``on_conflict_do_update``."""
    name = engine.dialect.name
    if name == "postgresql":
        return postgresql.insert
    if name == "sqlite":
        return sqlite.insert
    raise DatabaseUrlError(f"unsupported database {name!r}: use SQLite or PostgreSQL")


def _batches(items: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
