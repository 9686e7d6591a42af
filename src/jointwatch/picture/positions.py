"""Split decoded AIS messages into the picture's position and static tables.

Why columnar: a busy feed brings tens of thousands of messages a second; every step here is
a pyarrow.compute kernel over whole columns, so the cost per message is a few nanoseconds
and no Python object is made per row.

The input is the decoder's table (pyais field names plus ``rx_time`` and ``source``). A
column the batch happens to lack is treated as all-null, so a batch holding only type 18
reports (no ``status``, no ``imo``) is still valid input.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from jointwatch.picture.schema import POSITION_SCHEMA, STATIC_SCHEMA, TIME_TYPE

__all__ = [
    "POSITION_TYPES",
    "STATIC_TYPES",
    "PictureBatch",
    "split_decoded",
]

#: Message types that report a vessel's position (4 is a base station: not a vessel).
POSITION_TYPES = (1, 2, 3, 18, 19, 27)
#: Message types that carry static or voyage data (21, aids to navigation, not yet used).
STATIC_TYPES = (5, 19, 24)

_CLASS_A_STATIC = (5,)
_CLASS_B_STATIC = (19, 24)
_MMSI_MAX = 999_999_999  # nine digits; 00MID coast stations are small numbers, still valid
# Speed over ground is in 0.1 kn: 1023 (102.3 kn) is "not available". Compare against a
# midpoint so a float32 round trip upstream cannot let the sentinel through.
_SPEED_NA_KN = 102.25
_SPEED_NA_TYPE27_KN = 62.5  # type 27 has a 6-bit whole-knot speed; 63 is "not available"
_COURSE_NA_DEG = 360.0  # 3600 (360.0 deg) is "not available", 3601-4095 must not be used
_HEADING_MAX_DEG = 359  # 511 is "not available"
_NAV_STATUS_MAX = 15


@dataclass(frozen=True)
class PictureBatch:
    """One decoded batch, split for the picture.

    ``rejected`` counts rows dropped by reason (``invalid_mmsi``, ``no_position``) so the
    node's statistics can explain every message that did not reach the map.
    """

    positions: pa.Table
    static: pa.Table
    rejected: dict[str, int] = field(default_factory=dict)


def split_decoded(decoded: pa.Table) -> PictureBatch:
    """Position rows (``POSITION_SCHEMA``) and static rows (``STATIC_SCHEMA``) of a batch.

    Not-available values become null; rows whose MMSI is not a nine-digit number, and
    position reports without a usable position, are dropped and counted.
    """
    if decoded.num_rows == 0:
        return PictureBatch(POSITION_SCHEMA.empty_table(), STATIC_SCHEMA.empty_table(), {})
    msg_type = _column(decoded, "msg_type", pa.int64())
    mmsi = _column(decoded, "mmsi", pa.int64())
    mmsi_ok = _filled(pc.and_(pc.greater(mmsi, 0), pc.less_equal(mmsi, _MMSI_MAX)))
    is_position = _filled(pc.is_in(msg_type, value_set=pa.array(POSITION_TYPES, pa.int64())))
    is_static = _filled(pc.is_in(msg_type, value_set=pa.array(STATIC_TYPES, pa.int64())))

    lat = _column(decoded, "lat", pa.float64())
    lon = _column(decoded, "lon", pa.float64())
    # Lat 91 and lon 181 are the standard's "not available"; any |lat| > 90 or |lon| > 180
    # is a corrupt report. NaN fails both comparisons, so it is caught too.
    has_position = _filled(
        pc.and_(
            pc.less_equal(pc.abs(lat), 90.0),
            pc.less_equal(pc.abs(lon), 180.0),
        )
    )
    vessel_message = pc.or_(is_position, is_static)
    rejected = {
        "invalid_mmsi": _count(pc.and_(vessel_message, pc.invert(mmsi_ok))),
        "no_position": _count(pc.and_(pc.and_(is_position, mmsi_ok), pc.invert(has_position))),
    }
    positions = _positions(decoded.filter(pc.and_(pc.and_(is_position, mmsi_ok), has_position)))
    static = _static(decoded.filter(pc.and_(is_static, mmsi_ok)))
    return PictureBatch(positions, static, {k: v for k, v in rejected.items() if v})


def _positions(rows: pa.Table) -> pa.Table:
    msg_type = _column(rows, "msg_type", pa.int64())
    is_type27 = _filled(pc.equal(msg_type, 27))
    speed = _column(rows, "speed", pa.float64())
    speed_na = pc.or_(
        pc.or_(pc.greater_equal(speed, _SPEED_NA_KN), pc.less(speed, 0.0)),
        pc.and_(is_type27, pc.greater_equal(speed, _SPEED_NA_TYPE27_KN)),
    )
    course = _column(rows, "course", pa.float64())
    course_na = pc.or_(pc.greater_equal(course, _COURSE_NA_DEG), pc.less(course, 0.0))
    heading = _column(rows, "heading", pa.int64())
    heading_na = pc.or_(pc.greater(heading, _HEADING_MAX_DEG), pc.less(heading, 0))
    status = _column(rows, "status", pa.int64())
    status_na = pc.or_(pc.greater(status, _NAV_STATUS_MAX), pc.less(status, 0))
    arrays = [
        _column(rows, "mmsi", pa.int64()),
        _column(rows, "rx_time", TIME_TYPE),
        _column(rows, "lat", pa.float64()),
        _column(rows, "lon", pa.float64()),
        _null_where(speed_na, speed).cast(pa.float32()),
        _null_where(course_na, course).cast(pa.float32()),
        _null_where(heading_na, heading).cast(pa.int16()),
        _null_where(status_na, status).cast(pa.int8()),
        msg_type.cast(pa.int8()),
        _column(rows, "source", pa.string()),
    ]
    return pa.Table.from_arrays(arrays, schema=POSITION_SCHEMA)


def _static(rows: pa.Table) -> pa.Table:
    msg_type = _column(rows, "msg_type", pa.int64())
    is_type24 = _filled(pc.equal(msg_type, 24))
    partno = _column(rows, "partno", pa.int64())
    # Type 24 comes in two parts: A carries only the name, B the type, call sign and size.
    not_part_a = pc.and_(is_type24, pc.not_equal(partno, 0))
    not_part_b = pc.and_(is_type24, pc.not_equal(partno, 1))
    to_bow = _column(rows, "to_bow", pa.int64())
    to_stern = _column(rows, "to_stern", pa.int64())
    to_port = _column(rows, "to_port", pa.int64())
    to_starboard = _column(rows, "to_starboard", pa.int64())
    length = _null_where(not_part_b, _positive(pc.add(to_bow, to_stern)))
    beam = _null_where(not_part_b, _positive(pc.add(to_port, to_starboard)))
    ais_class = pc.if_else(
        pc.is_in(msg_type, value_set=pa.array(_CLASS_A_STATIC, pa.int64())),
        pa.scalar("A"),
        pc.if_else(
            pc.is_in(msg_type, value_set=pa.array(_CLASS_B_STATIC, pa.int64())),
            pa.scalar("B"),
            pa.scalar(None, pa.string()),
        ),
    )
    arrays = [
        _column(rows, "mmsi", pa.int64()),
        _column(rows, "rx_time", TIME_TYPE),
        _null_where(not_part_a, _text(rows, "shipname")),
        _null_where(not_part_b, _text(rows, "callsign")),
        _positive(_column(rows, "imo", pa.int64())),
        _null_where(not_part_b, _positive(_column(rows, "ship_type", pa.int64()))).cast(pa.int16()),
        length.cast(pa.float32()),
        beam.cast(pa.float32()),
        _positive(_column(rows, "draught", pa.float64())).cast(pa.float32()),
        _text(rows, "destination"),
        ais_class,
    ]
    return pa.Table.from_arrays(arrays, schema=STATIC_SCHEMA)


def _column(table: pa.Table, name: str, type_: pa.DataType) -> pa.ChunkedArray:
    """The column cast to ``type_``; all-null when the batch has no such column."""
    if name not in table.column_names:
        return pa.chunked_array([pa.nulls(table.num_rows, type_)], type=type_)
    column = table.column(name)
    return column if column.type == type_ else column.cast(type_)


def _text(table: pa.Table, name: str) -> pa.ChunkedArray:
    """Trimmed text (spaces and the 6-bit '@' padding) with empty strings as null."""
    trimmed = pc.utf8_trim(_column(table, name, pa.string()), characters=" @")
    return _null_where(pc.equal(trimmed, ""), trimmed)


def _positive(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """Zero (the standard's "not available" for IMO, type, size, draught) becomes null."""
    return _null_where(pc.less_equal(values, 0), values)


def _null_where(mask: pa.ChunkedArray, values: pa.ChunkedArray) -> pa.ChunkedArray:
    null = pa.scalar(None, values.type)
    result: pa.ChunkedArray = pc.if_else(_filled(mask), null, values)
    return result


def _filled(mask: pa.ChunkedArray) -> pa.ChunkedArray:
    """A comparison with a null operand counts as false."""
    result: pa.ChunkedArray = pc.fill_null(mask, False)
    return result


def _count(mask: pa.ChunkedArray) -> int:
    return int(pc.sum(mask.cast(pa.int64())).as_py() or 0)
