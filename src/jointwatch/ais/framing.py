"""Framing: raw lines to validated AIVDM/AIVDO sentence fields, in columns.

Why two passes: the per-line work that needs Python (splitting fields, the optional TAG
block) is kept to slicing and dictionary look-ups in one tight loop, and everything that is
arithmetic over bytes — both checksums of the common path and the 6-bit payload alphabet
check — runs once over the whole batch in NumPy. Nothing here raises on bad input: every
rejected line is counted under one reason (see ``LINE_REASONS``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import reduce
from operator import xor

import numpy as np

__all__ = [
    "EARLIEST_TAG_S",
    "LINE_REASONS",
    "MAX_LINE_BYTES",
    "MAX_TAG_AHEAD_S",
    "Frames",
    "frame_lines",
]

EARLIEST_TAG_S = 946_684_800.0  # 2000-01-01T00:00:00Z: no AIS archive we read is older
MAX_TAG_AHEAD_S = 86_400.0  # a TAG time a day ahead of receipt is a clock error

MAX_LINE_BYTES = 1024

#: Every reason a line can be rejected for at framing; each line read lands in exactly one
#: of these or is accepted.
LINE_REASONS = (
    "too_long",
    "not_ais",
    "malformed",
    "bad_tag_checksum",
    "bad_checksum",
    "bad_fragment",
    "bad_fill_bits",
    "bad_payload_chars",
)

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


def _valid_payload_table() -> np.ndarray:
    table = np.zeros(256, dtype=np.uint8)
    table[0x30:0x58] = 1
    table[0x60:0x78] = 1
    return 1 - table  # 1 marks an invalid byte


_INVALID_PAYLOAD_BYTE = _valid_payload_table()


@dataclass
class Frames:
    """Accepted sentences of one batch, column by column, plus rejection counts.

    ``tag_group`` holds the id of a TAG ``g:part-total-id`` group (None without one);
    ``tag_time_s`` is NaN and ``tag_source`` None when the TAG block does not carry them.
    """

    payload: list[bytes] = field(default_factory=list)
    fill_bits: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))
    frag_total: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))
    frag_num: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))
    seq_id: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int16))
    channel: list[str] = field(default_factory=list)
    tag_time_s: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    tag_source: list[str | None] = field(default_factory=list)
    tag_group: list[str | None] = field(default_factory=list)
    line_index: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    lines_read: int = 0
    rejected: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.payload)


def _as_bytes(line: object) -> bytes | None:
    if isinstance(line, bytes):
        return line
    if isinstance(line, str):
        return line.encode("utf-8", "replace")
    if isinstance(line, bytearray | memoryview):
        return bytes(line)
    return None


class _Tag:
    """Parsed TAG block values we use."""

    __slots__ = ("group", "source", "time_s")

    def __init__(self) -> None:
        self.time_s = math.nan
        self.source: str | None = None
        self.group: str | None = None


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
        elif key == b"g":
            parts = value.split(b"-", 2)
            if len(parts) == 3 and parts[2]:
                tag.group = parts[2].decode("ascii", "replace")
    return tag


# The whole common path in one C-level match: optional TAG block, then the sentence with
# its checksummed body captured. Anything that fails it goes to ``_classify`` for a reason.
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


def frame_lines(lines: Sequence[bytes | str], source: str, rx_time_s: float) -> Frames:
    """Split, check and parse raw lines into a columnar ``Frames``; never raises.

    ``rx_time_s`` bounds the TAG ``c:`` times believed: a time before 2000 or more than a
    day after receipt is a receiver's bad clock (or a forgery) and is ignored, so the
    sentence falls back to its receive time instead of pinning time-ordered state.
    """
    del source
    latest_tag_s = rx_time_s + MAX_TAG_AHEAD_S
    rejected: dict[str, int] = {}
    rows: list[tuple[bytes | None, ...]] = []
    indexes: list[int] = []
    match = _SENTENCE.fullmatch
    for index, raw in enumerate(lines):
        line = raw if isinstance(raw, bytes) else _as_bytes(raw)
        if line is None:
            reason = "malformed"
        else:
            line = line.strip()
            if len(line) > MAX_LINE_BYTES:
                reason = "too_long"
            else:
                found = match(line)
                if found is not None:
                    rows.append(found.groups())
                    indexes.append(index)
                    continue
                reason = _classify(line)
        rejected[reason] = rejected.get(reason, 0) + 1
    out = Frames(lines_read=len(lines), rejected=rejected)
    if not rows:
        return out
    cols = list(zip(*rows, strict=True))
    tags = _parse_tags(cols[_TAG_GROUP])
    keep = _validate(cols, tags, rejected)
    keep_list = keep.tolist()
    payloads = cols[_PAYLOAD]
    channels = cols[_CHANNEL]
    out.payload = [payloads[i] for i in keep_list]
    out.channel = [_CHANNELS[channels[i]] for i in keep_list]
    out.fill_bits = _digits(cols[_FILL])[keep].astype(np.int8)
    out.frag_total = _digits(cols[_TOTAL])[keep].astype(np.int8)
    out.frag_num = _digits(cols[_NUMBER])[keep].astype(np.int8)
    seq = cols[_SEQ_FIELD]
    out.seq_id = np.fromiter((_SEQ[v] for v in seq), dtype=np.int16, count=len(seq))[keep]
    out.line_index = np.asarray(indexes, dtype=np.int64)[keep]
    out.tag_time_s = np.full(len(keep), np.nan)
    out.tag_source = [None] * len(keep)
    out.tag_group = [None] * len(keep)
    if tags:
        for pos, row in enumerate(keep_list):
            tag = tags.get(row)
            if isinstance(tag, _Tag):
                if EARLIEST_TAG_S <= tag.time_s <= latest_tag_s:
                    out.tag_time_s[pos] = tag.time_s
                out.tag_source[pos] = tag.source
                out.tag_group[pos] = tag.group
    return out


def _parse_tags(blocks: tuple[bytes | None, ...]) -> dict[int, _Tag | str]:
    """Parse the TAG blocks present in a batch, keyed by row."""
    if not any(blocks):
        return {}
    return {row: _parse_tag(block) for row, block in enumerate(blocks) if block is not None}


def _digits(column: tuple[bytes | None, ...]) -> np.ndarray:
    """Single-digit fields (the pattern guarantees exactly one digit) as integers."""
    joined = b"".join(column)  # type: ignore[arg-type]
    return np.frombuffer(joined, dtype=np.uint8).astype(np.int64) - 48


def _segment_xor(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """XOR of each non-empty segment of a concatenated byte buffer."""
    starts = np.cumsum(lengths) - lengths
    return np.bitwise_xor.reduceat(values, starts).astype(np.int64)


def _segment_any(flags: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Whether each segment (empty ones included) holds a set flag."""
    if not flags.any():
        return np.zeros(len(lengths), dtype=np.bool_)
    prefix = np.concatenate(([0], np.cumsum(flags, dtype=np.int64)))
    ends = np.cumsum(lengths)
    return (prefix[ends] - prefix[ends - lengths]) > 0


def _validate(
    cols: list[tuple[bytes | None, ...]], tags: dict[int, _Tag | str], rejected: dict[str, int]
) -> np.ndarray:
    """Batch checks of the lines that matched the sentence pattern; returns accepted rows."""
    bodies = cols[_BODY]
    payloads = cols[_PAYLOAD]
    n_rows = len(bodies)
    body_len = np.fromiter(map(len, bodies), dtype=np.int64, count=n_rows)  # type: ignore[arg-type]
    body_bytes = np.frombuffer(b"".join(bodies), dtype=np.uint8)  # type: ignore[arg-type]
    checks = np.fromiter((_HEX[c] for c in cols[_CHECK]), dtype=np.int64, count=n_rows)  # type: ignore[index]
    checksum_ok = _segment_xor(body_bytes, body_len) == checks
    pay_len = np.fromiter(map(len, payloads), dtype=np.int64, count=n_rows)  # type: ignore[arg-type]
    pay_bytes = np.frombuffer(b"".join(payloads), dtype=np.uint8)  # type: ignore[arg-type]
    bad_chars = _segment_any(_INVALID_PAYLOAD_BYTE[pay_bytes], pay_len)
    total, number, fill = _digits(cols[_TOTAL]), _digits(cols[_NUMBER]), _digits(cols[_FILL])
    tag_reason = np.zeros(n_rows, dtype=np.bool_)
    tag_failures: dict[str, int] = {}
    for row, tag in tags.items():
        if isinstance(tag, str):
            tag_reason[row] = True
            tag_failures[tag] = tag_failures.get(tag, 0) + 1
    for reason, count in tag_failures.items():
        rejected[reason] = rejected.get(reason, 0) + count
    undecided = ~tag_reason
    # One reason per line, first failing check wins, in this order.
    checks_in_order = (
        ("bad_checksum", ~checksum_ok),
        ("bad_fragment", (total < 1) | (number < 1) | (number > total)),
        ("bad_fill_bits", fill > 5),
        ("bad_payload_chars", bad_chars | (pay_len == 0)),
    )
    for reason, failed in checks_in_order:
        hit = undecided & failed
        count = int(hit.sum())
        if count:
            rejected[reason] = rejected.get(reason, 0) + count
            undecided &= ~hit
    return np.flatnonzero(undecided)
