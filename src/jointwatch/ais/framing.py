"""Framing: raw lines to validated AIVDM/AIVDO sentence fields, in columns.

Why a compiled scan: per-line Python (strip, a pattern match, splitting the TAG block) costs
microseconds a line, many times what decoding costs. A batch is one byte buffer instead, and
``kernels.frame`` reads every line of the common shape in one compiled pass: the fields by
position, both checksums, the TAG items ``c:``, ``s:`` and ``g:``. A line of any other shape
(next to none in real feeds, many under fuzzing) takes the per-line path here, the reference
the scan must agree with exactly (``tests/unit/test_ais_framing_fast.py``). Payloads, TAG
sources and group ids stay spans of the buffer, so no Python object is made per sentence.
Nothing here raises on bad input: every rejected line is counted under one reason (see
``LINE_REASONS``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from functools import reduce
from operator import xor
from typing import NamedTuple

import numpy as np

from jointwatch.ais import kernels, spans
from jointwatch.ais.frames import Frames
from jointwatch.ais.framing_ref import (  # the per-line path and its tables
    _ARMOUR_BYTES,
    _BODY,
    _CHANNEL,
    _CHANNEL_BYTE,
    _CHECK,
    _DIGIT,
    _FILL,
    _HEX,
    _NUMBER,
    _PAYLOAD,
    _SEQ,
    _SEQ_FIELD,
    _TAG_GROUP,
    _TOTAL,
    MAX_LINE_BYTES,
    _as_bytes,
    _frame_one,
    _parse_tag,
)

__all__ = [
    "EARLIEST_TAG_S",
    "LINE_REASONS",
    "MAX_LINE_BYTES",
    "MAX_TAG_AHEAD_S",
    "Frames",
    "LineBounds",
    "block_bounds",
    "block_records",
    "frame_block",
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

# ---- the batch path --------------------------------------------------------------------------
#
# A line has the common shape when, stripped, it is an optional TAG block and one sentence
# that the sentence pattern matches, where the TAG block is ``params*hh`` with no other '*'
# and each ``c:`` item of it holds 1 to 15 decimal digits. For such lines every field sits
# at a place the kernel finds by position, and what the TAG items say is exactly what
# ``_parse_tag`` reads (last item of a key wins, ``g:`` items without three dash-separated
# parts are skipped). Every other line takes the per-line path.

_SCAN_MIN_LINES = 1  # tests raise it to send whole batches down the per-line path
# The batch checks in ``_classify``'s order, numbered from 1 as ``kernels.first_failure``
# numbers them.
_CHECKS = (
    "bad_tag_checksum",
    "bad_checksum",
    "bad_fragment",
    "bad_fill_bits",
    "bad_payload_chars",
)
# Columns of the kernel's per-line integer matrix (see ``kernels.frame``).
_STATE, _SRC, _SRC_LEN, _GRP, _GRP_LEN, _SUM_OK, _TOT, _NUM, _SEQ_AT, _CHAN, _FILL_AT = range(11)
_PAY, _PAY_LEN, _PAY_BAD = 11, 12, 13


def frame_lines(lines: Sequence[bytes | str], source: str, rx_time_s: float) -> Frames:
    """Split, check and parse raw lines into a columnar ``Frames``; never raises.

    Each item is one line, whatever it holds. ``rx_time_s`` bounds the TAG ``c:`` times
    believed: a time before 2000 or more than a day after receipt is a receiver's bad clock
    (or a forgery) and is ignored, so the sentence falls back to its receive time instead
    of pinning time-ordered state.
    """
    del source
    if not lines:
        return Frames()
    buf, ends = _join(lines)
    starts = np.empty(len(ends), dtype=np.int64)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    return _frame(buf, starts, ends, lines.__getitem__, rx_time_s)


def frame_block(block: bytes, rx_time_s: float, bounds: LineBounds | None = None) -> Frames:
    """``frame_lines`` for a block of text as a stream delivers it: lines end at '\\n' (a
    '\\r' before it is removed) and empty lines are skipped, as the line splitter of every
    source does. Lines longer than ``MAX_LINE_BYTES`` are dropped, as the splitter drops
    them, and counted in ``dropped_too_long``. No Python object is made per line.

    ``bounds`` (``block_bounds`` of this block) spares finding the lines again when the
    caller found them already, for the journal."""
    buf, starts, ends, too_long = bounds if bounds is not None else block_bounds(block)

    def line_at(index: int) -> bytes:
        return block[int(starts[index]) : int(ends[index])]

    frames = _frame(buf, starts, ends, line_at, rx_time_s) if len(starts) else Frames()
    frames.dropped_too_long = too_long
    return frames


def block_records(block: bytes, prefix: bytes, bounds: LineBounds | None = None) -> memoryview:
    """The lines ``frame_block`` reads from a block, each as ``prefix + line + '\\n'``:
    the journal's records of the block (``journal.record_prefix``), built in compiled code
    so that a worker thread can build them while another thread holds the GIL.

    A view of the array the kernel filled, not ``bytes``: copying a million lines' records
    out cost more (about 0.11 s) than building them (0.07 s), and a file writes either."""
    buf, starts, ends, _ = bounds if bounds is not None else block_bounds(block)
    lengths = ends - starts
    out = np.empty(int(lengths.sum()) + len(starts) * (len(prefix) + 1), dtype=np.uint8)
    spans.gather_records(buf, starts, lengths, np.frombuffer(prefix, dtype=np.uint8), out)
    return out.data


class LineBounds(NamedTuple):
    """A block as bytes, where each line kept starts and ends, and how many were too long."""

    buf: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    too_long: int


def block_bounds(block: bytes) -> LineBounds:
    """The lines of a block as ``frame_block`` and ``block_records`` read them."""
    buf = np.frombuffer(block, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 10)
    starts = np.empty(len(newlines) + 1, dtype=np.int64)
    ends = np.empty_like(starts)
    n_lines, too_long = kernels.line_bounds(buf, newlines, MAX_LINE_BYTES, starts, ends)
    return LineBounds(buf, starts[:n_lines], ends[:n_lines], int(too_long))


def _join(lines: Sequence[bytes | str]) -> tuple[np.ndarray, np.ndarray]:
    """The batch joined with each line ending in a newline, and where those newlines are. A
    line the scan must not see (not text, too long, holding a newline) is left empty there,
    so it takes the per-line path."""
    if set(map(type, lines)) == {bytes}:
        plain: list[bytes] = list(lines)  # type: ignore[arg-type]
    else:
        plain = [b"" if line is None else line for line in map(_as_bytes, lines)]
    too_long = np.fromiter(map(len, plain), dtype=np.int64, count=len(plain)) > MAX_LINE_BYTES
    if too_long.any():
        plain = [b"" if cut else line for line, cut in zip(plain, too_long.tolist(), strict=True)]
    buf, line_end = _joined(plain)
    if len(line_end) != len(plain):
        plain = [b"" if b"\n" in line else line for line in plain]
        buf, line_end = _joined(plain)
    return buf, line_end


def _joined(lines: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    buf = np.frombuffer(b"\n".join(lines) + b"\n", dtype=np.uint8)
    return buf, np.flatnonzero(buf == 10)


def _frame(
    buf: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    line_at: Callable[[int], object],
    rx_time_s: float,
) -> Frames:
    n_lines = len(starts)
    rejected: dict[str, int] = {}
    status = np.zeros(n_lines, dtype=np.uint8)
    cols = np.zeros((14, n_lines), dtype=np.int64)  # one row per field, as the kernel fills it
    tag_time = np.full(n_lines, np.nan)
    if n_lines >= _SCAN_MIN_LINES:
        kernels.frame(buf, starts, ends, MAX_LINE_BYTES, status, cols, tag_time)
    odd: Iterable[int] = np.flatnonzero(status == kernels.ODD).tolist()
    matched: list[tuple[int, tuple[bytes | None, ...]]] = []
    for index in odd:  # the rest, counted in line order
        result = _frame_one(line_at(index))
        if isinstance(result, str):
            rejected[result] = rejected.get(result, 0) + 1
        else:
            matched.append((index, result))
    if matched:
        # As ever, TAG blocks count only when some sentence of the batch has a non-empty one.
        has_tags = bool(cols[_STATE, status == kernels.COMMON].any()) or any(
            groups[_TAG_GROUP] for _, groups in matched
        )
        buf = _odd_rows(buf, matched, has_tags, status, cols, tag_time)
    rows = np.flatnonzero(status == kernels.COMMON)
    out = Frames(lines_read=n_lines, rejected=rejected)
    latest = rx_time_s + MAX_TAG_AHEAD_S
    if len(rows) == n_lines:  # every line of the common shape: no gather
        _check(buf, rows, cols, tag_time, out, latest)
    elif len(rows):
        _check(buf, rows, cols[:, rows], tag_time[rows], out, latest)
    return out


def _odd_rows(
    buf: np.ndarray,
    matched: list[tuple[int, tuple[bytes | None, ...]]],
    has_tags: bool,
    status: np.ndarray,
    cols: np.ndarray,
    tag_time: np.ndarray,
) -> np.ndarray:
    """Fill the kernel's columns for the lines the per-line pattern matched (its groups
    guarantee single digits, two hex digits and at most three digits of sequence id); their
    payloads, sources and group ids go after the batch's buffer. Returns that buffer."""
    extra = bytearray()
    base = len(buf)

    def span(value: bytes) -> tuple[int, int]:
        at = base + len(extra)
        extra.extend(value)
        return at, len(value)

    for index, groups in matched:
        row = cols[:, index]  # a view: writes go to the matrix
        body, check = groups[_BODY], groups[_CHECK]
        assert body is not None and check is not None
        row[_SUM_OK] = int(reduce(xor, body, 0) == _HEX[check])
        row[_TOT] = _DIGIT[groups[_TOTAL] or b""]
        row[_NUM] = _DIGIT[groups[_NUMBER] or b""]
        row[_FILL_AT] = _DIGIT[groups[_FILL] or b""]
        row[_SEQ_AT] = _SEQ[groups[_SEQ_FIELD] or b""]
        row[_CHAN] = _CHANNEL_BYTE[groups[_CHANNEL] or b""]
        payload = groups[_PAYLOAD] or b""
        row[_PAY], row[_PAY_LEN] = span(payload)
        row[_PAY_BAD] = int(not payload or bool(payload.translate(None, _ARMOUR_BYTES)))
        row[_SRC_LEN] = row[_GRP_LEN] = -1
        row[_STATE] = 0
        tag_time[index] = math.nan
        block = groups[_TAG_GROUP]
        if has_tags and block is not None:
            tag = _parse_tag(block)
            if isinstance(tag, str):
                row[_STATE] = 2
            else:
                row[_STATE] = 1
                tag_time[index] = tag.time_s
                if tag.source is not None:
                    row[_SRC], row[_SRC_LEN] = span(tag.source_bytes)
                if tag.group is not None:
                    row[_GRP], row[_GRP_LEN] = span(tag.group_bytes)
        status[index] = kernels.COMMON
    if not extra:
        return buf
    return np.concatenate((buf, np.frombuffer(bytes(extra), dtype=np.uint8)))


def _check(
    buf: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    time_s: np.ndarray,
    out: Frames,
    latest_tag_s: float,
) -> None:
    """The batch checks (one reason per line: the first failing one, in ``_classify``'s
    order, as ``kernels.first_failure`` numbers them) and the accepted sentences into
    ``out``."""
    rejected = out.rejected
    reason = np.empty(len(rows), dtype=np.int8)
    # C order always: the columns of some lines come out of a gather in Fortran order, and
    # numba would compile the kernel again for them, seconds on a new machine.
    kernels.first_failure(np.ascontiguousarray(cols), reason)
    counts = np.bincount(reason, minlength=len(_CHECKS) + 1).tolist()
    for name, count in zip(_CHECKS, counts[1:], strict=True):
        if count:
            rejected[name] = rejected.get(name, 0) + count
    if counts[0] == len(rows):  # every line passed: the columns as they are, no gather
        keep: np.ndarray | slice = slice(None)
        kept = cols
    else:
        keep = np.flatnonzero(reason == 0)
        if not len(keep):
            return
        kept = cols[:, keep]
    out.buf = buf
    out.payload_start = kept[_PAY]
    out.payload_len = kept[_PAY_LEN]
    out.fill_bits = kept[_FILL_AT].astype(np.int8)
    out.frag_total = kept[_TOT].astype(np.int8)
    out.frag_num = kept[_NUM].astype(np.int8)
    out.seq_id = kept[_SEQ_AT].astype(np.int16)
    out.channel_code = kept[_CHAN].astype(np.uint8)
    out.line_index = rows[keep]
    kept_time = time_s[keep]
    believed = (kept[_STATE] == 1) & (kept_time >= EARLIEST_TAG_S) & (kept_time <= latest_tag_s)
    out.tag_time_s = np.where(believed, kept_time, np.nan)
    out.source_code, out.sources = _intern(buf, kept[_SRC], kept[_SRC_LEN])
    out.group_code, out.groups = _intern(buf, kept[_GRP], kept[_GRP_LEN])


def _intern(buf: np.ndarray, start: np.ndarray, length: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Codes of the byte strings (-1 where absent) and the distinct strings, as text."""
    codes = np.full(len(start), -1, dtype=np.int64)
    if not (length >= 0).any():
        return codes, []
    start, length = np.ascontiguousarray(start), np.ascontiguousarray(length)
    firsts = kernels.intern(buf, start, length, codes)
    names = [
        buf[a : a + n].tobytes().decode("ascii", "replace")
        for a, n in zip(start[firsts].tolist(), length[firsts].tolist(), strict=True)
    ]
    return codes, names
