"""Relational models of a node: vessel state and ingest counters.

Why so few tables here: positions live in the Parquet archive (picture/archive.py); the
database holds what must survive a restart and be queried by other tools: the last state
and static data of each vessel, and the node's running counters.

Changing a model means adding an Alembic revision under ``store/migrations/versions``;
the revisions, not these classes, create the tables.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

__all__ = ["Base", "DetectorEvent", "IngestCounter", "UtcDateTime", "Vessel", "Zone"]


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    Why: SQLite has no time zone type and hands back naive datetimes; this type stores UTC
    and always returns aware UTC values, so the code never compares naive with aware.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # a value written outside SQLAlchemy
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every JointWatch table."""


class Vessel(Base):
    """Last known state and static data of one vessel (one row per MMSI)."""

    __tablename__ = "vessels"
    __table_args__ = (sa.Index("ix_vessels_updated_at", "updated_at"),)

    mmsi: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str | None] = mapped_column(sa.String(120))
    callsign: Mapped[str | None] = mapped_column(sa.String(32))
    imo: Mapped[int | None] = mapped_column(sa.BigInteger)
    ship_type: Mapped[int | None] = mapped_column(sa.SmallInteger)
    length_m: Mapped[float | None] = mapped_column(sa.Float)
    beam_m: Mapped[float | None] = mapped_column(sa.Float)
    draught_m: Mapped[float | None] = mapped_column(sa.Float)
    destination: Mapped[str | None] = mapped_column(sa.String(120))
    ais_class: Mapped[str | None] = mapped_column(sa.String(1))
    flag: Mapped[str | None] = mapped_column(sa.String(3))
    type_group: Mapped[str | None] = mapped_column(sa.String(24))
    lat: Mapped[float | None] = mapped_column(sa.Double)
    lon: Mapped[float | None] = mapped_column(sa.Double)
    sog_kn: Mapped[float | None] = mapped_column(sa.Float)
    cog_deg: Mapped[float | None] = mapped_column(sa.Float)
    heading_deg: Mapped[int | None] = mapped_column(sa.SmallInteger)
    nav_status: Mapped[int | None] = mapped_column(sa.SmallInteger)
    msg_type: Mapped[int | None] = mapped_column(sa.SmallInteger)
    time: Mapped[datetime | None] = mapped_column(UtcDateTime)
    static_time: Mapped[datetime | None] = mapped_column(UtcDateTime)
    source: Mapped[str | None] = mapped_column(sa.String(200))
    positions: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class IngestCounter(Base):
    """One running ingest counter (``sentences_read``, ``rejected.checksum``...)."""

    __tablename__ = "ingest_counters"

    name: Mapped[str] = mapped_column(sa.String(120), primary_key=True)
    value: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)


class DetectorEvent(Base):
    """One detector event, updated in place as it grows (the id is stable)."""

    __tablename__ = "detector_events"
    __table_args__ = (
        sa.Index("ix_detector_events_start", "start_time"),
        sa.Index("ix_detector_events_mmsi", "mmsi"),
        sa.Index("ix_detector_events_updated_at", "updated_at"),
    )

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(24), nullable=False)
    mmsi: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    other_mmsi: Mapped[int | None] = mapped_column(sa.BigInteger)
    zone: Mapped[str | None] = mapped_column(sa.String(120))
    start_time: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    end_time: Mapped[datetime | None] = mapped_column(UtcDateTime)
    lat: Mapped[float] = mapped_column(sa.Double, nullable=False)
    lon: Mapped[float] = mapped_column(sa.Double, nullable=False)
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class Zone(Base):
    """A user zone (GeoJSON Feature) the zone detectors test crossings against."""

    __tablename__ = "zones"

    name: Mapped[str] = mapped_column(sa.String(120), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(24), nullable=False)
    feature: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
