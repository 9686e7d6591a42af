"""split_decoded: decoded AIS rows into position and static tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from jointwatch.picture.positions import split_decoded
from jointwatch.picture.schema import POSITION_SCHEMA, STATIC_SCHEMA

RX = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

# The decoder's columns (pyais field names) and types, built by hand.
DECODED_TYPES: dict[str, pa.DataType] = {
    "msg_type": pa.uint8(),
    "mmsi": pa.uint32(),
    "lat": pa.float64(),
    "lon": pa.float64(),
    "speed": pa.float64(),
    "course": pa.float64(),
    "heading": pa.uint16(),
    "status": pa.uint8(),
    "turn": pa.float64(),
    "shipname": pa.string(),
    "callsign": pa.string(),
    "imo": pa.uint32(),
    "ship_type": pa.uint8(),
    "to_bow": pa.uint16(),
    "to_stern": pa.uint16(),
    "to_port": pa.uint8(),
    "to_starboard": pa.uint8(),
    "draught": pa.float64(),
    "destination": pa.string(),
    "partno": pa.uint8(),
    "name": pa.string(),
    "cs": pa.bool_(),
    "rx_time": pa.timestamp("us", tz="UTC"),
    "source": pa.string(),
}


def decoded(*rows: dict[str, Any]) -> pa.Table:
    """A decoder-shaped table: fields a row does not mention are null."""
    filled = [{"rx_time": RX, "source": "test", **row} for row in rows]
    columns = {name: [r.get(name) for r in filled] for name in DECODED_TYPES}
    return pa.table({name: pa.array(columns[name], DECODED_TYPES[name]) for name in columns})


def position(**fields: Any) -> dict[str, Any]:
    base = {
        "msg_type": 1,
        "mmsi": 574001234,
        "lat": 10.5,
        "lon": 107.2,
        "speed": 12.3,
        "course": 45.0,
        "heading": 44,
        "status": 0,
    }
    return {**base, **fields}


def test_position_rows_keep_values_and_follow_the_schema() -> None:
    batch = split_decoded(decoded(position()))
    assert batch.positions.schema == POSITION_SCHEMA
    row = batch.positions.to_pylist()[0]
    assert row["mmsi"] == 574001234
    assert row["time"] == RX
    assert (row["lat"], row["lon"]) == (10.5, 107.2)
    assert abs(row["sog_kn"] - 12.3) < 1e-5
    assert row["cog_deg"] == 45.0
    assert row["heading_deg"] == 44
    assert row["nav_status"] == 0
    assert row["msg_type"] == 1
    assert row["source"] == "test"
    assert batch.rejected == {}


def test_not_available_speed_course_heading_become_null() -> None:
    batch = split_decoded(decoded(position(speed=102.3, course=360.0, heading=511)))
    row = batch.positions.to_pylist()[0]
    assert row["sog_kn"] is None
    assert row["cog_deg"] is None
    assert row["heading_deg"] is None


def test_type_27_not_available_speed_and_course_become_null() -> None:
    batch = split_decoded(decoded(position(msg_type=27, speed=63.0, course=511.0, heading=None)))
    row = batch.positions.to_pylist()[0]
    assert row["sog_kn"] is None and row["cog_deg"] is None and row["heading_deg"] is None


def test_class_b_report_without_status_has_null_nav_status() -> None:
    batch = split_decoded(decoded(position(msg_type=18, status=None, mmsi=533000111)))
    assert batch.positions.column("nav_status").to_pylist() == [None]


def test_rows_without_position_are_dropped_and_counted() -> None:
    batch = split_decoded(
        decoded(position(lat=91.0), position(lon=181.0), position(lat=-95.0), position())
    )
    assert batch.positions.num_rows == 1
    assert batch.rejected == {"no_position": 3}


def test_invalid_mmsi_is_dropped_and_counted_once_per_message() -> None:
    batch = split_decoded(
        decoded(
            position(mmsi=0),
            position(mmsi=1_000_000_000),
            {"msg_type": 5, "mmsi": 0, "shipname": "X"},
            position(mmsi=12345),  # a short number is a valid 00MID/0MID style identity
        )
    )
    assert batch.positions.column("mmsi").to_pylist() == [12345]
    assert batch.static.num_rows == 0
    assert batch.rejected == {"invalid_mmsi": 3}


def test_base_stations_and_aids_to_navigation_are_not_vessels() -> None:
    batch = split_decoded(
        decoded(
            {"msg_type": 4, "mmsi": 2190047, "lat": 55.0, "lon": 12.0},
            {"msg_type": 21, "mmsi": 992191000, "lat": 55.0, "lon": 12.0, "name": "BUOY"},
        )
    )
    assert batch.positions.num_rows == 0
    assert batch.static.num_rows == 0
    assert batch.rejected == {}


def test_type_5_gives_class_a_static_with_dimensions_and_trimmed_text() -> None:
    batch = split_decoded(
        decoded(
            {
                "msg_type": 5,
                "mmsi": 366123456,
                "shipname": "EVER GIVEN  @@",
                "callsign": "H3RC",
                "imo": 9811000,
                "ship_type": 70,
                "to_bow": 200,
                "to_stern": 200,
                "to_port": 30,
                "to_starboard": 29,
                "draught": 14.5,
                "destination": "SGSIN@@@@",
            }
        )
    )
    assert batch.static.schema == STATIC_SCHEMA
    row = batch.static.to_pylist()[0]
    assert row["shipname"] == "EVER GIVEN"
    assert row["callsign"] == "H3RC"
    assert row["imo"] == 9811000
    assert row["ship_type"] == 70
    assert row["length_m"] == 400.0
    assert row["beam_m"] == 59.0
    assert abs(row["draught_m"] - 14.5) < 1e-5
    assert row["destination"] == "SGSIN"
    assert row["ais_class"] == "A"
    assert batch.positions.num_rows == 0


def test_static_not_available_values_become_null() -> None:
    batch = split_decoded(
        decoded(
            {
                "msg_type": 5,
                "mmsi": 412000001,
                "shipname": "   ",
                "callsign": "",
                "imo": 0,
                "ship_type": 0,
                "to_bow": 0,
                "to_stern": 0,
                "to_port": 0,
                "to_starboard": 0,
                "draught": 0.0,
                "destination": "@@@@@@@@@@@@@@@@@@@@",
            }
        )
    )
    row = batch.static.to_pylist()[0]
    for name in (
        "shipname",
        "callsign",
        "imo",
        "ship_type",
        "length_m",
        "beam_m",
        "draught_m",
        "destination",
    ):
        assert row[name] is None, name


def test_type_24_parts_carry_only_their_own_fields_as_class_b() -> None:
    batch = split_decoded(
        decoded(
            {"msg_type": 24, "mmsi": 563012345, "partno": 0, "shipname": "SEA BREEZE"},
            {
                "msg_type": 24,
                "mmsi": 563012345,
                "partno": 1,
                "ship_type": 37,
                "callsign": "9V1234",
                "to_bow": 6,
                "to_stern": 4,
                "to_port": 2,
                "to_starboard": 2,
            },
        )
    )
    part_a, part_b = batch.static.to_pylist()
    assert part_a["shipname"] == "SEA BREEZE"
    assert part_a["ship_type"] is None and part_a["length_m"] is None
    assert part_b["shipname"] is None
    assert (part_b["ship_type"], part_b["callsign"]) == (37, "9V1234")
    assert (part_b["length_m"], part_b["beam_m"]) == (10.0, 4.0)
    assert part_a["ais_class"] == part_b["ais_class"] == "B"


def test_type_19_is_both_a_class_b_position_and_static_report() -> None:
    batch = split_decoded(
        decoded(
            position(
                msg_type=19,
                mmsi=548000123,
                shipname="BANCA",
                ship_type=30,
                to_bow=8,
                to_stern=4,
                to_port=1,
                to_starboard=1,
                status=None,
            )
        )
    )
    assert batch.positions.column("msg_type").to_pylist() == [19]
    static = batch.static.to_pylist()[0]
    assert (static["shipname"], static["ship_type"], static["ais_class"]) == ("BANCA", 30, "B")


def test_batch_lacking_optional_columns_is_accepted() -> None:
    table = pa.table(
        {
            "msg_type": pa.array([18], pa.uint8()),
            "mmsi": pa.array([525000001], pa.uint32()),
            "lat": [-6.1],
            "lon": [106.8],
            "speed": [5.0],
            "course": [90.0],
            "heading": pa.array([511], pa.uint16()),
            "rx_time": pa.array([RX], pa.timestamp("us", tz="UTC")),
            "source": ["t"],
        }
    )
    batch = split_decoded(table)
    assert batch.positions.num_rows == 1
    assert batch.positions.column("nav_status").to_pylist() == [None]
    assert batch.static.num_rows == 0


def test_empty_batch_gives_empty_tables() -> None:
    batch = split_decoded(decoded().slice(0, 0))
    assert batch.positions.num_rows == 0 and batch.static.num_rows == 0
