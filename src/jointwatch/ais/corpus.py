"""Reproducible synthetic AIS corpora for benchmarks, tests and the exercise engine.

Why synthetic: real captures cannot be shipped freely and never cover the edge values
(``lat 91``, ``lon 181``, ``speed 102.3``, ``heading 511``, padded names) often enough to
prove a decoder. Everything is drawn from a seeded ``random.Random`` so a run can be
repeated exactly; sentences are built with pyais's encoder so they are what a real
transponder would send.
"""

from __future__ import annotations

import random
from typing import Any

from jointwatch.ais.encode import encode_message

__all__ = [
    "HOSTILE_TEXT",
    "SIXBIT_TEXT",
    "corpus_sentences",
    "encoded_payload",
    "random_fields",
    "random_messages",
    "random_payload",
    "traffic_mix",
]

#: The 6-bit AIS text alphabet ('@' is padding).
SIXBIT_TEXT = "@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_ !\"#$%&'()*+,-./0123456789:;<=>?"

#: Markup, formula and injection shapes spelled in the 6-bit alphabet (upper case only): what a
#: hostile transponder can really send as a name, call sign or destination.
HOSTILE_TEXT = (
    "<SCRIPT>ALERT(1)</",
    '"><IMG SRC=X ONERR',
    '=HYPERLINK("X")',
    "+CMD('/C CALC')!A0",
    "'; DROP TABLE V;--",
    "@@@@",
    "A@B",
    "  <B>  ",
    "&LT;&GT;&AMP;",
)

#: (message type, weight) of a busy coastal feed: mostly position reports.
traffic_mix: tuple[tuple[int, float], ...] = (
    (1, 0.55),
    (2, 0.03),
    (3, 0.12),
    (18, 0.15),
    (5, 0.05),
    (4, 0.03),
    (21, 0.02),
    (24, 0.04),
    (27, 0.01),
)


# Rate of turn in degrees/minute as pyais's encoder takes it: the "no turn information"
# codes 127/-127/-128 pass through, 0 and small values sit at the bottom of the square-root
# scale, 708 and up saturate at raw 126/127.
_TURN_EDGES = (127, -127, -128, 0, 1, -1, 2, 5, -5, 100, -100, 708, -708, 720, -720)


def _pick(rng: random.Random, edges: tuple[Any, ...], draw: Any, edge_rate: float) -> Any:
    return rng.choice(edges) if rng.random() < edge_rate else draw()


def _text(rng: random.Random, max_chars: int, edge_rate: float) -> str:
    """A name: usually letters and spaces, sometimes empty, '@'-padded or odd characters."""
    roll = rng.random()
    if roll < edge_rate / 4:
        return ""
    if roll < edge_rate / 2:
        return rng.choice(HOSTILE_TEXT)[:max_chars]
    if roll < 3 * edge_rate / 4:
        n = rng.randint(0, max_chars)
        return "".join(rng.choice(SIXBIT_TEXT) for _ in range(n))
    if roll < edge_rate:
        word = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(rng.randint(1, 5)))
        return (" " + word + " @" + "@" * rng.randint(0, 3))[:max_chars]
    words = rng.randint(1, 3)
    name = " ".join(
        "".join(
            rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(rng.randint(2, 7))
        )
        for _ in range(words)
    )
    return name[:max_chars]


def _position(rng: random.Random, e: float) -> dict[str, Any]:
    return {
        "lat": _pick(rng, (91.0, -90.0, 90.0, 0.0, -0.0001), lambda: rng.uniform(-90, 90), e),
        "lon": _pick(rng, (181.0, -180.0, 180.0, 0.0, -0.0001), lambda: rng.uniform(-180, 180), e),
        "accuracy": rng.random() < 0.5,
        "raim": rng.random() < 0.3,
    }


def _motion(rng: random.Random, e: float) -> dict[str, Any]:
    return {
        "speed": _pick(rng, (102.3, 0.0, 102.2), lambda: round(rng.uniform(0, 30), 1), e),
        "course": _pick(rng, (360.0, 0.0, 359.9), lambda: round(rng.uniform(0, 359.9), 1), e),
        "heading": _pick(rng, (511, 0, 359), lambda: rng.randint(0, 359), e),
        "second": _pick(rng, (60, 61, 62, 63), lambda: rng.randint(0, 59), e),
    }


def _dimensions(rng: random.Random) -> dict[str, int]:
    return {
        "to_bow": rng.randint(0, 511),
        "to_stern": rng.randint(0, 511),
        "to_port": rng.randint(0, 63),
        "to_starboard": rng.randint(0, 63),
    }


def random_fields(msg_type: int, rng: random.Random, edge_rate: float = 0.1) -> dict[str, Any]:
    """Random field values (pyais names) for one message of a vectorised type."""
    e = edge_rate
    fields: dict[str, Any] = {
        "msg_type": msg_type,
        "repeat": rng.randint(0, 3),
        "mmsi": _pick(
            rng,
            (999_999_999, 2**30 - 1, 1, 100_000_000),
            lambda: rng.randint(200_000_000, 775_999_999),
            e,
        ),
    }
    if msg_type in (1, 2, 3):
        fields |= _position(rng, e) | _motion(rng, e)
        fields["status"] = rng.randint(0, 15)
        fields["turn"] = _pick(rng, _TURN_EDGES, lambda: rng.randint(-700, 700), e)
        fields["maneuver"] = rng.randint(0, 3)
        fields["radio"] = rng.randint(0, 2**19 - 1)
    elif msg_type == 4:
        fields |= _position(rng, e)
        fields |= {
            "year": rng.randint(0, 2**14 - 1),
            "month": rng.randint(0, 15),
            "day": rng.randint(0, 31),
            "hour": rng.randint(0, 31),
            "minute": rng.randint(0, 63),
            "second": rng.randint(0, 63),
            "epfd": rng.randint(0, 15),
            "radio": rng.randint(0, 2**19 - 1),
        }
    elif msg_type == 5:
        fields |= _dimensions(rng)
        fields |= {
            "ais_version": rng.randint(0, 3),
            "imo": rng.randint(0, 2**30 - 1),
            "callsign": _text(rng, 7, e),
            "shipname": _text(rng, 20, e),
            "ship_type": rng.randint(0, 255),
            "epfd": rng.randint(0, 15),
            "month": rng.randint(0, 15),
            "day": rng.randint(0, 31),
            "hour": rng.randint(0, 31),
            "minute": rng.randint(0, 63),
            "draught": _pick(
                rng, (0.0, 25.5, 25.4, 0.1), lambda: round(rng.uniform(0, 25.5), 1), e
            ),
            "destination": _text(rng, 20, e),
            "dte": rng.random() < 0.5,
        }
    elif msg_type in (18, 19):
        fields |= _position(rng, e) | _motion(rng, e)
        fields["assigned"] = rng.random() < 0.2
        if msg_type == 18:
            fields |= {
                name: rng.random() < 0.5 for name in ("cs", "display", "dsc", "band", "msg22")
            }
            fields["radio"] = rng.randint(0, 2**20 - 1)
        else:
            fields |= _dimensions(rng)
            fields |= {
                "shipname": _text(rng, 20, e),
                "ship_type": rng.randint(0, 255),
                "epfd": rng.randint(0, 15),
                "dte": rng.random() < 0.5,
            }
    elif msg_type == 21:
        fields |= _position(rng, e) | _dimensions(rng)
        fields |= {
            "aid_type": rng.randint(0, 31),
            "name": _text(rng, 20, e),
            "epfd": rng.randint(0, 15),
            "second": rng.randint(0, 63),
            "off_position": rng.random() < 0.5,
            "virtual_aid": rng.random() < 0.5,
            "assigned": rng.random() < 0.5,
        }
        if rng.random() < 0.3:
            fields["name_ext"] = _text(rng, 14, e)
    elif msg_type == 24:
        aux = rng.random() < 0.2
        if aux:
            fields["mmsi"] = rng.randint(980_000_000, 989_999_999)
        fields["partno"] = rng.randint(0, 1)
        if fields["partno"] == 0:
            fields["shipname"] = _text(rng, 20, e)
        else:
            fields |= {
                "ship_type": rng.randint(0, 255),
                "vendorid": _text(rng, 3, e),
                "model": rng.randint(0, 15),
                "serial": rng.randint(0, 2**20 - 1),
                "callsign": _text(rng, 7, e),
            }
            if aux:
                fields["mothership_mmsi"] = rng.randint(0, 2**30 - 1)
            else:
                fields |= _dimensions(rng)
    elif msg_type == 27:
        fields |= _position(rng, e)
        fields |= {
            "status": rng.randint(0, 15),
            "speed": rng.randint(0, 63),
            "course": rng.randint(0, 511),
            "gnss": rng.random() < 0.5,
        }
    else:
        raise ValueError(f"no generator for message type {msg_type}")
    return fields


_ARMOUR = "0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVW`abcdefghijklmnopqrstuvw"


def random_payload(msg_type: int, n_bits: int, rng: random.Random) -> tuple[bytes, int]:
    """A payload of ``n_bits`` random bits after a fixed type: every raw value is reachable,
    including codes no encoder would write. Returns (armoured payload, fill bits)."""
    value = (msg_type << (n_bits - 6)) | rng.getrandbits(n_bits - 6)
    fill = -n_bits % 6
    value <<= fill
    n_chars = (n_bits + fill) // 6
    chars = [_ARMOUR[(value >> (6 * (n_chars - 1 - i))) & 63] for i in range(n_chars)]
    return "".join(chars).encode("ascii"), fill


def encoded_payload(fields: dict[str, Any]) -> tuple[bytes, int]:
    """The whole armoured payload and fill bits of one message encoded by pyais, its
    sentences joined as an assembler would join them."""
    sentences = encode_message(fields, seq_id=0)
    payload = "".join(sentence.split(",")[5] for sentence in sentences)
    fill = int(sentences[-1].split(",")[6][0])
    return payload.encode("ascii"), fill


def random_messages(
    n_messages: int, seed: int, types: tuple[int, ...], edge_rate: float = 0.1
) -> list[dict[str, Any]]:
    """``n_messages`` random field dicts cycling through ``types``, deterministic per seed."""
    rng = random.Random(seed)
    return [random_fields(types[i % len(types)], rng, edge_rate) for i in range(n_messages)]


def corpus_sentences(n_sentences: int, seed: int = 1, edge_rate: float = 0.02) -> list[str]:
    """About ``n_sentences`` NMEA sentences in a realistic type mix (two-part type 5s and
    both channels), deterministic for a given seed."""
    rng = random.Random(seed)
    types = [t for t, _ in traffic_mix]
    weights = [w for _, w in traffic_mix]
    out: list[str] = []
    seq = 0
    while len(out) < n_sentences:
        msg_type = rng.choices(types, weights)[0]
        channel = "A" if rng.random() < 0.5 else "B"
        seq = (seq + 1) % 10
        out.extend(
            encode_message(
                random_fields(msg_type, rng, edge_rate), radio_channel=channel, seq_id=seq
            )
        )
    return out
