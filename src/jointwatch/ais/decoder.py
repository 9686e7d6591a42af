"""Batch AIS payload decoder: NumPy bit extraction for the common types, pyais for the rest.

Why vectorised: a watch centre ingests tens of thousands of sentences a second and nearly all
of them are a handful of fixed-layout message types. Decoding those column-wise (one NumPy
operation per field over every message of a type) is far cheaper than building a Python
object per message. The values must stay identical to pyais 3.3.1's
``decode(...).asdict(enum_as_int=True)`` so that anybody can check us against the reference
decoder; ``tests/unit/test_ais_differential.py`` does exactly that.

Rules that make the fast path exact:
- a message is vectorised only when its bit length covers every field of its layout;
  shorter messages (pyais fills partial fields in its own way) go to pyais;
- text is 6-bit ASCII with trailing ``@`` removed, then surrounding spaces removed;
- enumerations map unknown codes the way pyais's enums do (tables built from those enums).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from pyais.bit_vector import bit_vector as _pyais_bit_vector
from pyais.constants import EpfdType, ManeuverIndicator, NavAid, NavigationStatus, ShipType
from pyais.messages import MSG_CLASS as _PYAIS_MSG_CLASS

from jointwatch.ais.layouts import (
    LAYOUT_5,
    LAYOUT_19,
    LAYOUT_21,
    LAYOUT_24A,
    LAYOUT_24B,
    LAYOUT_24B_AUX,
    LAYOUT_27,
    LAYOUT_BASE,
    LAYOUT_POS_A,
    LAYOUT_POS_B,
    Field,
)
from jointwatch.ais.strings import sixbit_strings

__all__ = ["DECODED_SCHEMA", "VECTORISED_TYPES", "DecodeResult", "decode_batch", "decode_payloads"]

_INT_COLUMNS = [
    "msg_type",
    "repeat",
    "mmsi",
    "status",
    "heading",
    "second",
    "maneuver",
    "radio",
    "year",
    "month",
    "day",
    "hour",
    "minute",
    "epfd",
    "ais_version",
    "imo",
    "ship_type",
    "to_bow",
    "to_stern",
    "to_port",
    "to_starboard",
    "partno",
    "model",
    "serial",
    "mothership_mmsi",
    "aid_type",
]
_FLOAT_COLUMNS = ["turn", "speed", "lon", "lat", "course", "draught"]
_BOOL_COLUMNS = [
    "accuracy",
    "raim",
    "dte",
    "cs",
    "display",
    "dsc",
    "band",
    "msg22",
    "assigned",
    "off_position",
    "virtual_aid",
    "gnss",
]
_STR_COLUMNS = ["callsign", "shipname", "destination", "vendorid", "name", "name_ext"]

#: Column order follows pyais's field order for the common types, so a reader sees the
#: position-report fields first.
_ORDER = [
    "msg_type",
    "repeat",
    "mmsi",
    "status",
    "turn",
    "speed",
    "accuracy",
    "lon",
    "lat",
    "course",
    "heading",
    "second",
    "maneuver",
    "raim",
    "radio",
    "year",
    "month",
    "day",
    "hour",
    "minute",
    "epfd",
    "ais_version",
    "imo",
    "callsign",
    "shipname",
    "ship_type",
    "to_bow",
    "to_stern",
    "to_port",
    "to_starboard",
    "draught",
    "destination",
    "dte",
    "partno",
    "vendorid",
    "model",
    "serial",
    "mothership_mmsi",
    "cs",
    "display",
    "dsc",
    "band",
    "msg22",
    "assigned",
    "aid_type",
    "name",
    "off_position",
    "virtual_aid",
    "name_ext",
    "gnss",
]


def _arrow_type(name: str) -> pa.DataType:
    if name in _INT_COLUMNS:
        return pa.int64()
    if name in _FLOAT_COLUMNS:
        return pa.float64()
    if name in _BOOL_COLUMNS:
        return pa.bool_()
    return pa.string()


#: Every decoded column, named as pyais names the field, plus ``extra`` (JSON of the fields a
#: non-vectorised message type has beyond these columns).
DECODED_SCHEMA = pa.schema(
    [pa.field(name, _arrow_type(name)) for name in _ORDER] + [pa.field("extra", pa.string())]
)
VECTORISED_TYPES = frozenset({1, 2, 3, 4, 5, 18, 19, 21, 24, 27})

_NUMPY_DTYPE = {"int": np.int64, "float": np.float64, "bool": np.bool_}


def _column_kind(name: str) -> str:
    if name in _INT_COLUMNS:
        return "int"
    if name in _FLOAT_COLUMNS:
        return "float"
    if name in _BOOL_COLUMNS:
        return "bool"
    return "str"


_KIND = {name: _column_kind(name) for name in _ORDER}


def _armour_table() -> np.ndarray:
    # Standard AIS de-armouring: subtract 48, and 8 more above 40. Bytes outside '0'..'w'
    # decode as 0, as pyais does, so direct callers with unchecked payloads match it.
    table = np.zeros(256, dtype=np.uint8)
    for code in range(48, 120):
        value = code - 48
        table[code] = value - 8 if value > 40 else value
    return table


_DEARMOUR = _armour_table()


def _enum_table(size: int, convert: Any) -> np.ndarray:
    # pyais maps unknown codes to a member chosen by each enum; asking the enum itself keeps
    # us identical without restating its rules.
    return np.array([int(convert(code)) for code in range(size)], dtype=np.int64)


def _turn_table() -> np.ndarray:
    # ROT is transmitted as 4.733 * sqrt(deg/min); pyais reports the squared value rounded
    # half to even with the sign kept, and passes the three "no turn information" codes through.
    table = np.zeros(256, dtype=np.float64)
    for raw in range(-128, 128):
        if raw == 0:
            value = 0.0
        elif abs(raw) == 127:
            value = float(raw)
        elif raw == -128:
            value = -128.0
        else:
            value = float(round((raw / 4.733) ** 2))
            value = value if raw > 0 else -value
        table[raw & 0xFF] = value
    return table


_CONVERT_TABLES: dict[str, np.ndarray] = {
    "status": _enum_table(16, NavigationStatus.from_value),
    "maneuver": _enum_table(4, ManeuverIndicator.from_value),
    "epfd": _enum_table(16, EpfdType.from_value),
    "shiptype": _enum_table(256, ShipType.from_value),
    "navaid": _enum_table(32, NavAid.from_value),
    "turn": _turn_table(),
}


@dataclass(frozen=True)
class DecodeResult:
    """Decoded rows (input order) plus which input rows they came from and which failed."""

    table: pa.Table
    kept_index: np.ndarray
    rejected_index: np.ndarray


class _Columns:
    """Full-length column buffers that each decoded group scatters its rows into."""

    def __init__(self, n_rows: int) -> None:
        self.n_rows = n_rows
        self.values: dict[str, np.ndarray] = {}
        self.valid: dict[str, np.ndarray] = {}
        self.str_pieces: dict[str, list[tuple[np.ndarray, pa.Array]]] = {}

    def put(self, name: str, rows: np.ndarray, values: Any) -> None:
        kind = _KIND.get(name, "str")
        if kind == "str":
            array = values if isinstance(values, pa.Array) else pa.array(values, pa.string())
            self.str_pieces.setdefault(name, []).append((rows, array))
            return
        if name not in self.values:
            self.values[name] = np.zeros(self.n_rows, dtype=_NUMPY_DTYPE[kind])
            self.valid[name] = np.zeros(self.n_rows, dtype=np.bool_)
        self.values[name][rows] = values
        self.valid[name][rows] = True

    def put_null_mask(self, name: str, rows: np.ndarray) -> None:
        if name in self.valid:
            self.valid[name][rows] = False

    def column(self, name: str, keep: np.ndarray) -> pa.Array:
        if _KIND.get(name, "str") != "str":
            if name not in self.values:
                return pa.nulls(len(keep), _arrow_type(name))
            valid = self.valid[name][keep]
            return pa.array(self.values[name][keep], mask=~valid, type=_arrow_type(name))
        pieces = self.str_pieces.get(name)
        if not pieces:
            return pa.nulls(len(keep), pa.string())
        rows = np.concatenate([rows for rows, _ in pieces])
        arrays = [array for _, array in pieces] + [pa.nulls(1, pa.string())]
        combined = pa.concat_arrays(arrays)
        index = np.full(self.n_rows, len(combined) - 1, dtype=np.int64)
        index[rows] = np.arange(len(rows), dtype=np.int64)
        return combined.take(pa.array(index[keep]))


def _extract(chars: np.ndarray, start: int, width: int) -> np.ndarray:
    """Unsigned value of bits [start, start+width) for every row of a 6-bit character matrix."""
    first, last = start // 6, (start + width - 1) // 6
    acc = chars[:, first].astype(np.int64)
    for col in range(first + 1, last + 1):
        acc = (acc << 6) | chars[:, col]
    shift = (last + 1) * 6 - (start + width)
    return (acc >> shift) & ((1 << width) - 1)


def _signed(values: np.ndarray, width: int) -> np.ndarray:
    return values - (((values >> (width - 1)) & 1) << width)


def _text_codes(chars: np.ndarray, start: int, n_chars: int) -> np.ndarray:
    if start % 6 == 0:
        codes = chars[:, start // 6 : start // 6 + n_chars]
    else:
        codes = np.stack([_extract(chars, start + 6 * k, 6) for k in range(n_chars)], axis=1)
    codes = codes.astype(np.uint8)
    # 6-bit ASCII: 0..31 are '@'..'_', 32..63 are ' '..'?'.
    return np.where(codes < 32, codes + 64, codes).astype(np.uint8)


def _convert(field: Field, raw: np.ndarray) -> np.ndarray:
    conv = field.conv
    if conv == "u":
        return raw
    if conv == "bool":
        return raw.astype(np.bool_)
    if conv == "float":
        return raw.astype(np.float64)
    if conv == "tenth":
        return raw / 10.0
    if conv == "latlon":
        # Nearest integer to raw * 1e6 / 600000 (never a tie), then one IEEE division.
        return ((10 * _signed(raw, field.width) + 3) // 6) / 1e6
    if conv == "latlon600":
        return ((10000 * _signed(raw, field.width) + 3) // 6) / 1e6
    return _CONVERT_TABLES[conv][raw]


def _decode_layout(
    columns: _Columns, chars: np.ndarray, rows: np.ndarray, layout: Sequence[Field]
) -> None:
    for field in layout:
        if field.conv == "text":
            codes = _text_codes(chars, field.start, field.width // 6)
            columns.put(field.name, rows, sixbit_strings(codes))
        else:
            columns.put(
                field.name, rows, _convert(field, _extract(chars, field.start, field.width))
            )


def _char_matrix(sixbits: np.ndarray, offsets: np.ndarray, rows: np.ndarray, n: int) -> np.ndarray:
    return sixbits[offsets[rows][:, None] + np.arange(n, dtype=np.int64)]


_FIXED_LAYOUTS: dict[int, tuple[Field, ...]] = {
    1: LAYOUT_POS_A,
    2: LAYOUT_POS_A,
    3: LAYOUT_POS_A,
    4: LAYOUT_BASE,
    5: LAYOUT_5,
    18: LAYOUT_POS_B,
    19: LAYOUT_19,
    27: LAYOUT_27,
}


def _layout_bits(layout: Sequence[Field]) -> int:
    return max(field.start + field.width for field in layout)


def _vectorise(
    columns: _Columns,
    sixbits: np.ndarray,
    offsets: np.ndarray,
    bits: np.ndarray,
    msg_type: np.ndarray,
) -> np.ndarray:
    """Decode every row NumPy can; return a mask of rows left for pyais."""
    pending = np.ones(len(bits), dtype=np.bool_)
    for mtype, layout in _FIXED_LAYOUTS.items():
        need = _layout_bits(layout)
        rows = np.flatnonzero((msg_type == mtype) & (bits >= need))
        if len(rows):
            chars = _char_matrix(sixbits, offsets, rows, -(-need // 6))
            _decode_layout(columns, chars, rows, layout)
            pending[rows] = False
    _vectorise_21(columns, sixbits, offsets, bits, msg_type, pending)
    _vectorise_24(columns, sixbits, offsets, bits, msg_type, pending)
    return pending


def _vectorise_21(
    columns: _Columns,
    sixbits: np.ndarray,
    offsets: np.ndarray,
    bits: np.ndarray,
    msg_type: np.ndarray,
    pending: np.ndarray,
) -> None:
    # The name extension is variable length: absent (null) at 271-272 bits, else up to 15
    # whole characters. A partial last character follows pyais's quirks: leave it to pyais.
    base = _layout_bits(LAYOUT_21)
    ext_bits = bits - 272
    is21 = (msg_type == 21) & (bits >= base)
    whole = (ext_bits <= 0) | (ext_bits >= 90) | (ext_bits % 6 == 0)
    n_ext = np.clip(ext_bits, 0, 90) // 6
    for count in np.unique(n_ext[is21 & whole]):
        rows = np.flatnonzero(is21 & whole & (n_ext == count))
        chars = _char_matrix(sixbits, offsets, rows, 46 + int(count))
        _decode_layout(columns, chars, rows, LAYOUT_21)
        if count:
            columns.put("name_ext", rows, sixbit_strings(_text_codes(chars, 272, int(count))))
        pending[rows] = False


def _vectorise_24(
    columns: _Columns,
    sixbits: np.ndarray,
    offsets: np.ndarray,
    bits: np.ndarray,
    msg_type: np.ndarray,
    pending: np.ndarray,
) -> None:
    candidates = np.flatnonzero((msg_type == 24) & (bits >= 40))
    if not len(candidates):
        return
    head = _char_matrix(sixbits, offsets, candidates, 7)
    partno = _extract(head, 38, 2)
    mmsi = _extract(head, 8, 30)
    auxiliary = (mmsi >= 980_000_000) & (mmsi <= 989_999_999)
    variants = (
        (partno == 0, LAYOUT_24A),
        ((partno == 1) & ~auxiliary, LAYOUT_24B),
        ((partno == 1) & auxiliary, LAYOUT_24B_AUX),
    )
    for selector, layout in variants:
        need = _layout_bits(layout)
        rows = candidates[selector & (bits[candidates] >= need)]
        if len(rows):
            _decode_layout(
                columns, _char_matrix(sixbits, offsets, rows, -(-need // 6)), rows, layout
            )
            pending[rows] = False


def _pyais_fields(payload: bytes, fill: int) -> dict[str, Any] | None:
    """Decode one payload exactly as ``pyais.decode`` would; None when pyais cannot."""
    if not payload:
        return None
    try:
        vector = _pyais_bit_vector(payload, fill)
        message = _PYAIS_MSG_CLASS[vector.get(0, 6)].from_vector(vector)
        return dict(message.asdict(enum_as_int=True))
    except Exception:  # pyais raises many types for bad payloads; all mean "undecodable"
        return None


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        import base64

        return base64.b64encode(value).decode("ascii")
    return str(value)


def _fits(kind: str, value: Any) -> bool:
    if kind == "int":
        return isinstance(value, int)
    if kind == "float":
        return isinstance(value, int | float)
    if kind == "bool":
        return isinstance(value, bool)
    return isinstance(value, str)


def _fallback(
    columns: _Columns, payloads: Sequence[bytes], fills: np.ndarray, rows: np.ndarray
) -> np.ndarray:
    """Decode rows with pyais one by one; return the rows pyais could not decode either."""
    failed: list[int] = []
    per_column: dict[str, tuple[list[int], list[Any]]] = {}
    extra_rows: list[int] = []
    extra_values: list[str | None] = []
    for row in rows.tolist():
        fields = _pyais_fields(bytes(payloads[row]), int(fills[row]))
        if fields is None:
            failed.append(row)
            continue
        extra: dict[str, Any] = {}
        for name, value in fields.items():
            kind = _KIND.get(name)
            if kind is None or (value is not None and not _fits(kind, value)):
                extra[name] = value
            elif value is not None:
                target = per_column.setdefault(name, ([], []))
                target[0].append(row)
                target[1].append(value)
        msg_type = fields.get("msg_type")
        extra_rows.append(row)
        extra_values.append(
            None if msg_type in VECTORISED_TYPES else json.dumps(extra, default=_json_default)
        )
    for name, (target_rows, values) in per_column.items():
        index = np.asarray(target_rows, dtype=np.int64)
        if _KIND[name] == "str":
            columns.put(name, index, values)
        else:
            columns.put(name, index, np.asarray(values, dtype=_NUMPY_DTYPE[_KIND[name]]))
    if extra_rows:
        columns.put("extra", np.asarray(extra_rows, dtype=np.int64), extra_values)
    return np.asarray(failed, dtype=np.int64)


def decode_batch(payloads: Sequence[bytes], fill_bits: Sequence[int] | np.ndarray) -> DecodeResult:
    """Decode armoured payloads (one whole message each) into ``DECODED_SCHEMA`` rows.

    Rows pyais cannot decode either, empty payloads and fill bits outside 0..5 are left out
    of the table and listed in ``rejected_index`` (ascending) so the caller can count them.
    """
    n_rows = len(payloads)
    fills = np.asarray(fill_bits, dtype=np.int64).reshape(-1)
    if len(fills) != n_rows:
        raise ValueError("payloads and fill_bits must have the same length")
    lengths = np.fromiter((len(p) for p in payloads), dtype=np.int64, count=n_rows)
    # A sentinel byte after the last payload lets empty payloads index safely.
    buffer = b"".join(bytes(p) for p in payloads) + b"0" * 64
    sixbits = _DEARMOUR[np.frombuffer(buffer, dtype=np.uint8)]
    offsets = np.zeros(n_rows, dtype=np.int64)
    if n_rows:
        np.cumsum(lengths[:-1], out=offsets[1:])
    # NMEA fill bits are 0..5. A negative count would claim bits the payload does not have
    # and let a field read into the next payload, so such rows are rejected, never decoded.
    bad_fill = (fills < 0) | (fills > 5)
    bits = np.where(bad_fill, -1, lengths * 6 - fills)
    msg_type = np.where(
        (lengths > 0) & ~bad_fill, sixbits[np.minimum(offsets, len(sixbits) - 1)], -1
    )
    columns = _Columns(n_rows)
    pending = _vectorise(columns, sixbits, offsets, bits, msg_type)
    # Sentinel padding never reaches a field: every vectorised row had enough bits.
    pending &= ~bad_fill
    rejected = np.union1d(
        _fallback(columns, payloads, fills, np.flatnonzero(pending)), np.flatnonzero(bad_fill)
    ).astype(np.int64)
    keep_mask = np.ones(n_rows, dtype=np.bool_)
    keep_mask[rejected] = False
    keep = np.flatnonzero(keep_mask)
    arrays = [columns.column(field.name, keep) for field in DECODED_SCHEMA]
    table = pa.Table.from_arrays(arrays, schema=DECODED_SCHEMA)
    return DecodeResult(table=table, kept_index=keep, rejected_index=rejected)


def decode_payloads(payloads: Sequence[bytes], fill_bits: Sequence[int] | np.ndarray) -> pa.Table:
    """Decode payloads into a ``DECODED_SCHEMA`` table; undecodable payloads are dropped.

    Use ``decode_batch`` when you need to know which rows were dropped.
    """
    return decode_batch(payloads, fill_bits).table
