"""Compiled decode of whole messages: payloads packed into words, fields cut by layout.

The layouts (``layouts.py``) stay the one statement of where each field lies:
``decode_codegen`` writes them as straight-line code per layout into the marked region of
``decode_messages``' loop, and their sizes into the one at the end of this module (why
there, and not as a function per layout: see ``decode_codegen``). Everything lives in this one file
because numba's cache checks only the file a function is defined in: helpers elsewhere
could change under a stale cached kernel. Compiled with ``cache=True`` like ``kernels``.
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["decode_messages", "text_rows"]

_jit = nb.njit(cache=True, nogil=True, boundscheck=False)
# Inlined by numba where it is called: a call passes each array as a dozen words.
_inline = nb.njit(cache=True, nogil=True, boundscheck=False, inline="always")

_WORD_BITS = 60  # ten 6-bit characters per int64 word
_MAX_WORDS = 8  # 480 bits: past the longest layout (type 5, 424 bits)


@_inline
def _pack(buf: np.ndarray, at: int, n_chars: int, dearmour: np.ndarray, words: np.ndarray) -> None:
    """The first ``_MAX_WORDS`` words of a payload, each ten characters, left-aligned:
    every field is then cut from at most two words instead of re-reading its characters.

    A whole word is one expression of independent terms, not a running shift per
    character, so its ten lookups overlap instead of waiting on each other."""
    n_chars = min(n_chars, _MAX_WORDS * 10)
    full = n_chars // 10
    for w in range(full):
        p = at + 10 * w
        words[w] = (
            (dearmour[buf[p]] << 54)
            | (dearmour[buf[p + 1]] << 48)
            | (dearmour[buf[p + 2]] << 42)
            | (dearmour[buf[p + 3]] << 36)
            | (dearmour[buf[p + 4]] << 30)
            | (dearmour[buf[p + 5]] << 24)
            | (dearmour[buf[p + 6]] << 18)
            | (dearmour[buf[p + 7]] << 12)
            | (dearmour[buf[p + 8]] << 6)
            | dearmour[buf[p + 9]]
        )
    last = 0
    for c in range(n_chars - 10 * full):
        last |= dearmour[buf[at + 10 * full + c]] << (54 - 6 * c)
    words[full] = last
    for w in range(full + 1, _MAX_WORDS + 1):
        words[w] = 0


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
def _text(words: np.ndarray, start: int, n_chars: int, text: np.ndarray, slot: int, t: int) -> int:
    """6-bit text into ``text[slot, t]``, trimmed as pyais trims (trailing '@', then
    spaces); returns the trimmed length. The array and indices, not a view of the row:
    making a view per field costs a reference count."""
    end = 0
    for k in range(n_chars):
        code = _bits(words, start + 6 * k, 6)
        code = code + 64 if code < 32 else code
        text[slot, t, k] = code
        if code != 64:
            end = k + 1
    lo = 0
    while lo < end and text[slot, t, lo] == 32:
        lo += 1
    hi = end
    while hi > lo and text[slot, t, hi - 1] == 32:
        hi -= 1
    for k in range(lo, hi):
        text[slot, t, k - lo] = text[slot, t, k]
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
    tables: np.ndarray,
    ints: np.ndarray,
    flags: np.ndarray,
    floats: np.ndarray,
    lids: np.ndarray,
    text: np.ndarray,
    text_len: np.ndarray,
    name_ext_slot: int,
    status: np.ndarray,
) -> None:
    """Decode every message of a vectorised layout; ``status`` 0 decoded, 1 for pyais,
    2 rejected (fill bits outside 0..5); ``lids`` the layout of each decoded row.

    Messages whose layout carries text take the next row of ``text``/``text_len``, in
    order (``text_rows`` finds it again from ``lids``), every length -1 until a field is
    written. The fields of each layout are cut by the generated code in the loop.
    """
    words = np.zeros(_MAX_WORDS + 1, dtype=np.int64)
    n_text = 0
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
        if lid < 0 or n_bits < LAYOUT_BITS[lid]:
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
        lids[r] = lid
        t = -1
        if LAYOUT_TEXT[lid]:
            t = n_text
            n_text += 1
            for slot in range(text_len.shape[0]):
                text_len[slot, t] = -1
        # --- generated fields of each layout: do not edit below ---
        if lid == 0:  # message type 1, 2, 3
            ints[0, r] = _bits(words, 0, 6)  # msg_type
            ints[1, r] = _bits(words, 6, 2)  # repeat
            ints[2, r] = _bits(words, 8, 30)  # mmsi
            ints[3, r] = int(tables[0, _bits(words, 38, 4)])  # status
            raw = _bits(words, 42, 8)  # turn
            floats[0, r] = tables[5, raw]
            raw = _bits(words, 50, 10)  # speed
            floats[1, r] = raw / 10.0
            flags[0, r] = 1 if _bits(words, 60, 1) else 0  # accuracy
            raw = _bits(words, 61, 28)  # lon
            floats[2, r] = ((10 * (raw - (((raw >> 27) & 1) << 28)) + 3) // 6) / 1e6
            raw = _bits(words, 89, 27)  # lat
            floats[3, r] = ((10 * (raw - (((raw >> 26) & 1) << 27)) + 3) // 6) / 1e6
            raw = _bits(words, 116, 12)  # course
            floats[4, r] = raw / 10.0
            ints[4, r] = _bits(words, 128, 9)  # heading
            ints[5, r] = _bits(words, 137, 6)  # second
            ints[6, r] = int(tables[1, _bits(words, 143, 2)])  # maneuver
            flags[1, r] = 1 if _bits(words, 148, 1) else 0  # raim
            ints[7, r] = _bits(words, 149, 19)  # radio
        elif lid == 1:  # message type 4
            ints[0, r] = _bits(words, 0, 6)  # msg_type
            ints[1, r] = _bits(words, 6, 2)  # repeat
            ints[2, r] = _bits(words, 8, 30)  # mmsi
            ints[8, r] = _bits(words, 38, 14)  # year
            ints[9, r] = _bits(words, 52, 4)  # month
            ints[10, r] = _bits(words, 56, 5)  # day
            ints[11, r] = _bits(words, 61, 5)  # hour
            ints[12, r] = _bits(words, 66, 6)  # minute
            ints[5, r] = _bits(words, 72, 6)  # second
            flags[0, r] = 1 if _bits(words, 78, 1) else 0  # accuracy
            raw = _bits(words, 79, 28)  # lon
            floats[2, r] = ((10 * (raw - (((raw >> 27) & 1) << 28)) + 3) // 6) / 1e6
            raw = _bits(words, 107, 27)  # lat
            floats[3, r] = ((10 * (raw - (((raw >> 26) & 1) << 27)) + 3) // 6) / 1e6
            ints[13, r] = int(tables[2, _bits(words, 134, 4)])  # epfd
            flags[1, r] = 1 if _bits(words, 148, 1) else 0  # raim
            ints[7, r] = _bits(words, 149, 19)  # radio
        elif lid == 2:  # message type 5
            ints[0, r] = _bits(words, 0, 6)  # msg_type
            ints[1, r] = _bits(words, 6, 2)  # repeat
            ints[2, r] = _bits(words, 8, 30)  # mmsi
            ints[14, r] = _bits(words, 38, 2)  # ais_version
            ints[15, r] = _bits(words, 40, 30)  # imo
            text_len[0, t] = _text(words, 70, 7, text, 0, t)  # callsign
            text_len[1, t] = _text(words, 112, 20, text, 1, t)  # shipname
            ints[16, r] = int(tables[3, _bits(words, 232, 8)])  # ship_type
            ints[17, r] = _bits(words, 240, 9)  # to_bow
            ints[18, r] = _bits(words, 249, 9)  # to_stern
            ints[19, r] = _bits(words, 258, 6)  # to_port
            ints[20, r] = _bits(words, 264, 6)  # to_starboard
            ints[13, r] = int(tables[2, _bits(words, 270, 4)])  # epfd
            ints[9, r] = _bits(words, 274, 4)  # month
            ints[10, r] = _bits(words, 278, 5)  # day
            ints[11, r] = _bits(words, 283, 5)  # hour
            ints[12, r] = _bits(words, 288, 6)  # minute
            raw = _bits(words, 294, 8)  # draught
            floats[5, r] = raw / 10.0
            text_len[2, t] = _text(words, 302, 20, text, 2, t)  # destination
            flags[2, r] = 1 if _bits(words, 422, 1) else 0  # dte
        elif lid == 3:  # message type 18
            ints[0, r] = _bits(words, 0, 6)  # msg_type
            ints[1, r] = _bits(words, 6, 2)  # repeat
            ints[2, r] = _bits(words, 8, 30)  # mmsi
            raw = _bits(words, 46, 10)  # speed
            floats[1, r] = raw / 10.0
            flags[0, r] = 1 if _bits(words, 56, 1) else 0  # accuracy
            raw = _bits(words, 57, 28)  # lon
            floats[2, r] = ((10 * (raw - (((raw >> 27) & 1) << 28)) + 3) // 6) / 1e6
            raw = _bits(words, 85, 27)  # lat
            floats[3, r] = ((10 * (raw - (((raw >> 26) & 1) << 27)) + 3) // 6) / 1e6
            raw = _bits(words, 112, 12)  # course
            floats[4, r] = raw / 10.0
            ints[4, r] = _bits(words, 124, 9)  # heading
            ints[5, r] = _bits(words, 133, 6)  # second
            flags[3, r] = 1 if _bits(words, 141, 1) else 0  # cs
            flags[4, r] = 1 if _bits(words, 142, 1) else 0  # display
            flags[5, r] = 1 if _bits(words, 143, 1) else 0  # dsc
            flags[6, r] = 1 if _bits(words, 144, 1) else 0  # band
            flags[7, r] = 1 if _bits(words, 145, 1) else 0  # msg22
            flags[8, r] = 1 if _bits(words, 146, 1) else 0  # assigned
            flags[1, r] = 1 if _bits(words, 147, 1) else 0  # raim
            ints[7, r] = _bits(words, 148, 20)  # radio
        elif lid == 4:  # message type 19
            ints[0, r] = _bits(words, 0, 6)  # msg_type
            ints[1, r] = _bits(words, 6, 2)  # repeat
            ints[2, r] = _bits(words, 8, 30)  # mmsi
            raw = _bits(words, 46, 10)  # speed
            floats[1, r] = raw / 10.0
            flags[0, r] = 1 if _bits(words, 56, 1) else 0  # accuracy
            raw = _bits(words, 57, 28)  # lon
            floats[2, r] = ((10 * (raw - (((raw >> 27) & 1) << 28)) + 3) // 6) / 1e6
            raw = _bits(words, 85, 27)  # lat
            floats[3, r] = ((10 * (raw - (((raw >> 26) & 1) << 27)) + 3) // 6) / 1e6
            raw = _bits(words, 112, 12)  # course
            floats[4, r] = raw / 10.0
            ints[4, r] = _bits(words, 124, 9)  # heading
            ints[5, r] = _bits(words, 133, 6)  # second
            text_len[1, t] = _text(words, 143, 20, text, 1, t)  # shipname
            ints[16, r] = int(tables[3, _bits(words, 263, 8)])  # ship_type
            ints[17, r] = _bits(words, 271, 9)  # to_bow
            ints[18, r] = _bits(words, 280, 9)  # to_stern
            ints[19, r] = _bits(words, 289, 6)  # to_port
            ints[20, r] = _bits(words, 295, 6)  # to_starboard
            ints[13, r] = int(tables[2, _bits(words, 301, 4)])  # epfd
            flags[1, r] = 1 if _bits(words, 305, 1) else 0  # raim
            flags[2, r] = 1 if _bits(words, 306, 1) else 0  # dte
            flags[8, r] = 1 if _bits(words, 307, 1) else 0  # assigned
        elif lid == 5:  # message type 27
            ints[0, r] = _bits(words, 0, 6)  # msg_type
            ints[1, r] = _bits(words, 6, 2)  # repeat
            ints[2, r] = _bits(words, 8, 30)  # mmsi
            flags[0, r] = 1 if _bits(words, 38, 1) else 0  # accuracy
            flags[1, r] = 1 if _bits(words, 39, 1) else 0  # raim
            ints[3, r] = int(tables[0, _bits(words, 40, 4)])  # status
            raw = _bits(words, 44, 18)  # lon
            floats[2, r] = ((10000 * (raw - (((raw >> 17) & 1) << 18)) + 3) // 6) / 1e6
            raw = _bits(words, 62, 17)  # lat
            floats[3, r] = ((10000 * (raw - (((raw >> 16) & 1) << 17)) + 3) // 6) / 1e6
            raw = _bits(words, 79, 6)  # speed
            floats[1, r] = float(raw)
            raw = _bits(words, 85, 9)  # course
            floats[4, r] = float(raw)
            flags[11, r] = 1 if _bits(words, 94, 1) else 0  # gnss
        elif lid == 6:  # message type 21
            ints[0, r] = _bits(words, 0, 6)  # msg_type
            ints[1, r] = _bits(words, 6, 2)  # repeat
            ints[2, r] = _bits(words, 8, 30)  # mmsi
            ints[25, r] = int(tables[4, _bits(words, 38, 5)])  # aid_type
            text_len[4, t] = _text(words, 43, 20, text, 4, t)  # name
            flags[0, r] = 1 if _bits(words, 163, 1) else 0  # accuracy
            raw = _bits(words, 164, 28)  # lon
            floats[2, r] = ((10 * (raw - (((raw >> 27) & 1) << 28)) + 3) // 6) / 1e6
            raw = _bits(words, 192, 27)  # lat
            floats[3, r] = ((10 * (raw - (((raw >> 26) & 1) << 27)) + 3) // 6) / 1e6
            ints[17, r] = _bits(words, 219, 9)  # to_bow
            ints[18, r] = _bits(words, 228, 9)  # to_stern
            ints[19, r] = _bits(words, 237, 6)  # to_port
            ints[20, r] = _bits(words, 243, 6)  # to_starboard
            ints[13, r] = int(tables[2, _bits(words, 249, 4)])  # epfd
            ints[5, r] = _bits(words, 253, 6)  # second
            flags[9, r] = 1 if _bits(words, 259, 1) else 0  # off_position
            flags[1, r] = 1 if _bits(words, 268, 1) else 0  # raim
            flags[10, r] = 1 if _bits(words, 269, 1) else 0  # virtual_aid
            flags[8, r] = 1 if _bits(words, 270, 1) else 0  # assigned
        elif lid == 7:  # message type 24 A
            ints[0, r] = _bits(words, 0, 6)  # msg_type
            ints[1, r] = _bits(words, 6, 2)  # repeat
            ints[2, r] = _bits(words, 8, 30)  # mmsi
            ints[21, r] = _bits(words, 38, 2)  # partno
            text_len[1, t] = _text(words, 40, 20, text, 1, t)  # shipname
        elif lid == 8:  # message type 24 B
            ints[0, r] = _bits(words, 0, 6)  # msg_type
            ints[1, r] = _bits(words, 6, 2)  # repeat
            ints[2, r] = _bits(words, 8, 30)  # mmsi
            ints[21, r] = _bits(words, 38, 2)  # partno
            ints[16, r] = _bits(words, 40, 8)  # ship_type
            text_len[3, t] = _text(words, 48, 3, text, 3, t)  # vendorid
            ints[22, r] = _bits(words, 66, 4)  # model
            ints[23, r] = _bits(words, 70, 20)  # serial
            text_len[0, t] = _text(words, 90, 7, text, 0, t)  # callsign
            ints[17, r] = _bits(words, 132, 9)  # to_bow
            ints[18, r] = _bits(words, 141, 9)  # to_stern
            ints[19, r] = _bits(words, 150, 6)  # to_port
            ints[20, r] = _bits(words, 156, 6)  # to_starboard
        elif lid == 9:  # message type 24 B aux
            ints[0, r] = _bits(words, 0, 6)  # msg_type
            ints[1, r] = _bits(words, 6, 2)  # repeat
            ints[2, r] = _bits(words, 8, 30)  # mmsi
            ints[21, r] = _bits(words, 38, 2)  # partno
            ints[16, r] = _bits(words, 40, 8)  # ship_type
            text_len[3, t] = _text(words, 48, 3, text, 3, t)  # vendorid
            ints[22, r] = _bits(words, 66, 4)  # model
            ints[23, r] = _bits(words, 70, 20)  # serial
            text_len[0, t] = _text(words, 90, 7, text, 0, t)  # callsign
            ints[24, r] = _bits(words, 132, 30)  # mothership_mmsi
        # --- generated fields of each layout: do not edit above ---
        if n_ext:
            text_len[name_ext_slot, t] = _text(words, 272, n_ext, text, name_ext_slot, t)


@_jit
def text_rows(lids: np.ndarray) -> np.ndarray:
    """Each row's row in the text arrays (``decode_messages`` gives them out in order to
    the messages whose layout carries text), -1 for the others."""
    at = np.empty(len(lids), dtype=np.int64)
    t = 0
    for i in range(len(lids)):
        lid = lids[i]
        if lid >= 0 and LAYOUT_TEXT[lid]:
            at[i] = t
            t += 1
        else:
            at[i] = -1
    return at


# --- generated by jointwatch.ais.decode_codegen: do not edit below ---


#: Bits each layout needs, in the order ``_layout_of`` numbers them.
LAYOUT_BITS = np.array([168, 168, 423, 168, 308, 95, 271, 160, 162, 162], dtype=np.int64)
#: Whether each layout carries text (its message then takes a row of the text arrays).
LAYOUT_TEXT = np.array([0, 0, 1, 0, 1, 0, 1, 1, 1, 1], dtype=np.bool_)
# --- generated by jointwatch.ais.decode_codegen: do not edit above ---
