"""SECURITY.md R1: mutation fuzz of NMEA/TAG lines through one long-lived ``AisPipeline``.

Valid corpus messages (single- and multi-part, with and without TAG blocks) are mutated by a
seeded fuzzer. Most mutations edit fields and then recompute both checksums, so the mutated
line passes framing and reaches assembly and the decoder; the rest break the line at byte
level (flips, truncation, NUL and non-ASCII bytes, oversize, empty) or carry bad checksums.

Ledger the pipeline keeps (``IngestStats`` docstring and ``pipeline.py``):
- framing: ``lines_read == sentences_ok + sum(rejected[r] for r in LINE_REASONS)``;
- after ``flush(inf)`` no group is open, so every accepted sentence either went into a
  message or was dropped at assembly; each message holds 1..9 sentences and ends as exactly
  one of ``decoded``, ``duplicates``, ``decode_error`` or ``invalid_mmsi``. Hence
  ``messages <= sentences_ok - assembly drops <= 9 * messages``.
"""

from __future__ import annotations

import gc
import os
import random
import time
from collections.abc import Callable
from functools import reduce
from operator import xor
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jointwatch.ais import (
    ASSEMBLY_REASONS,
    LINE_REASONS,
    PIPELINE_SCHEMA,
    AisPipeline,
    IngestStats,
)
from jointwatch.ais.corpus import corpus_sentences, random_payload

ARMOUR = "0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVW`abcdefghijklmnopqrstuvw"
# Printable characters outside the 6-bit armour that are not NMEA separators.
OUTSIDE_ARMOUR = "XYZ[]^_xyz{|}~#$%&'()+-./\x7f"
SEPARATORS = ",*\\!"
MESSAGE_OUTCOMES = ("decode_error", "invalid_mmsi")
KNOWN_REASONS = frozenset(LINE_REASONS) | frozenset(ASSEMBLY_REASONS) | set(MESSAGE_OUTCOMES)
START_S = 1_700_000_000.0
BATCH_LINES = 10_000
BATCH_STEP_S = 5.0  # two batches outlive the 10 s assembly timeout, six the 30 s dedupe window


def checksum(text: str) -> str:
    return f"{reduce(xor, text.encode('utf-8', 'surrogateescape'), 0):02X}"


def seed_messages(n_sentences: int, seed: int) -> list[list[list[str]]]:
    """Corpus messages as lists of sentence fields (talker, total, number, seq, channel,
    payload, fill); a fifth of the two-part type 5s are re-split into three parts."""
    rng = random.Random(seed)
    messages: list[list[list[str]]] = []
    current: list[list[str]] = []
    for sentence in corpus_sentences(n_sentences, seed=seed):
        fields = sentence[1 : sentence.rindex("*")].split(",")
        current.append(fields)
        if fields[1] == fields[2]:
            messages.append(current)
            current = []
    for index, message in enumerate(messages):
        if len(message) == 2 and rng.random() < 0.2:
            payload = message[0][5] + message[1][5]
            cut1, cut2 = len(payload) // 3, 2 * len(payload) // 3
            chunks = (payload[:cut1], payload[cut1:cut2], payload[cut2:])
            fill = message[1][6]
            messages[index] = [
                [message[0][0], "3", str(n), message[0][3], message[0][4], chunk, "0"]
                for n, chunk in enumerate(chunks, start=1)
            ]
            messages[index][-1][6] = fill
    return messages


Fields = list[str]
Tag = list[str]


def _payload_flip(rng: random.Random, f: Fields, tag: Tag | None) -> Tag | None:
    chars = list(f[5]) or ["0"]
    for _ in range(rng.randint(1, 4)):
        chars[rng.randrange(len(chars))] = rng.choice(ARMOUR)
    f[5] = "".join(chars)
    return tag


def _payload_outside_armour(rng: random.Random, f: Fields, tag: Tag | None) -> Tag | None:
    at = rng.randint(0, len(f[5]))
    f[5] = f[5][:at] + rng.choice(OUTSIDE_ARMOUR) + f[5][at + 1 :]
    return tag


def _payload_length(rng: random.Random, f: Fields, tag: Tag | None) -> Tag | None:
    roll = rng.random()
    if roll < 0.4:
        f[5] = f[5][: rng.randint(0, len(f[5]))]
    elif roll < 0.9:
        f[5] += "".join(rng.choices(ARMOUR, k=rng.randint(1, 120)))
    else:  # around and past the 1 KiB line cap
        f[5] += "".join(rng.choices(ARMOUR, k=rng.randint(900, 1100)))
    return tag


def _fill_bits(rng: random.Random, f: Fields, tag: Tag | None) -> Tag | None:
    f[6] = rng.choice(("0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "-1", "10", "", "a"))
    return tag


def _fragment(rng: random.Random, f: Fields, tag: Tag | None) -> Tag | None:
    f[1], f[2] = rng.choice(
        (("2", "3"), ("1", "0"), ("0", "0"), ("0", "1"), ("9", "9"), ("9", "1"), ("3", "1"),
         ("10", "1"), ("-1", "1"), ("", ""), ("2", "2"), ("1", "2"), (str(rng.randint(0, 9)),
         str(rng.randint(0, 9))))
    )  # fmt: skip
    return tag


def _sequence_and_channel(rng: random.Random, f: Fields, tag: Tag | None) -> Tag | None:
    f[3] = rng.choice(("", "0", "7", "9", "42", "999", "1000", "-1", "A", str(rng.randint(0, 9))))
    f[4] = rng.choice(("A", "B", "1", "2", "", "C", "AB", "0", "a"))
    return tag


def _talker(rng: random.Random, f: Fields, tag: Tag | None) -> Tag | None:
    f[0] = rng.choice(
        ("AIVDO", "BSVDM", "ABVDM", "AIVDX", "aivdm", "AI VDM", "AIVDMX", "GPGGA", "")
    )
    return tag


def _separator(rng: random.Random, f: Fields, tag: Tag | None) -> Tag | None:
    index = rng.randrange(len(f))
    at = rng.randint(0, len(f[index]))
    extra = rng.choice(SEPARATORS) * rng.randint(1, 3)
    f[index] = f[index][:at] + extra + f[index][at:]
    return tag


_TAG_VALUES = (
    "c:" + "9" * 400,
    "c:1e308",
    "c:-1",
    "c:-1700000000",
    "c:nan",
    "c:inf",
    "c:0x10",
    "c:",
    "c:1700000000000",
    "c:99999999999999999999",
    "s:rx:1:2",
    "s:" + "S" * 300,
    "s:\u00e9t\u00e9",
    "g:1-2",
    "g:0-0-0",
    "g:3-2-7",
    "g:---",
    "g:1-2-",
    "g:-1--5",
    "g:1-2-3:4",
    "n:-5",
    "x:y",
    "cfoo",
    "",
    "::",
)


def _tag_values(rng: random.Random, f: Fields, tag: Tag | None) -> Tag | None:
    items = list(tag or [])
    for _ in range(rng.randint(1, 3)):
        if items and rng.random() < 0.5:
            items[rng.randrange(len(items))] = rng.choice(_TAG_VALUES)
        else:
            items.insert(rng.randint(0, len(items)), rng.choice(_TAG_VALUES))
    return items


# (operation, weight): payload edits dominate so most lines still frame and reach the decoder.
FIELD_OPS: tuple[tuple[Callable[[random.Random, Fields, Tag | None], Tag | None], int], ...] = (
    (_payload_flip, 24),
    (_payload_outside_armour, 1),
    (_payload_length, 4),
    (_fill_bits, 1),
    (_fragment, 1),
    (_sequence_and_channel, 2),
    (_talker, 1),
    (_separator, 1),
    (_tag_values, 2),
)
_OPS = [op for op, _ in FIELD_OPS]
_WEIGHTS = [w for _, w in FIELD_OPS]


def _checksum_text(rng: random.Random, body: str, stale: str) -> str:
    roll = rng.random()
    if roll < 0.92:
        right = checksum(body)
        return right.lower() if rng.random() < 0.3 else right
    if roll < 0.96:
        return f"{rng.randrange(256):02X}"
    if roll < 0.98:
        return rng.choice(("", "0", "ABC", "G1", "zz", "-1"))
    return stale


def _raw_mutation(rng: random.Random, line: bytes) -> bytes:
    data = bytearray(line)
    at = rng.randint(0, len(data))
    roll = rng.randrange(9)
    if roll == 0 and data:
        for _ in range(rng.randint(1, 3)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif roll == 1:
        del data[at:]
    elif roll == 2:
        data[at:at] = b"\x00" * rng.randint(1, 3)
    elif roll == 3:
        data[at:at] = rng.choice((b"\xff", b"\xc3\xa9", b"\xe2\x80\x8b", b"\x80\x80"))
    elif roll == 4:
        end = rng.randint(at, len(data))
        data[end:end] = data[at:end]
    elif roll == 5:
        data += ARMOUR.encode() * rng.randint(14, 20)
    elif roll == 6:
        return rng.choice((b"", b"   ", b"\r\n", b"\t", b"\x00"))
    elif roll == 7:
        data[at:at] = b"\r\n"
    else:
        data += bytes(data)
    return bytes(data)


class NmeaFuzzer:
    """Seeded mutation fuzzer; ``batch(n, now_s)`` returns ``n`` lines in message order."""

    def __init__(self, seed: int, n_seed_sentences: int = 4_000) -> None:
        self.rng = random.Random(seed)
        self.messages = seed_messages(n_seed_sentences, seed)
        self.group = 0

    def _tags(self, n_parts: int, now_s: int) -> list[Tag | None]:
        roll = self.rng.random()
        station = f"s:rx{self.rng.randrange(20)}"
        if roll < 0.5:
            return [None] * n_parts
        if roll < 0.7:
            return [[station, f"c:{now_s}"]] + [None] * (n_parts - 1)
        if roll < 0.9:
            self.group += 1
            groups = [[f"g:{n}-{n_parts}-{self.group}"] for n in range(1, n_parts + 1)]
            groups[0] += [station, f"c:{now_s * 1000}"]  # milliseconds, as some feeds send
            return list(groups)
        return [[station, f"c:{now_s}", f"n:{self.rng.randrange(10**6)}"]] * n_parts

    def _sentence(self, fields: Fields, tag: Tag | None) -> bytes:
        rng = self.rng
        f = list(fields)
        stale = checksum(",".join(f))
        for _ in range(rng.choice((0, 0, 1, 1, 1, 1, 2, 2, 3))):
            tag = rng.choices(_OPS, _WEIGHTS)[0](rng, f, tag)
        body = ",".join(f)
        line = f"!{body}*{_checksum_text(rng, body, stale)}"
        if tag is not None:
            params = ",".join(tag)
            roll = rng.random()
            if roll < 0.9:
                line = f"\\{params}*{_checksum_text(rng, params, '00')}\\{line}"
            elif roll < 0.95:
                line = f"\\{params}\\{line}"  # TAG block without '*'
            else:
                line = f"\\{params}*{checksum(params)}{line}"  # no closing backslash
        raw = line.encode("utf-8", "surrogateescape")
        return _raw_mutation(rng, raw) if rng.random() < 0.1 else raw

    def batch(self, n_lines: int, now_s: float) -> list[bytes]:
        rng = self.rng
        out: list[bytes] = []
        while len(out) < n_lines:
            message = rng.choice(self.messages)
            tags = self._tags(len(message), int(now_s))
            parts = [self._sentence(fields, tag) for fields, tag in zip(message, tags)]  # noqa: B905
            if len(parts) > 1 and rng.random() < 0.1:
                parts.pop(rng.randrange(len(parts)))  # a lost part
            if len(parts) > 1 and rng.random() < 0.1:
                rng.shuffle(parts)
            out.extend(parts)
            if rng.random() < 0.03:
                out.append(out[-1])  # the same sentence heard twice
        return out[:n_lines]


def rss_bytes() -> int:
    """Resident set size from /proc/self/statm (second field, in pages)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


class MemoryGrewError(AssertionError):
    """Resident memory kept growing after the pipeline's state had reached steady size."""


def check_ledger(stats: IngestStats) -> int:
    """Assert the counting invariants of a flushed pipeline; return the number of messages."""
    rejected = stats.rejected
    assert set(rejected) <= KNOWN_REASONS, set(rejected) - KNOWN_REASONS
    line_drops = sum(rejected.get(r, 0) for r in LINE_REASONS)
    assert stats.lines_read == stats.sentences_ok + line_drops
    outcomes = sum(rejected.get(r, 0) for r in MESSAGE_OUTCOMES)
    messages = stats.decoded + stats.duplicates + outcomes
    consumed = stats.sentences_ok - sum(rejected.get(r, 0) for r in ASSEMBLY_REASONS)
    assert messages <= consumed <= 9 * messages
    return messages


def run_fuzz(n_inputs: int, seed: int, watch_memory: bool) -> None:
    fuzzer = NmeaFuzzer(seed)
    pipeline = AisPipeline(dedupe_window_s=30.0, assembly_timeout_s=10.0)
    n_batches = n_inputs // BATCH_LINES
    mark = max(1, n_batches // 5)
    rss: list[int] = []
    rows = 0
    gen_s = proc_s = 0.0
    for index in range(n_batches):
        now_s = START_S + index * BATCH_STEP_S
        t0 = time.perf_counter()
        lines = fuzzer.batch(BATCH_LINES, now_s)
        t1 = time.perf_counter()
        before = pipeline.stats.lines_read
        table = pipeline.process(lines, f"rx{index % 3}", now_s)
        proc_s += time.perf_counter() - t1
        gen_s += t1 - t0
        assert pipeline.stats.lines_read - before == len(lines)
        assert table.schema.equals(PIPELINE_SCHEMA)
        rows += table.num_rows
        if watch_memory and (index == mark or index >= n_batches - 10):
            del lines, table
            gc.collect()
            rss.append(rss_bytes())
    pipeline.flush(float("inf"))
    messages = check_ledger(pipeline.stats)
    stats = pipeline.stats.as_dict()
    rejected = stats["rejected"]
    assert rows == stats["decoded"]
    framed = stats["sentences_ok"] / stats["lines_read"]
    print(
        f"\nR1 fuzz: {stats['lines_read']:,} inputs, {n_inputs / proc_s:,.0f} inputs/s through "
        f"the pipeline ({proc_s:.1f} s; generation {gen_s:.1f} s), {framed:.1%} passed framing, "
        f"{messages:,} messages, {stats['decoded']:,} decoded\n  {stats}"
    )
    # The fuzz reaches every framing reason and the decoder's and assembler's reject paths.
    assert framed > 0.55
    assert stats["decoded"] > 0.3 * n_inputs
    for reason in (*LINE_REASONS, "decode_error", "duplicate_fragment", "orphan_fragment"):
        assert rejected.get(reason, 0) > 0, reason
    if watch_memory:
        growth = max(rss[1:]) - rss[0]
        print(
            f"  RSS at 20%: {rss[0] / 2**20:.1f} MiB, growth to the end: {growth / 2**20:+.1f} MiB"
        )
        # State is bounded by time windows (assembly 10 s, dedupe 30 s = 6 batches here), all
        # reached by the 20% mark; 16 MiB over 800,000 later inputs is ~20 bytes per input,
        # far below any per-input leak and above allocator noise.
        if growth >= 16 * 2**20:
            raise MemoryGrewError(f"RSS grew {growth / 2**20:.1f} MiB after the 20% mark")


def test_fuzzed_lines_never_raise_and_every_line_is_counted() -> None:
    run_fuzz(20_000, seed=101, watch_memory=False)


@pytest.mark.slow
def test_million_fuzzed_lines_never_raise_count_every_line_and_keep_memory_flat() -> None:
    """1,000,000 mutated lines (100 batches of 10,000) through one pipeline, ~35 s here."""
    run_fuzz(1_000_000, seed=202, watch_memory=True)


def _type1_line(rng: random.Random, tag: str | None) -> bytes:
    payload, fill = random_payload(1, 168, rng)
    body = f"AIVDM,1,1,,A,{payload.decode()},{fill}"
    line = f"!{body}*{checksum(body)}"
    if tag is not None:
        line = f"\\{tag}*{checksum(tag)}\\{line}"
    return line.encode()


def test_one_far_future_tag_time_does_not_keep_later_messages_in_memory() -> None:
    import tracemalloc

    def retained(first: list[bytes]) -> int:
        rng = random.Random(5)
        pipeline = AisPipeline()
        gc.collect()
        tracemalloc.start()
        pipeline.process(first, "rx", START_S)
        for index in range(30):  # 100 s apart: each batch ages out of the 30 s window
            lines = [_type1_line(rng, None) for _ in range(2_000)]
            pipeline.process(lines, "rx", START_S + 100.0 * (index + 1))
        del lines
        gc.collect()
        held = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        return held

    plain = retained([_type1_line(random.Random(6), "c:1700000000")])
    future = retained([_type1_line(random.Random(6), "c:" + "9" * 30)])
    print(f"\nretained after 60,000 messages: {plain:,} B normal, {future:,} B after c:9...9")
    assert future < plain + 1_000_000


def test_tag_time_beyond_the_timestamp_range_yields_a_convertible_rx_time() -> None:
    line = _type1_line(random.Random(7), "c:1e300")
    table = AisPipeline().process([line], "rx", START_S)
    assert table.num_rows == 1
    assert len(table.column("rx_time").to_pylist()) == 1


NMEA_SHAPED = (
    rb"(\\([a-z]:[ -\[\]-~]{0,20},?){0,3}(\*[0-9A-Fa-f]{0,3})?\\)?"
    rb"[!$][A-Z]{2}VD[MOX],[0-9]{0,2},[0-9]{0,2},[0-9]{0,4},[AB12C]?,"
    rb"[0-9:;<=>?@A-W`a-w\x00-\x2f\xff]{0,90},[0-9]{0,2}(\*[0-9A-Fa-f]{0,3})?\r?\n?"
)


def _process_and_check(lines: list[bytes]) -> None:
    pipeline = AisPipeline()
    table = pipeline.process(lines, "rx", START_S)
    pipeline.flush(float("inf"))
    assert isinstance(table, pa.Table)
    assert pipeline.stats.lines_read == len(lines)
    check_ledger(pipeline.stats)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=1100), max_size=20))
def test_arbitrary_bytes_never_raise(lines: list[bytes]) -> None:
    _process_and_check(lines)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.from_regex(NMEA_SHAPED, fullmatch=True), min_size=1, max_size=20))
def test_nmea_shaped_lines_never_raise(lines: list[bytes]) -> None:
    _process_and_check(lines)


@st.composite
def checksummed_lines(draw: st.DrawFn) -> bytes:
    """NMEA-shaped lines with correct checksums, so they get past framing to the decoder."""
    fields = [
        draw(st.sampled_from(["AIVDM", "AIVDO", "BSVDM"])),
        draw(st.sampled_from("0123456789")),
        draw(st.sampled_from("0123456789")),
        draw(st.sampled_from(["", "0", "5", "99"])),
        draw(st.sampled_from(["A", "B", "1", "2", ""])),
        draw(st.text(ARMOUR, max_size=200)),
        draw(st.sampled_from("0123456789")),
    ]
    body = ",".join(fields)
    line = f"!{body}*{checksum(body)}"
    if draw(st.booleans()):
        params = draw(st.from_regex(r"[a-z]:[0-9A-Za-z:.\-]{0,30}(,[a-z]:[0-9.\-]{0,20}){0,2}"))
        line = f"\\{params}*{checksum(params)}\\{line}"
    return line.encode()


@settings(max_examples=300, deadline=None)
@given(st.lists(checksummed_lines(), min_size=1, max_size=20))
def test_checksummed_nmea_lines_never_raise(lines: list[bytes]) -> None:
    _process_and_check(lines)
