"""Vectorised 6-bit text fields to Arrow strings, trimmed exactly as pyais trims them.

pyais 3.3.1 turns a text field into characters, removes trailing ``@`` (the padding
character), then strips surrounding whitespace — in the 6-bit alphabet only the space.
Doing that with boolean matrices keeps whole columns of names in NumPy.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

__all__ = ["sixbit_strings"]

_AT = 64
_SPACE = 32


def _last_true(mask: np.ndarray) -> np.ndarray:
    """Index + 1 of the last True per row, 0 when a row has none."""
    width = mask.shape[1]
    any_true = mask.any(axis=1)
    return np.where(any_true, width - np.argmax(mask[:, ::-1], axis=1), 0)


def sixbit_strings(codes: np.ndarray) -> pa.Array:
    """ASCII codes (rows x characters, uint8) to a string array: rstrip('@') then strip()."""
    n_rows, width = codes.shape
    if n_rows == 0 or width == 0:
        return pa.array([""] * n_rows, pa.string())
    end = _last_true(codes != _AT)
    column = np.arange(width)
    inside = column[None, :] < end[:, None]
    content = inside & (codes != _SPACE)
    stop = _last_true(content)
    start = np.where(content.any(axis=1), np.argmax(content, axis=1), 0)
    keep = (column[None, :] >= start[:, None]) & (column[None, :] < stop[:, None])
    data = np.ascontiguousarray(codes[keep])
    lengths = np.maximum(stop - start, 0)
    offsets = np.zeros(n_rows + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    return pa.StringArray.from_buffers(
        n_rows, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data.tobytes())
    )
