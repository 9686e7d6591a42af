"""Differential test: our batch decoder against pyais 3.3.1, field by field.

Messages are random field values (``jointwatch.ais.corpus``, fixed seeds, edge values
over-represented) encoded with pyais's ``encode_dict``; every payload is decoded once by
``decode_batch`` and once by pyais, and every field pyais reports that we have a column for
must be identical. Raw random bit strings cover the codes no encoder writes, wrong-length
payloads cover the fallback boundary.
"""

from __future__ import annotations

import base64
import json
import math
import random
from functools import reduce
from operator import xor
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from pyais.bit_vector import bit_vector
from pyais.messages import MSG_CLASS

from jointwatch.ais import AisPipeline
from jointwatch.ais.corpus import encoded_payload, random_messages, random_payload
from jointwatch.ais.decoder import DECODED_SCHEMA, VECTORISED_TYPES, decode_batch

VECTORISED = (1, 2, 3, 4, 5, 18, 19, 21, 24, 27)
COLUMNS = frozenset(DECODED_SCHEMA.names) - {"extra"}
#: Full layout length in bits of each vectorised type (type 21 without name extension).
LAYOUT_BITS = {1: 168, 2: 168, 3: 168, 4: 168, 5: 424, 18: 168, 19: 312, 21: 272, 27: 96}


def pyais_fields(payload: bytes, fill: int) -> dict[str, Any] | None:
    """What pyais 3.3.1 decodes from one whole payload; None when it raises."""
    try:
        vector = bit_vector(payload, fill)
        return dict(MSG_CLASS[vector.get(0, 6)].from_vector(vector).asdict())
    except Exception:
        return None


def same(ours: Any, reference: Any) -> bool:
    if isinstance(ours, float) and isinstance(reference, float):
        return ours == reference or (math.isnan(ours) and math.isnan(reference))
    return bool(ours == reference) and (ours is None) == (reference is None)


def compare(payloads: list[bytes], fills: list[int]) -> tuple[int, list[str]]:
    """Decode with both decoders; return (messages compared, mismatch descriptions)."""
    result = decode_batch(payloads, fills)
    rows = result.table.to_pylist()
    mismatches: list[str] = []
    compared = 0
    rejected = set(result.rejected_index.tolist())
    by_input = dict(zip(result.kept_index.tolist(), rows, strict=True))
    for index, (payload, fill) in enumerate(zip(payloads, fills, strict=True)):
        reference = pyais_fields(payload, fill)
        if reference is None:
            if index not in rejected:
                mismatches.append(f"{payload!r}/{fill}: pyais fails, we decoded")
            continue
        if index in rejected:
            mismatches.append(f"{payload!r}/{fill}: pyais decodes, we rejected")
            continue
        compared += 1
        ours = by_input[index]
        for name in COLUMNS:
            expected = reference.get(name)
            if not same(ours[name], expected) and not (
                expected is not None and ours[name] is None and ours["extra"] is not None
            ):
                mismatches.append(
                    f"type {reference['msg_type']} {name}: pyais {expected!r}, "
                    f"ours {ours[name]!r} ({payload!r}/{fill})"
                )
    return compared, mismatches


def encoded_corpus(n_messages: int, seed: int) -> tuple[list[bytes], list[int]]:
    payloads: list[bytes] = []
    fills: list[int] = []
    for fields in random_messages(n_messages, seed, VECTORISED, edge_rate=0.25):
        payload, fill = encoded_payload(fields)
        payloads.append(payload)
        fills.append(fill)
    return payloads, fills


def test_encoded_corpus_of_every_vectorised_type_decodes_identically_to_pyais() -> None:
    payloads, fills = encoded_corpus(30_000, seed=20260101)

    compared, mismatches = compare(payloads, fills)

    assert compared == 30_000
    assert mismatches == []


#: Bits of each type in the million-sentence corpus, weighted like a busy feed: the full
#: layout, so every raw value of every field is reachable (random bits, not an encoder).
MILLION_MIX = ((1, 168, 50), (2, 168, 3), (3, 168, 12), (18, 168, 15), (5, 424, 5), (4, 168, 3))
MILLION_MIX += ((24, 168, 4), (27, 96, 2), (19, 312, 3), (21, 272 + 36, 2), (8, 200, 1))


def million_sentences(n_sentences: int, seed: int) -> tuple[bytes, list[bytes], list[int]]:
    """NMEA text of random-bit messages (TAG-blocked, multi-part where long), and each
    message's whole payload and fill bits in order."""
    rng = random.Random(seed)
    kinds = [(t, bits) for t, bits, _ in MILLION_MIX]
    weights = [w for _, _, w in MILLION_MIX]
    lines: list[str] = []
    payloads: list[bytes] = []
    fills: list[int] = []
    seq = 0
    while len(lines) < n_sentences:
        msg_type, n_bits = rng.choices(kinds, weights)[0]
        payload, fill = random_payload(msg_type, n_bits, rng)
        payloads.append(payload)
        fills.append(fill)
        text = payload.decode()
        parts = [text[k : k + 60] for k in range(0, len(text), 60)]
        seq = (seq + 1) % 10
        for number, part in enumerate(parts, start=1):
            last = number == len(parts)
            body = (
                f"AIVDM,{len(parts)},{number},{seq if len(parts) > 1 else ''},"
                f"{'AB'[seq % 2]},{part},{fill if last else 0}"
            )
            sentence = f"!{body}*{reduce(xor, body.encode(), 0):02X}"
            if number == 1:
                tag = f"c:{1_764_000_000 + len(lines) // 40},s:rx{seq % 3}"
                sentence = f"\\{tag}*{reduce(xor, tag.encode(), 0):02X}\\{sentence}"
            lines.append(sentence)
    return ("\n".join(lines) + "\n").encode(), payloads, fills


def pyais_columns(payloads: list[bytes], fills: list[int]) -> tuple[dict[str, list[Any]], int]:
    """pyais's value of each of our columns for each message it decodes (None where it has
    none), and how many it could not decode."""
    out: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    failed = 0
    for payload, fill in zip(payloads, fills, strict=True):
        fields = pyais_fields(payload, fill)
        if fields is None:
            failed += 1
            continue
        for name, values in out.items():
            values.append(fields.get(name))
    return out, failed


@pytest.mark.slow
def test_a_million_sentences_through_the_block_path_decode_identically_to_pyais() -> None:
    # Framing, TAG blocks, multi-part assembly and decode of the block path, column by
    # column against pyais on each whole payload (type 8 takes the pyais fallback).
    text, payloads, fills = million_sentences(1_000_000, seed=20261126)
    pipeline = AisPipeline(dedupe_window_s=0.0)
    tables = []
    view = memoryview(text)
    at = 0
    while at < len(text):
        end = text.rfind(b"\n", at, at + (4 << 20)) + 1 or len(text)
        tables.append(pipeline.process_block(bytes(view[at:end]), "rx", 1_764_100_000.0))
        at = end
    ours = pa.concat_tables(tables)
    want, failed = pyais_columns(payloads, fills)
    assert pipeline.stats.lines_read >= 1_000_000
    assert pipeline.stats.rejected == {"decode_error": failed}  # type 24 parts 2 and 3
    assert ours.num_rows == len(payloads) - failed
    for name, expected in want.items():
        got = ours.column(name).to_pylist()
        bad = [k for k, (a, b) in enumerate(zip(got, expected, strict=True)) if not same(a, b)]
        # A column pyais keeps in ``extra`` for a fallback type is null in ours.
        bad = [k for k in bad if not (got[k] is None and ours["extra"][k].as_py() is not None)]
        assert bad[:5] == [], (name, [(got[k], expected[k]) for k in bad[:5]])


def test_corpus_covers_the_edge_values_it_claims() -> None:
    payloads, fills = encoded_corpus(30_000, seed=20260101)
    rows = decode_batch(payloads, fills).table.to_pylist()

    def seen(msg_types: tuple[int, ...], name: str, value: Any) -> bool:
        return any(r["msg_type"] in msg_types and r[name] == value for r in rows)

    position = (1, 2, 3, 18, 19)
    for value in (91.0, 90.0, -90.0):
        assert seen(position, "lat", value)
    for value in (181.0, 180.0, -180.0):
        assert seen(position, "lon", value)
    assert seen((1, 2, 3), "speed", 102.3)
    assert seen((18, 19), "course", 360.0)
    assert seen((1, 2, 3), "heading", 511)
    for value in (-128.0, 127.0, -127.0, 0.0):
        assert seen((1, 2, 3), "turn", value)
    assert any(r["msg_type"] == 1 and r["turn"] not in (-128, -127, 0, 127) for r in rows)
    assert seen((1, 4, 5), "mmsi", 999_999_999)
    assert seen((5,), "shipname", "")
    assert seen((5, 19), "shipname", "<SCRIPT>ALERT(1)</")
    assert seen((5,), "draught", 25.5)
    assert any(r["msg_type"] == 24 and r["mothership_mmsi"] is not None for r in rows)
    assert any(r["msg_type"] == 24 and r["vendorid"] and r["to_bow"] is not None for r in rows)
    assert any(r["msg_type"] == 24 and r["partno"] == 0 and r["shipname"] for r in rows)
    assert any(r["msg_type"] == 21 and r["name_ext"] for r in rows)
    assert any(r["msg_type"] == 27 and r["lat"] not in (91.0, 0.0) for r in rows)


def test_raw_random_bits_of_every_type_and_length_decode_identically_to_pyais() -> None:
    # Every raw code is reachable here, including enumeration values no encoder writes and
    # lengths a bit either side of each layout (pyais fills partial fields its own way).
    rng = random.Random(4242)
    payloads: list[bytes] = []
    fills: list[int] = []
    for msg_type in range(64):
        full = LAYOUT_BITS.get(msg_type, 168)
        lengths = {6, 7, 38, 40, 41, 100, full - 7, full - 1, full, full + 1, full + 5}
        lengths |= {272 + k for k in range(0, 95, 5)} | {160, 161, 162, 167, 168, 169}
        for n_bits in sorted(lengths):
            for _ in range(20):
                payload, fill = random_payload(msg_type, n_bits, rng)
                payloads.append(payload)
                fills.append(fill)

    compared, mismatches = compare(payloads, fills)

    assert compared > 10_000
    assert mismatches == []


def test_type_24_with_part_number_2_or_3_is_rejected_like_pyais() -> None:
    rng = random.Random(24)
    pairs = [random_payload(24, 168, rng) for _ in range(200)]
    part_numbers = [bit_vector(p, f).get(38, 2) for p, f in pairs]

    result = decode_batch([p for p, _ in pairs], [f for _, f in pairs])

    invalid = [i for i, number in enumerate(part_numbers) if number > 1]
    assert invalid
    assert all(pyais_fields(*pairs[i]) is None for i in invalid)
    assert result.rejected_index.tolist() == invalid
    assert set(result.table.column("partno").to_pylist()) == {0, 1}


FALLBACK_MESSAGES: list[dict[str, Any]] = [
    {"msg_type": 6, "mmsi": 211_000_001, "dest_mmsi": 211_000_002, "dac": 1, "fid": 0,
     "data": b"\x01\x02\x03\x04"},
    {"msg_type": 8, "mmsi": 2_655_619, "dac": 366, "fid": 56, "data": b"HELLO"},
    {"msg_type": 9, "mmsi": 111_232_511, "alt": 303, "speed": 42, "lon": -6.27884,
     "lat": 58.144, "course": 154.5, "second": 15},
    {"msg_type": 12, "mmsi": 271_002_099, "dest_mmsi": 271_002_111, "seqno": 0,
     "text": "MSG FROM 271002099"},
    {"msg_type": 14, "mmsi": 351_809_000, "text": "RCVD YR TEST MSG"},
    {"msg_type": 15, "mmsi": 368_578_000, "mmsi1": 5_158, "type1_1": 5},
    {"msg_type": 20, "mmsi": 3_669_702, "offset1": 2_182, "number1": 5, "timeout1": 7,
     "increment1": 225},
    {"msg_type": 7, "mmsi": 2_655_619, "mmsi1": 211_378_120},
]  # fmt: skip


def _json_value(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


@pytest.mark.parametrize("fields", FALLBACK_MESSAGES, ids=lambda f: f"type{f['msg_type']}")
def test_non_vectorised_types_decode_through_pyais_with_the_rest_in_extra(
    fields: dict[str, Any],
) -> None:
    payload, fill = encoded_payload(fields)
    reference = pyais_fields(payload, fill)
    assert reference is not None
    assert reference["msg_type"] not in VECTORISED_TYPES

    row = decode_batch([payload], [fill]).table.to_pylist()[0]
    extra = json.loads(row["extra"])

    for name, value in reference.items():
        if name in COLUMNS and name in extra:
            assert extra[name] == _json_value(value)  # a column of another type
        elif name in COLUMNS:
            assert same(row[name], value), name
        else:
            assert extra[name] == _json_value(value), name
    assert reference["mmsi"] == fields["mmsi"]


def test_vectorised_types_have_no_extra_json() -> None:
    payloads, fills = encoded_corpus(100, seed=5)

    extra = decode_batch(payloads, fills).table.column("extra")

    assert extra.null_count == 100


@pytest.mark.parametrize(
    ("msg_type", "n_bits"),
    [(1, 60), (1, 96), (1, 162), (1, 167), (3, 150), (5, 100), (5, 420), (19, 200), (27, 90)],
)
def test_short_payloads_match_pyais_or_are_rejected_like_pyais(msg_type: int, n_bits: int) -> None:
    rng = random.Random(msg_type * 1000 + n_bits)
    pairs = [random_payload(msg_type, n_bits, rng) for _ in range(30)]

    compared, mismatches = compare([p for p, _ in pairs], [f for _, f in pairs])

    assert mismatches == []
    assert compared == sum(pyais_fields(p, f) is not None for p, f in pairs)


@pytest.mark.parametrize(("msg_type", "extra_bits"), [(1, 6), (1, 60), (5, 2), (5, 6), (5, 200)])
def test_long_payloads_decode_their_layout_like_pyais(msg_type: int, extra_bits: int) -> None:
    rng = random.Random(msg_type + extra_bits)
    base = LAYOUT_BITS[msg_type] + extra_bits
    pairs = [random_payload(msg_type, base, rng) for _ in range(30)]

    compared, mismatches = compare([p for p, _ in pairs], [f for _, f in pairs])

    assert (compared, mismatches) == (30, [])


def test_fill_bits_outside_0_to_5_are_rejected_without_reading_the_next_payload() -> None:
    rng = random.Random(1)
    payload, _ = random_payload(1, 168, rng)
    short = payload[:27]  # 162 bits: a fill of -6 would claim 168
    neighbours = [b"w" * 28, b"0" * 28]

    results = [decode_batch([short, other], [-6, 0]) for other in neighbours]
    too_many = decode_batch([payload, payload], [6, 7])

    for result in results:
        assert 0 in result.rejected_index.tolist()
    assert too_many.table.num_rows == 0
    assert too_many.rejected_index.tolist() == [0, 1]


def test_mixed_batch_keeps_input_order_and_reports_kept_rows() -> None:
    payloads, fills = encoded_corpus(40, seed=9)
    payloads.insert(7, b"")
    fills.insert(7, 0)
    payloads.insert(20, b"w" * 28)  # type 63: not an AIS message
    fills.insert(20, 0)

    result = decode_batch(payloads, fills)

    assert result.rejected_index.tolist() == [7, 20]
    assert result.kept_index.tolist() == [i for i in range(42) if i not in (7, 20)]
    expected_types = [pyais_fields(payloads[i], fills[i])["msg_type"] for i in result.kept_index]  # type: ignore[index]
    assert result.table.column("msg_type").to_pylist() == expected_types
    assert np.array_equal(result.kept_index, np.sort(result.kept_index))
