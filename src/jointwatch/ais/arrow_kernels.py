"""Compiled builders of Arrow buffers from the decode kernel's output: validity bitmaps
from each row's layout, and string columns from the compact text rows.

Why apart from ``decode_kernels``: they read the kernel's output, not payloads, and need
nothing of its generated code; that module keeps what must share its file for numba's
cache (see its docstring). ``cache=True`` as everywhere.
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["layout_bitmaps", "strings"]

_jit = nb.njit(cache=True, nogil=True, boundscheck=False)


@_jit
def layout_bitmaps(lids: np.ndarray, masks: np.ndarray) -> tuple:
    """Arrow validity bitmaps, one per mask of layouts (bit per layout id; -1, no layout,
    is in none), of the rows whose layout is in it, and each one's count: every column's
    validity from one pass over the rows' layouts.

    Why eight rows at a time: a row's memberships are a word of bits, one per mask, and
    the bitmaps want them the other way round, a byte per mask for eight rows. Eight rows'
    words, eight masks at a time, make an 8 x 8 bit matrix that three shift-and-mask steps
    transpose, instead of a test and a store per row and mask (22 masks: about three
    times the work, measured 0.55 against 0.15 ms a block)."""
    n = len(lids)
    n_masks = len(masks)
    member = np.zeros(16, dtype=np.uint64)  # per layout: the masks it is in, bit per mask
    for j in range(n_masks):
        for lid in range(16):
            if (masks[j] >> lid) & 1:
                member[lid] |= np.uint64(1) << np.uint64(j)
    per_layout = np.zeros(16, dtype=np.int64)
    n_bytes = (n + 7) // 8
    bits = np.zeros((n_masks, n_bytes), dtype=np.uint8)
    for byte in range(n_bytes):
        first = 8 * byte
        rows = min(8, n - first)
        for chunk in range(0, n_masks, 8):
            x = np.uint64(0)  # byte k: row first + k's memberships of masks chunk..chunk+7
            for k in range(rows):
                lid = lids[first + k]
                if lid >= 0:
                    x |= ((member[lid] >> np.uint64(chunk)) & np.uint64(0xFF)) << np.uint64(8 * k)
            x = _transpose8(x)  # byte j: mask chunk + j's bits of the eight rows
            for j in range(min(8, n_masks - chunk)):
                bits[chunk + j, byte] = np.uint8((x >> np.uint64(8 * j)) & np.uint64(0xFF))
        for k in range(rows):
            lid = lids[first + k]
            if lid >= 0:
                per_layout[lid] += 1
    counts = np.zeros(n_masks, dtype=np.int64)
    for j in range(n_masks):
        for lid in range(16):
            if (masks[j] >> lid) & 1:
                counts[j] += per_layout[lid]
    return bits, counts


@_jit
def _transpose8(x: np.uint64) -> np.uint64:
    """The 8 x 8 bit matrix in ``x`` (byte ``r``, bit ``c``) transposed (byte ``c``, bit
    ``r``): swaps of ever larger blocks across the diagonal (Hacker's Delight, 7-3)."""
    t = (x ^ (x >> np.uint64(7))) & np.uint64(0x00AA00AA00AA00AA)
    x = x ^ t ^ (t << np.uint64(7))
    t = (x ^ (x >> np.uint64(14))) & np.uint64(0x0000CCCC0000CCCC)
    x = x ^ t ^ (t << np.uint64(14))
    t = (x ^ (x >> np.uint64(28))) & np.uint64(0x00000000F0F0F0F0)
    return x ^ t ^ (t << np.uint64(28))


@_jit
def strings(chars: np.ndarray, lengths: np.ndarray, at: np.ndarray) -> tuple:
    """An Arrow string column of the text rows ``at`` (-1, or a length of -1: null) in one
    pass: offsets (int32), data, validity bitmap and how many are valid."""
    n = len(at)
    offsets = np.empty(n + 1, dtype=np.int32)
    bits = np.zeros((n + 7) // 8, dtype=np.uint8)
    data = np.empty(chars.shape[0] * chars.shape[1], dtype=np.uint8)  # room for the most
    pos = 0
    n_valid = 0
    offsets[0] = 0
    for i in range(n):
        t = at[i]
        if t >= 0 and lengths[t] >= 0:
            size = lengths[t]
            data[pos : pos + size] = chars[t, :size]
            pos += size
            bits[i >> 3] |= np.uint8(1 << (i & 7))
            n_valid += 1
        offsets[i + 1] = pos
    return offsets, data[:pos].copy(), bits, n_valid
