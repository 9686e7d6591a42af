"""Public AIS CSV archives (US MarineCadastre, Danish Maritime Authority) as Arrow tables.

Why this path exists beside NMEA: years of history are published as CSV, not as sentences.
Files are multi-GB, so they are read with pyarrow's streaming CSV reader, every column as
text, and converted with vectorised compute functions: a bad value costs a mask, never a
Python loop, and a row with an unparseable number or date is counted and skipped, never
fatal. Values are converted to the picture's units, and the standard's "not available"
sentinels (heading 511, course 360, speed 102.3, latitude 91, longitude 181) become null.
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from jointwatch.errors import SourceError
from jointwatch.picture.schema import POSITION_SCHEMA, STATIC_SCHEMA, TIME_TYPE
from jointwatch.sources.csv_layouts import (
    DMA_NAV_STATUS,
    DMA_SHIP_TYPES,
    LAYOUT_COLUMNS,
    detect_csv_layout,
)
from jointwatch.sources.files import GZIP_MAGIC

__all__ = [
    "POSITION_SCHEMA",
    "STATIC_SCHEMA",
    "CsvStats",
    "detect_csv_layout",
    "read_csv_archive",
]

log = logging.getLogger(__name__)

# Same columns, all nullable: rows are filtered before the strict schema is applied.
_LOOSE_POSITIONS = pa.schema([f.with_nullable(True) for f in POSITION_SCHEMA])

_NULLS = ["", "NA", "N/A", "NaN", "nan", "NULL", "null", "None"]
_NUMBER = r"^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$"
_BYTES_PER_ROW = 128
_STATIC_FIELDS = (
    "shipname",
    "callsign",
    "imo",
    "ship_type",
    "length_m",
    "beam_m",
    "draught_m",
    "destination",
)


@dataclass
class CsvStats:
    """What a CSV read did: rows seen, rows skipped as bad, rows without a position."""

    rows: int = 0
    bad_rows: int = 0
    no_position: int = 0
    positions: int = 0
    static: int = 0


class _Columns:
    """One chunk's text columns, converted with a running mask of bad rows."""

    def __init__(self, batch: pa.RecordBatch, names: dict[str, str]) -> None:
        self.batch = batch
        self.names = names  # canonical name -> column name in this file
        self.bad = pa.array([False] * batch.num_rows, pa.bool_())

    def text(self, key: str) -> pa.Array:
        name = self.names.get(key)
        if name is None:
            return pa.nulls(self.batch.num_rows, pa.string())
        column = pc.utf8_trim_whitespace(self.batch.column(name))
        return pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column)

    def number(self, key: str, *, text: pa.Array | None = None, lenient: bool = False) -> pa.Array:
        """Float64 values; garbage marks the row bad (or becomes null when ``lenient``)."""
        column = self.text(key) if text is None else text
        ok = pc.match_substring_regex(column, _NUMBER)
        if not lenient:
            garbage = pc.fill_null(pc.invert(ok), False)
            self.bad = pc.or_(self.bad, garbage)
        clean = pc.if_else(pc.fill_null(ok, False), column, pa.scalar(None, pa.string()))
        return pc.cast(clean, pa.float64())

    def time(self, key: str, formats: Sequence[str]) -> pa.Array:
        column = self.text(key)
        parsed = [pc.strptime(column, format=f, unit="us", error_is_null=True) for f in formats]
        merged = pc.coalesce(*parsed) if len(parsed) > 1 else parsed[0]
        self.bad = pc.or_(self.bad, pc.is_null(merged))
        return merged.cast(TIME_TYPE)

    def lookup(self, key: str, table: dict[str, int]) -> pa.Array:
        """Codes for text values (case-insensitive); unknown text is null."""
        keys = pa.array(list(table), pa.string())
        codes = pa.array(list(table.values()), pa.int64())
        index = pc.index_in(pc.utf8_lower(self.text(key)), value_set=keys)
        return pc.take(codes, index)


def _sentinel_null(values: pa.Array, low: float, high: float) -> pa.Array:
    """Null outside [low, high): how the standard's 'not available' values are removed."""
    inside = pc.and_(pc.greater_equal(values, low), pc.less(values, high))
    return pc.if_else(pc.fill_null(inside, False), values, pa.scalar(None, values.type))


def _int(values: pa.Array, to: pa.DataType) -> pa.Array:
    return pc.cast(pc.round(values), to, safe=False)


def _status(cols: _Columns) -> pa.Array:
    numeric = cols.number("status", lenient=True)
    numeric = _sentinel_null(numeric, 0, 16)
    return _int(
        pc.coalesce(numeric, pc.cast(cols.lookup("status", DMA_NAV_STATUS), pa.float64())),
        pa.int8(),
    )


def _ship_type(cols: _Columns, layout: str) -> pa.Array:
    if layout == "dma":
        numeric = pc.cast(cols.lookup("ship_type", DMA_SHIP_TYPES), pa.float64())
    else:
        # Older MarineCadastre years use US codes 1001-1025: kept null, not guessed.
        numeric = _sentinel_null(cols.number("ship_type", lenient=True), 1, 100)
    return _int(numeric, pa.int16())


def _class_and_type(cols: _Columns) -> tuple[pa.Array, pa.Array]:
    text = pc.utf8_upper(cols.text("ais_class"))
    is_b = pc.fill_null(pc.match_substring_regex(text, r"^(CLASS )?B$"), False)
    is_a = pc.fill_null(pc.match_substring_regex(text, r"^(CLASS )?A$"), False)
    ais_class = pc.if_else(is_b, "B", pc.if_else(is_a, "A", pa.scalar(None, pa.string())))
    others = {"BASE STATION": 4, "ATON": 21, "SAR AIRBORNE": 9}
    other = pc.take(
        pa.array(list(others.values()), pa.int8()),
        pc.index_in(text, value_set=pa.array(list(others))),
    )
    msg_type = pc.if_else(is_b, pa.scalar(18, pa.int8()), pc.fill_null(other, 1))
    return ais_class, pc.cast(msg_type, pa.int8())


def _imo(cols: _Columns) -> pa.Array:
    text = pc.replace_substring_regex(pc.utf8_upper(cols.text("imo")), r"^IMO\s*", "")
    text = pc.if_else(pc.equal(text, "UNKNOWN"), pa.scalar(None, pa.string()), text)
    values = _sentinel_null(cols.number("imo", text=text, lenient=True), 1_000_000, 10_000_000)
    return _int(values, pa.int64())


def _clean_text(cols: _Columns, key: str) -> pa.Array:
    text = cols.text(key)
    return pc.if_else(pc.equal(pc.utf8_lower(text), "unknown"), pa.scalar(None, pa.string()), text)


def _convert(
    batch: pa.RecordBatch, layout: str, names: dict[str, str], source: str, stats: CsvStats
) -> tuple[pa.Table, pa.Table]:
    cols = _Columns(batch, names)
    time_formats = (
        ["%d/%m/%Y %H:%M:%S"] if layout == "dma" else ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]
    )
    mmsi = _sentinel_null(cols.number("mmsi"), 1, 1_000_000_000)
    cols.bad = pc.or_(cols.bad, pc.is_null(mmsi))
    time = cols.time("time", time_formats)
    lat, lon = cols.number("lat"), cols.number("lon")
    sog = _sentinel_null(cols.number("sog"), 0, 102.25)
    cog = _sentinel_null(cols.number("cog"), 0, 360)
    heading = _sentinel_null(cols.number("heading"), 0, 360)
    length = _sentinel_null(cols.number("length"), 0.5, 1000)
    beam = _sentinel_null(cols.number("beam"), 0.5, 200)
    draught = _sentinel_null(cols.number("draught"), 0.05, 30)
    ais_class, msg_type = _class_and_type(cols)
    good = pc.invert(cols.bad)
    has_pos = pc.fill_null(
        pc.and_(
            pc.and_(pc.greater_equal(lat, -90), pc.less_equal(lat, 90)),
            pc.and_(pc.greater_equal(lon, -180), pc.less_equal(lon, 180)),
        ),
        False,
    )
    stats.rows += batch.num_rows
    stats.bad_rows += batch.num_rows - pc.sum(good).as_py() if batch.num_rows else 0
    stats.no_position += pc.sum(pc.and_(good, pc.invert(has_pos))).as_py() or 0
    mmsi_i = _int(mmsi, pa.int64())
    positions = pa.Table.from_arrays(
        [
            mmsi_i,
            time,
            lat,
            lon,
            pc.cast(sog, pa.float32()),
            pc.cast(cog, pa.float32()),
            _int(heading, pa.int16()),
            _status(cols),
            msg_type,
            pa.array([source] * batch.num_rows, pa.string()),
        ],
        schema=_LOOSE_POSITIONS,
    )
    positions = positions.filter(pc.and_(good, has_pos)).cast(POSITION_SCHEMA)
    static = pa.table(
        {
            "mmsi": mmsi_i,
            "time": time,
            "shipname": cols.text("shipname"),
            "callsign": _clean_text(cols, "callsign"),
            "imo": _imo(cols),
            "ship_type": _ship_type(cols, layout),
            "length_m": pc.cast(length, pa.float32()),
            "beam_m": pc.cast(beam, pa.float32()),
            "draught_m": pc.cast(draught, pa.float32()),
            "destination": _clean_text(cols, "destination"),
            "ais_class": ais_class,
        }
    ).filter(good)
    return positions, _latest_static(static)


def _latest_static(rows: pa.Table) -> pa.Table:
    """One row per MMSI: the last known value of each field in the chunk (vectorised)."""
    if rows.num_rows == 0:
        return STATIC_SCHEMA.empty_table()
    fields = [*_STATIC_FIELDS, "ais_class"]
    grouped = rows.group_by("mmsi", use_threads=False).aggregate(
        [("time", "max"), *[(name, "last") for name in fields]]
    )
    grouped = grouped.rename_columns(
        [c.removesuffix("_last").removesuffix("_max") for c in grouped.column_names]
    )
    known = None
    for name in _STATIC_FIELDS:
        valid = pc.is_valid(grouped[name])
        known = valid if known is None else pc.or_(known, valid)
    return grouped.filter(known).select(STATIC_SCHEMA.names).cast(STATIC_SCHEMA)


def _header(path: Path, gz: bool) -> list[str]:
    opener = gzip.open if gz else open
    try:
        with opener(path, "rb") as raw:
            first = raw.readline(64 * 1024)
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc}") from exc
    row = next(csv.reader(io.StringIO(first.decode("utf-8-sig", "replace"))), [])
    return [name.strip() for name in row]


def read_csv_archive(
    path: str | Path, chunk_rows: int = 200_000, *, stats: CsvStats | None = None
) -> Iterator[tuple[pa.Table, pa.Table]]:
    """Yield ``(positions, static)`` tables, about ``chunk_rows`` rows of the file at a time.

    ``static`` holds one row per MMSI of the chunk with the last known value of each field,
    because archives repeat the static columns on every position row. Plain or gzip (by
    magic bytes). Pass ``stats`` to learn how many rows were bad or had no position.
    """
    path = Path(path)
    stats = stats if stats is not None else CsvStats()
    with open(path, "rb") as probe:
        gz = probe.read(2) == GZIP_MAGIC
    header = _header(path, gz)
    layout = detect_csv_layout(header)
    names = {
        key: name
        for key, choices in LAYOUT_COLUMNS[layout].items()
        for name in header
        if name.lower().lstrip("# ") in choices
    }
    bad_shape = 0

    def skip_row(row: object) -> str:
        nonlocal bad_shape
        bad_shape += 1
        return "skip"

    stream = pa.input_stream(str(path), compression="gzip" if gz else None)
    reader = pacsv.open_csv(
        stream,
        read_options=pacsv.ReadOptions(block_size=max(1 << 16, chunk_rows * _BYTES_PER_ROW)),
        parse_options=pacsv.ParseOptions(invalid_row_handler=skip_row),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in header},
            null_values=_NULLS,
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
    source = f"csv:{path.name}"
    try:
        for batch in reader:
            positions, static = _convert(batch, layout, names, source, stats)
            stats.positions += positions.num_rows
            stats.static += static.num_rows
            yield positions, static
    except pa.ArrowInvalid as exc:
        raise SourceError(f"{path} cannot be read as CSV ({exc})") from exc
    finally:
        stats.bad_rows += bad_shape
        stats.rows += bad_shape
        bad_shape = 0
        stream.close()
    if stats.bad_rows:
        log.warning("%s: skipped %d bad rows of %d", path.name, stats.bad_rows, stats.rows)
