# ruff: noqa: E501  (the fixtures are real header lines, kept whole)
"""Public AIS CSV archives: both layouts, NA handling, bad rows, hostile names."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from jointwatch.errors import SourceError
from jointwatch.sources.csv_archive import (
    POSITION_SCHEMA,
    STATIC_SCHEMA,
    CsvStats,
    detect_csv_layout,
    read_csv_archive,
)

MARINECADASTRE = """\
MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,Length,Width,Draft,Cargo,TranscieverClass
366123456,2023-01-01T00:00:01,29.5,-94.8,12.3,45.0,44,"<script>alert(1)</script>",IMO9123456,WDC1234,70,0,180,30,9.5,70,A
366123456,2023-01-01T00:01:01,29.51,-94.79,102.3,360.0,511,NA,NA,NA,NA,NA,NA,NA,NA,NA,A
367000001,2023-01-01T00:00:05,29.0,-94.0,3.1,200.5,511,"=HYPERLINK(""x"")",,,37,,12,4,,,B
367000002,not-a-date,29.0,-94.0,1,45.0,44,X,,,37,,12,4,,,B
367000003,2023-01-01T00:00:06,29.0,-94.0,abc,45.0,44,Y,,,37,,12,4,,,B
367000004,2023-01-01T00:00:07,91,181,1,45.0,44,Z,,,52,,30,9,,,A
"""

# Status and Cargo missing, the correct TransceiverClass spelling.
MARINECADASTRE_OLD = """\
MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Length,Width,Draft,TransceiverClass
538001234,2019-06-30T23:59:59,25.1,-80.1,0.0,0.0,511,SEA BREEZE,IMO0000000,V7AB2,80,250,44,12.1,A
"""

DMA = """\
# Timestamp,Type of mobile,MMSI,Latitude,Longitude,Navigational status,ROT,SOG,COG,Heading,IMO,Callsign,Name,Ship type,Cargo type,Width,Length,Type of position fixing device,Draught,Destination,ETA,Data source type,A,B,C,D
01/02/2024 13:45:07,Class A,219000001,55.6,12.6,Under way using engine,0.0,11.2,181.3,180,9301234,OXAB2,DANA,Cargo,,20,120,GPS,6.5,DKCPH,02/02/2024 06:00:00,AIS,100,20,10,10
01/02/2024 13:45:09,Class A,219000001,55.601,12.6,At anchor,,0.1,,,Unknown,Unknown,,Undefined,,,,,,,,AIS,,,,
01/02/2024 13:45:10,Class B,219000002,91.0,181.0,Unknown value,,,,,Unknown,,"=cmd|' /C calc'!A0",Pleasure,,3,10,,,,,AIS,,,,
01/02/2024 13:46:00,Class A,219000003,56.0,11.0,Engaged in fishing,,3.2,90,90,,OU1234,KAREN,Fishing,,6,20,,3,,,AIS,,,,
45/13/2024 13:46:00,Class A,219000004,56.0,11.0,Moored,,0,0,0,,,BAD DATE,Tanker,,6,20,,3,,,AIS,,,,
"""


def _read(path: Path, **kw: object) -> tuple[pa.Table, pa.Table, CsvStats]:
    stats = CsvStats()
    parts = list(read_csv_archive(path, stats=stats, **kw))  # type: ignore[arg-type]
    positions = pa.concat_tables([p for p, _ in parts]) if parts else POSITION_SCHEMA.empty_table()
    static = pa.concat_tables([s for _, s in parts]) if parts else STATIC_SCHEMA.empty_table()
    return positions, static, stats


def test_marinecadastre_rows_become_positions_and_static(tmp_path: Path) -> None:
    path = tmp_path / "AIS_2023_01_01.csv"
    path.write_text(MARINECADASTRE)
    positions, static, stats = _read(path)
    assert positions.schema.equals(POSITION_SCHEMA)
    assert static.schema.equals(STATIC_SCHEMA)
    rows = positions.to_pylist()
    assert [r["mmsi"] for r in rows] == [366123456, 366123456, 367000001]
    first, na_row, class_b = rows
    assert first["time"] == datetime(2023, 1, 1, 0, 0, 1, tzinfo=UTC)
    assert (first["sog_kn"], first["heading_deg"], first["nav_status"], first["msg_type"]) == (
        pytest.approx(12.3),
        44,
        0,
        1,
    )
    # 102.3 / 360 / 511 and NA are "not available": null, never the sentinel.
    assert (na_row["sog_kn"], na_row["cog_deg"], na_row["heading_deg"], na_row["nav_status"]) == (
        None,
        None,
        None,
        None,
    )
    assert class_b["msg_type"] == 18 and class_b["source"] == "csv:AIS_2023_01_01.csv"
    assert stats.bad_rows == 2 and stats.no_position == 1 and stats.rows == 6

    by_mmsi = {r["mmsi"]: r for r in static.to_pylist()}
    assert by_mmsi[366123456]["shipname"] == "<script>alert(1)</script>"  # kept verbatim
    assert by_mmsi[366123456]["imo"] == 9123456
    assert by_mmsi[366123456]["time"] == datetime(2023, 1, 1, 0, 1, 1, tzinfo=UTC)
    assert by_mmsi[367000001]["shipname"] == '=HYPERLINK("x")'
    assert by_mmsi[367000001]["ais_class"] == "B"
    assert by_mmsi[367000004]["ship_type"] == 52  # no position, static still known


def test_older_marinecadastre_layout_without_status_or_cargo(tmp_path: Path) -> None:
    path = tmp_path / "old.csv.gz"
    path.write_bytes(gzip.compress(MARINECADASTRE_OLD.encode()))
    positions, static, _ = _read(path)
    assert positions.num_rows == 1 and positions["nav_status"][0].as_py() is None
    row = static.to_pylist()[0]
    assert row["imo"] is None and row["ship_type"] == 80 and row["draught_m"] == pytest.approx(12.1)


def test_dma_layout_day_first_dates_and_text_codes(tmp_path: Path) -> None:
    path = tmp_path / "aisdk-2024-02-01.csv"
    path.write_text(DMA)
    positions, static, stats = _read(path)
    rows = positions.to_pylist()
    assert [r["mmsi"] for r in rows] == [219000001, 219000001, 219000003]
    assert rows[0]["time"] == datetime(2024, 2, 1, 13, 45, 7, tzinfo=UTC)
    assert [r["nav_status"] for r in rows] == [0, 1, 7]
    assert stats.bad_rows == 1 and stats.no_position == 1
    by_mmsi = {r["mmsi"]: r for r in static.to_pylist()}
    assert by_mmsi[219000001]["ship_type"] == 70 and by_mmsi[219000001]["imo"] == 9301234
    assert by_mmsi[219000001]["callsign"] == "OXAB2"  # "Unknown" later does not erase it
    assert by_mmsi[219000001]["destination"] == "DKCPH"
    assert by_mmsi[219000002]["ship_type"] == 37 and by_mmsi[219000002]["ais_class"] == "B"
    assert by_mmsi[219000002]["shipname"] == "=cmd|' /C calc'!A0"
    assert by_mmsi[219000003]["ship_type"] == 30


def test_large_file_is_read_in_chunks(tmp_path: Path) -> None:
    header, row = MARINECADASTRE.splitlines()[:2]
    path = tmp_path / "big.csv"
    path.write_text(header + "\n" + "\n".join([row] * 20_000) + "\n")
    parts = list(read_csv_archive(path, chunk_rows=1000))
    assert len(parts) > 5
    assert sum(p.num_rows for p, _ in parts) == 20_000


def test_layout_detection() -> None:
    assert detect_csv_layout(MARINECADASTRE.splitlines()[0]) == "marinecadastre"
    assert detect_csv_layout(DMA.splitlines()[0].split(",")) == "dma"
    with pytest.raises(SourceError, match="unrecognised CSV header"):
        detect_csv_layout("a,b,c")
