"""NMEA encoding helpers: TAG block checksums and round trips through pyais."""

from __future__ import annotations

import random

import pytest
from pyais import decode

from jointwatch.ais.corpus import random_fields
from jointwatch.ais.encode import encode_message, with_tag_block


def xor_checksum(text: str) -> str:
    value = 0
    for char in text:
        value ^= ord(char)
    return f"{value:02X}"


def test_tag_block_checksum_is_the_xor_of_its_parameters() -> None:
    line = with_tag_block(
        "!AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0*24", c=1_700_000_000, s="rx1"
    )

    block, sentence = line[1:].split("\\", 1)
    params, checksum = block.split("*")

    assert params == "s:rx1,c:1700000000"
    assert checksum == xor_checksum(params)
    assert sentence == "!AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0*24"


def test_tag_block_with_group_puts_the_group_first() -> None:
    line = with_tag_block("!AIVDM,2,2,1,A,00000000000,2*25", c=None, s=None, g="2-2-17")

    assert line == f"\\g:2-2-17*{xor_checksum('g:2-2-17')}\\!AIVDM,2,2,1,A,00000000000,2*25"


def test_tag_block_without_parameters_leaves_the_sentence_unchanged() -> None:
    assert with_tag_block("!AIVDM,x", c=None, s=None) == "!AIVDM,x"


@pytest.mark.parametrize("msg_type", [1, 2, 3, 4, 5, 18, 19, 21, 24, 27])
def test_encoded_message_round_trips_through_pyais(msg_type: int) -> None:
    rng = random.Random(msg_type)
    for _ in range(20):
        fields = random_fields(msg_type, rng)
        sentences = encode_message(fields, talker="AIVDO", radio_channel="B", seq_id=3)

        decoded = decode(*sentences).asdict()

        assert all(s.startswith("!AIVDO,") and ",B," in s for s in sentences)
        assert decoded["msg_type"] == msg_type
        assert decoded["mmsi"] == fields["mmsi"] & (2**30 - 1)
        for name in ("repeat", "heading", "status", "partno", "imo", "radio"):
            if name in fields:
                assert decoded[name] == fields[name], name


def test_two_part_message_carries_its_sequence_id_on_every_part() -> None:
    fields = random_fields(5, random.Random(1))

    sentences = encode_message(fields, seq_id=7)

    assert len(sentences) == 2
    assert [s.split(",")[1:4] for s in sentences] == [["2", "1", "7"], ["2", "2", "7"]]


def test_bad_talker_is_refused() -> None:
    with pytest.raises(ValueError, match="talker"):
        encode_message({"msg_type": 1, "mmsi": 1}, talker="VDM")
