"""Batch AIS payload decoder: compiled code per layout for the common types, pyais for the rest.

Why compiled: a watch centre ingests tens of thousands of sentences a second and nearly all
of them are a handful of fixed-layout message types. Decoding those in one compiled loop
(``decode_kernels``) into column buffers is far cheaper than building a Python object per
message. The values must stay identical to pyais 3.3.1's
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

from jointwatch.ais import decode_kernels
from jointwatch.ais.columns import (
    _KIND,
    _NUMPY_DTYPE,
    DECODED_SCHEMA,
    VECTORISED_TYPES,
)
from jointwatch.ais.kernel_columns import _TEXT_SLOT, _Columns

__all__ = [
    "DECODED_SCHEMA",
    "VECTORISED_TYPES",
    "DecodeResult",
    "decode_batch",
    "decode_packed",
    "decode_payloads",
]


def _armour_table() -> np.ndarray:
    # Standard AIS de-armouring: subtract 48, and 8 more above 40. Bytes outside '0'..'w'
    # decode as 0, as pyais does, so direct callers with unchecked payloads match it.
    table = np.zeros(256, dtype=np.int64)
    for code in range(48, 120):
        value = code - 48
        table[code] = value - 8 if value > 40 else value
    return table


_DEARMOUR = _armour_table()


def _enum_table(size: int, convert: Any) -> np.ndarray:
    # pyais maps unknown codes to a member chosen by each enum; asking the enum itself keeps
    # us identical without restating its rules.
    table = np.zeros(256, dtype=np.float64)
    table[:size] = [int(convert(code)) for code in range(size)]
    return table


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


_TABLES = {
    "status": _enum_table(16, NavigationStatus.from_value),
    "maneuver": _enum_table(4, ManeuverIndicator.from_value),
    "epfd": _enum_table(16, EpfdType.from_value),
    "shiptype": _enum_table(256, ShipType.from_value),
    "navaid": _enum_table(32, NavAid.from_value),
    "turn": _turn_table(),
}
_TABLE_NAMES = list(_TABLES)
_TABLE_MATRIX = np.stack([_TABLES[name] for name in _TABLE_NAMES])


@dataclass(frozen=True)
class DecodeResult:
    """Decoded rows (input order) plus which input rows they came from and which failed."""

    table: pa.Table
    kept_index: np.ndarray
    rejected_index: np.ndarray


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
    columns: _Columns, payloads: dict[int, bytes], fills: np.ndarray, rows: np.ndarray
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
    fills = np.asarray(fill_bits, dtype=np.int64).reshape(-1)
    if len(fills) != len(payloads):
        raise ValueError("payloads and fill_bits must have the same length")
    plain = [bytes(p) for p in payloads]
    lengths = np.fromiter(map(len, plain), dtype=np.int64, count=len(plain))
    starts = np.cumsum(lengths) - lengths
    buf = np.frombuffer(b"".join(plain) + b"0", dtype=np.uint8)
    return decode_packed(buf, starts, lengths, fills)


def decode_packed(
    buf: np.ndarray, start: np.ndarray, length: np.ndarray, fill_bits: np.ndarray
) -> DecodeResult:
    """``decode_batch`` for payloads that are spans of one buffer: no Python object is made
    per message, except for the few message types pyais decodes."""
    n_rows = len(start)
    fills = np.ascontiguousarray(fill_bits, dtype=np.int64)
    columns = _Columns(n_rows)
    status = np.zeros(n_rows, dtype=np.uint8)
    if n_rows:
        decode_kernels.decode_messages(
            buf,
            np.ascontiguousarray(start, dtype=np.int64),
            np.ascontiguousarray(length, dtype=np.int64),
            fills,
            _DEARMOUR,
            _TABLE_MATRIX,
            columns.ints,
            columns.flags,
            columns.floats,
            columns.lids,
            columns.text,
            columns.text_len,
            _TEXT_SLOT["name_ext"],
            status,
        )
    pending = np.flatnonzero(status == 1)
    failed = np.zeros(0, dtype=np.int64)
    if len(pending):
        payloads = {
            row: buf[a : a + n].tobytes()
            for row, a, n in zip(
                pending.tolist(), start[pending].tolist(), length[pending].tolist(), strict=True
            )
        }
        failed = _fallback(columns, payloads, fills, pending)
    rejected = np.union1d(failed, np.flatnonzero(status == 2)).astype(np.int64)
    keep_mask = np.ones(n_rows, dtype=np.bool_)
    keep_mask[rejected] = False
    keep = np.flatnonzero(keep_mask)
    # Every row kept (the usual case): columns are taken whole, without a gather.
    columns.keep(keep if len(rejected) else slice(None))
    arrays = [columns.column(field.name) for field in DECODED_SCHEMA]
    table = pa.Table.from_arrays(arrays, schema=DECODED_SCHEMA)
    return DecodeResult(table=table, kept_index=keep, rejected_index=rejected)


def decode_payloads(payloads: Sequence[bytes], fill_bits: Sequence[int] | np.ndarray) -> pa.Table:
    """Decode payloads into a ``DECODED_SCHEMA`` table; undecodable payloads are dropped.

    Use ``decode_batch`` when you need to know which rows were dropped.
    """
    return decode_batch(payloads, fill_bits).table
