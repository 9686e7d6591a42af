"""The relational store on SQLite and PostgreSQL: migrations, vessels, events, counters."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest
import sqlalchemy as sa

from jointwatch.detect.events import Event
from jointwatch.picture.schema import POSITION_SCHEMA, STATIC_SCHEMA
from jointwatch.picture.vessels import VesselPicture
from jointwatch.store import (
    CounterRepository,
    DatabaseUrlError,
    VesselRepository,
    make_engine,
    migrate,
    normalise_url,
)
from jointwatch.store.models import DetectorEvent, Vessel
from jointwatch.store.repositories import EventRepository

T0 = datetime(2025, 3, 1, 12, 0, 0, 123000, tzinfo=UTC)


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(db_url)
    migrate(engine)
    yield engine
    engine.dispose()


def vessel_row(mmsi: int, **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "mmsi": mmsi,
        "name": "HAI DANG 01",
        "callsign": "XVAB",
        "imo": None,
        "ship_type": 30,
        "length_m": 24.0,
        "beam_m": 6.0,
        "draught_m": None,
        "destination": "VUNG TAU",
        "ais_class": "B",
        "flag": "VNM",
        "type_group": "fishing",
        "lat": 10.123456,
        "lon": 107.654321,
        "sog_kn": 7.5,
        "cog_deg": 181.2,
        "heading_deg": None,
        "nav_status": None,
        "msg_type": 18,
        "time": T0,
        "static_time": T0,
        "source": "rx1",
        "positions": 3,
    }
    row.update(fields)
    return row


def test_migrating_twice_is_a_no_op(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate(engine)
        VesselRepository(engine).upsert([vessel_row(574000001)])
        migrate(engine)
        inspector = sa.inspect(engine)
        tables = set(inspector.get_table_names())
        wanted = {"vessels", "ingest_counters", "detector_events", "zones", "alembic_version"}
        assert wanted <= tables
        with engine.connect() as connection:
            versions = connection.execute(sa.text("SELECT version_num FROM alembic_version"))
            assert [v for (v,) in versions] == ["0003"]
        assert [r["mmsi"] for r in VesselRepository(engine).load_all()] == [574000001]
    finally:
        engine.dispose()


def test_vessel_rows_roundtrip_with_aware_utc_times(engine: sa.Engine) -> None:
    repo = VesselRepository(engine)
    assert repo.upsert([vessel_row(574000001), vessel_row(366000001, name=None)]) == 2
    loaded = {row["mmsi"]: row for row in repo.load_all()}
    assert set(loaded) == {366000001, 574000001}
    row = loaded[574000001]
    for key, value in vessel_row(574000001).items():
        assert row[key] == value, key
    assert row["time"].tzinfo is not None and row["time"].utcoffset() == timedelta(0)
    assert row["updated_at"].tzinfo is not None
    assert loaded[366000001]["name"] is None


def test_upsert_replaces_an_existing_vessel(engine: sa.Engine) -> None:
    repo = VesselRepository(engine)
    repo.upsert([vessel_row(574000001)])
    repo.upsert([vessel_row(574000001, lat=11.0, positions=9, name="RENAMED")])
    (row,) = repo.load_all()
    assert (row["lat"], row["positions"], row["name"]) == (11.0, 9, "RENAMED")


def test_upsert_batches_large_writes_and_keeps_the_last_row_per_mmsi(engine: sa.Engine) -> None:
    repo = VesselRepository(engine, batch_rows=7)
    rows = [vessel_row(200000000 + i, positions=i) for i in range(50)]
    rows.append(vessel_row(200000000, positions=999))
    assert repo.upsert(rows) == 50
    loaded = {row["mmsi"]: row for row in repo.load_all()}
    assert len(loaded) == 50
    assert loaded[200000000]["positions"] == 999


def test_hostile_text_is_stored_verbatim_and_overlong_text_truncated(engine: sa.Engine) -> None:
    repo = VesselRepository(engine)
    hostile = "'; DROP TABLE vessels; --"
    repo.upsert(
        [vessel_row(574000001, name=hostile, destination='=HYPERLINK("x")', source="s" * 500)]
    )
    (row,) = repo.load_all()
    assert row["name"] == hostile
    assert row["destination"] == '=HYPERLINK("x")'
    assert row["source"] == "s" * 200


def test_picture_survives_a_save_and_load_through_the_store(engine: sa.Engine) -> None:
    picture = VesselPicture()
    picture.apply(
        pa.Table.from_pylist(
            [
                {
                    "mmsi": 563000001,
                    "time": T0,
                    "lat": 1.25,
                    "lon": 103.8,
                    "sog_kn": 12.5,
                    "cog_deg": 270.0,
                    "heading_deg": 269,
                    "nav_status": 0,
                    "msg_type": 1,
                    "source": "rx1",
                }
            ],
            schema=POSITION_SCHEMA,
        ),
        pa.Table.from_pylist(
            [
                {
                    "mmsi": 563000001,
                    "time": T0,
                    "shipname": "MERLION",
                    "imo": 9300001,
                    "ship_type": 80,
                    "length_m": 180.0,
                    "beam_m": 32.0,
                    "draught_m": 10.4,
                    "ais_class": "A",
                }
            ],
            schema=STATIC_SCHEMA,
        ),
    )
    VesselRepository(engine).upsert(picture.dirty_rows())
    restored = VesselPicture()
    restored.load(VesselRepository(engine).load_all())
    assert restored.get(563000001) == picture.get(563000001)


def test_counters_roundtrip_and_update_in_place(engine: sa.Engine) -> None:
    repo = CounterRepository(engine)
    assert repo.load() == {}
    repo.save({"sentences_read": 10, "rejected.checksum": 2})
    repo.save({"sentences_read": 5_000_000_000, "positions": 7})
    assert repo.load() == {
        "sentences_read": 5_000_000_000,
        "rejected.checksum": 2,
        "positions": 7,
    }


def test_sqlite_connections_use_wal_full_sync_and_foreign_keys(tmp_path: Any) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'new' / 'dir' / 'node.db'}")
    try:
        with engine.connect() as connection:
            pragma = {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
        assert pragma["journal_mode"] == "wal"
        assert pragma["synchronous"] == 2  # FULL
        assert pragma["foreign_keys"] == 1
        assert pragma["busy_timeout"] >= 1000
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u@h/db",
        "postgres://u@h/db",
        "postgresql+psycopg2://u@h/db",
        "postgresql+psycopg://u@h/db",
    ],
)
def test_postgresql_urls_are_routed_to_psycopg3(url: str) -> None:
    assert normalise_url(url).drivername == "postgresql+psycopg"


@pytest.mark.parametrize("url", ["mysql://u@h/db", "not a url"])
def test_unsupported_database_urls_are_refused_with_a_clear_error(url: str) -> None:
    with pytest.raises(DatabaseUrlError):
        make_engine(url)


# ---- bulk writes: the values stored, idempotency, events ------------------------------


def _stored(engine: sa.Engine, table: sa.Table) -> list[tuple[Any, ...]]:
    """Every row as the database holds it (times and JSON as text), but ``updated_at``."""
    names = [c.name for c in table.columns if c.name != "updated_at"]
    if engine.dialect.name == "sqlite":
        columns = ", ".join(f"{n}, typeof({n})" for n in names)
    else:
        columns = ", ".join(f"CAST({n} AS TEXT)" for n in names)
    key = table.primary_key.columns.values()[0].name
    with engine.connect() as connection:
        result = connection.exec_driver_sql(f"SELECT {columns} FROM {table.name} ORDER BY {key}")
        return [tuple(row) for row in result]


def _varied_picture() -> VesselPicture:
    picture = VesselPicture()
    reports = [
        {
            "mmsi": 563000001,
            "time": T0,
            "lat": 1.25,
            "lon": 103.8,
            "sog_kn": 12.3,
            "cog_deg": 271.1,
            "heading_deg": 269,
            "nav_status": 0,
            "msg_type": 1,
            "source": "rx1",
        },
        {"mmsi": 574000002, "time": T0 + timedelta(microseconds=7), "lat": -0.5, "lon": 179.9},
        {"mmsi": 992741234, "time": T0 - timedelta(days=400), "lat": 10.0, "lon": 107.0},
        {"mmsi": 12345678, "time": T0, "lat": None, "lon": None, "msg_type": 18},
    ]
    statics = [
        {
            "mmsi": 563000001,
            "time": T0 + timedelta(seconds=30),
            "shipname": "MERLION",
            "callsign": "9VAB1",
            "imo": 9300001,
            "ship_type": 80,
            "length_m": 180.0,
            "beam_m": 32.0,
            "draught_m": 10.4,
            "destination": "SINGAPORE",
            "ais_class": "A",
        },
        {"mmsi": 366000003, "time": T0, "shipname": "ONLY STATIC", "ship_type": 37},
    ]
    picture.apply(
        pa.Table.from_pylist(reports, schema=POSITION_SCHEMA),
        pa.Table.from_pylist(statics, schema=STATIC_SCHEMA),
    )
    return picture


def test_vessel_rows_are_stored_as_sqlalchemy_stores_them(engine: sa.Engine) -> None:
    rows = _varied_picture().dirty_rows()
    table = Vessel.__table__
    now = datetime.now(UTC)
    with engine.begin() as connection:  # the reference: SQLAlchemy Core, a dict per row
        connection.execute(sa.insert(table), [{**row, "updated_at": now} for row in rows])
    reference = _stored(engine, table)
    assert len(reference) == 5

    for given in (rows, [dict(row) for row in rows]):  # columns, and plain dicts
        with engine.begin() as connection:
            connection.execute(sa.delete(table))
        assert VesselRepository(engine).upsert(given) == 5
        assert _stored(engine, table) == reference


def test_an_older_report_never_overwrites_a_newer_stored_vessel(engine: sa.Engine) -> None:
    picture = VesselPicture()
    repo = VesselRepository(engine)

    def report(minutes: int, lat: float) -> pa.Table:
        row = {"mmsi": 574000001, "time": T0 + timedelta(minutes=minutes), "lat": lat, "lon": 107.0}
        return pa.Table.from_pylist([row], schema=POSITION_SCHEMA)

    picture.apply(report(10, 10.5), STATIC_SCHEMA.empty_table())
    assert repo.upsert(picture.dirty_rows()) == 1
    picture.clear_dirty()
    picture.apply(report(0, 9.0), STATIC_SCHEMA.empty_table())  # late or replayed
    assert repo.upsert(picture.dirty_rows()) == 1  # counted, not applied
    (row,) = repo.load_all()
    assert (row["lat"], row["time"], row["positions"]) == (10.5, T0 + timedelta(minutes=10), 2)
    stored = _stored(engine, Vessel.__table__)
    repo.upsert(picture.dirty_rows())  # persisting again (a restart) changes nothing
    assert _stored(engine, Vessel.__table__) == stored


def _events() -> list[dict[str, Any]]:
    t0_us = int(T0.timestamp()) * 1_000_000
    gap = Event("ais_gap", 412000001, t0_us, 11.0, 112.0, end_us=t0_us + 13 * 3_600_000_000)
    gap.details = {"gap_h": 13.0, "overdue": False, "shore_nm": 60.0}
    meet = Event("encounter", 412000002, t0_us, 11.1234567, 112.7654321, other_mmsi=563000001)
    meet.details = {"min_distance_m": 120.5, "n_reports": 4}
    entry = Event("zone_entry", 574000001, t0_us + 999_999, -0.5, 179.9, zone="ALPHA 'Ω'")
    entry.details = {"zone_kind": "exercise_area", "note": 'quote " and \\\\'}
    return [e.to_json() for e in (gap, meet, entry)]


def test_events_are_stored_as_sqlalchemy_stores_them(engine: sa.Engine) -> None:
    events = _events()
    table = DetectorEvent.__table__
    now = datetime.now(UTC)

    def when(text: str | None) -> datetime | None:
        return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00"))

    reference_rows = [
        {
            **{k: e[k] for k in ("id", "kind", "mmsi", "other_mmsi", "zone", "lat", "lon")},
            "start_time": when(e["start"]),
            "end_time": when(e["end"]),
            "details": e["details"],
            "updated_at": now,
        }
        for e in events
    ]
    with engine.begin() as connection:
        connection.execute(sa.insert(table), reference_rows)
    reference = _stored(engine, table)
    with engine.begin() as connection:
        connection.execute(sa.delete(table))
    assert EventRepository(engine).upsert(events) == 3
    assert _stored(engine, table) == reference


def test_events_update_in_place_and_the_last_of_an_id_in_a_batch_wins(
    engine: sa.Engine,
) -> None:
    repo = EventRepository(engine)
    first, *others = _events()
    assert repo.upsert([first, *others]) == 3
    grown = {**first, "end": "2025-03-02T02:00:00Z", "details": {**first["details"], "gap_h": 14}}
    assert repo.upsert([grown, first, grown]) == 1
    assert repo.count() == 3
    stored = repo.get(first["id"])
    assert stored is not None
    assert stored.pop("updated") is not None
    assert stored == grown
    for event in others:
        again = repo.get(event["id"])
        assert again is not None and {k: again[k] for k in event} == event
    assert repo.upsert([]) == 0
