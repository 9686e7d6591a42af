"""Batch decoder: real-looking sentences with known values, not-available values, robustness."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from pyais import decode

from jointwatch.ais.corpus import encoded_payload
from jointwatch.ais.decoder import DECODED_SCHEMA, decode_batch, decode_payloads

ARMOUR = "0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVW`abcdefghijklmnopqrstuvw"

# Class A position report and a two-part static report as a coastal receiver logs them.
TYPE_1 = "!AIVDM,1,1,,B,15M67FC000G?ufbE`FepT@3n00Sa,0*5C"
TYPE_5 = (
    "!AIVDM,2,1,1,A,55?MbV02;H;s<HtKR20EHE:0@T4@Dn2222222216L961O5Gf0NSQEp6ClRp8,0*1C",
    "!AIVDM,2,2,1,A,88888888880,2*25",
)


def payload_of(*sentences: str) -> tuple[bytes, int]:
    parts = [s.split(",") for s in sentences]
    return "".join(p[5] for p in parts).encode(), int(parts[-1][6][0])


def test_class_a_position_report_decodes_to_the_values_pyais_gives() -> None:
    payload, fill = payload_of(TYPE_1)

    row = decode_payloads([payload], [fill]).to_pylist()[0]
    reference = decode(TYPE_1).asdict()

    assert row["msg_type"] == 1
    assert row["mmsi"] == 366_053_209
    assert (row["lon"], row["lat"], row["course"], row["status"]) == (
        -122.341618,
        37.802118,
        219.3,
        3,
    )
    for name in ("mmsi", "status", "turn", "speed", "lon", "lat", "course", "heading", "second"):
        assert row[name] == reference[name], name


def test_static_report_decodes_names_trimmed_like_pyais() -> None:
    payload, fill = payload_of(*TYPE_5)

    row = decode_payloads([payload], [fill]).to_pylist()[0]
    reference = decode(*TYPE_5).asdict()

    assert row["msg_type"] == 5
    assert row["mmsi"] == 351_759_000
    for name in ("callsign", "shipname", "destination", "imo", "ship_type", "draught", "month"):
        assert row[name] == reference[name], name
    assert row["shipname"] == "EVER DIADEM"
    assert row["destination"] == "NEW YORK"


def test_not_available_values_pass_through_unchanged() -> None:
    payload, fill = encoded_payload(
        {"msg_type": 1, "mmsi": 211_000_000, "lat": 91, "lon": 181, "speed": 102.3,
         "course": 360, "heading": 511, "turn": -128, "second": 60}
    )  # fmt: skip

    row = decode_payloads([payload], [fill]).to_pylist()[0]

    assert (row["lat"], row["lon"], row["speed"], row["course"]) == (91.0, 181.0, 102.3, 360.0)
    assert (row["heading"], row["turn"], row["second"]) == (511, -128.0, 60)


def test_all_at_sign_name_decodes_empty() -> None:
    payload, fill = encoded_payload(
        {"msg_type": 24, "mmsi": 338_000_000, "partno": 0, "shipname": "@@@@@@@@@@@@@@@@@@@@"}
    )

    row = decode_payloads([payload], [fill]).to_pylist()[0]

    assert row["shipname"] == ""


def test_empty_batch_gives_an_empty_table_with_the_schema() -> None:
    result = decode_batch([], [])

    assert result.table.schema == DECODED_SCHEMA
    assert result.table.num_rows == 0
    assert len(result.kept_index) == len(result.rejected_index) == 0


def test_empty_payload_is_rejected() -> None:
    result = decode_batch([b""], [0])

    assert result.table.num_rows == 0
    assert result.rejected_index.tolist() == [0]


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(
                st.text(ARMOUR, max_size=90),
                st.binary(max_size=90).map(lambda b: b.decode("latin-1")),
            ),
            st.integers(-8, 8),
        ),
        max_size=30,
    )
)
def test_arbitrary_payloads_and_fill_bits_never_raise(rows: list[tuple[str, int]]) -> None:
    payloads = [text.encode("latin-1") for text, _ in rows]
    fills = [fill for _, fill in rows]

    result = decode_batch(payloads, fills)

    assert result.table.num_rows + len(result.rejected_index) == len(rows)
    assert result.table.schema == DECODED_SCHEMA
