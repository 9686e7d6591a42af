"""Compiled loops of the AIS fast path: line bounds, framing, interning, hashing, decode.

Why compiled (numba): NumPy makes a batch cost one pass over memory per operation, and
framing plus decoding takes dozens of operations, so the batch crossed memory dozens of
times and the per-operation overhead dominated small batches. One loop per line (or per
message) that touches each byte once runs at the speed of reading memory. The kernels only
find, check and convert; the rules they follow are the per-line reference in ``framing``
and the layouts in ``layouts``, and the tests hold the kernels to both (and to pyais).

Every kernel is ``cache=True``: the first process on a machine compiles them (a few
seconds) and later ones load the machine code from ``__pycache__``.
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = [
    "decode_messages",
    "frame",
    "gather",
    "gather_lines",
    "intern",
    "line_bounds",
    "payload_hashes",
]

_jit = nb.njit(cache=True, nogil=True, boundscheck=False)

# Odd lines (status 0) take the per-line path; common ones (status 1) were read whole.
ODD, COMMON = 0, 1
_MIN_SENTENCE = 18  # !TTVDM,t,n,,,,f*hh
_MAX_C_DIGITS = 15
_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


@_jit
def line_bounds(buf: np.ndarray, max_line: int, starts: np.ndarray, ends: np.ndarray) -> tuple:
    """Lines of a block as the line splitter keeps them: split at '\\n', one trailing '\\r'
    removed, empty lines skipped, lines over ``max_line`` bytes dropped and counted.
    Returns (lines, too long)."""
    n = len(buf)
    count = 0
    too_long = 0
    s = 0
    i = 0
    while i <= n:
        if i == n or buf[i] == 10:
            e = i
            if e > s and buf[e - 1] == 13:
                e -= 1
            if e > s:
                if e - s > max_line:
                    too_long += 1
                else:
                    starts[count] = s
                    ends[count] = e
                    count += 1
            s = i + 1
        i += 1
    return count, too_long


@_jit
def _is_space(b: int) -> bool:
    return b == 32 or (9 <= b <= 13)


@_jit
def _hex(b: int) -> int:
    if 48 <= b <= 57:
        return b - 48
    if 97 <= b <= 102:
        return b - 87
    if 65 <= b <= 70:
        return b - 55
    return -1


@_jit
def _xor(buf: np.ndarray, a: int, b: int) -> int:
    acc = 0
    for k in range(a, b):
        acc ^= buf[k]
    return acc


@_jit
def _find(buf: np.ndarray, byte: int, a: int, b: int) -> int:
    for k in range(a, b):
        if buf[k] == byte:
            return k
    return -1


@_jit
def _armoured(b: int) -> bool:
    return (48 <= b < 88) or (96 <= b < 120)


@_jit
def _tag(
    buf: np.ndarray, i: int, open_at: int, close_at: int, out_i: np.ndarray, tag_time: np.ndarray
) -> bool:
    """Check and read the TAG block ``buf[open_at:close_at]`` of line ``i``; False when the
    block is not of the plain shape (the line then takes the per-line path).

    ``out_i`` rows: 0 state (1 good, 2 bad checksum), 1-2 source span, 3-4 group span.
    """
    star = close_at - 3
    if star < open_at or _find(buf, 42, open_at, star) >= 0 or buf[star] != 42:
        return False
    hi, lo = _hex(buf[close_at - 2]), _hex(buf[close_at - 1])
    if hi < 0 or lo < 0:
        return False
    out_i[0, i] = 1 if _xor(buf, open_at, star) == hi * 16 + lo else 2
    a = open_at
    while a <= star:
        b = _find(buf, 44, a, star)
        if b < 0:
            b = star
        if b - a >= 2 and buf[a + 1] == 58:
            key = buf[a]
            value_at = a + 2
            if key == 99:  # c: 1 to 15 digits, exact as a float64
                length = b - value_at
                if length < 1 or length > _MAX_C_DIGITS:
                    return False
                seconds = 0
                for k in range(value_at, b):
                    digit = buf[k] - 48
                    if digit < 0 or digit > 9:
                        return False
                    seconds = seconds * 10 + digit
                value = float(seconds)
                tag_time[i] = value / 1000.0 if value > 1e11 else value
            elif key == 115:  # s: last one wins, empty allowed
                out_i[1, i] = value_at
                out_i[2, i] = b - value_at
            elif key == 103:  # g:part-total-id, the id non-empty
                first = _find(buf, 45, value_at, b)
                if first >= 0:
                    second = _find(buf, 45, first + 1, b)
                    if second >= 0 and second + 1 < b:
                        out_i[3, i] = second + 1
                        out_i[4, i] = b - second - 1
        a = b + 1
    return True


@_jit
def frame(
    buf: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    max_line: int,
    status: np.ndarray,
    out_i: np.ndarray,
    tag_time: np.ndarray,
) -> int:
    """Read every line of the common shape (see ``framing``) in one pass; returns how many.

    ``out_i`` rows (one column per line): 0 TAG state, 1-2 TAG source span, 3-4 TAG group
    span (length -1 when absent), 5 checksum ok, 6 total, 7 number, 8 seq (-1 empty),
    9 channel byte (0 empty), 10 fill, 11-12 payload span, 13 payload bad (empty or outside
    the armour).
    """
    common = 0
    for i in range(len(starts)):
        status[i] = ODD
        s, e = starts[i], ends[i]
        if e - s > max_line:
            continue
        while s < e and _is_space(buf[s]):
            s += 1
        while e > s and _is_space(buf[e - 1]):
            e -= 1
        if e - s < _MIN_SENTENCE:
            continue
        first = buf[s]
        sent = s
        close_at = -1
        if first == 92:
            close_at = _find(buf, 92, s + 1, e)
            if close_at < 0 or close_at >= e - _MIN_SENTENCE + 1:
                continue
            sent = close_at + 1
        elif first != 33:
            continue
        if e - sent < _MIN_SENTENCE or buf[sent] != 33:
            continue
        if buf[sent + 3] != 86 or buf[sent + 4] != 68 or (buf[sent + 5] | 2) != 79:
            continue
        if buf[sent + 6] != 44 or buf[sent + 8] != 44 or buf[sent + 10] != 44:
            continue
        if not (65 <= buf[sent + 1] <= 90 and 65 <= buf[sent + 2] <= 90):
            continue
        if not (48 <= buf[sent + 7] <= 57 and 48 <= buf[sent + 9] <= 57):
            continue
        if buf[e - 5] != 44 or not (48 <= buf[e - 4] <= 57) or buf[e - 3] != 42:
            continue
        hi, lo = _hex(buf[e - 2]), _hex(buf[e - 1])
        if hi < 0 or lo < 0:
            continue
        # One pass over the sentence body: its XOR, no '*' before the checksum, the three
        # commas after the fixed fields (the third is the one before the fill bits), and
        # whether the payload between the second and third holds a byte outside the armour.
        field_at = sent + 11
        folded = 0
        comma1 = comma2 = comma3 = -1
        starred = False
        bad = False
        for k in range(sent + 1, e - 3):
            b = buf[k]
            folded ^= b
            if b == 42:
                starred = True
                break
            if b == 44 and k >= field_at:
                if comma1 < 0:
                    comma1 = k
                elif comma2 < 0:
                    comma2 = k
                elif comma3 < 0:
                    comma3 = k
            elif comma2 >= 0 and comma3 < 0 and not _armoured(b):
                bad = True
        if starred or comma2 < 0 or comma3 != e - 5:
            continue
        seq_len = comma1 - field_at
        if seq_len > 3 or comma2 - comma1 > 2:
            continue
        channel = 0
        if comma2 - comma1 == 2:
            channel = buf[comma1 + 1]
            if channel != 65 and channel != 66 and channel != 49 and channel != 50:
                continue
        seq = -1 if seq_len == 0 else 0
        digits_ok = True
        for k in range(field_at, comma1):
            digit = buf[k] - 48
            if digit < 0 or digit > 9:
                digits_ok = False
            seq = seq * 10 + digit
        if not digits_ok:
            continue
        out_i[0, i] = 0
        out_i[2, i] = -1
        out_i[4, i] = -1
        tag_time[i] = np.nan
        if close_at >= 0 and not _tag(buf, i, s + 1, close_at, out_i, tag_time):
            continue
        out_i[5, i] = 1 if folded == hi * 16 + lo else 0
        out_i[6, i] = buf[sent + 7] - 48
        out_i[7, i] = buf[sent + 9] - 48
        out_i[8, i] = seq
        out_i[9, i] = channel
        out_i[10, i] = buf[e - 4] - 48
        out_i[11, i] = comma2 + 1
        out_i[12, i] = comma3 - comma2 - 1
        bad = bad or comma3 == comma2 + 1
        out_i[13, i] = 1 if bad else 0
        status[i] = COMMON
        common += 1
    return common


@_jit
def _fnv(buf: np.ndarray, start: int, length: int, seed: np.uint64) -> np.uint64:
    h = seed
    for k in range(start, start + length):
        h = (h ^ np.uint64(buf[k])) * _FNV_PRIME
    return h


@_jit
def _same(buf: np.ndarray, a: int, b: int, length: int) -> bool:
    for k in range(length):  # noqa: SIM110 - numba compiles loops, not generators
        if buf[a + k] != buf[b + k]:
            return False
    return True


@_jit
def intern(buf: np.ndarray, start: np.ndarray, length: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Number the distinct byte strings ``buf[start:start+length]`` in order of first sight
    (length -1 means none: code -1); returns the row of each distinct string's first sight.
    Exact: equal hashes are confirmed byte by byte."""
    n = len(start)
    cap = 16
    while cap < 2 * n:
        cap *= 2
    table = np.full(cap, -1, dtype=np.int64)
    firsts = np.empty(n, dtype=np.int64)
    distinct = 0
    mask = cap - 1
    for i in range(n):
        size = length[i]
        if size < 0:
            codes[i] = -1
            continue
        slot = np.int64(_fnv(buf, start[i], size, _FNV_OFFSET) >> np.uint64(1)) & mask
        while True:
            code = table[slot]
            if code < 0:
                table[slot] = distinct
                firsts[distinct] = i
                codes[i] = distinct
                distinct += 1
                break
            row = firsts[code]
            if length[row] == size and _same(buf, start[row], start[i], size):
                codes[i] = code
                break
            slot = (slot + 1) & mask
    return firsts[:distinct]


@_jit
def payload_hashes(
    buf: np.ndarray, start: np.ndarray, length: np.ndarray, fill: np.ndarray
) -> np.ndarray:
    """64-bit FNV-1a of each payload followed by its fill bits: the de-duplication key."""
    out = np.empty(len(start), dtype=np.int64)
    for i in range(len(start)):
        h = _fnv(buf, start[i], length[i], _FNV_OFFSET)
        h = (h ^ np.uint64(fill[i] & 0xFF)) * _FNV_PRIME
        out[i] = np.int64(h)
    return out


@_jit
def gather(buf: np.ndarray, start: np.ndarray, length: np.ndarray, out: np.ndarray) -> None:
    """Copy the spans one after another into ``out`` (joins the parts of messages)."""
    at = 0
    for i in range(len(start)):
        size = length[i]
        out[at : at + size] = buf[start[i] : start[i] + size]
        at += size


@_jit
def gather_lines(buf: np.ndarray, start: np.ndarray, length: np.ndarray, out: np.ndarray) -> None:
    """``gather`` leaving one byte after each span (``out`` comes filled with newlines)."""
    at = 0
    for i in range(len(start)):
        size = length[i]
        out[at : at + size] = buf[start[i] : start[i] + size]
        at += size + 1


# ---- decode --------------------------------------------------------------------------------
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
