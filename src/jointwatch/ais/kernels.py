"""Compiled loops of the AIS fast path: line bounds, framing, interning, hashing.

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
    "first_failure",
    "frame",
    "intern",
    "line_bounds",
    "payload_hashes",
]

_jit = nb.njit(cache=True, nogil=True, boundscheck=False)

# Odd lines (status 0) take the per-line path; common ones (status 1) were read whole.
ODD, COMMON = 0, 1
_MIN_SENTENCE = 18  # !TTVDM,t,n,,,,f*hh
_MAX_C_DIGITS = 15
_MAX_TAG_ITEMS = 16  # commas kept of a TAG block; one with more takes the per-line path
# Odd 64-bit multipliers of the span hash (the golden ratio's and SplitMix64's).
_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xBF58476D1CE4E5B9)
_M3 = np.uint64(0x94D049BB133111EB)


@_jit
def line_bounds(
    buf: np.ndarray, newlines: np.ndarray, max_line: int, starts: np.ndarray, ends: np.ndarray
) -> tuple:
    """Lines of a block as the line splitter keeps them: split at '\\n' (``newlines``, where
    they are, found by NumPy's vectorised compare: three times faster than a byte loop),
    one trailing '\\r' removed, empty lines skipped, lines over ``max_line`` bytes dropped
    and counted. Returns (lines, too long)."""
    count = 0
    too_long = 0
    s = 0
    n_newlines = len(newlines)
    for j in range(n_newlines + 1):
        i = newlines[j] if j < n_newlines else len(buf)
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
def _find(buf: np.ndarray, byte: int, a: int, b: int) -> int:
    for k in range(a, b):
        if buf[k] == byte:
            return k
    return -1


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
    commas = np.zeros(_MAX_TAG_ITEMS, dtype=np.int64)  # where the TAG block's commas are
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
        tag_xor = 0
        tag_stars = 0
        tag_ok = True
        if first == 92:
            # The TAG block's end, its XOR, its stars and where its commas are, in one
            # walk (the items are read below, without looking for the commas again); the
            # last three bytes ('*hh' when well formed) are taken out of XOR and stars.
            n_commas = 0
            for k in range(s + 1, e):
                b = buf[k]
                if b == 92:
                    close_at = k
                    break
                tag_xor ^= b
                tag_stars += b == 42
                if b == 44 and n_commas < _MAX_TAG_ITEMS:
                    commas[n_commas] = k
                    n_commas += 1
            if close_at < 0 or close_at >= e - _MIN_SENTENCE + 1:
                continue
            if close_at - 3 >= s + 1:
                for k in range(close_at - 3, close_at):
                    tag_xor ^= buf[k]
                    tag_stars -= buf[k] == 42
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
        # The sentence body in branch-free passes the compiler vectorises, one pass over
        # each byte: its XOR, whether it holds a '*' before the checksum, and whether the
        # payload (between the channel's comma and the one before the fill bits) holds a
        # byte outside the armour. Only such a payload is walked again, to tell a stray
        # comma (another shape: the per-line path) from a bad character.
        field_at = sent + 11
        comma1 = _find(buf, 44, field_at, min(field_at + 4, e - 5))
        if comma1 < 0:
            continue
        comma2 = _find(buf, 44, comma1 + 1, min(comma1 + 3, e - 5))
        if comma2 < 0:
            continue
        folded = 0
        stars = 0
        for k in range(sent + 1, comma2 + 1):
            b = buf[k]
            folded ^= b
            stars += b == 42
        outside = 0
        for k in range(comma2 + 1, e - 5):
            b = buf[k]
            folded ^= b
            stars += b == 42
            outside += (b < 48) | ((b >= 88) & (b < 96)) | (b >= 120)
        for k in range(e - 5, e - 3):
            b = buf[k]
            folded ^= b
            stars += b == 42
        if stars:
            continue
        bad = outside > 0
        if bad and _find(buf, 44, comma2 + 1, e - 5) >= 0:
            continue
        comma3 = e - 5
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
        if close_at >= 0:
            # The plain shape: 'params*hh' with no other star, every c: item of digits.
            star = close_at - 3
            if star < s + 1 or buf[star] != 42 or tag_stars:
                continue
            t_hi, t_lo = _hex(buf[close_at - 2]), _hex(buf[close_at - 1])
            if t_hi < 0 or t_lo < 0:
                continue
            if n_commas == _MAX_TAG_ITEMS:  # more items than kept: the per-line path
                continue
            # Each item in order (the last of a key wins); written out here, not called:
            # a call per item passing the buffer cost more than the parse.
            src_at, src_len, grp_at, grp_len, seconds, has_time = 0, -1, 0, -1, 0, False
            a = s + 1
            for c in range(n_commas + 1):
                b = commas[c] if c < n_commas else star
                if b - a >= 2 and buf[a + 1] == 58:
                    key = buf[a]
                    value_at = a + 2
                    if key == 99:  # c: 1 to 15 digits, exact as a float64
                        length = b - value_at
                        if length < 1 or length > _MAX_C_DIGITS:
                            tag_ok = False
                            break
                        seconds = 0
                        for k in range(value_at, b):
                            digit = buf[k] - 48
                            if digit < 0 or digit > 9:
                                tag_ok = False
                            seconds = seconds * 10 + digit
                        has_time = True
                    elif key == 115:  # s: empty allowed
                        src_at, src_len = value_at, b - value_at
                    elif key == 103:  # g:part-total-id, the id non-empty
                        first_dash = _find(buf, 45, value_at, b)
                        if first_dash >= 0:
                            second = _find(buf, 45, first_dash + 1, b)
                            if second >= 0 and second + 1 < b:
                                grp_at, grp_len = second + 1, b - second - 1
                a = b + 1
            if not tag_ok:
                continue
            out_i[0, i] = 1 if tag_xor == t_hi * 16 + t_lo else 2
            out_i[1, i], out_i[2, i], out_i[3, i], out_i[4, i] = src_at, src_len, grp_at, grp_len
            if has_time:
                value = float(seconds)
                tag_time[i] = value / 1000.0 if value > 1e11 else value
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
def first_failure(cols: np.ndarray, reason: np.ndarray) -> None:
    """Per framed line (a column of ``frame``'s matrix), the first batch check it fails,
    in ``framing._CHECKS`` order from 1 (0: none): TAG checksum, checksum, fragment
    numbers, fill bits, payload characters."""
    for i in range(cols.shape[1]):
        total, number = cols[6, i], cols[7, i]
        if cols[0, i] == 2:
            reason[i] = 1
        elif cols[5, i] == 0:
            reason[i] = 2
        elif total < 1 or number < 1 or number > total:
            reason[i] = 3
        elif cols[10, i] > 5:
            reason[i] = 4
        elif cols[13, i] != 0:
            reason[i] = 5
        else:
            reason[i] = 0


@_jit
def _word(buf: np.ndarray, at: int) -> np.uint64:
    """Eight bytes from ``at``, little-endian (the buffer need not be aligned)."""
    return (
        np.uint64(buf[at])
        | (np.uint64(buf[at + 1]) << np.uint64(8))
        | (np.uint64(buf[at + 2]) << np.uint64(16))
        | (np.uint64(buf[at + 3]) << np.uint64(24))
        | (np.uint64(buf[at + 4]) << np.uint64(32))
        | (np.uint64(buf[at + 5]) << np.uint64(40))
        | (np.uint64(buf[at + 6]) << np.uint64(48))
        | (np.uint64(buf[at + 7]) << np.uint64(56))
    )


@_jit
def _hash_span(buf: np.ndarray, start: int, length: int, tail: np.uint64) -> np.uint64:
    """64-bit hash of ``buf[start:start+length]`` with ``tail`` (a few more bits) mixed in.

    Why eight bytes a step: FNV-1a's multiply per byte is a chain the processor cannot
    overlap, and a payload is 28 bytes or more; a multiply per word, each followed by a
    shift that brings the high bits down, did the B1 payloads in 13.4 instead of 21.8 ns.
    The length is mixed in first, so spans that differ only by leading zero bytes differ.
    """
    h = np.uint64(length) * _M1
    end = start + length
    k = start
    while k + 8 <= end:
        h = (h ^ _word(buf, k)) * _M2
        h ^= h >> np.uint64(31)
        k += 8
    last = tail
    while k < end:
        last = (last << np.uint64(8)) | np.uint64(buf[k])
        k += 1
    h = (h ^ last) * _M3
    h ^= h >> np.uint64(29)
    h *= _M2
    h ^= h >> np.uint64(32)
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
        slot = np.int64(_hash_span(buf, start[i], size, np.uint64(0)) >> np.uint64(1)) & mask
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
    """64-bit hash of each payload and its fill bits (``_hash_span``): the
    de-duplication key."""
    out = np.empty(len(start), dtype=np.int64)
    for i in range(len(start)):
        out[i] = np.int64(_hash_span(buf, start[i], length[i], np.uint64(fill[i] & 0xFF)))
    return out
