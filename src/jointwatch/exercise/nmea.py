"""The one place the scenario turns AIS fields into NMEA lines with a TAG block.

Why one function: the shared encoder (``jointwatch.ais.encode``) can replace the body of
``encode_tagged`` without touching the scenario.
"""

from __future__ import annotations

from functools import reduce
from typing import Any

from pyais.encode import encode_dict

__all__ = ["encode_tagged", "tag_block"]


def tag_block(c: int, s: str) -> str:
    """``\\c:<unix s>,s:<station>*hh\\`` with hh the XOR checksum of the text inside."""
    body = f"c:{c},s:{s}"
    checksum = reduce(lambda acc, ch: acc ^ ord(ch), body, 0)
    return f"\\{body}*{checksum:02X}\\"


def encode_tagged(
    fields: dict[str, Any],
    *,
    time_s: int,
    station: str,
    channel: str = "A",
    seq_id: int | None = None,
) -> list[str]:
    """``!AIVDM`` sentences of one message, each behind a TAG block with time and station."""
    prefix = tag_block(time_s, station)
    sentences = encode_dict(
        fields, talker_id="AI", sentence_type="VDM", radio_channel=channel, seq_id=seq_id
    )
    return [prefix + sentence for sentence in sentences]
