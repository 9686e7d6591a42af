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
    _ORDER,
    DECODED_SCHEMA,
    VECTORISED_TYPES,
    _arrow_type,
)
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
)

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
_INT_SLOT = {name: k for k, name in enumerate(n for n in _ORDER if _KIND[n] == "int")}
_FLAG_SLOT = {name: k for k, name in enumerate(n for n in _ORDER if _KIND[n] == "bool")}
_FLOAT_SLOT = {name: k for k, name in enumerate(n for n in _ORDER if _KIND[n] == "float")}
_TEXT_SLOT = {name: k for k, name in enumerate(n for n in _ORDER if _KIND[n] == "str")}
_TEXT_WIDTH = 20  # characters of the longest text field

#: The layouts in the order ``decode_kernels._layout_of`` numbers them; ``decode_codegen``
#: writes the kernel's code for each from them.
_LAYOUTS = (
    LAYOUT_POS_A,
    LAYOUT_BASE,
    LAYOUT_5,
    LAYOUT_POS_B,
    LAYOUT_19,
    LAYOUT_27,
    LAYOUT_21,
    LAYOUT_24A,
    LAYOUT_24B,
    LAYOUT_24B_AUX,
)


_TABLE_MATRIX = np.stack([_TABLES[name] for name in _TABLE_NAMES])


def _field_layouts() -> dict[str, int]:
    """Each field's layouts as a bit mask (bit ``lid``): the rows where the kernel wrote it."""
    masks: dict[str, int] = {}
    for lid, layout in enumerate(_LAYOUTS):
        for field in layout:
            masks[field.name] = masks.get(field.name, 0) | (1 << lid)
    return masks


_FIELD_LAYOUTS = _field_layouts()
# The distinct masks of the columns whose validity follows the layouts, and each column's.
_MASKS = np.array(
    sorted({_FIELD_LAYOUTS.get(name, 0) for name in _ORDER if _KIND[name] != "str"}),
    dtype=np.int64,
)
_MASK_AT = {int(mask): j for j, mask in enumerate(_MASKS)}
assert len(_MASKS) < 64, "layout_bitmaps numbers the masks in one int64"


@dataclass(frozen=True)
class DecodeResult:
    """Decoded rows (input order) plus which input rows they came from and which failed."""

    table: pa.Table
    kept_index: np.ndarray
    rejected_index: np.ndarray


class _Columns:
    """The kernel's column matrices plus what pyais decoded for the rows it could not.

    Why no validity matrix: a field is present in every message of a layout that has it,
    so the kernel writes only each row's layout (``lids``) and a column's validity is
    worked out once per distinct set of layouts. The text arrays hold only the messages
    that carry text (a few percent), in row order: the kernel writes every row at most
    once per column, so a batch touches only the memory its messages fill."""

    def __init__(self, n_rows: int) -> None:
        self.n_rows = n_rows
        self.ints = np.zeros((len(_INT_SLOT), n_rows), dtype=np.int64)
        self.flags = np.zeros((len(_FLAG_SLOT), n_rows), dtype=np.uint8)
        self.floats = np.zeros((len(_FLOAT_SLOT), n_rows), dtype=np.float64)
        self.lids = np.full(n_rows, -1, dtype=np.int8)
        # Filled only as far as the kernel goes (row ``t`` of each message with text, its
        # lengths -1 where a field is absent), so left uninitialised.
        self.text = np.empty((len(_TEXT_SLOT), n_rows, _TEXT_WIDTH), dtype=np.uint8)
        self.text_len = np.empty((len(_TEXT_SLOT), n_rows), dtype=np.int16)
        self.put_rows: dict[str, list[np.ndarray]] = {}
        self.str_pieces: dict[str, list[tuple[np.ndarray, pa.Array]]] = {}
        self._keep: np.ndarray | slice = slice(None)
        self._kept_lids = self.lids
        self._bitmaps: tuple[np.ndarray, np.ndarray] | None = None
        self._text_at: np.ndarray | None = None

    def keep(self, keep: np.ndarray | slice) -> None:
        """Build columns of the rows ``keep`` (an index array, or ``slice(None)``) only."""
        self._keep = keep
        self._kept_lids = self.lids[keep]
        self._bitmaps = None

    def put(self, name: str, rows: np.ndarray, values: Any) -> None:
        """Values pyais decoded for some rows."""
        kind = _KIND.get(name, "str")
        if kind == "str":
            array = values if isinstance(values, pa.Array) else pa.array(values, pa.string())
            self.str_pieces.setdefault(name, []).append((rows, array))
            return
        if kind == "float":
            self.floats[_FLOAT_SLOT[name], rows] = values
        elif kind == "bool":
            self.flags[_FLAG_SLOT[name], rows] = values
        else:
            self.ints[_INT_SLOT[name], rows] = values
        self.put_rows.setdefault(name, []).append(rows)

    def _validity(self, name: str) -> tuple[pa.Buffer | None, int]:
        """The kept rows' validity bitmap (None when all are valid) and valid count."""
        mask = _FIELD_LAYOUTS.get(name, 0)
        puts = self.put_rows.get(name)
        if puts:
            bits, _ = decode_kernels.layout_bitmaps(self.lids, np.array([mask], np.int64))
            valid = np.unpackbits(bits[0], count=self.n_rows, bitorder="little").view(np.bool_)
            for rows in puts:
                valid[rows] = True
            valid = valid[self._keep]
            n_valid = int(np.count_nonzero(valid))
            if n_valid == len(valid):
                return None, n_valid
            return pa.py_buffer(np.packbits(valid, bitorder="little")), n_valid
        if self._bitmaps is None:
            self._bitmaps = decode_kernels.layout_bitmaps(self._kept_lids, _MASKS)
        bits, counts = self._bitmaps
        j = _MASK_AT[mask]
        n_valid = int(counts[j])
        return (None if n_valid == len(self._kept_lids) else pa.py_buffer(bits[j])), n_valid

    def column(self, name: str) -> pa.Array:
        """The column of the kept rows."""
        kind = _KIND.get(name, "str")
        if kind == "str":
            return self._text_column(name)
        keep = self._keep
        n_kept = len(self._kept_lids)
        bitmap, n_valid = self._validity(name)
        if not n_valid:
            return pa.nulls(n_kept, _arrow_type(name))
        data: pa.Buffer
        if kind == "float":
            data = pa.py_buffer(np.ascontiguousarray(self.floats[_FLOAT_SLOT[name], keep]))
        elif kind == "bool":  # Arrow booleans are bits
            flags = self.flags[_FLAG_SLOT[name], keep]
            data = pa.py_buffer(np.packbits(flags, bitorder="little"))
        else:
            data = pa.py_buffer(np.ascontiguousarray(self.ints[_INT_SLOT[name], keep]))
        return pa.Array.from_buffers(
            _arrow_type(name), n_kept, [bitmap, data], null_count=n_kept - n_valid
        )

    def text_at(self) -> np.ndarray:
        """Each row's row in the text arrays, -1 for a message without text."""
        if self._text_at is None:
            self._text_at = decode_kernels.text_rows(self.lids)
        return self._text_at

    def _text_column(self, name: str) -> pa.Array:
        slot = _TEXT_SLOT.get(name)
        pieces = self.str_pieces.get(name, [])
        n_kept = len(self._kept_lids)
        if slot is None and not pieces:
            return pa.nulls(n_kept, pa.string())
        if slot is not None and not pieces:  # the kernel's text alone: no gather needed
            return _strings(self.text[slot], self.text_len[slot], self.text_at()[self._keep])
        if slot is not None:
            at = self.text_at()
            rows = np.flatnonzero(at >= 0)
            rows = rows[self.text_len[slot, at[rows]] >= 0]
            if len(rows):
                text = _strings(self.text[slot], self.text_len[slot], at[rows])
                pieces = [(rows, text), *pieces]
        rows = np.concatenate([rows for rows, _ in pieces])
        arrays = [array for _, array in pieces] + [pa.nulls(1, pa.string())]
        combined = pa.concat_arrays(arrays)
        index = np.full(self.n_rows, len(combined) - 1, dtype=np.int64)
        index[rows] = np.arange(len(rows), dtype=np.int64)
        return combined.take(pa.array(index[self._keep]))


def _strings(chars: np.ndarray, lengths: np.ndarray, at: np.ndarray) -> pa.Array:
    """The text rows ``at`` (-1, or a length of -1, for null) as one Arrow string array.

    Only rows with text are visited: text fields live in the static messages, a few
    percent of a batch."""
    offsets, data, bits, n_valid = decode_kernels.strings(chars, lengths, at)
    nulls = len(at) - n_valid
    return pa.StringArray.from_buffers(
        len(at),
        pa.py_buffer(offsets),
        pa.py_buffer(data),
        pa.py_buffer(bits) if nulls else None,
        nulls,
    )


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
