"""Repositories: the only code that reads or writes the store's tables.

Why upserts: the picture persists "every vessel that changed since the last flush" every
few seconds, and a restart may persist a vessel again; ``INSERT ... ON CONFLICT DO UPDATE``
makes each write idempotent and lets one statement carry a whole batch.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from jointwatch.store.models import DetectorEvent, IngestCounter, Vessel, Zone
from jointwatch.store.rows import ColumnRows
from jointwatch.store.upserts import (
    RawUpsert,
    dialect_insert,
    last_of_each,
    memo_map,
    take,
    truncate,
)

__all__ = ["CounterRepository", "EventRepository", "VesselRepository", "ZoneRepository"]

_VESSELS: sa.Table = Vessel.__table__  # type: ignore[assignment]
_COUNTERS: sa.Table = IngestCounter.__table__  # type: ignore[assignment]
_EVENTS: sa.Table = DetectorEvent.__table__  # type: ignore[assignment]
_ZONES: sa.Table = Zone.__table__  # type: ignore[assignment]
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
        self._upsert: RawUpsert | None = None

    def upsert(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """Insert or replace complete vessel rows; return how many vessels were written.

        Keys missing from a row are stored as null (a row is a vessel's whole state); keys
        the table does not have are ignored; the last row of an MMSI in the batch wins.
        ``ColumnRows`` are written column by column, without a dict per row.
        """
        now = datetime.now(UTC)
        mmsi = [int(m) for m in _column(rows, "mmsi", required=True)]
        if not mmsi:
            return 0
        pick = last_of_each(mmsi)
        written = len(mmsi) if pick is None else len(pick)
        with self.engine.begin() as connection:
            upsert = self._upsert = self._upsert or RawUpsert(connection, _VESSELS, "mmsi")
            columns = {"mmsi": upsert.process("mmsi", take(mmsi, pick))}
            for name in (n for n in self._columns if n != "mmsi"):
                micros = rows.times.get(name) if isinstance(rows, ColumnRows) else None
                if micros is not None:
                    picked = micros if pick is None else micros[pick]
                    columns[name] = upsert.process_micros(name, picked)
                    continue
                values: Sequence[Any] = _column(rows, name)
                if name == "positions":
                    values = [int(v or 0) for v in values]
                elif name in self._text_limits:
                    values = truncate(values, self._text_limits[name])
                columns[name] = upsert.process(name, take(values, pick))
            columns["updated_at"] = upsert.process("updated_at", [now]) * written
            upsert.write(connection, columns, self.batch_rows)
        return written

    def load_all(self) -> list[dict[str, Any]]:
        """Every stored vessel as a dict keyed by column name (restores the picture)."""
        with self.engine.connect() as connection:
            result = connection.execute(sa.select(_VESSELS).order_by(_VESSELS.c.mmsi))
            return [dict(row) for row in result.mappings()]


def _column(rows: Sequence[Mapping[str, Any]], name: str, required: bool = False) -> list[Any]:
    """One column of rows given as dicts or as ``ColumnRows``; missing values are None."""
    if isinstance(rows, ColumnRows):
        if name in rows.names or required:
            return rows.column(name)
        return [None] * len(rows)
    if required:
        return [row[name] for row in rows]
    return [row.get(name) for row in rows]


class CounterRepository:
    """Named ingest counters, so statistics survive a restart."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def save(self, counters: Mapping[str, int]) -> None:
        """Store the given totals (absolute values, not increments); others are kept."""
        if not counters:
            return
        records = [{"name": str(name), "value": int(value)} for name, value in counters.items()]
        insert = dialect_insert(self.engine)(_COUNTERS)
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


def _time(text: str | None) -> datetime | None:
    if text is None:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class EventRepository:
    """Detector events, written as they are raised or grow, read by ``/api/events``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._upsert: RawUpsert | None = None

    def upsert(self, events: Sequence[Mapping[str, Any]]) -> int:
        """Insert or replace events given as their JSON form (``Event.to_json``)."""
        now = datetime.now(UTC)
        if not events:
            return 0
        with self.engine.begin() as connection:
            upsert = self._upsert = self._upsert or RawUpsert(connection, _EVENTS, "id")
            start, end = upsert.processor("start_time"), upsert.processor("end_time")
            ids = [str(e["id"]) for e in events]
            columns: dict[str, list[Any]] = {
                "id": ids,
                "kind": [e["kind"] for e in events],
                "mmsi": [int(e["mmsi"]) for e in events],
                "other_mmsi": [e.get("other_mmsi") for e in events],
                "zone": [e.get("zone") for e in events],
                "lat": [float(e["lat"]) for e in events],
                "lon": [float(e["lon"]) for e in events],
                "details": [dict(e.get("details") or {}) for e in events],
            }
            pick = last_of_each(ids)
            written = len(ids) if pick is None else len(pick)
            processed = {
                name: upsert.process(name, take(values, pick)) for name, values in columns.items()
            }
            # Events share start and end seconds: each distinct text is converted once.
            starts = memo_map(lambda text: start(_time(text)), [e["start"] for e in events])
            ends = memo_map(lambda text: end(_time(text)), [e.get("end") for e in events])
            processed["start_time"] = take(starts, pick)
            processed["end_time"] = take(ends, pick)
            processed["updated_at"] = upsert.process("updated_at", [now]) * written
            upsert.write(connection, processed, _BATCH_ROWS)
        return written

    def query(
        self,
        *,
        kinds: Sequence[str] = (),
        mmsi: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        bbox: tuple[float, float, float, float] | None = None,
        limit: int = 500,
    ) -> list[dict[str, Any]]:
        """Events, newest start first; ``since``/``until`` select events overlapping them."""
        t = _EVENTS.c
        query = sa.select(_EVENTS)
        if kinds:
            query = query.where(t.kind.in_(list(kinds)))
        if mmsi is not None:
            query = query.where(sa.or_(t.mmsi == mmsi, t.other_mmsi == mmsi))
        if since is not None:
            query = query.where(sa.or_(t.end_time.is_(None), t.end_time >= since))
        if until is not None:
            query = query.where(t.start_time <= until)
        if bbox is not None:
            west, south, east, north = bbox
            query = query.where(t.lat.between(south, north), t.lon.between(west, east))
        query = query.order_by(t.start_time.desc(), t.id).limit(limit)
        with self.engine.connect() as connection:
            return [_event_json(dict(row)) for row in connection.execute(query).mappings()]

    def get(self, event_id: str) -> dict[str, Any] | None:
        """One event by id (an incident opened from an alert copies it)."""
        with self.engine.connect() as connection:
            row = (
                connection.execute(sa.select(_EVENTS).where(_EVENTS.c.id == event_id))
                .mappings()
                .first()
            )
        return _event_json(dict(row)) if row else None

    def count(self) -> int:
        """How many events the node holds."""
        with self.engine.connect() as connection:
            return int(
                connection.execute(sa.select(sa.func.count()).select_from(_EVENTS)).scalar_one()
            )


def _event_json(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "kind": row["kind"],
        "mmsi": row["mmsi"],
        "other_mmsi": row["other_mmsi"],
        "zone": row["zone"],
        "start": _iso(row["start_time"]),
        "end": _iso(row["end_time"]),
        "lat": row["lat"],
        "lon": row["lon"],
        "details": row["details"],
        "updated": _iso(row["updated_at"]),
    }


class ZoneRepository:
    """User zones as GeoJSON Features, keyed by name."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def put(self, features: Sequence[Mapping[str, Any]]) -> None:
        """Insert or replace zones (each a Feature whose properties carry name and kind)."""
        now = datetime.now(UTC)
        rows = [
            {
                "name": f["properties"]["name"],
                "kind": f["properties"]["kind"],
                "feature": dict(f),
                "updated_at": now,
            }
            for f in features
        ]
        if not rows:
            return
        insert = dialect_insert(self.engine)(_ZONES)
        statement = insert.on_conflict_do_update(
            index_elements=[_ZONES.c.name],
            set_={
                "kind": insert.excluded.kind,
                "feature": insert.excluded.feature,
                "updated_at": insert.excluded.updated_at,
            },
        )
        with self.engine.begin() as connection:
            connection.execute(statement, rows)

    def delete(self, name: str) -> bool:
        """Remove one zone; False if there was none of that name."""
        with self.engine.begin() as connection:
            result = connection.execute(sa.delete(_ZONES).where(_ZONES.c.name == name))
            return bool(result.rowcount)

    def load(self) -> list[dict[str, Any]]:
        """Every zone as a GeoJSON Feature, by name."""
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(_ZONES.c.feature).order_by(_ZONES.c.name))
            return [dict(feature) for (feature,) in rows]


def _batches(items: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
