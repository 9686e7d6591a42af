"""NMEA encoding for the exercise simulator and the tests (pyais's encoder underneath).

Why a wrapper: callers think in whole sentences ("!AIVDM" or "!AIVDO") and TAG blocks; pyais
wants a talker id and a sentence type apart, and has no TAG block writer.
"""

from __future__ import annotations

from functools import reduce
from operator import xor
from typing import Any

from pyais.encode import encode_dict

__all__ = ["encode_message", "with_tag_block"]


def encode_message(
    fields: dict[str, Any],
    talker: str = "AIVDM",
    radio_channel: str = "A",
    seq_id: int | None = None,
) -> list[str]:
    """Encode one AIS message (pyais field names, ``msg_type`` required) into sentences.

    ``talker`` is the five-letter sentence id without ``!`` (``AIVDM``, ``AIVDO``, ``BSVDM``...).
    Raises ``ValueError`` for an unknown message type or a bad talker/channel.
    """
    if len(talker) != 5:
        raise ValueError(f"talker must be five letters like AIVDM, got {talker!r}")
    return list(
        encode_dict(
            fields,
            talker_id=talker[:2],
            sentence_type=talker[2:],
            radio_channel=radio_channel,
            seq_id=seq_id,
        )
    )


def _tag_checksum(params: str) -> int:
    return reduce(xor, params.encode("ascii"), 0)


def with_tag_block(sentence: str, *, c: int | None, s: str | None, g: str | None = None) -> str:
    """Prefix a sentence with a TAG block (``\\c:..,s:..,g:..*hh\\``) with its checksum.

    ``c`` is UNIX seconds, ``s`` the source station, ``g`` a ``part-total-id`` group.
    Without any of them the sentence is returned unchanged.
    """
    params = []
    if g is not None:
        params.append(f"g:{g}")
    if s is not None:
        params.append(f"s:{s}")
    if c is not None:
        params.append(f"c:{c}")
    if not params:
        return sentence
    body = ",".join(params)
    return f"\\{body}*{_tag_checksum(body):02X}\\{sentence}"
