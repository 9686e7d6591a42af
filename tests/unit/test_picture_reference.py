"""split_decoded and VesselPicture.apply against their rules written row by row.

Why: both are vectorised (NumPy masks, hash grouping, reductions per vessel) for speed. The
references below state the same rules the plainest way, one row at a time, and random
batches (repeated MMSIs, nulls, NaN, type 24 parts A and B, not-available values, equal and
out-of-order times, missing columns, several chunks) must give identical tables and an
identical picture: every column of every vessel, slot order, changed MMSIs and dirty rows.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from jointwatch.picture.positions import POSITION_TYPES, STATIC_TYPES, split_decoded
from jointwatch.picture.schema import POSITION_SCHEMA, STATIC_SCHEMA
from jointwatch.picture.vessels import VesselPicture
from tests.unit.test_picture_positions import DECODED_TYPES

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NO_TIME = int(np.iinfo(np.int64).min)
NAN = math.nan
FIELDS = {
    "name": "shipname",
    "callsign": "callsign",
    "imo": "imo",
    "ship_type": "ship_type",
    "length_m": "length_m",
    "beam_m": "beam_m",
    "draught_m": "draught_m",
    "destination": "destination",
    "ais_class": "ais_class",
}
# The real decoder's column types (the hand-built ones of DECODED_TYPES are unsigned).
WIDE_TYPES = {
    name: pa.int64() if pa.types.is_unsigned_integer(t) else t for name, t in DECODED_TYPES.items()
}

# ---- the references ----------------------------------------------------------------------


def f32(value: float | None) -> float | None:
    return None if value is None else float(np.float32(value))


def reference_split(decoded: pa.Table) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict]:
    positions, static, rejected = [], [], Counter[str]()
    for row in decoded.to_pylist():
        msg_type, mmsi = row.get("msg_type"), row.get("mmsi")
        is_position, is_static = msg_type in POSITION_TYPES, msg_type in STATIC_TYPES
        if not is_position and not is_static:
            continue
        if mmsi is None or not 0 < mmsi <= 999_999_999:
            rejected["invalid_mmsi"] += 1
            continue
        if is_position:
            lat, lon = row.get("lat"), row.get("lon")
            if lat is None or lon is None or not (abs(lat) <= 90 and abs(lon) <= 180):
                rejected["no_position"] += 1
            else:
                positions.append(reference_position(row))
        if is_static:
            static.append(reference_static(row))
    return positions, static, dict(rejected)


def reference_position(row: dict[str, Any]) -> dict[str, Any]:
    speed, course = row.get("speed"), row.get("course")
    heading, status = row.get("heading"), row.get("status")
    if speed is not None and (
        speed >= 102.25 or speed < 0 or (row["msg_type"] == 27 and speed >= 62.5)
    ):
        speed = None
    if course is not None and (course >= 360 or course < 0):
        course = None
    if heading is not None and not 0 <= heading <= 359:
        heading = None
    if status is not None and not 0 <= status <= 15:
        status = None
    return {
        "mmsi": row["mmsi"],
        "time": row.get("rx_time"),
        "lat": row["lat"],
        "lon": row["lon"],
        "sog_kn": f32(speed),
        "cog_deg": f32(course),
        "heading_deg": heading,
        "nav_status": status,
        "msg_type": row["msg_type"],
        "source": row.get("source"),
    }


def reference_static(row: dict[str, Any]) -> dict[str, Any]:
    partno = row.get("partno")
    type24 = row["msg_type"] == 24
    not_part_a = type24 and partno is not None and partno != 0
    not_part_b = type24 and partno is not None and partno != 1

    def text(name: str) -> str | None:
        value = row.get(name)
        return None if value is None else value.strip(" @") or None

    def positive(value: Any) -> Any:
        return None if value is None or value <= 0 else value  # NaN stays

    def total(a: str, b: str) -> int | None:
        x, y = row.get(a), row.get(b)
        return None if x is None or y is None else x + y

    return {
        "mmsi": row["mmsi"],
        "time": row.get("rx_time"),
        "shipname": None if not_part_a else text("shipname"),
        "callsign": None if not_part_b else text("callsign"),
        "imo": positive(row.get("imo")),
        "ship_type": None if not_part_b else positive(row.get("ship_type")),
        "length_m": None if not_part_b else f32(positive(total("to_bow", "to_stern"))),
        "beam_m": None if not_part_b else f32(positive(total("to_port", "to_starboard"))),
        "draught_m": f32(positive(row.get("draught"))),
        "destination": text("destination"),
        "ais_class": "A" if row["msg_type"] == 5 else "B",
    }


def micros(time: datetime | None) -> int:
    return NO_TIME if time is None else (time - EPOCH) // timedelta(microseconds=1)


def newer_or_equal(row: dict[str, Any], held: dict[str, Any] | None) -> bool:
    """Row order: by time, a row without time after all; of equal keys the later row wins."""

    def key(r: dict[str, Any]) -> tuple[bool, int]:
        return (r["time"] is None, 0 if r["time"] is None else micros(r["time"]))

    return held is None or key(row) >= key(held)


class RowByRowPicture(VesselPicture):
    """The merge rules one row at a time; queries and persistence are VesselPicture's."""

    def apply(self, positions: pa.Table, static: pa.Table) -> set[int]:
        changed: set[int] = set()
        c = self._cols
        latest: dict[int, dict[str, Any]] = {}
        counts = Counter[int]()
        for row in positions.to_pylist():
            counts[row["mmsi"]] += 1
            if newer_or_equal(row, latest.get(row["mmsi"])):
                latest[row["mmsi"]] = row
        for mmsi in sorted(latest):  # vessels new to the picture: in MMSI order
            row, slot = latest[mmsi], self._slot(mmsi)
            c["positions"][slot] += counts[mmsi]
            c["dirty"][slot] = True
            time_us = micros(row["time"])
            if time_us <= c["time_us"][slot]:
                continue
            changed.add(mmsi)
            c["time_us"][slot] = time_us
            for name, none in (
                *(("lat", NAN), ("lon", NAN), ("sog_kn", NAN), ("cog_deg", NAN)),
                *(("heading_deg", -1), ("nav_status", -1), ("msg_type", 0), ("source", None)),
            ):
                c[name][slot] = none if row[name] is None else row[name]
            ais_class = {1: "A", 2: "A", 3: "A", 18: "B", 19: "B"}.get(row["msg_type"])
            if ais_class is not None:
                self._merge(slot, "ais_class", ais_class, time_us)
        rows = static.to_pylist()
        for name, column in FIELDS.items():  # field by field
            newest: dict[int, dict[str, Any]] = {}
            for row in rows:
                if row[column] is not None and newer_or_equal(row, newest.get(row["mmsi"])):
                    newest[row["mmsi"]] = row
            for mmsi in sorted(newest):
                value = newest[mmsi][column]
                if isinstance(value, float):
                    value = pc.round(pa.scalar(value, pa.float64()), 2).as_py()
                if self._merge(self._slot(mmsi), name, value, micros(newest[mmsi]["time"])):
                    changed.add(mmsi)
        return changed

    def _merge(self, slot: int, name: str, value: Any, time_us: int) -> bool:
        c = self._cols
        if time_us < c[f"{name}__time_us"][slot]:
            return False
        c[f"{name}__time_us"][slot] = time_us
        if c[name][slot] == value:
            return False
        c[name][slot] = value
        c["dirty"][slot] = True
        return True

    def _slot(self, mmsi: int) -> int:
        if mmsi not in self._index:
            self._reserve(self._n + 1)
            self._index[mmsi] = self._n
            self._cols["mmsi"][self._n] = mmsi
            self._n += 1
        return self._index[mmsi]


# ---- random batches ----------------------------------------------------------------------

MMSIS = [574000001, 574000002, 366000003, 412000004, 12345, 999999999, 200000000, 533000008]


def random_message(rnd: random.Random, time: datetime) -> dict[str, Any]:
    pick = rnd.choice
    return {
        "msg_type": pick([1, 1, 2, 3, 18, 18, 19, 27, 5, 5, 24, 24, 24, 4, 21, None]),
        "mmsi": pick(MMSIS) if rnd.random() < 0.9 else pick([0, 1_000_000_000, None]),
        "lat": pick([None, 91.0, -95.0, NAN, 90.0, -90.0, 10.5, rnd.uniform(-90, 90)]),
        "lon": pick([None, 181.0, 180.0, -180.0, NAN, 107.2, rnd.uniform(-180, 180)]),
        "speed": pick([None, 102.3, 102.2, 63.0, 62.5, 62.4, -1.0, NAN, 0.0, 12.3]),
        "course": pick([None, 360.0, 359.9, 511.0, -0.5, NAN, 0.0, 45.0]),
        "heading": pick([None, 511, 360, 359, 0, -1, 44]),
        "status": pick([None, 0, 15, 16, -1, 5]),
        "shipname": pick([None, "", "   ", "@@@@", "EVER GIVEN  @@", "@X@", "TAU"]),
        "callsign": pick([None, "", "H3RC", "9V1234 @", "@@"]),
        "imo": pick([None, 0, -5, 9811000, 9000001]),
        "ship_type": pick([None, 0, -1, 30, 70, 300]),
        "to_bow": pick([None, 0, 6, 200]),
        "to_stern": pick([None, 0, 4, 200]),
        "to_port": pick([None, 0, 2, 30]),
        "to_starboard": pick([None, 0, 2, 29]),
        "draught": pick([None, 0.0, -1.0, NAN, 14.5, 5.3, 0.1]),
        "destination": pick([None, "", "SGSIN@@@@", "  SHANGHAI ", "@"]),
        "partno": pick([None, 0, 1, 1, 0, 2]),
        "rx_time": time + timedelta(seconds=rnd.choice([-20, 0, 0, 1, 5, 30])),
        "source": pick(["rx1", "rx2", None]),
    }


def random_decoded(rnd: random.Random, time: datetime) -> pa.Table:
    rows = [random_message(rnd, time) for _ in range(rnd.randint(0, 40))]
    types = WIDE_TYPES if rnd.random() < 0.5 else DECODED_TYPES
    optional = ["status", "imo", "partno", "heading", "shipname", "draught", "to_port", "source"]
    missing = set(rnd.sample(optional, rnd.randint(0, 3))) if rnd.random() < 0.3 else set()
    columns = {}
    for name, type_ in types.items():
        if name in missing:
            continue
        values = [row.get(name) for row in rows]
        if pa.types.is_unsigned_integer(type_):
            values = [None if v is not None and v < 0 else v for v in values]
        if name == "ship_type" and type_ == pa.uint8():
            values = [None if v is not None and v > 255 else v for v in values]
        columns[name] = pa.array(values, type_)
    table = pa.table(columns)
    if table.num_rows > 2 and rnd.random() < 0.3:  # several chunks
        cut = rnd.randrange(1, table.num_rows)
        table = pa.concat_tables([table.slice(0, cut), table.slice(cut)])
    return table


def random_picture_tables(rnd: random.Random, time: datetime) -> tuple[pa.Table, pa.Table]:
    """Tables straight to the picture (as from a CSV archive): some times null, some NaN."""
    pick = rnd.choice
    mmsis = [*MMSIS, *range(563000000, 563000012)]

    def when() -> datetime | None:
        return None if rnd.random() < 0.05 else time + timedelta(seconds=pick([-60, 0, 0, 2, 9]))

    positions = [
        {
            "mmsi": pick(mmsis),
            "time": when(),
            "lat": pick([10.0, -33.5, 0.0, 89.9]),
            "lon": pick([107.0, -0.5, 179.9]),
            "sog_kn": pick([None, NAN, 7.5, 0.0]),
            "cog_deg": pick([None, 90.0, 359.9]),
            "heading_deg": pick([None, 0, 90]),
            "nav_status": pick([None, 0, 5]),
            "msg_type": pick([1, 3, 18, 19, 27, 21, None]),
            "source": pick(["rx1", "csv", None]),
        }
        for _ in range(rnd.randint(0, 30))
    ]
    static = [
        {
            "mmsi": pick(mmsis),
            "time": when(),
            "shipname": pick([None, "A", "B"]),
            "callsign": pick([None, "XVAB"]),
            "imo": pick([None, 9000001, 9000002]),
            "ship_type": pick([None, 30, 70]),
            "length_m": pick([None, 24.0, 120.0]),
            "beam_m": pick([None, 6.0]),
            "draught_m": pick([None, 5.3, 14.5, NAN]),
            "destination": pick([None, "SGSIN", "VNSGN"]),
            "ais_class": pick([None, "A", "B"]),
        }
        for _ in range(rnd.randint(0, 15))
    ]
    return (
        pa.Table.from_pylist(positions, schema=POSITION_SCHEMA),
        pa.Table.from_pylist(static, schema=STATIC_SCHEMA),
    )


# ---- comparisons -------------------------------------------------------------------------


def norm(value: Any) -> Any:
    """Comparable form: NaN equal to NaN, floats told apart from ints."""
    if isinstance(value, dict):
        return {k: norm(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [norm(v) for v in value]
    if isinstance(value, float):
        return ("float", "nan" if math.isnan(value) else value)
    return value


def assert_same_picture(new: VesselPicture, ref: VesselPicture) -> None:
    assert new.mmsis() == ref.mmsis()
    assert len(new) == len(ref)
    for name in new._cols:
        assert norm(new._cols[name][: len(new)].tolist()) == norm(
            ref._cols[name][: len(ref)].tolist()
        ), name
    assert norm([new.get(m) for m in new.mmsis()]) == norm([ref.get(m) for m in ref.mmsis()])
    assert norm(list(new.dirty_rows())) == norm(list(ref.dirty_rows()))


@pytest.mark.parametrize("seed", range(60))
def test_split_and_apply_match_the_row_by_row_rules(seed: int) -> None:
    rnd = random.Random(seed)
    new, ref = VesselPicture(capacity=rnd.choice([1, 4, 1024])), RowByRowPicture()
    for _ in range(8):
        time = T0 + timedelta(seconds=rnd.randint(-90, 300))
        if rnd.random() < 0.7:
            decoded = random_decoded(rnd, time)
            batch = split_decoded(decoded)
            positions, static, rejected = reference_split(decoded)
            assert batch.positions.schema == POSITION_SCHEMA
            assert batch.static.schema == STATIC_SCHEMA
            assert norm(batch.positions.to_pylist()) == norm(positions)
            assert norm(batch.static.to_pylist()) == norm(static)
            assert batch.rejected == rejected
            tables = batch.positions, batch.static
        else:
            tables = random_picture_tables(rnd, time)
        assert new.apply(*tables) == ref.apply(*tables)
        assert_same_picture(new, ref)
        if rnd.random() < 0.3:
            new.clear_dirty()
            ref.clear_dirty()
            assert_same_picture(new, ref)


def test_a_vessel_new_to_the_picture_takes_its_slot_with_its_first_field() -> None:
    """Slot (first-heard) order as the field-by-field merge gave it: by field, then MMSI."""
    static = pa.Table.from_pylist(
        [
            {"mmsi": 300000001, "time": T0, "callsign": "C"},
            {"mmsi": 300000003, "time": T0, "ais_class": "B"},
            {"mmsi": 300000002, "time": T0, "shipname": "N"},
            {"mmsi": 300000004, "time": T0},  # no value at all: not in the picture
        ],
        schema=STATIC_SCHEMA,
    )
    new, ref = VesselPicture(), RowByRowPicture()
    assert new.apply(POSITION_SCHEMA.empty_table(), static) == {300000001, 300000002, 300000003}
    ref.apply(POSITION_SCHEMA.empty_table(), static)
    assert new.mmsis() == [300000002, 300000001, 300000003]
    assert_same_picture(new, ref)


def test_a_row_without_time_wins_as_nulls_sorted_last_did() -> None:
    positions = pa.Table.from_pylist(
        [
            {"mmsi": 300000001, "time": T0, "lat": 1.0, "lon": 1.0, "msg_type": 1},
            {"mmsi": 300000001, "time": None, "lat": 2.0, "lon": 2.0, "msg_type": 1},
            {"mmsi": 300000001, "time": T0 + timedelta(hours=1), "lat": 3.0, "lon": 3.0},
        ],
        schema=POSITION_SCHEMA,
    )
    static = pa.Table.from_pylist(
        [
            {"mmsi": 300000001, "time": None, "shipname": "NO TIME"},
            {"mmsi": 300000001, "time": T0, "shipname": "TIMED"},
        ],
        schema=STATIC_SCHEMA,
    )
    new, ref = VesselPicture(), RowByRowPicture()
    assert new.apply(positions, static) == ref.apply(positions, static)
    assert_same_picture(new, ref)
    vessel = new.get(300000001)
    assert vessel is not None and vessel["name"] == "NO TIME" and vessel["positions"] == 3


def test_a_row_without_mmsi_is_refused_before_any_change() -> None:
    positions = pa.Table.from_pylist(
        [{"mmsi": None, "time": T0, "lat": 1.0, "lon": 1.0, "msg_type": 1}],
        schema=POSITION_SCHEMA,
    )
    picture = VesselPicture()
    with pytest.raises(ValueError, match="MMSI"):
        picture.apply(positions, STATIC_SCHEMA.empty_table())
    assert len(picture) == 0
