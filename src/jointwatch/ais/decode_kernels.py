"""Compiled decode of whole messages: payloads packed into words, fields cut by a table.

Why a table walk: the layouts (``layouts.py``) stay the one statement of where each field
lies; ``decoder._compile_layouts`` turns them into rows this kernel reads, so adding a
layout never means writing another loop. Compiled with ``cache=True`` like ``kernels``.
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["decode_messages"]

_jit = nb.njit(cache=True, nogil=True, boundscheck=False)

# Conversions, numbered as ``decoder._CONV_CODES`` numbers them.
_U, _BOOL, _FLOAT, _TENTH, _LATLON, _LATLON600, _TABLE, _TEXT = range(8)


_WORD_BITS = 60  # ten 6-bit characters per int64 word
_MAX_WORDS = 8  # 480 bits: past the longest layout (type 5, 424 bits)


@_jit
def _pack(buf: np.ndarray, at: int, n_chars: int, dearmour: np.ndarray, words: np.ndarray) -> None:
    """The first ``_MAX_WORDS`` words of a payload, each ten characters, left-aligned:
    every field is then cut from at most two words instead of re-reading its characters."""
    n_chars = min(n_chars, _MAX_WORDS * 10)
    for w in range(_MAX_WORDS + 1):
        words[w] = 0
    for c in range(n_chars):
        w = c // 10
        words[w] = (words[w] << 6) | dearmour[buf[at + c]]
    left = n_chars % 10
    if left:
        words[n_chars // 10] <<= 6 * (10 - left)


@_jit
def _bits(words: np.ndarray, start: int, width: int) -> int:
    w = start // _WORD_BITS
    off = start - w * _WORD_BITS
    if off + width <= _WORD_BITS:
        return (words[w] >> (_WORD_BITS - off - width)) & ((1 << width) - 1)
    high_bits = _WORD_BITS - off
    low_bits = width - high_bits
    high = words[w] & ((1 << high_bits) - 1)
    return (high << low_bits) | (words[w + 1] >> (_WORD_BITS - low_bits))


@_jit
def _text(words: np.ndarray, start: int, n_chars: int, row: np.ndarray) -> int:
    """6-bit text into ``row``, trimmed as pyais trims (trailing '@', then spaces); returns
    the trimmed length."""
    end = 0
    for k in range(n_chars):
        code = _bits(words, start + 6 * k, 6)
        code = code + 64 if code < 32 else code
        row[k] = code
        if code != 64:
            end = k + 1
    lo = 0
    while lo < end and row[lo] == 32:
        lo += 1
    hi = end
    while hi > lo and row[hi - 1] == 32:
        hi -= 1
    for k in range(lo, hi):
        row[k - lo] = row[k]
    return hi - lo


@_jit
def _layout_of(mtype: int, words: np.ndarray, n_bits: int) -> int:
    if mtype == 1 or mtype == 2 or mtype == 3:
        return 0
    if mtype == 4:
        return 1
    if mtype == 5:
        return 2
    if mtype == 18:
        return 3
    if mtype == 19:
        return 4
    if mtype == 27:
        return 5
    if mtype == 21:
        return 6
    if mtype == 24 and n_bits >= 40:
        partno = _bits(words, 38, 2)
        if partno == 0:
            return 7
        if partno == 1:
            mmsi = _bits(words, 8, 30)
            return 9 if 980_000_000 <= mmsi <= 989_999_999 else 8
    return -1


@_jit
def decode_messages(
    buf: np.ndarray,
    start: np.ndarray,
    length: np.ndarray,
    fill: np.ndarray,
    dearmour: np.ndarray,
    fields: np.ndarray,
    layouts: np.ndarray,
    tables: np.ndarray,
    ints: np.ndarray,
    floats: np.ndarray,
    valid: np.ndarray,
    text: np.ndarray,
    text_len: np.ndarray,
    name_ext_slot: int,
    status: np.ndarray,
) -> None:
    """Decode every message of a vectorised layout; ``status`` 0 decoded, 1 for pyais,
    2 rejected (fill bits outside 0..5).

    ``fields`` rows: start bit, width, conversion, column (int/float matrix row or text
    slot), kind (0 int, 1 float, 2 text), table. ``layouts`` rows: first field, end, bits.
    ``valid`` rows follow the int columns then the float columns then the text slots.
    """
    n_int = ints.shape[0]
    n_float = floats.shape[0]
    words = np.zeros(_MAX_WORDS + 1, dtype=np.int64)
    for r in range(len(start)):
        at = start[r]
        fb = fill[r]
        if fb < 0 or fb > 5:
            status[r] = 2
            continue
        n_bits = length[r] * 6 - fb
        if length[r] <= 0:
            status[r] = 1
            continue
        _pack(buf, at, length[r], dearmour, words)
        lid = _layout_of(dearmour[buf[at]], words, n_bits)
        if lid < 0 or n_bits < layouts[lid, 2]:
            status[r] = 1
            continue
        n_ext = 0
        if lid == 6:  # type 21: whole characters of name extension, else pyais
            ext_bits = n_bits - 272
            if ext_bits > 0 and ext_bits < 90 and ext_bits % 6 != 0:
                status[r] = 1
                continue
            n_ext = min(max(ext_bits, 0), 90) // 6
        status[r] = 0
        for f in range(layouts[lid, 0], layouts[lid, 1]):
            fstart, width, conv, col, kind = (
                fields[f, 0],
                fields[f, 1],
                fields[f, 2],
                fields[f, 3],
                fields[f, 4],
            )
            if kind == 2:
                text_len[col, r] = _text(words, fstart, width // 6, text[col, r])
                valid[n_int + n_float + col, r] = True
                continue
            raw = _bits(words, fstart, width)
            if kind == 0:
                value = raw
                if conv == _TABLE:
                    value = int(tables[fields[f, 5], raw])
                elif conv == _BOOL:
                    value = 1 if raw else 0
                ints[col, r] = value
                valid[col, r] = True
                continue
            signed = raw - (((raw >> (width - 1)) & 1) << width)
            if conv == _TENTH:
                x = raw / 10.0
            elif conv == _LATLON:
                x = ((10 * signed + 3) // 6) / 1e6
            elif conv == _LATLON600:
                x = ((10000 * signed + 3) // 6) / 1e6
            elif conv == _TABLE:
                x = tables[fields[f, 5], raw]
            else:
                x = float(raw)
            floats[col, r] = x
            valid[n_int + col, r] = True
        if n_ext:
            text_len[name_ext_slot, r] = _text(words, 272, n_ext, text[name_ext_slot, r])
            valid[n_int + n_float + name_ext_slot, r] = True
