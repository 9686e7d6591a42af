"""VesselPicture: latest state per vessel, merge rules, area queries and persistence rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from jointwatch.picture import vessels as vessels_module
from jointwatch.picture.mid import flag_for_mmsi
from jointwatch.picture.schema import POSITION_SCHEMA, STATIC_SCHEMA
from jointwatch.picture.vessels import VesselPicture

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def positions(*rows: dict[str, Any]) -> pa.Table:
    base = {
        "time": T0,
        "lat": 10.0,
        "lon": 107.0,
        "sog_kn": 10.0,
        "cog_deg": 90.0,
        "heading_deg": 90,
        "nav_status": 0,
        "msg_type": 1,
        "source": "rx1",
    }
    return pa.Table.from_pylist([{**base, **row} for row in rows], schema=POSITION_SCHEMA)


def static(*rows: dict[str, Any]) -> pa.Table:
    return pa.Table.from_pylist([{"time": T0, **row} for row in rows], schema=STATIC_SCHEMA)


def no_static() -> pa.Table:
    return STATIC_SCHEMA.empty_table()


def test_newest_position_in_a_batch_wins_whatever_the_row_order() -> None:
    picture = VesselPicture()
    changed = picture.apply(
        positions(
            {"mmsi": 574000001, "time": T0 + timedelta(minutes=2), "lat": 10.2},
            {"mmsi": 574000001, "time": T0, "lat": 10.0},
            {"mmsi": 574000001, "time": T0 + timedelta(minutes=1), "lat": 10.1},
        ),
        no_static(),
    )
    assert changed == {574000001}
    vessel = picture.get(574000001)
    assert vessel is not None
    assert vessel["lat"] == 10.2
    assert vessel["positions"] == 3
    assert vessel["time"] == "2025-03-01T12:02:00.000Z"


def test_out_of_order_batch_does_not_move_a_ship_backwards() -> None:
    picture = VesselPicture()
    picture.apply(positions({"mmsi": 366000001, "time": T0, "lat": 20.0}), no_static())
    changed = picture.apply(
        positions({"mmsi": 366000001, "time": T0 - timedelta(minutes=5), "lat": 19.0}),
        no_static(),
    )
    assert changed == set()
    vessel = picture.get(366000001)
    assert vessel is not None
    assert vessel["lat"] == 20.0
    assert vessel["positions"] == 2


def test_not_available_fields_are_none_in_the_detail() -> None:
    picture = VesselPicture()
    picture.apply(
        positions(
            {
                "mmsi": 533000001,
                "sog_kn": None,
                "cog_deg": None,
                "heading_deg": None,
                "nav_status": None,
                "msg_type": 18,
            }
        ),
        no_static(),
    )
    vessel = picture.get(533000001)
    assert vessel is not None
    assert vessel["sog_kn"] is None and vessel["cog_deg"] is None
    assert vessel["heading_deg"] is None and vessel["nav_status"] is None
    assert vessel["ais_class"] == "B"


def test_static_parts_merge_and_detail_carries_flag_and_type() -> None:
    picture = VesselPicture()
    picture.apply(positions({"mmsi": 574000002}), no_static())
    picture.apply(
        positions(), static({"mmsi": 574000002, "shipname": "HAI DANG 01", "ais_class": "B"})
    )
    changed = picture.apply(
        positions(),
        static(
            {
                "mmsi": 574000002,
                "time": T0 + timedelta(seconds=10),
                "ship_type": 30,
                "callsign": "XVAB",
                "length_m": 24.0,
                "beam_m": 6.0,
                "ais_class": "B",
            }
        ),
    )
    assert changed == {574000002}
    vessel = picture.get(574000002)
    assert vessel is not None
    assert vessel["name"] == "HAI DANG 01"
    assert vessel["callsign"] == "XVAB"
    assert (vessel["ship_type"], vessel["type_group"]) == (30, "fishing")
    assert vessel["ship_type_text"] == "Fishing"
    assert (vessel["length_m"], vessel["beam_m"]) == (24.0, 6.0)
    assert (vessel["flag"], vessel["flag_name"]) == ("VNM", "Viet Nam")
    assert vessel["ais_class"] == "B"


def test_older_static_report_does_not_overwrite_a_newer_one() -> None:
    picture = VesselPicture()
    picture.apply(positions(), static({"mmsi": 412000001, "destination": "SHANGHAI"}))
    picture.apply(
        positions(),
        static({"mmsi": 412000001, "time": T0 - timedelta(hours=1), "destination": "OLD"}),
    )
    vessel = picture.get(412000001)
    assert vessel is not None and vessel["destination"] == "SHANGHAI"


def test_unchanged_static_report_is_not_reported_as_a_change() -> None:
    picture = VesselPicture()
    picture.apply(positions(), static({"mmsi": 412000002, "shipname": "A"}))
    later = static({"mmsi": 412000002, "time": T0 + timedelta(minutes=6), "shipname": "A"})
    assert picture.apply(positions(), later) == set()


def test_bbox_returns_only_vessels_inside() -> None:
    picture = VesselPicture()
    picture.apply(
        positions(
            {"mmsi": 563000001, "lat": 1.2, "lon": 103.8},
            {"mmsi": 548000001, "lat": 14.5, "lon": 120.9},
        ),
        static({"mmsi": 999999999 - 1, "shipname": "NO POSITION YET"}),
    )
    found = picture.in_bbox(100.0, 0.0, 105.0, 5.0)
    assert [v["mmsi"] for v in found] == [563000001]
    assert set(found[0]) == {
        "mmsi",
        "name",
        "lat",
        "lon",
        "sog_kn",
        "cog_deg",
        "heading_deg",
        "type_group",
        "flag",
        "time",
        "ais_class",
    }
    assert len(picture) == 3


def test_bbox_crossing_the_antimeridian_wraps_around() -> None:
    picture = VesselPicture()
    picture.apply(
        positions(
            {"mmsi": 512000001, "lat": -20.0, "lon": 179.5},
            {"mmsi": 512000002, "lat": -20.0, "lon": -179.5},
            {"mmsi": 512000003, "lat": -20.0, "lon": 0.0},
        ),
        no_static(),
    )
    found = picture.in_bbox(170.0, -30.0, -170.0, -10.0)
    assert sorted(v["mmsi"] for v in found) == [512000001, 512000002]


def test_bbox_limit_keeps_the_most_recently_heard() -> None:
    picture = VesselPicture()
    picture.apply(
        positions(*[{"mmsi": 563000100 + i, "time": T0 + timedelta(seconds=i)} for i in range(10)]),
        no_static(),
    )
    found = picture.in_bbox(-180, -90, 180, 90, limit=3)
    assert [v["mmsi"] for v in found] == [563000109, 563000108, 563000107]


def test_many_vessels_grow_the_picture() -> None:
    picture = VesselPicture(capacity=4)
    batch = positions(*[{"mmsi": 200000000 + i, "lat": i / 1000} for i in range(5000)])
    assert len(picture.apply(batch, no_static())) == 5000
    assert len(picture) == 5000
    summary = picture.summary(200004999)
    assert summary is not None and summary["lat"] == 4.999
    assert picture.summaries([200000001, 123]) == [picture.summary(200000001)]


def test_dirty_rows_restore_an_identical_picture() -> None:
    picture = VesselPicture()
    picture.apply(
        positions({"mmsi": 574000003, "sog_kn": 7.5, "heading_deg": None}),
        static(
            {
                "mmsi": 574000003,
                "shipname": "TAU",
                "imo": 9000001,
                "ship_type": 70,
                "draught_m": 5.3,
                "ais_class": "A",
            }
        ),
    )
    rows = picture.dirty_rows()
    assert [row["mmsi"] for row in rows] == [574000003]
    assert rows[0]["time"] == T0
    picture.clear_dirty()
    assert picture.dirty_rows() == []

    restored = VesselPicture()
    restored.load(rows)
    assert restored.get(574000003) == picture.get(574000003)
    assert restored.dirty_rows() == []
    # Restored vessels keep rejecting older data.
    restored.apply(
        positions({"mmsi": 574000003, "time": T0 - timedelta(hours=1), "lat": 0.0}), no_static()
    )
    vessel = restored.get(574000003)
    assert vessel is not None and vessel["lat"] == 10.0


def test_dirty_rows_are_complete_store_rows_with_none_for_the_unknown() -> None:
    picture = VesselPicture()
    picture.apply(
        positions(
            {"mmsi": 574000003, "sog_kn": 7.5, "cog_deg": None, "heading_deg": None},
            {"mmsi": 995741234, "time": T0 + timedelta(seconds=1), "msg_type": 21},
            {"mmsi": 111574001, "nav_status": None, "msg_type": None, "source": None},
        ),
        static(
            {
                "mmsi": 574000003,
                "time": T0 + timedelta(minutes=5),
                "shipname": "TAU",
                "imo": 9000001,
                "ship_type": 70,
                "draught_m": 5.3,
            }
        ),
    )
    rows = picture.dirty_rows()
    assert [row["mmsi"] for row in rows] == [111574001, 574000003, 995741234]  # first heard
    sar, ship, aton = rows
    assert ship == {
        "mmsi": 574000003,
        "name": "TAU",
        "callsign": None,
        "imo": 9000001,
        "ship_type": 70,
        "length_m": None,
        "beam_m": None,
        "draught_m": 5.3,
        "destination": None,
        "ais_class": "A",
        "flag": "VNM",
        "type_group": "cargo",
        "lat": 10.0,
        "lon": 107.0,
        "sog_kn": 7.5,
        "cog_deg": None,
        "heading_deg": None,
        "nav_status": 0,
        "msg_type": 1,
        "time": T0,
        "static_time": T0 + timedelta(minutes=5),
        "source": "rx1",
        "positions": 1,
    }
    assert list(sar) == list(ship) == list(aton)  # the table's column order
    assert (aton["flag"], aton["type_group"], aton["ais_class"]) == ("VNM", "unknown", None)
    assert (aton["msg_type"], aton["time"], aton["static_time"]) == (
        21,
        T0 + timedelta(seconds=1),
        None,
    )
    assert (sar["flag"], sar["nav_status"], sar["msg_type"], sar["source"]) == (
        "VNM",
        None,
        None,
        None,
    )


def test_dirty_rows_give_every_identity_the_flag_of_its_mid() -> None:
    mmsis = [
        *(mid * 1_000_000 + 123_456 for mid in range(200, 800)),  # ship stations, every MID
        12_345_678,  # 8 digits
        1,
        5_741_234,  # coast station 00MIDxxxx
        57_412_345,  # group 0MIDxxxxx
        111_574_001,  # SAR aircraft
        970_123_456,  # AIS-SART: no MID
        982_741_234,  # craft associated with a parent ship
        992_741_234,  # aid to navigation
        857_412_345,  # handheld
        999_999_999,
    ]
    picture = VesselPicture()
    picture.apply(positions(*[{"mmsi": m} for m in mmsis]), no_static())
    rows = picture.dirty_rows()
    flags = {m: (f.alpha3 if (f := flag_for_mmsi(m)) else None) for m in mmsis}
    assert {row["mmsi"]: row["flag"] for row in rows} == flags
    assert flags[574_123_456] == "VNM" and flags[200_123_456] is None


def test_unknown_vessel_gives_none() -> None:
    picture = VesselPicture()
    assert picture.get(574999999) is None
    assert picture.summary(574999999) is None


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.lists(st.integers(1, 60), unique=True, max_size=25).map(
            lambda ms: [m * 1_000_003 for m in ms]
        ),
        max_size=8,
    )
)
def test_slots_are_given_in_order_of_first_sight_and_found_again(batches: list[list[int]]) -> None:
    # The reference: a dict that numbers each MMSI when first seen, in batch order.
    picture = VesselPicture(capacity=2)
    reference: dict[int, int] = {}
    for batch in batches:
        for mmsi in batch:
            reference.setdefault(mmsi, len(reference))
        got = picture._slots(np.array(batch, dtype=np.int64))
        assert got.tolist() == [reference[m] for m in batch]
    assert picture.mmsis() == list(reference)
    assert all(m in picture for m in reference)


def test_sources_keep_their_text_and_nulls() -> None:
    column = pa.chunked_array([["rx-a", None, "rx-b"], ["rx-a", "rx-b"]], pa.string())
    got = vessels_module._strings(column)
    assert got.dtype == object
    assert got.tolist() == ["rx-a", None, "rx-b", "rx-a", "rx-b"]
