"""Framing's fast path: a whole batch of lines scanned as one byte buffer with NumPy.

Why a separate module: ``framing`` keeps the rules (what a valid sentence and TAG block
are, the rejection reasons, the per-line path for odd lines); this module only finds the
fields of ordinarily shaped lines by index arithmetic over one buffer, so a batch costs a
few array passes instead of a Python loop per line. Lines it cannot take whole are left to
the per-line path, which keeps the results identical.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MAX_LINE_BYTES = 1024


def _as_bytes(line: object) -> bytes | None:
    if isinstance(line, bytes):
        return line
    if isinstance(line, str):
        return line.encode("utf-8", "replace")
    if isinstance(line, bytearray | memoryview):
        return bytes(line)
    return None


def _decoded(values: list[bytes]) -> list[str]:
    """TAG values as text, decoding each distinct value once."""
    text = {value: value.decode("ascii", "replace") for value in set(values)}
    return list(map(text.__getitem__, values))


def _byte_table(members: bytes) -> np.ndarray:
    table = np.zeros(256, dtype=np.bool_)
    table[list(members)] = True
    return table


_SPACE = _byte_table(b" \t\n\r\x0b\x0c")  # what bytes.strip() removes
_IS_DIGIT = _byte_table(b"0123456789")
_IS_HEX = _byte_table(b"0123456789abcdefABCDEF")
_IS_CHANNEL = _byte_table(b"AB12")
_HEX_VALUE = np.zeros(256, dtype=np.int64)
for _value in range(16):
    _HEX_VALUE[ord(f"{_value:x}")] = _value
    _HEX_VALUE[ord(f"{_value:X}")] = _value
_MIN_SENTENCE = 18  # !TTVDM,t,n,,,,f*hh
_STRIP_ROUNDS = 4  # more surrounding whitespace than this takes the per-line path
_MAX_C_DIGITS = 15  # exact as a float64 integer
_CHANNEL_NAME = np.array([""] * 256, dtype=object)
for _name in "AB12":
    _CHANNEL_NAME[ord(_name)] = _name
_CHANNEL_BYTE = {b"": 0, b"A": ord("A"), b"B": ord("B"), b"1": ord("1"), b"2": ord("2")}
_SCAN_MIN_LINES = 150  # below this the scan's fixed cost outweighs the per-line path's
_NEWLINE, _BACKSLASH, _COMMA, _STAR, _DASH, _COLON = b"\n\\,*-:"


class _Rows:
    """Sentences that passed the sentence pattern, in line order, before the batch checks."""

    __slots__ = (
        "bad_payload",
        "channel",
        "checksum_ok",
        "fill",
        "group",
        "index",
        "number",
        "payload",
        "seq",
        "source",
        "tag_state",
        "time_s",
        "total",
    )

    def __init__(self, index: np.ndarray) -> None:
        n_rows = len(index)
        self.index = index  # line index in the batch
        # Set by whoever fills the rows:
        self.checksum_ok: np.ndarray  # bool
        self.total: np.ndarray  # int64, like number, fill and seq (-1 when empty)
        self.number: np.ndarray
        self.fill: np.ndarray
        self.seq: np.ndarray
        self.channel: np.ndarray  # int64: the channel's byte, 0 when empty
        self.payload: list[bytes]
        self.bad_payload: np.ndarray  # bool: empty or outside the armour
        self.tag_state = np.zeros(n_rows, dtype=np.int8)  # 0 none, 1 good, 2 bad checksum
        self.time_s = np.full(n_rows, np.nan)  # TAG c: as parsed (NaN without one)
        self.source = np.full(n_rows, None, dtype=object)  # TAG s: (str) or None
        self.group = np.full(n_rows, None, dtype=object)  # TAG g: id (str) or None

    def __len__(self) -> int:
        return len(self.index)


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
    return buf, np.flatnonzero(buf == _NEWLINE)


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(start, start + length)`` for each pair."""
    total = int(lengths.sum())
    if not total:
        return np.zeros(0, dtype=np.int64)
    offsets = np.cumsum(lengths) - lengths
    return np.arange(total, dtype=np.int64) + np.repeat(starts - offsets, lengths)


def _take_bytes(buf: np.ndarray, starts: np.ndarray, stops: np.ndarray) -> list[bytes]:
    """``buf[start:stop]`` as bytes for each pair (no span may hold a newline)."""
    if not len(starts):
        return []
    lengths = stops - starts
    index = _ranges(starts, lengths + 1)
    index[np.cumsum(lengths + 1) - 1] = len(buf) - 1  # the buffer ends in a newline
    return buf[index].tobytes().split(b"\n")[:-1]


def _xor_spans(buf: np.ndarray, starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """XOR of ``buf[start:stop]`` per span (0 when empty); each stop < len(buf)."""
    if not len(starts):
        return np.zeros(0, dtype=np.int64)
    bounds = np.empty(2 * len(starts), dtype=np.int64)
    bounds[0::2] = starts
    bounds[1::2] = stops
    folded = np.bitwise_xor.reduceat(buf, bounds)[0::2].astype(np.int64)
    return np.where(stops > starts, folded, 0)


def _hex_at(buf: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The two hex digits at each position, as a number."""
    return _HEX_VALUE[buf[at]] * 16 + _HEX_VALUE[buf[at + 1]]


def _padded(positions: np.ndarray, buf: np.ndarray, extra: int = 1) -> np.ndarray:
    """Sorted positions followed by ``extra`` copies of the buffer's final newline: a stand-in
    for "none" that lies past every line yet still indexes the buffer."""
    return np.append(positions, np.full(extra, len(buf) - 1, dtype=np.int64))


def _first_at_or_after(positions: np.ndarray, at: np.ndarray, buf: np.ndarray) -> np.ndarray:
    """Per query, the first of the sorted ``positions`` >= it (see ``_padded`` for none)."""
    return _padded(positions, buf)[np.searchsorted(positions, at)]


def _last_per_owner(owner: np.ndarray, selected: np.ndarray) -> np.ndarray:
    """Of the selected items (in order), the last one of each owner."""
    items = np.flatnonzero(selected)
    if not len(items):
        return items
    owners = owner[items]
    return items[np.append(owners[1:] != owners[:-1], True)]


def _scan(buf: np.ndarray, line_end: np.ndarray) -> tuple[np.ndarray, _Rows]:
    """Which lines have the common shape, and their rows, found over the joined batch."""
    n_lines = len(line_end)
    start = np.empty(n_lines, dtype=np.int64)
    start[0] = 0
    start[1:] = line_end[:-1] + 1
    end = line_end.astype(np.int64)
    common = np.ones(n_lines, dtype=np.bool_)
    for _ in range(_STRIP_ROUNDS + 1):
        lead = (start < end) & _SPACE[buf[start]]
        trail = (start < end) & _SPACE[buf[end - 1]]
        if not (lead.any() or trail.any()):
            break
        start += lead
        end -= trail
    else:
        common &= ~(lead | trail)
    common &= end - start >= _MIN_SENTENCE
    lines = np.flatnonzero(common)
    start, end = start[lines], end[lines]
    first = buf[start]
    tagged = first == _BACKSLASH
    keep = tagged | (first == ord("!"))
    # The TAG block closes at the first backslash after it opens; the sentence follows.
    sentence = start.copy()
    tag_close = np.zeros(len(lines), dtype=np.int64)
    if tagged.any():
        backslashes = np.flatnonzero(buf == _BACKSLASH)
        tag_close[tagged] = _first_at_or_after(backslashes, start[tagged] + 1, buf)
        keep &= ~tagged | (tag_close < end - _MIN_SENTENCE + 1)
        sentence = np.where(tagged & keep, tag_close + 1, start)
    keep &= end - sentence >= _MIN_SENTENCE
    lines, start, end, sentence, tagged, tag_close = (
        x[keep] for x in (lines, start, end, sentence, tagged, tag_close)
    )
    # Fixed places at both ends of the sentence; between them seq, channel and payload.
    keep = _sentence_ends_ok(buf, sentence, end)
    commas = np.flatnonzero(buf == _COMMA)
    stars = np.flatnonzero(buf == _STAR)
    keep &= _first_at_or_after(stars, sentence, buf) == end - 3
    field_at = sentence + 11
    comma_index = np.searchsorted(commas, field_at)
    padded = _padded(commas, buf, 3)
    comma1, comma2 = padded[comma_index], padded[comma_index + 1]
    keep &= padded[comma_index + 2] == end - 5
    seq_len = comma1 - field_at
    keep &= (seq_len <= 3) & (comma2 - comma1 <= 2)
    keep &= (comma2 - comma1 == 1) | _IS_CHANNEL[buf[np.minimum(comma1 + 1, end)]]
    seq = np.zeros(len(lines), dtype=np.int64)
    for digit in range(3):
        more = keep & (seq_len > digit)
        value = buf[np.where(more, field_at + digit, 0)]
        keep &= ~more | _IS_DIGIT[value]
        seq = np.where(more, seq * 10 + value.astype(np.int64) - 48, seq)
    tags = _scan_tags(buf, start, tag_close, tagged & keep, commas, stars)
    keep &= tags.plain
    lines = lines[keep]
    common[:] = False
    common[lines] = True
    rows = _Rows(lines)
    if not len(lines):
        return common, rows
    sentence, end = sentence[keep], end[keep]
    comma1, comma2 = comma1[keep], comma2[keep]
    star = end - 3
    rows.checksum_ok = _xor_spans(buf, sentence + 1, star) == _hex_at(buf, star + 1)
    rows.total = buf[sentence + 7].astype(np.int64) - 48
    rows.number = buf[sentence + 9].astype(np.int64) - 48
    rows.fill = buf[end - 4].astype(np.int64) - 48
    rows.seq = np.where(seq_len[keep] > 0, seq[keep], -1)
    rows.channel = np.where(comma2 - comma1 == 2, buf[comma1 + 1], 0).astype(np.int64)
    rows.payload, rows.bad_payload = _payloads(buf, comma2 + 1, end - 5)
    if tags.state is not None:
        rows.tag_state = tags.state[keep]
        rows.time_s = tags.time_s[keep]
        rows.source = tags.source[keep]
        rows.group = tags.group[keep]
    return common, rows


def _sentence_ends_ok(buf: np.ndarray, at: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Whether each ``buf[at:end]`` (at least ``_MIN_SENTENCE`` long) starts with
    ``!TTVDM,t,n,`` (TT upper case, M or O, t and n digits) and ends with ``,f*hh``."""
    head = [buf[at + offset] for offset in range(11)]
    ok = (head[0] == ord("!")) & (head[3] == ord("V")) & (head[4] == ord("D"))
    ok &= (head[5] | 2) == ord("O")  # M or O
    ok &= (head[6] == _COMMA) & (head[8] == _COMMA) & (head[10] == _COMMA)
    ok &= ((head[1] - 65) < 26) & ((head[2] - 65) < 26)  # A-Z, as unsigned bytes
    ok &= ((head[7] - 48) < 10) & ((head[9] - 48) < 10)  # 0-9
    ok &= (buf[end - 5] == _COMMA) & ((buf[end - 4] - 48) < 10) & (buf[end - 3] == _STAR)
    ok &= _IS_HEX[buf[end - 2]] & _IS_HEX[buf[end - 1]]
    return ok


def _payloads(
    buf: np.ndarray, starts: np.ndarray, stops: np.ndarray
) -> tuple[list[bytes], np.ndarray]:
    """The payloads ``buf[start:stop]`` (each followed by a comma at ``stop``) as bytes, and
    which are empty or hold a byte outside the armour."""
    n_rows = len(starts)
    lengths = stops - starts
    # A mask of the spans and their commas, as alternating runs of out and in.
    runs = np.empty(2 * n_rows + 1, dtype=np.int64)
    runs[0] = starts[0]
    runs[2:-1:2] = starts[1:] - stops[:-1] - 1
    runs[1::2] = lengths + 1
    runs[-1] = len(buf) - stops[-1] - 1
    taken = buf[np.repeat(_run_pattern(len(runs)), runs)]  # payload ',' payload ',' ...
    commas = np.cumsum(lengths + 1) - 1
    invalid = ~(((taken - 0x30) < 0x28) | ((taken - 0x60) < 0x18))  # outside the armour
    bad = lengths == 0
    if np.count_nonzero(invalid) > n_rows:  # more than the commas
        invalid[commas] = False
        bad |= np.logical_or.reduceat(invalid, commas - lengths)
    return taken.tobytes().split(b",")[:-1], bad


def _run_pattern(size: int) -> np.ndarray:
    """False, True, False, ... of the given size."""
    pattern = np.zeros(size, dtype=np.bool_)
    pattern[1::2] = True
    return pattern


class _ScannedTags:
    """TAG blocks of the candidate lines: ``plain`` False for a line whose block must take the
    per-line path; ``state`` None when no candidate carries a block."""

    __slots__ = ("group", "plain", "source", "state", "time_s")

    def __init__(self, n_lines: int) -> None:
        self.plain = np.ones(n_lines, dtype=np.bool_)
        self.state: np.ndarray | None = None
        self.time_s = np.full(n_lines, np.nan)
        self.source = np.full(n_lines, None, dtype=object)
        self.group = np.full(n_lines, None, dtype=object)


def _scan_tags(
    buf: np.ndarray,
    start: np.ndarray,
    tag_close: np.ndarray,
    tagged: np.ndarray,
    commas: np.ndarray,
    stars: np.ndarray,
) -> _ScannedTags:
    """Check and parse the TAG blocks ``buf[start + 1:tag_close]`` of the tagged lines."""
    n_lines = len(start)
    out = _ScannedTags(n_lines)
    lines = np.flatnonzero(tagged)
    if not len(lines):
        return out
    open_at, close_at = start[lines] + 1, tag_close[lines]
    star = close_at - 3
    # params*hh with no other '*': the one rfind sees.
    plain = (star >= open_at) & (_first_at_or_after(stars, open_at, buf) == star)
    plain &= _IS_HEX[buf[close_at - 2]] & _IS_HEX[buf[close_at - 1]]
    star = np.maximum(star, open_at)
    state = np.where(_xor_spans(buf, open_at, star) == _hex_at(buf, star + 1), 1, 2)
    # Items: the params split at commas.
    first_comma = np.searchsorted(commas, open_at)
    n_commas = np.searchsorted(commas, star) - first_comma
    n_items = n_commas + 1
    owner = np.repeat(np.arange(len(lines)), n_items)
    inner = commas[_ranges(first_comma, n_commas)]
    first_item = np.cumsum(n_items) - n_items
    last_item = first_item + n_commas
    item_start = np.empty(len(owner), dtype=np.int64)
    item_end = np.empty(len(owner), dtype=np.int64)
    not_first = np.ones(len(owner), dtype=np.bool_)
    not_first[first_item] = False
    not_last = np.ones(len(owner), dtype=np.bool_)
    not_last[last_item] = False
    item_start[first_item] = open_at
    item_start[not_first] = inner + 1
    item_end[last_item] = star
    item_end[not_last] = inner
    keyed = (item_end - item_start >= 2) & (buf[item_start + 1] == _COLON)
    key = np.where(keyed, buf[item_start], 0)
    value_at = item_start + 2
    value_len = item_end - value_at
    # c: 1 to 15 digits, exactly a float64; anything else takes the per-line path.
    is_c = key == ord("c")
    if is_c.any():
        items = np.flatnonzero(is_c)
        length, stop = value_len[items], item_end[items]
        digits_ok = (length >= 1) & (length <= _MAX_C_DIGITS)
        width = int(np.clip(length, 1, _MAX_C_DIGITS).max())
        # The values right-aligned in ``width`` columns, one digit per column.
        columns = np.arange(-width, 0)
        inside = columns >= -length[:, None]
        digits = buf[np.maximum(stop[:, None] + columns, 0)] - 48
        digits_ok &= ((digits < 10) | ~inside).all(axis=1)
        plain[owner[items[~digits_ok]]] = False
        seconds = np.where(inside, digits, 0) @ 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
        last = np.append(owner[items][1:] != owner[items][:-1], True)
        time_s = seconds[last].astype(np.float64)
        out.time_s[lines[owner[items[last]]]] = np.where(time_s > 1e11, time_s / 1000.0, time_s)
    is_s = key == ord("s")
    if is_s.any():
        last = _last_per_owner(owner, is_s)
        out.source[lines[owner[last]]] = _decoded(_take_bytes(buf, value_at[last], item_end[last]))
    is_g = key == ord("g")
    if is_g.any():
        # g:part-total-id: the id follows the second dash and must not be empty.
        dashes = np.flatnonzero(buf == _DASH)
        found = np.searchsorted(dashes, value_at)
        padded = _padded(dashes, buf, 2)
        second = padded[found + 1]
        is_g &= second + 1 < item_end
        last = _last_per_owner(owner, is_g)
        out.group[lines[owner[last]]] = _decoded(_take_bytes(buf, second[last] + 1, item_end[last]))
    out.plain[lines] = plain
    out.state = np.zeros(n_lines, dtype=np.int8)
    out.state[lines] = state
    return out
