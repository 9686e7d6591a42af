"""SECURITY.md R3: a flood of unmatched first parts must not cost memory or real messages.

Scenario, fed through ``AisPipeline.process`` as the ingest service does (one call per
receiver connection per batch): 64 hostile connections send first parts (part 1 of 2..9)
with random channels, sequence ids and, for a fifth of them, random TAG ``g:`` group ids;
a tenth of the flood also arrives on the ten real receivers' own connections, as TAG groups
whose keys cannot collide with the real receivers' sequence-id keys. The real receivers send
two-part type 5 messages, each with its own MMSI, name and call sign, whose parts are
consecutive or a few lines apart. The flood runs at 10,000 lines per simulated second, so a
10 s assembly timeout alone would hold 100,000 groups: the caps have to do the work.

Open-group memory is measured as a deep size of ``pipeline.assembler``: every object reachable
from it through ``gc.get_referents`` (classes, modules and functions excluded), each counted
once with ``sys.getsizeof``. That is what the Assembler holds between batches (keys, groups,
part lists, payload bytes and the dict tables, slack included), without allocator overhead;
a tracemalloc snapshot of the same state agrees within 1%.
"""

from __future__ import annotations

import gc
import random
import sys
import time
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import reduce
from operator import xor

import pyarrow as pa
import pytest

from jointwatch.ais import AisPipeline, Assembler, encode_message, with_tag_block
from jointwatch.ais.corpus import random_fields

START_S = 1_700_000_000.0
FLOOD_PER_CHUNK = 2_000
CHUNK_STEP_S = 0.2  # 10,000 flood lines per simulated second
REAL_SOURCES = tuple(f"rx-real-{i}" for i in range(10))
FLOOD_SOURCES = tuple(f"flood-{i}" for i in range(64))
OPEN_STATE_LIMIT_BYTES = 20 * 1024 * 1024
_SKIP_TYPES = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType)


class OpenStateTooLargeError(AssertionError):
    """The Assembler's open groups took more memory than R3 allows."""


def deep_size(root: object) -> int:
    """Bytes of every object reachable from ``root`` (shared objects once, code excluded)."""
    seen: set[int] = set()
    stack = [root]
    total = 0
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, _SKIP_TYPES):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        stack.extend(gc.get_referents(obj))
    return total


def xor_text(text: str) -> int:
    return reduce(xor, text.encode(), 0)


@dataclass
class Flood:
    """Deterministic unmatched first parts; the payload pool is real type 5 first parts of
    MMSIs 900,000,000+ so that any cross-assembly with them would show in the decoded rows."""

    rng: random.Random
    payloads: list[str] = field(default_factory=list)
    payload_xor: list[int] = field(default_factory=list)
    group: int = 0

    @classmethod
    def seeded(cls, seed: int, pool: int = 2_048) -> Flood:
        rng = random.Random(seed)
        flood = cls(rng)
        for k in range(pool):
            fields = random_fields(5, rng)
            fields["mmsi"] = 900_000_000 + k
            payload = encode_message(fields, seq_id=0)[0].split(",")[5]
            flood.payloads.append(payload)
            flood.payload_xor.append(xor_text(payload))
        return flood

    def line(self, tagged: bool) -> bytes:
        rng = self.rng
        k = rng.randrange(len(self.payloads))
        total = rng.randint(2, 9)
        seq = rng.randrange(10) if rng.random() < 0.5 else rng.randrange(1000)
        header = f"AIVDM,{total},1,{seq},{rng.choice('AB12')},"
        check = xor_text(header) ^ self.payload_xor[k] ^ xor_text(",0")
        sentence = f"!{header}{self.payloads[k]},0*{check:02X}"
        if tagged:
            self.group += 1
            sentence = with_tag_block(
                sentence, c=None, s=None, g=f"1-{total}-{rng.randrange(10**6)}"
            )
        return sentence.encode()


def real_messages(n_messages: int, seed: int) -> tuple[list[tuple[str, list[bytes]]], dict]:
    """(receiver, [part 1, part 2]) per message and {mmsi: (shipname, callsign)} expected."""
    rng = random.Random(seed)
    messages: list[tuple[str, list[bytes]]] = []
    expected: dict[int, tuple[str, str]] = {}
    for index in range(n_messages):
        fields = random_fields(5, rng, edge_rate=0.0)
        mmsi = 201_000_000 + index
        fields |= {"mmsi": mmsi, "shipname": f"VESSEL {index:06d}", "callsign": f"C{index:06d}"}
        source_index = index % len(REAL_SOURCES)
        seq = (index // len(REAL_SOURCES)) % 10  # each receiver cycles 0..9
        parts = encode_message(fields, radio_channel="AB"[index % 2], seq_id=seq)
        assert len(parts) == 2
        messages.append((REAL_SOURCES[source_index], [p.encode() for p in parts]))
        expected[mmsi] = (fields["shipname"], fields["callsign"])
    return messages, expected


def stream_chunks(
    n_flood: int, n_real: int, seed: int
) -> tuple[Iterator[list[tuple[str, bytes]]], dict[int, tuple[str, str]]]:
    """Chunks of (source, line): ``FLOOD_PER_CHUNK`` flood lines with the real messages'
    parts inserted, part 2 right after part 1 or up to five stream lines later."""
    rng = random.Random(seed)
    flood = Flood.seeded(seed + 1)
    messages, expected = real_messages(n_real, seed + 2)
    spacing = n_flood / n_real
    inserts: list[tuple[int, int, str, bytes]] = []
    for index, (source, (first, second)) in enumerate(messages):
        at = int(index * spacing) + rng.randrange(max(1, int(spacing) // 2))
        inserts += [
            (at, 2 * index, source, first),
            (at + rng.randint(0, 5), 2 * index + 1, source, second),
        ]
    inserts.sort()

    def chunks() -> Iterator[list[tuple[str, bytes]]]:
        pending = 0
        for start in range(0, n_flood, FLOOD_PER_CHUNK):
            chunk: list[tuple[str, bytes]] = []
            for position in range(start, min(n_flood, start + FLOOD_PER_CHUNK)):
                while pending < len(inserts) and inserts[pending][0] <= position:
                    chunk.append(inserts[pending][2:])
                    pending += 1
                roll = rng.random()
                if roll < 0.1:  # flooding on a real receiver's connection, by TAG group
                    chunk.append((rng.choice(REAL_SOURCES), flood.line(tagged=True)))
                else:
                    chunk.append((rng.choice(FLOOD_SOURCES), flood.line(tagged=roll < 0.28)))
            if start + FLOOD_PER_CHUNK >= n_flood:
                chunk += [item[2:] for item in inserts[pending:]]
            yield chunk

    return chunks(), expected


def run_flood(n_flood: int, n_real: int, seed: int, measure_every: int) -> None:
    chunks, expected = stream_chunks(n_flood, n_real, seed)
    pipeline = AisPipeline(dedupe_window_s=30.0, assembly_timeout_s=10.0)
    assembler = pipeline.assembler
    tables: list[pa.Table] = []
    n_lines = max_open = max_bytes = 0
    bytes_at_max = open_at_max = 0
    process_s = measure_s = 0.0
    for index, chunk in enumerate(chunks):
        now_s = START_S + index * CHUNK_STEP_S
        by_source: dict[str, list[bytes]] = {}
        for source, line in chunk:  # one call per connection, in first-arrival order
            by_source.setdefault(source, []).append(line)
        started = time.perf_counter()
        for source, lines in by_source.items():
            table = pipeline.process(lines, source, now_s)
            if table.num_rows:
                tables.append(table)
        process_s += time.perf_counter() - started
        n_lines += len(chunk)
        max_open = max(max_open, assembler.open_groups)
        assert assembler.open_groups <= assembler.max_open_total
        if index % measure_every == measure_every - 1:
            started = time.perf_counter()
            size = deep_size(assembler)
            measure_s += time.perf_counter() - started
            if size > max_bytes:
                max_bytes, bytes_at_max, open_at_max = size, size, assembler.open_groups
    pipeline.flush(float("inf"))
    decoded = pa.concat_tables(tables) if tables else pa.table({})
    stats = pipeline.stats.as_dict()

    mmsis = decoded.column("mmsi").to_pylist()
    names = decoded.column("shipname").to_pylist()
    callsigns = decoded.column("callsign").to_pylist()
    # No cross-message assembly: every decoded row is a type 5 equal to exactly one message.
    assert set(decoded.column("msg_type").to_pylist()) == {5}
    assert len(mmsis) == len(set(mmsis))
    for mmsi, name, callsign in zip(mmsis, names, callsigns, strict=True):
        assert expected.get(mmsi) == (name, callsign), (mmsi, name, callsign)
    share = len(mmsis) / len(expected)
    per_group = bytes_at_max / max(1, open_at_max)
    print(
        f"\nR3 flood: {n_flood:,} first parts + {n_real:,} two-part messages = {n_lines:,} lines, "
        f"{n_lines / process_s:,.0f} lines/s through the pipeline ({process_s:.1f} s; "
        f"measuring {measure_s:.1f} s)\n  assembled and decoded {share:.3%} "
        f"({len(mmsis):,}/{len(expected):,}), 0 cross-message; peak open groups {max_open:,}, "
        f"peak open-group memory {max_bytes / 2**20:.1f} MiB ({per_group:.0f} B per group)\n"
        f"  {stats}"
    )
    assert share >= 0.999
    assert stats["lines_read"] == n_lines
    assert stats["rejected"].get("assembly_overflow", 0) > 0  # the caps did the work
    if max_bytes >= OPEN_STATE_LIMIT_BYTES:
        raise OpenStateTooLargeError(
            f"open groups took {max_bytes / 2**20:.1f} MiB ({max_open:,} groups), limit 20 MiB"
        )


def test_flood_of_100k_first_parts_keeps_real_messages_and_bounds_open_groups() -> None:
    run_flood(100_000, 10_000, seed=31, measure_every=5)


@pytest.mark.slow
def test_flood_of_a_million_first_parts_keeps_real_messages_and_bounds_open_groups() -> None:
    """SECURITY.md R3 at full size: 10^6 unmatched first parts, 10^5 real messages."""
    run_flood(1_000_000, 100_000, seed=37, measure_every=50)


def test_open_group_memory_measure_counts_payload_bytes() -> None:
    """The deep-size measure sees what the Assembler holds: payload bytes grow it."""
    flood = Flood.seeded(3, pool=16)
    short, long_ = AisPipeline(), AisPipeline()
    lines = [flood.line(tagged=True) for _ in range(2_000)]
    long_lines = [
        line.replace(b",0*", b"0" * 600 + b",0*") for line in lines
    ]  # checksum unchanged: '0' * 600 XORs to 0
    short.process(lines, "rx", START_S)
    long_.process(long_lines, "rx", START_S)
    assert short.assembler.open_groups == long_.assembler.open_groups == 1_000
    grown = deep_size(long_.assembler) - deep_size(short.assembler)
    # 600 payload bytes per group, plus the byte count held as a Python int per group.
    assert 600 * 1_000 <= grown <= 640 * 1_000


def test_long_flooded_payloads_are_bounded_by_the_byte_budget() -> None:
    """Caps count bytes too: 1,000 groups of 600-byte parts cannot exceed the budget."""
    flood = Flood.seeded(5, pool=16)
    pipeline = AisPipeline()
    pipeline.assembler = Assembler(max_open_bytes=100_000)
    lines = [
        line.replace(b",0*", b"0" * 600 + b",0*")  # '0' * 600 XORs to 0: checksum still valid
        for line in (flood.line(tagged=True) for _ in range(2_000))
    ]
    pipeline.process(lines, "rx", START_S)
    held = sum(group.nbytes for group in pipeline.assembler._open.values())
    assert held <= 100_000
    assert pipeline.assembler.open_groups < 200
    assert pipeline.stats.rejected.get("assembly_overflow", 0) > 0
