"""The decode kernel's output buffers and how they become Arrow columns.

Why apart from ``decoder``: the buffers' shapes are a contract between three parts, the
kernel (``decode_kernels``), the code generated into it (``decode_codegen`` numbers the
slots from here) and the decoder, which turns them into the columns of
``DECODED_SCHEMA``; the decoder's pyais fallback and tables change for other reasons.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from jointwatch.ais import arrow_kernels, decode_kernels
from jointwatch.ais.columns import _KIND, _ORDER, _arrow_type
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

__all__: list[str] = []

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


class _Columns:
    """The kernel's column matrices plus what pyais decoded for the rows it could not.

    Why no validity matrix: a field is present in every message of a layout that has it,
    so the kernel writes only each row's layout (``lids``) and a column's validity is
    worked out once per distinct set of layouts. Why compact text rows: only the messages
    that carry text (a few percent) take one, in row order, so the memory the kernel
    writes for text follows the static messages, not the batch."""

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
            bits, _ = arrow_kernels.layout_bitmaps(self.lids, np.array([mask], np.int64))
            valid = np.unpackbits(bits[0], count=self.n_rows, bitorder="little").view(np.bool_)
            for rows in puts:
                valid[rows] = True
            valid = valid[self._keep]
            n_valid = int(np.count_nonzero(valid))
            if n_valid == len(valid):
                return None, n_valid
            return pa.py_buffer(np.packbits(valid, bitorder="little")), n_valid
        if self._bitmaps is None:
            self._bitmaps = arrow_kernels.layout_bitmaps(self._kept_lids, _MASKS)
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
    """The text rows ``at`` (-1, or a length of -1, for null) as one Arrow string array,
    offsets, data and validity built in one compiled pass."""
    offsets, data, bits, n_valid = arrow_kernels.strings(chars, lengths, at)
    nulls = len(at) - n_valid
    return pa.StringArray.from_buffers(
        len(at),
        pa.py_buffer(offsets),
        pa.py_buffer(data),
        pa.py_buffer(bits) if nulls else None,
        nulls,
    )
