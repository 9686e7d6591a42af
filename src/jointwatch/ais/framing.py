"""Framing: raw lines to validated AIVDM/AIVDO sentence fields, in columns.

Why a batch scan: per-line Python (strip, a pattern match, splitting the TAG block) costs
microseconds a line, several times what decoding costs. Instead the batch is joined into one
buffer and scanned with NumPy: where the newlines, backslashes, commas and stars are gives
every field of a line of the common shape by index arithmetic, both checksums are XORs over
segments, and the TAG items ``c:``, ``s:`` and ``g:`` are read the same way. A line of any
other shape (next to none in real feeds, many under fuzzing) takes the per-line path, the
reference the scan must agree with exactly (``tests/unit/test_ais_framing_fast.py``).
Nothing here raises on bad input: every rejected line is counted under one reason (see
``LINE_REASONS``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import reduce
from operator import xor

import numpy as np

from jointwatch.ais.scan import (
    _CHANNEL_BYTE,
    _CHANNEL_NAME,
    _SCAN_MIN_LINES,
    MAX_LINE_BYTES,
    _as_bytes,
    _join,
    _Rows,
    _scan,
    _xor_spans,
)

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


# ---- the batch scan ------------------------------------------------------------------------
#
# A line has the common shape when, stripped, it is an optional TAG block and one sentence
# that the sentence pattern matches, where the TAG block is ``params*hh`` with no other '*'
# and each ``c:`` item of it holds 1 to 15 decimal digits. For such lines every field sits
# at a place found by index arithmetic on the batch joined into one buffer, and what the
# TAG items say is exactly what ``_parse_tag`` reads (last item of a key wins, ``g:`` items
# without three dash-separated parts are skipped). Every other line takes the per-line path.


def frame_lines(lines: Sequence[bytes | str], source: str, rx_time_s: float) -> Frames:
    """Split, check and parse raw lines into a columnar ``Frames``; never raises.

    ``rx_time_s`` bounds the TAG ``c:`` times believed: a time before 2000 or more than a
    day after receipt is a receiver's bad clock (or a forgery) and is ignored, so the
    sentence falls back to its receive time instead of pinning time-ordered state.
    """
    del source
    n_lines = len(lines)
    rejected: dict[str, int] = {}
    out = Frames(lines_read=n_lines, rejected=rejected)
    if not n_lines:
        return out
    if n_lines >= _SCAN_MIN_LINES:
        buf, line_end = _join(lines)
        common, rows = _scan(buf, line_end)
        rest: Iterable[int] = np.flatnonzero(~common).tolist()
    else:
        rows, rest = _Rows(np.zeros(0, dtype=np.int64)), range(n_lines)
    matched: list[tuple[int, tuple[bytes | None, ...]]] = []
    for index in rest:  # the rest, counted in line order
        result = _frame_one(lines[index])
        if isinstance(result, str):
            rejected[result] = rejected.get(result, 0) + 1
        else:
            matched.append((index, result))
    if matched:
        # As ever, TAG blocks count only when some sentence of the batch has a non-empty one.
        has_tags = bool(rows.tag_state.any()) or any(groups[_TAG_GROUP] for _, groups in matched)
        odd_rows = _matched_rows(matched, has_tags)
        rows = _merge(rows, odd_rows) if len(rows) else odd_rows
    if len(rows):
        _check(rows, out, rx_time_s + MAX_TAG_AHEAD_S)
    return out


def _matched_rows(matched: list[tuple[int, tuple[bytes | None, ...]]], has_tags: bool) -> _Rows:
    """Rows of the lines the per-line pattern matched (its groups guarantee single digits,
    two hex digits and at most three digits of sequence id)."""
    rows = _Rows(np.fromiter((index for index, _ in matched), dtype=np.int64, count=len(matched)))
    columns: list[tuple[bytes, ...]] = list(zip(*(groups for _, groups in matched), strict=True))
    bodies, checks = columns[_BODY], columns[_CHECK]
    lengths = np.fromiter(map(len, bodies), dtype=np.int64, count=len(bodies))
    starts = np.cumsum(lengths) - lengths
    buffer = np.frombuffer(b"".join(bodies) + b"\n", dtype=np.uint8)  # a stop may not be its end
    folded = _xor_spans(buffer, starts, starts + lengths)
    rows.checksum_ok = folded == np.fromiter(map(_HEX.__getitem__, checks), dtype=np.int64)
    rows.total = _digits(columns[_TOTAL])
    rows.number = _digits(columns[_NUMBER])
    rows.fill = _digits(columns[_FILL])
    rows.seq = np.fromiter(map(_SEQ.__getitem__, columns[_SEQ_FIELD]), dtype=np.int64)
    rows.channel = np.fromiter(map(_CHANNEL_BYTE.__getitem__, columns[_CHANNEL]), dtype=np.int64)
    rows.payload = list(columns[_PAYLOAD])
    pay_len = np.fromiter(map(len, rows.payload), dtype=np.int64, count=len(rows.payload))
    pay_bytes = np.frombuffer(b"".join(rows.payload), dtype=np.uint8)
    rows.bad_payload = _segment_any(_INVALID_PAYLOAD_BYTE[pay_bytes], pay_len) | (pay_len == 0)
    if has_tags:
        for row, block in enumerate(columns[_TAG_GROUP]):
            if block is None:
                continue
            tag = _parse_tag(block)
            if isinstance(tag, str):
                rows.tag_state[row] = 2
            else:
                rows.tag_state[row] = 1
                rows.time_s[row] = tag.time_s
                rows.source[row] = tag.source
                rows.group[row] = tag.group
    return rows


def _digits(column: tuple[bytes, ...]) -> np.ndarray:
    """Single-digit fields as integers."""
    return np.frombuffer(b"".join(column), dtype=np.uint8).astype(np.int64) - 48


def _segment_any(flags: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Whether each segment (empty ones included) holds a set flag."""
    if not flags.any():
        return np.zeros(len(lengths), dtype=np.bool_)
    prefix = np.concatenate(([0], np.cumsum(flags, dtype=np.int64)))
    ends = np.cumsum(lengths)
    return (prefix[ends] - prefix[ends - lengths]) > 0


def _merge(first: _Rows, second: _Rows) -> _Rows:
    """Both sets of rows, in line order."""
    index = np.concatenate((first.index, second.index))
    order = np.argsort(index, kind="stable")
    take = order.tolist()
    rows = _Rows(index[order])
    for name in _Rows.__slots__:
        if name == "index":
            continue
        a, b = getattr(first, name), getattr(second, name)
        if isinstance(a, list):
            both = a + b
            setattr(rows, name, list(map(both.__getitem__, take)))
        else:
            setattr(rows, name, np.concatenate((a, b))[order])
    return rows


def _check(rows: _Rows, out: Frames, latest_tag_s: float) -> None:
    """The batch checks (one reason per line: the first failing one, in ``_classify``'s
    order) and the accepted sentences into ``out``."""
    rejected = out.rejected
    tag_bad = rows.tag_state == 2
    n_tag_bad = int(tag_bad.sum())
    if n_tag_bad:
        rejected["bad_tag_checksum"] = rejected.get("bad_tag_checksum", 0) + n_tag_bad
    undecided = ~tag_bad
    total, number, fill = rows.total, rows.number, rows.fill
    checks_in_order = (
        ("bad_checksum", ~rows.checksum_ok),
        ("bad_fragment", (total < 1) | (number < 1) | (number > total)),
        ("bad_fill_bits", fill > 5),
        ("bad_payload_chars", rows.bad_payload),
    )
    for reason, failed in checks_in_order:
        hit = undecided & failed
        count = int(hit.sum())
        if count:
            rejected[reason] = rejected.get(reason, 0) + count
            undecided &= ~hit
    if undecided.all():
        keep: np.ndarray | slice = slice(None)
        out.payload = rows.payload
    else:
        keep = np.flatnonzero(undecided)
        if not len(keep):
            return
        out.payload = list(map(rows.payload.__getitem__, keep.tolist()))
    out.channel = _CHANNEL_NAME[rows.channel[keep]].tolist()
    out.tag_source = rows.source[keep].tolist()
    out.tag_group = rows.group[keep].tolist()
    out.fill_bits = fill[keep].astype(np.int8)
    out.frag_total = total[keep].astype(np.int8)
    out.frag_num = number[keep].astype(np.int8)
    out.seq_id = rows.seq[keep].astype(np.int16)
    out.line_index = rows.index[keep]
    time_s = rows.time_s[keep]
    believed = (rows.tag_state[keep] == 1) & (time_s >= EARLIEST_TAG_S) & (time_s <= latest_tag_s)
    out.tag_time_s = np.where(believed, time_s, np.nan)
