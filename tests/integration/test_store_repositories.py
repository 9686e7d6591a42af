"""The relational store on SQLite and PostgreSQL: migrations, vessels, counters."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest
import sqlalchemy as sa

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
