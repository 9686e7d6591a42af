"""Split decoded AIS messages into the picture's position and static tables.

Why columnar: a busy feed brings tens of thousands of messages a second; every step here
works on whole columns, so the cost per message is a few nanoseconds and no Python object
is made per row. The masks (which rows, which values are "not available") are NumPy over
columns converted once; Arrow keeps the casts and the text, and only the columns the
picture uses are taken for the rows it keeps.

The input is the decoder's table (pyais field names plus ``rx_time`` and ``source``). A
column the batch happens to lack is treated as all-null, so a batch holding only type 18
reports (no ``status``, no ``imo``) is still valid input.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jointwatch.picture.columns import is_one_of, numbers
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
# Only these decoded columns are taken for the rows kept (the decoder has ~50).
_POSITION_COLUMNS = ("speed", "course", "heading", "status", "rx_time", "source")
_STATIC_COLUMNS = (
    *("partno", "to_bow", "to_stern", "to_port", "to_starboard", "imo", "ship_type"),
    *("draught", "shipname", "callsign", "destination", "rx_time"),
)
_CLASS_TEXT = pa.array([None, "A", "B"], pa.string())
_NULL_TEXT = pa.scalar(None, pa.string())
# Built once: an empty table costs 65-80 us to make, and most live batches lack one kind.
_NO_POSITIONS = POSITION_SCHEMA.empty_table()
_NO_STATIC = STATIC_SCHEMA.empty_table()


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
        return PictureBatch(_NO_POSITIONS, _NO_STATIC, {})
    msg_type, msg_known = _numbers(decoded, "msg_type", pa.int64())
    mmsi, mmsi_known = _numbers(decoded, "mmsi", pa.int64())
    mmsi_ok = mmsi_known & (mmsi > 0) & (mmsi <= _MMSI_MAX)
    is_position = msg_known & is_one_of(msg_type, POSITION_TYPES)
    is_static = msg_known & is_one_of(msg_type, STATIC_TYPES)
    lat, lat_known = _numbers(decoded, "lat", pa.float64())
    lon, lon_known = _numbers(decoded, "lon", pa.float64())
    # Lat 91 and lon 181 are the standard's "not available"; any |lat| > 90 or |lon| > 180
    # is a corrupt report. NaN fails both comparisons, so it is caught too.
    has_position = lat_known & lon_known & (np.abs(lat) <= 90.0) & (np.abs(lon) <= 180.0)
    rejected = {
        "invalid_mmsi": int(np.count_nonzero((is_position | is_static) & ~mmsi_ok)),
        "no_position": int(np.count_nonzero(is_position & mmsi_ok & ~has_position)),
    }
    rows = np.flatnonzero(is_position & mmsi_ok & has_position)
    positions = _positions(
        _take(decoded, _POSITION_COLUMNS, rows), msg_type[rows], mmsi[rows], lat[rows], lon[rows]
    )
    rows = np.flatnonzero(is_static & mmsi_ok)
    static = _static(_take(decoded, _STATIC_COLUMNS, rows), msg_type[rows], mmsi[rows])
    return PictureBatch(positions, static, {k: v for k, v in rejected.items() if v})


def _positions(
    rows: pa.Table, msg_type: np.ndarray, mmsi: np.ndarray, lat: np.ndarray, lon: np.ndarray
) -> pa.Table:
    if rows.num_rows == 0:
        return _NO_POSITIONS
    speed, speed_known = _numbers(rows, "speed", pa.float64())
    speed_na = (
        (speed >= _SPEED_NA_KN)
        | (speed < 0.0)
        | ((msg_type == 27) & (speed >= _SPEED_NA_TYPE27_KN))
    )
    course, course_known = _numbers(rows, "course", pa.float64())
    course_na = (course >= _COURSE_NA_DEG) | (course < 0.0)
    heading, heading_known = _numbers(rows, "heading", pa.int64())
    heading_na = (heading > _HEADING_MAX_DEG) | (heading < 0)
    status, status_known = _numbers(rows, "status", pa.int64())
    status_na = (status > _NAV_STATUS_MAX) | (status < 0)
    arrays = [
        pa.array(mmsi, pa.int64()),
        _column(rows, "rx_time", TIME_TYPE),
        pa.array(lat, pa.float64()),
        pa.array(lon, pa.float64()),
        _array(speed, speed_known & ~speed_na, pa.float64()).cast(pa.float32()),
        _array(course, course_known & ~course_na, pa.float64()).cast(pa.float32()),
        _array(heading, heading_known & ~heading_na, pa.int64()).cast(pa.int16()),
        _array(status, status_known & ~status_na, pa.int64()).cast(pa.int8()),
        pa.array(msg_type, pa.int64()).cast(pa.int8()),
        _column(rows, "source", pa.string()),
    ]
    return pa.Table.from_arrays(arrays, schema=POSITION_SCHEMA)


def _static(rows: pa.Table, msg_type: np.ndarray, mmsi: np.ndarray) -> pa.Table:
    if rows.num_rows == 0:
        return _NO_STATIC
    partno, partno_known = _numbers(rows, "partno", pa.int64())
    # Type 24 comes in two parts: A carries only the name, B the type, call sign and size.
    not_part_a = (msg_type == 24) & partno_known & (partno != 0)
    not_part_b = (msg_type == 24) & partno_known & (partno != 1)
    to_bow, to_bow_known = _numbers(rows, "to_bow", pa.int64())
    to_stern, to_stern_known = _numbers(rows, "to_stern", pa.int64())
    to_port, to_port_known = _numbers(rows, "to_port", pa.int64())
    to_starboard, to_starboard_known = _numbers(rows, "to_starboard", pa.int64())
    length = to_bow + to_stern
    beam = to_port + to_starboard
    imo, imo_known = _numbers(rows, "imo", pa.int64())
    ship_type, ship_type_known = _numbers(rows, "ship_type", pa.int64())
    draught, draught_known = _numbers(rows, "draught", pa.float64())
    # Code 0 of the class column is null, 1 is class A (type 5), 2 class B (types 19, 24).
    ais_class = np.where(is_one_of(msg_type, _CLASS_A_STATIC), 1, 0)
    ais_class[is_one_of(msg_type, _CLASS_B_STATIC)] = 2
    arrays = [
        pa.array(mmsi, pa.int64()),
        _column(rows, "rx_time", TIME_TYPE),
        _text(rows, "shipname", ~not_part_a),
        _text(rows, "callsign", ~not_part_b),
        _array(imo, _positive(imo, imo_known), pa.int64()),
        _array(ship_type, _positive(ship_type, ship_type_known) & ~not_part_b, pa.int64()).cast(
            pa.int16()
        ),
        _array(
            length, _positive(length, to_bow_known & to_stern_known) & ~not_part_b, pa.int64()
        ).cast(pa.float32()),
        _array(
            beam, _positive(beam, to_port_known & to_starboard_known) & ~not_part_b, pa.int64()
        ).cast(pa.float32()),
        _array(draught, _positive(draught, draught_known), pa.float64()).cast(pa.float32()),
        _text(rows, "destination", None),
        _CLASS_TEXT.take(pa.array(ais_class)),
    ]
    return pa.Table.from_arrays(arrays, schema=STATIC_SCHEMA)


def _take(table: pa.Table, names: tuple[str, ...], rows: np.ndarray) -> pa.Table:
    """The given rows of those of the columns the table has (not of all ~50 decoded ones)."""
    present = set(table.schema.names)
    return table.select([name for name in names if name in present]).take(
        pa.array(rows, pa.int64())
    )


def _column(table: pa.Table, name: str, type_: pa.DataType) -> pa.ChunkedArray:
    """The column cast to ``type_``; all-null when the batch has no such column."""
    if name not in table.schema.names:
        return pa.chunked_array([pa.nulls(table.num_rows, type_)], type=type_)
    column = table.column(name)
    return column if column.type == type_ else column.cast(type_)


def _numbers(table: pa.Table, name: str, type_: pa.DataType) -> tuple[np.ndarray, np.ndarray]:
    """A column cast to ``type_`` as NumPy values (0 where null) and its validity."""
    return numbers(_column(table, name, type_))


def _array(values: np.ndarray, keep: np.ndarray, type_: pa.DataType) -> pa.Array:
    """Values as an Arrow array, null where not ``keep``."""
    return pa.array(values, type_, mask=None if keep.all() else ~keep)


def _positive(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Zero (the standard's "not available" for IMO, type, size, draught) becomes null.

    Written as "not <= 0" so that NaN, which is not "not available", stays a value.
    """
    return known & ~(values <= 0)


def _text(rows: pa.Table, name: str, keep: np.ndarray | None) -> pa.ChunkedArray:
    """Trimmed text (spaces and the 6-bit '@' padding), null where empty or not ``keep``."""
    trimmed = pc.utf8_trim(_column(rows, name, pa.string()), characters=" @")
    # Byte length of a null is NaN, which is not > 0: nulls stay null.
    present = np.asarray(pc.binary_length(trimmed).to_numpy(zero_copy_only=False)) > 0
    drop = ~present if keep is None else ~(present & keep)
    if not drop.any():
        return trimmed
    result: pa.ChunkedArray = pc.if_else(pa.array(drop), _NULL_TEXT, trimmed)
    return result
