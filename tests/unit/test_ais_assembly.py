"""Multi-sentence assembly: interleaving, loss, duplicates, bad fragments, TAG groups, caps."""

from __future__ import annotations

import random
from functools import reduce
from operator import xor

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from jointwatch.ais.assembly import Assembled, Assembler
from jointwatch.ais.corpus import random_fields
from jointwatch.ais.decoder import decode_payloads
from jointwatch.ais.encode import encode_message, with_tag_block
from jointwatch.ais.framing import frame_lines

ARMOUR = "0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVW`abcdefghijklmnopqrstuvw"


def sentence(total: int, number: int, seq: int | str, channel: str, payload: str, fill: int) -> str:
    body = f"AIVDM,{total},{number},{seq},{channel},{payload},{fill}"
    return f"!{body}*{reduce(xor, body.encode(), 0):02X}"


def type5(mmsi: int, channel: str, seq: int, seed: int = 0) -> list[str]:
    fields = random_fields(5, random.Random(seed))
    fields["mmsi"] = mmsi
    return encode_message(fields, radio_channel=channel, seq_id=seq)


def feed(assembler: Assembler, lines: list[str], source: str, now_s: float = 0.0) -> Assembled:
    return assembler.add(frame_lines(lines, source, now_s), source, now_s)


def mmsis(assembled: Assembled) -> list[int]:
    table = decode_payloads(assembled.payload, assembled.fill_bits)
    assert table.num_rows == len(assembled)
    return table.column("mmsi").to_pylist()


def test_interleaved_type_5_from_two_channels_and_two_sources_all_assemble() -> None:
    # Same sequence id everywhere: only channel and source tell the four messages apart.
    a1 = type5(111_111_111, "A", 3)
    b1 = type5(222_222_222, "B", 3, seed=1)
    a2 = type5(333_333_333, "A", 3, seed=2)
    b2 = type5(444_444_444, "B", 3, seed=3)
    assembler = Assembler()

    first = feed(assembler, [a1[0], b1[0]], "rx1")
    second = feed(assembler, [a2[0], b2[0]], "rx2")
    third = feed(assembler, [b1[1], a1[1]], "rx1")
    fourth = feed(assembler, [a2[1], b2[1]], "rx2")

    assert len(first) == len(second) == 0
    assert mmsis(third) == [222_222_222, 111_111_111]
    assert mmsis(fourth) == [333_333_333, 444_444_444]
    assert assembler.open_groups == 0
    assert assembler.take_rejected() == {}


def test_message_missing_its_second_part_expires_counted_as_timeout() -> None:
    assembler = Assembler(timeout_s=10.0)
    lonely = type5(111_111_111, "A", 1)

    feed(assembler, [lonely[0]], "rx", now_s=100.0)
    kept = assembler.open_groups
    assembler.expire(111.0)

    assert kept == 1
    assert assembler.open_groups == 0
    assert assembler.take_rejected() == {"assembly_timeout": 1}


def test_second_part_without_its_first_expires_counted_as_orphan() -> None:
    assembler = Assembler(timeout_s=10.0)
    lonely = type5(111_111_111, "A", 1)

    feed(assembler, [lonely[1]], "rx", now_s=100.0)
    later = feed(assembler, [], "rx", now_s=200.0)

    assert len(later) == 0
    assert assembler.open_groups == 0
    assert assembler.take_rejected() == {"orphan_fragment": 1}


def test_message_completed_within_the_timeout_is_not_expired() -> None:
    assembler = Assembler(timeout_s=10.0)
    parts = type5(111_111_111, "A", 1)

    feed(assembler, [parts[0]], "rx", now_s=100.0)
    done = feed(assembler, [parts[1]], "rx", now_s=109.0)

    assert mmsis(done) == [111_111_111]


def test_duplicate_part_is_counted_and_the_message_assembles_once() -> None:
    assembler = Assembler()
    parts = type5(111_111_111, "A", 1)

    done = feed(assembler, [parts[0], parts[0], parts[1], parts[1]], "rx")

    assert mmsis(done) == [111_111_111]
    # The repeated second part arrives after completion: it opens a group that later expires.
    assert assembler.take_rejected() == {"duplicate_fragment": 1}
    assembler.expire(1e9)
    assert assembler.take_rejected() == {"orphan_fragment": 1}


def test_out_of_order_parts_assemble_in_part_order() -> None:
    assembler = Assembler()
    fields = random_fields(5, random.Random(7))
    parts = encode_message(fields, seq_id=4)

    done = feed(assembler, [parts[1], parts[0]], "rx")

    assert len(done) == 1
    assert done.payload[0] == "".join(p.split(",")[5] for p in parts).encode()
    assert done.fill_bits.tolist() == [int(parts[1].split(",")[6][0])]


def test_fragment_number_0_does_not_abort_other_groups() -> None:
    # pyais issue 177: one bad fragment stopped the whole assembly loop.
    good = type5(111_111_111, "A", 1)
    other = type5(222_222_222, "B", 2, seed=1)
    bad = sentence(2, 0, 1, "A", "55NBX", 0)
    frames = frame_lines([good[0], bad, other[0], good[1], other[1]], "rx", 0.0)
    assembler = Assembler()

    done = assembler.add(frames, "rx", 0.0)

    assert frames.rejected == {"bad_fragment": 1}
    assert mmsis(done) == [111_111_111, 222_222_222]


def test_assembler_called_directly_with_fragment_number_0_drops_only_that_fragment() -> None:
    good = type5(111_111_111, "A", 1)
    frames = frame_lines([good[0], good[1]], "rx", 0.0)
    frames.frag_num = frames.frag_num.copy()
    bad = frame_lines([good[1]], "rx", 0.0)
    bad.frag_num = np.zeros(1, np.int8)
    assembler = Assembler()

    nothing = assembler.add(bad, "rx", 0.0)
    done = assembler.add(frames, "rx", 0.0)

    assert len(nothing) == 0
    assert mmsis(done) == [111_111_111]
    assert assembler.take_rejected() == {"invalid_fragment": 1}


def test_restarted_sequence_id_drops_the_stale_group_and_keeps_the_new_message() -> None:
    old = type5(111_111_111, "A", 5)
    new = type5(222_222_222, "A", 5, seed=1)
    assembler = Assembler()

    done = feed(assembler, [old[0], new[0], new[1]], "rx")

    assert mmsis(done) == [222_222_222]
    assert assembler.take_rejected() == {"orphan_fragment": 1}


def test_tag_group_assembles_when_only_the_first_part_carries_time_and_source() -> None:
    parts = type5(111_111_111, "A", 1)
    # Same sequence id and channel on both messages: only the g: group tells them apart.
    others = type5(222_222_222, "A", 1, seed=1)
    lines = [
        with_tag_block(parts[0], c=1_700_000_000, s="shore-7", g="1-2-4711"),
        with_tag_block(others[0], c=1_700_000_001, s="shore-8", g="1-2-4712"),
        with_tag_block(others[1], c=None, s=None, g="2-2-4712"),
        with_tag_block(parts[1], c=None, s=None, g="2-2-4711"),
    ]
    assembler = Assembler()

    # Received a minute after the TAG times: framing distrusts a TAG time a day ahead of receipt.
    done = feed(assembler, lines, "feed", now_s=1_700_000_060.0)

    assert mmsis(done) == [222_222_222, 111_111_111]
    assert done.tag_time_s.tolist() == [1_700_000_001.0, 1_700_000_000.0]
    assert done.tag_source == ["shore-8", "shore-7"]


def test_tag_group_first_part_arriving_last_still_gives_its_time_and_source() -> None:
    parts = type5(111_111_111, "B", 2)
    lines = [
        with_tag_block(parts[1], c=None, s=None, g="2-2-9"),
        with_tag_block(parts[0], c=1_700_000_000_000, s="ms-feed", g="1-2-9"),  # milliseconds
    ]

    done = feed(Assembler(), lines, "feed", now_s=1_700_000_060.0)

    assert mmsis(done) == [111_111_111]
    assert done.tag_time_s.tolist() == [1_700_000_000.0]
    assert done.tag_source == ["ms-feed"]


def _flood_line(index: int, first_part: str) -> str:
    return with_tag_block(first_part, c=None, s=None, g=f"1-2-{index}")


def test_flood_of_unmatched_first_parts_is_capped_and_valid_messages_still_assemble() -> None:
    # SECURITY.md R3 in miniature: 100,000 first parts that never complete, from many
    # flooding receivers, with 500 real two-part messages interleaved from one receiver.
    rng = random.Random(3)
    cap_total, cap_source = 5_000, 1_000
    assembler = Assembler(timeout_s=10.0, max_open_total=cap_total, max_open_per_source=cap_source)
    bait = type5(999_999_999, "A", 0)[0]
    flood = [_flood_line(i, bait) for i in range(100_000)]
    valid = [type5(201_000_000 + i, "AB"[i % 2], i % 10, seed=i) for i in range(500)]
    # The real receiver's messages follow each other (sequence ids cycle 0..9 as a
    # transponder's do) with up to 150 flood sentences between a message's two parts.
    inserts: list[tuple[int, int, str]] = []
    for i, message in enumerate(valid):
        at = i * 190 + rng.randrange(30)
        inserts += [(at, 0, message[0]), (at + rng.randint(1, 150), 1, message[1])]
    stream: list[tuple[str, str]] = []
    pending = sorted(inserts)
    for i, line in enumerate(flood):
        while pending and pending[0][0] <= i:
            stream.append(("rx-real", pending.pop(0)[2]))
        stream.append((f"flood-{i % 37}", line))
    stream += [("rx-real", line) for _, _, line in pending]
    seen_open = 0
    assembled: list[int] = []

    for start in range(0, len(stream), 250):
        batch = stream[start : start + 250]
        for source in dict.fromkeys(s for s, _ in batch):
            lines = [line for s, line in batch if s == source]
            done = feed(assembler, lines, source, now_s=start / 10_000)
            if source == "rx-real":
                assembled.extend(mmsis(done))
            else:
                assert len(done) == 0
            seen_open = max(seen_open, assembler.open_groups)

    assert seen_open <= cap_total
    assert assembler.open_groups <= cap_total
    assert sorted(assembled) == [201_000_000 + i for i in range(500)]
    assert assembler.take_rejected().get("assembly_overflow", 0) >= 100_000 - cap_total


def test_flood_from_one_receiver_is_held_to_the_per_source_cap() -> None:
    assembler = Assembler(max_open_per_source=100, max_open_total=10_000)
    bait = type5(999_999_999, "A", 0)[0]

    feed(assembler, [_flood_line(i, bait) for i in range(5_000)], "noisy")
    parts = type5(111_111_111, "A", 1)
    done = feed(assembler, parts, "quiet")

    assert assembler.open_groups == 100
    assert mmsis(done) == [111_111_111]


@st.composite
def interleavings(draw: st.DrawFn) -> tuple[list[tuple[str, str]], dict[bytes, int], list[int]]:
    """Complete multi-part messages with distinct keys, their parts shuffled together and
    cut into batches. Returns (source, line) pairs, {payload: fill}, batch sizes."""
    n_messages = draw(st.integers(1, 25))
    lines: list[tuple[str, str]] = []
    expected: dict[bytes, int] = {}
    for index in range(n_messages):
        total = draw(st.integers(2, 5))
        chunks = [
            draw(st.text(ARMOUR, min_size=1, max_size=60)) + f"{ARMOUR[index]}{ARMOUR[k]}"
            for k in range(total)
        ]
        fill = draw(st.integers(0, 5))
        channel = draw(st.sampled_from("AB12"))
        use_group = draw(st.booleans())
        source = f"rx{index // 10}"
        for number, chunk in enumerate(chunks, start=1):
            line = sentence(
                total, number, index % 10, channel, chunk, fill if number == total else 0
            )
            if use_group:
                line = with_tag_block(line, c=None, s=None, g=f"{number}-{total}-{index}")
            lines.append((source, line))
        expected["".join(chunks).encode()] = fill
    order = draw(st.permutations(range(len(lines))))
    shuffled = [lines[i] for i in order]
    batch_sizes = draw(st.lists(st.integers(1, 8), min_size=1, max_size=len(lines)))
    return shuffled, expected, batch_sizes


@settings(max_examples=300, deadline=None)
@given(interleavings())
def test_any_interleaving_assembles_every_message_and_never_mixes_parts(
    case: tuple[list[tuple[str, str]], dict[bytes, int], list[int]],
) -> None:
    stream, expected, batch_sizes = case
    assembler = Assembler()
    out: dict[bytes, list[int]] = {}
    position = 0
    sizes = iter(batch_sizes)
    while position < len(stream):
        size = next(sizes, 1)
        batch = stream[position : position + size]
        position += size
        # One receiver per call, as the pipeline sees it.
        for source in dict.fromkeys(s for s, _ in batch):
            done = feed(assembler, [line for s, line in batch if s == source], source)
            for payload, fill in zip(done.payload, done.fill_bits.tolist(), strict=True):
                out.setdefault(payload, []).append(fill)

    assert out == {payload: [fill] for payload, fill in expected.items()}
    assert assembler.open_groups == 0
    assert assembler.take_rejected() == {}


def test_a_batch_mixing_single_joined_and_walked_messages_keeps_arrival_order() -> None:
    """Single-sentence messages, parts that follow each other (joined column-wise) and
    interleaved parts (walked one by one) come out in the order of their last part, each
    with its own payload, fill bits, time and source."""

    def single(seed: int) -> str:
        fields = random_fields(1, random.Random(seed))
        return encode_message(fields, radio_channel="A")[0]

    def payload_fill(line: str) -> tuple[bytes, int]:
        parts = line.split("*")[0].split(",")
        return parts[5].encode(), int(parts[6])

    run = type5(412000001, "A", 1, seed=1)
    walked = type5(412000002, "B", 2, seed=2)
    other = type5(412000003, "B", 3, seed=3)  # interleaved with ``walked``
    lines = [single(10), *run, single(11), walked[0], single(12), other[0], walked[1]]
    lines += [single(13), other[1]]
    tagged = [with_tag_block(line, c=1_764_000_000 + i, s=f"rx{i}") for i, line in enumerate(lines)]
    done = feed(Assembler(), tagged, "feed", now_s=1_764_000_010.0)

    def two_parts(parts: list[str]) -> tuple[bytes, int]:
        last, fill = payload_fill(parts[1])
        return payload_fill(parts[0])[0] + last, fill

    want = [
        (*payload_fill(lines[0]), "rx0", 0),
        (*two_parts(run), "rx1", 1),  # time and source of its first part
        (*payload_fill(lines[3]), "rx3", 3),
        (*payload_fill(lines[5]), "rx5", 5),
        (*two_parts(walked), "rx4", 4),
        (*payload_fill(lines[8]), "rx8", 8),
        (*two_parts(other), "rx6", 6),
    ]
    got = list(
        zip(
            done.payload,
            done.fill_bits.tolist(),
            done.tag_source,
            (np.asarray(done.tag_time_s) - 1_764_000_000).astype(int).tolist(),
            strict=True,
        )
    )
    assert got == want
