"""The batch framing scan against the per-line semantics it replaces, line for line.

``frame_lines`` scans a whole batch at once with NumPy and sends only lines of unusual shape
through the per-line path. ``reference_frames`` below is the per-line semantics written out
plainly, one line at a time: strip, the 1 KiB cap, the sentence pattern, ``_classify`` for
why a line fails it, ``_parse_tag`` for its TAG block (parsed only when some sentence of the
batch carries a non-empty one), then the checks in order: TAG checksum, checksum,
fragment, fill bits, payload characters. Every column of the result, its dtype, and the
rejection counts in the order they were first counted must be identical. The corpus mixes
valid sentences (``jointwatch.ais.corpus``) and TAG blocks with ``c:``/``s:``/``g:`` and
other items with corrupted checksums, truncation, odd whitespace, lower-case hex, VDO,
multi-part messages and non-bytes inputs; accepted sentences are also checked against pyais.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import reduce
from operator import xor
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyais.messages import NMEASentenceFactory

from jointwatch.ais import framing, framing_ref, with_tag_block
from jointwatch.ais.corpus import corpus_sentences
from jointwatch.ais.framing import EARLIEST_TAG_S, MAX_LINE_BYTES, MAX_TAG_AHEAD_S, frame_lines

RX_S = 1_764_000_000.0
ARMOUR = "0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVW`abcdefghijklmnopqrstuvw"
ARMOUR_BYTES = frozenset(ARMOUR.encode())
SENTENCE = re.compile(
    rb"(?:\\([^\\]*)\\)?!((?:[A-Z]{2}VD[MO]),(\d),(\d),(\d{0,3}),([AB12]?),([^,*]*),(\d))"
    rb"\*([0-9A-Fa-f]{2})"
)


def as_bytes(line: object) -> bytes | None:
    if isinstance(line, bytes):
        return line
    if isinstance(line, str):
        return line.encode("utf-8", "replace")
    if isinstance(line, bytearray | memoryview):
        return bytes(line)
    return None


def reference_frames(lines: list[Any], rx_time_s: float) -> dict[str, Any]:
    """What framing means, one line at a time (see the module docstring)."""
    rejected: dict[str, int] = {}
    matched: list[tuple[int, tuple[Any, ...]]] = []
    for index, raw in enumerate(lines):
        line = as_bytes(raw)
        if line is None:
            reason = "malformed"
        else:
            line = line.strip()
            if len(line) > MAX_LINE_BYTES:
                reason = "too_long"
            else:
                found = SENTENCE.fullmatch(line)
                if found is not None:
                    matched.append((index, found.groups()))
                    continue
                reason = framing_ref._classify(line)
        rejected[reason] = rejected.get(reason, 0) + 1
    has_tags = any(groups[0] for _, groups in matched)
    later: dict[str, int] = {}
    rows: list[dict[str, Any]] = []
    for index, (block, body, total, number, seq, channel, payload, fill, check) in matched:
        tag = framing_ref._parse_tag(block) if has_tags and block is not None else None
        if isinstance(tag, str):
            reason = tag
        elif reduce(xor, body, 0) != int(check, 16):
            reason = "bad_checksum"
        elif not 1 <= int(number) <= int(total):
            reason = "bad_fragment"
        elif int(fill) > 5:
            reason = "bad_fill_bits"
        elif not payload or not set(payload) <= ARMOUR_BYTES:
            reason = "bad_payload_chars"
        else:
            time_s = tag.time_s if tag is not None else math.nan
            believed = EARLIEST_TAG_S <= time_s <= rx_time_s + MAX_TAG_AHEAD_S
            rows.append(
                {
                    "payload": payload,
                    "fill_bits": int(fill),
                    "frag_total": int(total),
                    "frag_num": int(number),
                    "seq_id": int(seq) if seq else -1,
                    "channel": channel.decode(),
                    "tag_time_s": time_s if believed else None,
                    "tag_source": tag.source if tag is not None else None,
                    "tag_group": tag.group if tag is not None else None,
                    "line_index": index,
                }
            )
            continue
        later[reason] = later.get(reason, 0) + 1
    order = ("bad_tag_checksum", "bad_checksum", "bad_fragment", "bad_fill_bits")
    for reason in (*order, "bad_payload_chars"):
        if reason in later:
            rejected[reason] = rejected.get(reason, 0) + later[reason]
    columns = {name: [row[name] for row in rows] for name in COLUMNS}
    return {**columns, "lines_read": len(lines), "rejected": list(rejected.items())}


COLUMNS = (
    "payload",
    "fill_bits",
    "frag_total",
    "frag_num",
    "seq_id",
    "channel",
    "tag_time_s",
    "tag_source",
    "tag_group",
    "line_index",
)
DTYPES = {
    "fill_bits": np.int8,
    "frag_total": np.int8,
    "frag_num": np.int8,
    "seq_id": np.int16,
    "tag_time_s": np.float64,
    "line_index": np.int64,
}


def observed(lines: list[Any], rx_time_s: float = RX_S) -> dict[str, Any]:
    frames = frame_lines(lines, "rx", rx_time_s)
    out: dict[str, Any] = {}
    for name in COLUMNS:
        value = getattr(frames, name)
        if name in DTYPES:
            assert value.dtype == DTYPES[name], name
            value = [None if v != v else v for v in value.tolist()]  # NaN as None
        else:
            assert isinstance(value, list), name
        out[name] = value
    assert len(frames) == len(out["payload"])
    out["lines_read"] = frames.lines_read
    out["rejected"] = list(frames.rejected.items())
    return out


@contextmanager
def scan_from(n_lines: int) -> Iterator[None]:
    """Batches of at least ``n_lines`` take the scan (small ones are framed line by line)."""
    saved = framing._SCAN_MIN_LINES
    framing._SCAN_MIN_LINES = n_lines
    try:
        yield
    finally:
        framing._SCAN_MIN_LINES = saved


def assert_same(lines: list[Any], rx_time_s: float = RX_S) -> dict[str, Any]:
    """Framed by the scan and line by line, the batch gives what the reference gives."""
    want = reference_frames(lines, rx_time_s)
    for threshold in (1, len(lines) + 1):
        with scan_from(threshold):
            got = observed(lines, rx_time_s)
            if got != want:
                for index, line in enumerate(lines):  # name the first line that differs alone
                    alone = observed([line], rx_time_s) != reference_frames([line], rx_time_s)
                    assert not alone, (threshold, index, line)
                for name in want:
                    assert got[name] == want[name], (threshold, name)
    return got


# ---- a generator of realistic and hostile lines -----------------------------------------


def checksum(data: bytes) -> int:
    return reduce(xor, data, 0)


def hex_text(rng: random.Random, value: int) -> bytes:
    roll = rng.random()
    if roll < 0.85:
        text = f"{value:02X}"
        return (text.lower() if rng.random() < 0.3 else text).encode()
    if roll < 0.93:
        return f"{rng.randrange(256):02x}".encode()
    return rng.choice([b"", b"0", b"ABC", b"G1", b"zz", b"-1", b"0x"])


ODD_TIMES = (
    *(b"c:", b"c:abc", b"c:1e9", b"c: 1700000000", b"c:-5", b"c:nan", b"c:inf", b"c:0"),
    *(b"c:+1700000000", b"c:1_700_000_000", b"c:" + b"9" * 400, b"c:.5", b"c:1764000000."),
    *(b"c:00001764000000", b"c:999999999999999", b"c:1764000000123"),
)
TAG_ITEMS = (
    lambda r: b"c:%d" % r.randrange(10**9, 2 * 10**9),
    lambda r: b"c:%d" % r.randrange(10**12, 2 * 10**12),  # milliseconds
    lambda r: b"c:%d" % r.randrange(0, 10**16),
    lambda r: b"c:%d.%d" % (r.randrange(10**9, 2 * 10**9), r.randrange(1000)),
    lambda r: r.choice(ODD_TIMES),
    lambda r: (
        b"s:"
        + r.choice([b"rx1", b"", b"a:b", b"\xc3\xa9t\xc3\xa9", b"x" * r.randrange(80), b"sp ace"])
        + r.choice([b"", b"", b"\x00z", b"\t", b"!"])
    ),
    lambda r: (
        b"g:"
        + r.choice([b"1-2-%d" % r.randrange(1000), b"1-2", b"---", b"1-2-", b"-1--5", b"1-2-3:4"])
        + r.choice([b"", b"", b"-4", b"x", b"\xff"])
    ),
    lambda r: (
        r.choice([b"n:5", b"x:y", b"cfoo", b"", b"::", b"c", b"s", b"g", b"cc:5"])
        + r.choice([b"", b"ss:x", b"C:5", b"d:dest", b"t:text here", b"r:1"])
    ),
)


def tag_block(rng: random.Random) -> bytes:
    items = [rng.choice(TAG_ITEMS)(rng) for _ in range(rng.choice((0, 1, 1, 2, 2, 2, 3, 4, 6)))]
    params = b",".join(items)
    roll = rng.random()
    if roll < 0.8:
        return b"\\" + params + b"*" + hex_text(rng, checksum(params)) + b"\\"
    if roll < 0.85:
        return b"\\" + params + b"\\"  # no checksum
    if roll < 0.9:
        return b"\\" + params + b"*" + hex_text(rng, checksum(params))  # never closed
    if roll < 0.95:
        starred = params + b"*x"
        return b"\\" + starred + b"*" + hex_text(rng, checksum(starred)) + b"\\"
    return rng.choice([b"\\\\", b"\\*00\\", b"\\,*2C\\", b"\\\\\\", b"\\a\\b\\"])


def sentence(rng: random.Random, valid: list[bytes]) -> bytes:
    if rng.random() < 0.3:
        return rng.choice(valid)
    # Near misses sit next to the accepted bytes: '@' and '[' around A-Z, '/' and ':' around
    # 0-9, K, L and N around M and O.
    talker = rng.choice([b"AI", b"AI", b"AI", b"BS", b"ZZ", b"ai", b"A1", b"A", b"AIX", b"@A"])
    talker = rng.choice([talker, talker, b"A["])
    kind = rng.choice([b"VDM", b"VDM", b"VDM", b"VDO", b"VDX", b"GGA", b"VDK", b"VDN", b"VDL"])
    kind = rng.choice([kind, kind, kind, b"VCM", b"UDM", b"WDO", b"VEM"])
    total = rng.choice([b"1", b"1", b"1", b"2", b"0", b"9", b"10", b"", b"a", b"/", b":"])
    number = rng.choice([b"1", b"1", b"2", b"0", b"3", b"", b"x", b"/", b":"])
    seq = rng.choice([b"", b"", b"0", b"7", b"42", b"999", b"1000", b"007", b"-1", b"A", b"9:"])
    channel = rng.choice([b"A", b"B", b"1", b"2", b"", b"C", b"AB", b"a", b"@", b"0", b"3"])
    size = rng.choice((0, 1, 5, 28, 28, 28, 60, 200))
    payload = "".join(rng.choice(ARMOUR) for _ in range(size)).encode()
    if rng.random() < 0.05:
        payload += rng.choice([b"x", b"!", b"\\", b" ", b"\xff", b"~"])
    fill = rng.choice([b"0", b"0", b"2", b"5", b"6", b"9", b"", b"a", b"10", b"/", b":"])
    fields = [talker + kind, total, number, seq, channel, payload, fill]
    if rng.random() < 0.05:
        fields.insert(rng.randrange(len(fields)), rng.choice([b"", b"x"]))
    body = b",".join(fields)
    line = b"!" + body + b"*" + hex_text(rng, checksum(body))
    if rng.random() < 0.03:
        line = rng.choice([b"$", b"", b"!!"]) + line[1:]
    return line


def hostile_line(rng: random.Random, valid: list[bytes]) -> bytes:
    line = sentence(rng, valid)
    if rng.random() < 0.6:
        line = tag_block(rng) + line
    roll = rng.random()
    if roll < 0.1:
        line = rng.choice([b" ", b"\t", b"\r", b"  \t", b"\x0b", b"\x0c", b"      "]) + line
    elif roll < 0.25:
        line += rng.choice([b"\r", b"\r\n", b" ", b"\n", b" \r\n ", b"\x00", b"x", b"     \t"])
    roll = rng.random()
    if roll < 0.03:
        data = bytearray(line)
        for _ in range(rng.randint(1, 3)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        line = bytes(data)
    elif roll < 0.05:
        line = line[: rng.randrange(len(line) + 1)]
    elif roll < 0.06:
        at = rng.randrange(len(line) + 1)
        line = line[:at] + b"\n" + line[at:]
    elif roll < 0.07:
        line += b"0" * rng.randrange(900, 1100)
    elif roll < 0.075:
        line = b" " * 1020 + line
    return line


def realistic_line(rng: random.Random, valid: list[bytes], index: int) -> bytes:
    """A corpus sentence as a receiver sends it: usually one plain TAG block."""
    text = rng.choice(valid).decode()
    if rng.random() < 0.3 or text.startswith("!AIVDM,2,2"):
        return text.encode()
    c = int(RX_S) + index // 30 if rng.random() < 0.9 else int(RX_S * 1000) + index
    g = f"1-1-{index}" if rng.random() < 0.2 else None
    return with_tag_block(text, c=c, s=rng.choice(["rx-a", "rx-b", None]), g=g).encode()


def any_object(rng: random.Random, line: bytes) -> Any:
    roll = rng.random()
    if roll < 0.005:
        return line.decode("utf-8", "replace")
    if roll < 0.008:
        return bytearray(line)
    if roll < 0.01:
        return memoryview(line)
    if roll < 0.011:
        return rng.choice([None, 5, 3.2])
    return line


def own_ship(text: str) -> bytes:
    """The sentence as VDO (own ship), checksum recomputed."""
    body = text[1 : text.rindex("*")].replace("AIVDM", "AIVDO").encode()
    return b"!" + body + b"*" + f"{checksum(body):02X}".encode()


VALID = [s.encode() for s in corpus_sentences(2_000, seed=11)]
VALID += [own_ship(s) for s in corpus_sentences(100, seed=12)]


def random_batch(rng: random.Random, size: int) -> list[Any]:
    hostile = rng.random()
    objects = rng.random() < 0.3
    lines: list[Any] = []
    for index in range(size):
        if rng.random() < hostile:
            line = hostile_line(rng, VALID)
        else:
            line = realistic_line(rng, VALID, index)
        lines.append(any_object(rng, line) if objects else line)
    return lines


# ---- tests --------------------------------------------------------------------------------


def test_randomized_corpus_is_framed_exactly_as_line_by_line() -> None:
    rng = random.Random(20260526)
    n_lines = 0
    while n_lines < 60_000:
        size = rng.choice((1, 2, 3, 10, 100, 1_000, 5_000))
        rx_time_s = rng.choice((RX_S, RX_S + 1e6, 0.0, 1e12))
        assert_same(random_batch(rng, size), rx_time_s)
        n_lines += size


def test_one_large_realistic_batch_is_framed_exactly_as_line_by_line() -> None:
    rng = random.Random(7)
    lines = [realistic_line(rng, VALID, index) for index in range(60_000)]
    got = assert_same(lines)
    assert len(got["payload"]) == len(lines)  # all accepted


def test_accepted_sentences_agree_with_pyais() -> None:
    rng = random.Random(3)
    lines = [realistic_line(rng, VALID, index) for index in range(3_000)]
    frames = frame_lines(lines, "rx", RX_S + 1e6)
    assert len(frames) == len(lines)
    for row, index in enumerate(frames.line_index.tolist()):
        parsed = NMEASentenceFactory.produce(lines[index])
        assert frames.payload[row] == parsed.payload
        assert frames.fill_bits[row] == parsed.fill_bits
        assert frames.frag_total[row] == parsed.frag_cnt
        assert frames.frag_num[row] == parsed.frag_num
        assert frames.seq_id[row] == (-1 if parsed.seq_id is None else parsed.seq_id)
        assert frames.channel[row] == parsed.channel
        tag = parsed.tag_block
        if tag is None:
            assert frames.tag_source[row] is None and frames.tag_group[row] is None
            assert math.isnan(frames.tag_time_s[row])
            continue
        tag.init()
        stamp = int(tag.receiver_timestamp)
        assert frames.tag_time_s[row] == (stamp / 1000.0 if stamp > 1e11 else stamp)
        assert frames.tag_source[row] == tag.source_station
        assert frames.tag_group[row] == (None if tag.group is None else str(tag.group.group_id))


def _tagged(params: bytes, sentence: bytes = VALID[0]) -> bytes:
    return b"\\" + params + b"*" + f"{checksum(params):02X}".encode() + b"\\" + sentence


@pytest.mark.parametrize(
    ("params", "time_s", "source", "group"),
    [
        (b"c:1764000000,s:rx", 1764000000.0, "rx", None),
        (b"s:rx,c:1764000000123", 1764000000.123, "rx", None),  # milliseconds
        (b"c:1764000000,c:1764000005", 1764000005.0, None, None),  # the last one wins
        (b"c:1764000000,c:junk", 1764000000.0, None, None),  # ... of those that parse
        (b"c:1764000000.5", 1764000000.5, None, None),
        (b"c:999999999999", 999999999.999, None, None),  # above 1e11: milliseconds
        (b"c:100000000000", None, None, None),  # 1e11 itself is seconds, far in the future
        (b"c:99", None, None, None),  # before 2000: not believed
        (b"s:a,s:", None, "", None),  # an empty source is a source
        (b"s:x:y,g:1-2-3-4", None, "x:y", "3-4"),  # values keep their colons and dashes
        (b"g:1-2-7,g:1-2", None, None, "7"),  # an incomplete group is skipped
        (b"g:1-2-", None, None, None),
        (b"n:5,,x,cc:1764000000", None, None, None),  # other items are ignored
        # Up to 15 commas the kernel reads the items, past that the per-line path does.
        (b"n:1," * 15 + b"s:rx", None, "rx", None),
        (b"n:1," * 16 + b"s:rx,c:1764000000", 1764000000.0, "rx", None),
        (b"", None, None, None),
    ],
)
def test_tag_items(
    params: bytes, time_s: float | None, source: str | None, group: str | None
) -> None:
    got = assert_same([_tagged(params)])
    assert got["rejected"] == []
    assert got["tag_time_s"] == [time_s]
    assert got["tag_source"] == [source]
    assert got["tag_group"] == [group]


def test_lines_of_the_common_shape_are_read_by_the_kernel() -> None:
    """The equivalence tests cannot see which path read a line; this holds the common
    shapes (with and without a TAG block, with a bad checksum) to the compiled one."""
    from jointwatch.ais import kernels

    lines = [
        VALID[0],
        _tagged(b"s:rx-vungtau,c:1764000000"),
        _tagged(b"g:1-2-7,s:a,c:1764000000123", VALID[1]),
        _tagged(b"s:rx")[:-2] + b"00",  # the sentence's checksum is wrong: still read
    ]
    block = b"\n".join(lines)
    buf, starts, ends, _ = framing.block_bounds(block)
    status = np.zeros(len(starts), dtype=np.uint8)
    cols = np.zeros((14, len(starts)), dtype=np.int64)
    tag_time = np.full(len(starts), np.nan)
    kernels.frame(buf, starts, ends, MAX_LINE_BYTES, status, cols, tag_time)
    assert status.tolist() == [kernels.COMMON] * len(lines)
    assert tag_time[1] == 1764000000.0 and tag_time[2] == 1764000000.123


def test_empty_tag_block_counts_only_when_another_sentence_has_a_tag_block() -> None:
    empty = b"\\\\" + VALID[0]
    got = assert_same([empty, VALID[1]])
    assert got["line_index"] == [0, 1] and got["rejected"] == []
    got = assert_same([empty, _tagged(b"s:rx", VALID[1])])
    assert got["line_index"] == [1]
    assert got["rejected"] == [("bad_tag_checksum", 1)]


def test_odd_lines_among_common_ones_keep_line_order() -> None:
    odd = _tagged(b"c:1764000000.25e0,s:odd")  # a float() the scan leaves to the per-line path
    lines = [VALID[0], odd, _tagged(b"s:plain", VALID[1]), b"garbage", odd, VALID[2]]
    got = assert_same(lines)
    assert got["line_index"] == [0, 1, 2, 4, 5]
    assert got["tag_source"] == [None, "odd", "plain", "odd", None]
    assert got["tag_time_s"][1] == 1764000000.25
    assert got["rejected"] == [("not_ais", 1)]


@pytest.mark.parametrize(
    "line",
    [
        b"  " + VALID[0] + b"\r",
        b"\t\x0b\x0c" + VALID[0] + b" \r\n",
        b" " * 6 + VALID[0] + b" " * 6,  # more whitespace than the scan strips
        VALID[0].lower(),
        VALID[0][:-2] + VALID[0][-2:].lower(),
        VALID[0][:-1],
        VALID[0] + b"0",
        b"\\" + VALID[0],
        b"\\s:rx*00\\" + VALID[0],
        VALID[0].replace(b",A,", b",C,", 1),
        VALID[0] + b"\n" + VALID[1],
        VALID[0][:20] + b"\x00" + VALID[0][20:],
        b" " * 1020 + VALID[0],
        b"",
    ],
)
def test_odd_shapes(line: bytes) -> None:
    assert_same([line, VALID[1]])
    assert_same([VALID[1], line])


def test_inputs_that_are_not_bytes() -> None:
    text = VALID[0].decode()
    lines: list[Any] = [text, bytearray(VALID[1]), memoryview(VALID[2]), None, 5, "caf\u00e9"]
    got = assert_same(lines)
    assert got["line_index"] == [0, 1, 2]
    assert got["rejected"] == [("malformed", 2), ("not_ais", 1)]


def test_empty_batch() -> None:
    got = assert_same([])
    assert got["payload"] == [] and got["rejected"] == [] and got["lines_read"] == 0


NMEA_SHAPED = (
    rb"[ \t]{0,2}(\\(([a-z]{1,2}:[ -+\-.-\[\]-~]{0,12}|g:[0-9-]{0,8}|c:[0-9.]{0,16}),?){0,4}"
    rb"(\*[0-9A-Fa-f]{0,3})?\\)?"
    rb"[!$][A-Z]{2}VD[MOX],[0-9]{0,2},[0-9]{0,2},[0-9]{0,4},[AB12C]?,"
    rb"[0-9:;<=>?@A-W`a-w\x00-\x2f\xff]{0,60},[0-9]{0,2}(\*[0-9A-Fa-f]{0,3})?[ \r\n]{0,2}"
)


@st.composite
def checksummed(draw: st.DrawFn) -> bytes:
    """NMEA-shaped lines whose checksums are right, so they reach the later checks."""
    fields = [
        draw(st.sampled_from([b"AIVDM", b"AIVDO", b"BSVDM", b"aiVDM"])),
        draw(st.sampled_from([b"0", b"1", b"2", b"9"])),
        draw(st.sampled_from([b"0", b"1", b"2", b"9"])),
        draw(st.sampled_from([b"", b"0", b"5", b"99", b"123"])),
        draw(st.sampled_from([b"A", b"B", b"1", b"2", b""])),
        draw(st.text(ARMOUR + "x!", max_size=60)).encode(),
        draw(st.sampled_from([b"0", b"2", b"5", b"6"])),
    ]
    body = b",".join(fields)
    line = b"!" + body + b"*" + f"{checksum(body):02x}".encode()
    if draw(st.booleans()):
        items = draw(
            st.lists(
                st.one_of(
                    st.from_regex(rb"c:[0-9]{1,17}(\.[0-9]{1,3})?", fullmatch=True),
                    st.from_regex(rb"s:[ -)+\-.-\[\]-~]{0,10}", fullmatch=True),
                    st.from_regex(rb"g:[0-9]{0,2}-[0-9]{0,2}-?[0-9a-z-]{0,4}", fullmatch=True),
                    st.from_regex(rb"[a-z]{0,2}:?[0-9a-z]{0,5}", fullmatch=True),
                ),
                max_size=5,
            )
        )
        params = b",".join(items)
        line = b"\\" + params + b"*" + f"{checksum(params):02X}".encode() + b"\\" + line
    return line


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.one_of(
            checksummed(),
            st.from_regex(NMEA_SHAPED, fullmatch=True),
            st.binary(max_size=120),
            st.sampled_from(VALID[:50]),
        ),
        max_size=25,
    ),
    st.sampled_from([RX_S, 0.0]),
)
def test_any_batch_is_framed_exactly_as_line_by_line(lines: list[bytes], rx: float) -> None:
    assert_same(lines, rx)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.binary(max_size=3), st.integers(0, 999).map(b"rx-%d".__mod__)),
        min_size=150,
        max_size=400,
    )
)
def test_interning_numbers_strings_by_first_sight(strings: list[bytes | None]) -> None:
    """Hundreds of distinct strings among repeats and absent ones, numbered as a dict
    numbers them on first sight."""
    from jointwatch.ais import kernels

    buf = np.frombuffer(b"".join(s or b"" for s in strings) + b"\0", dtype=np.uint8)
    lengths = np.array([-1 if s is None else len(s) for s in strings], dtype=np.int64)
    starts = np.cumsum(np.maximum(lengths, 0)) - np.maximum(lengths, 0)
    codes = np.full(len(strings), -2, dtype=np.int64)
    firsts = kernels.intern(buf, starts.astype(np.int64), lengths, codes)
    seen: dict[bytes, int] = {}
    expected = [-1 if s is None else seen.setdefault(s, len(seen)) for s in strings]
    assert codes.tolist() == expected
    assert [strings[row] for row in firsts.tolist()] == list(seen)
