"""The per-line reference path of framing: one stripped line at a time, by pattern.

Why it is kept beside the compiled scan (``framing``): lines of uncommon shape take it, and
it is what the scan must agree with exactly (``tests/unit/test_ais_framing_fast.py``). It is
written for clarity, not speed: a regular expression, ``bytes.split`` and a TAG parser.
"""

from __future__ import annotations

import math
import re
from functools import reduce
from operator import xor

MAX_LINE_BYTES = 1024  # 82 characters of sentence plus a generous TAG block

_DIGIT = {str(i).encode(): i for i in range(10)}
# Sequence ids, fragment numbers and fill bits: up to three digits, leading zeros allowed.
_SEQ = {f"{i:0{w}d}".encode(): i for w in (1, 2, 3) for i in range(10**w)}
_SEQ[b""] = -1
_HEX: dict[bytes, int] = {}
for _value in range(256):
    _text = f"{_value:02x}"
    _hi, _lo = _text[0], _text[1]
    for _a in {_hi, _hi.upper()}:
        for _b in {_lo, _lo.upper()}:
            _HEX[(_a + _b).encode()] = _value
_CHANNELS = {b"A": "A", b"B": "B", b"1": "1", b"2": "2", b"": ""}
_SENTENCES = (b"VDM", b"VDO")


_ARMOUR_BYTES = bytes(range(0x30, 0x58)) + bytes(range(0x60, 0x78))
_CHANNEL_BYTE = {b"": 0, b"A": ord("A"), b"B": ord("B"), b"1": ord("1"), b"2": ord("2")}


class _Tag:
    """Parsed TAG block values we use."""

    __slots__ = ("group", "group_bytes", "source", "source_bytes", "time_s")

    def __init__(self) -> None:
        self.time_s = math.nan
        self.source: str | None = None
        self.group: str | None = None
        self.source_bytes = b""
        self.group_bytes = b""


def _parse_tag(block: bytes) -> _Tag | str:
    """Parse ``key:val,...*hh`` (without the backslashes); a reason string when rejected."""
    star = block.rfind(b"*")
    if star < 0:
        return "bad_tag_checksum"  # no checksum: we cannot tell a TAG block from noise
    params = block[:star]
    expected = _HEX.get(block[star + 1 :])
    if expected is None or reduce(xor, params, 0) != expected:
        return "bad_tag_checksum"
    tag = _Tag()
    for item in params.split(b","):
        key, sep, value = item.partition(b":")  # values may hold colons: first one splits
        if not sep:
            continue
        if key == b"c":
            try:
                seconds = float(value)
            except ValueError:
                continue
            if seconds > 1e11:  # some providers send milliseconds
                seconds /= 1000.0
            if math.isfinite(seconds) and seconds >= 0:
                tag.time_s = seconds
        elif key == b"s":
            tag.source = value.decode("ascii", "replace")
            tag.source_bytes = value
        elif key == b"g":
            parts = value.split(b"-", 2)
            if len(parts) == 3 and parts[2]:
                tag.group = parts[2].decode("ascii", "replace")
                tag.group_bytes = parts[2]
    return tag


# The per-line reference: the sentence pattern applied to one stripped line, and
# ``_classify`` for why a line failed it. Lines of the common shape never come here.
_SENTENCE = re.compile(
    rb"(?:\\([^\\]*)\\)?!((?:[A-Z]{2}VD[MO]),(\d),(\d),(\d{0,3}),([AB12]?),([^,*]*),(\d))"
    rb"\*([0-9A-Fa-f]{2})"
)
_TAG_GROUP, _BODY, _TOTAL, _NUMBER, _SEQ_FIELD, _CHANNEL, _PAYLOAD, _FILL, _CHECK = range(9)


def _classify(line: bytes) -> str:
    """Why a line failed the fast pattern (checked in the same order as the batch checks)."""
    if line[:1] == b"\\":
        end = line.find(b"\\", 1)
        if end < 0:
            return "malformed"
        parsed = _parse_tag(line[1:end])
        if isinstance(parsed, str):
            return parsed
        line = line[end + 1 :]
    parts = line.split(b",")
    head = parts[0]
    if len(head) != 6 or head[:1] != b"!" or head[3:] not in _SENTENCES:
        return "not_ais"
    star = line.rfind(b"*")
    if len(parts) != 7 or star < 0 or star != len(line) - 3:
        return "malformed"
    if _HEX.get(line[star + 1 :]) != reduce(xor, line[1:star], 0):
        return "bad_checksum"
    if parts[4] not in _CHANNELS or not head[1:3].isalpha() or not head[1:3].isupper():
        return "malformed"
    if parts[1] not in _DIGIT or parts[2] not in _DIGIT or parts[3] not in _SEQ:
        return "bad_fragment"
    if parts[6][:-3] not in _DIGIT:
        return "bad_fill_bits"
    return "bad_payload_chars"


def _frame_one(raw: object) -> tuple[bytes | None, ...] | str:
    """One line the per-line way: the sentence pattern's groups, or why it is rejected."""
    line = raw if isinstance(raw, bytes) else _as_bytes(raw)
    if line is None:
        return "malformed"
    line = line.strip()
    if len(line) > MAX_LINE_BYTES:
        return "too_long"
    found = _SENTENCE.fullmatch(line)
    if found is not None:
        return found.groups()
    return _classify(line)


def _as_bytes(line: object) -> bytes | None:
    if isinstance(line, bytes):
        return line
    if isinstance(line, str):
        return line.encode("utf-8", "replace")
    if isinstance(line, bytearray | memoryview):
        return bytes(line)
    return None
