"""Markings: one parser, one canonical form (sharing/markings.py).

Examples of what is accepted and refused, then properties: every valid marking survives
``banner()`` -> ``parse_banner`` and ``to_json()`` -> ``from_json`` unchanged, and malformed
input of any shape raises ``MarkingError`` and nothing else.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jointwatch.sharing.markings import (
    DEFAULT_LEVELS,
    TLP_LEVELS,
    Marking,
    MarkingError,
    is_group_name,
    is_nation,
    parse_banner,
    validate_levels,
)

NATIONS = ("USA", "VNM", "PHL", "JPN", "AUS", "IDN", "MYS", "IND")
GROUPS = ("ASEAN-MARSEC", "QUAD", "FIVE_EYES", "G7", "PACIFIC-2")

# ---- examples -----------------------------------------------------------------------------


def test_build_normalises_case_order_and_duplicates() -> None:
    m = Marking.build(" secret ", ["vnm", "USA", "quad", "VNM"], tlp="amber", caveats=["X", "X"])
    assert m == Marking("SECRET", ("QUAD", "USA", "VNM"), False, "TLP:AMBER", ("X",))
    assert m.banner() == "SECRET//REL TO QUAD, USA, VNM//TLP:AMBER//X"


@pytest.mark.parametrize(
    ("banner", "expected"),
    [
        ("UNCLASSIFIED", Marking("UNCLASSIFIED")),
        ("restricted//REL TO usa, vnm", Marking("RESTRICTED", ("USA", "VNM"))),
        ("SECRET//NOFORN", Marking("SECRET", (), True)),
        ("CONFIDENTIAL//TLP:RED", Marking("CONFIDENTIAL", (), False, "TLP:RED")),
        (
            "SECRET//REL TO ASEAN-MARSEC//TLP:AMBER+STRICT//EYES ONLY//no photos",
            Marking(
                "SECRET", ("ASEAN-MARSEC",), False, "TLP:AMBER+STRICT", ("EYES ONLY", "no photos")
            ),
        ),
        (
            " SECRET // REL TO VNM , PHL // tlp:green ",
            Marking("SECRET", ("PHL", "VNM"), tlp="TLP:GREEN"),
        ),
    ],
)
def test_parse_banner_examples(banner: str, expected: Marking) -> None:
    assert parse_banner(banner) == expected
    assert parse_banner(expected.banner()) == expected


@pytest.mark.parametrize(
    "banner",
    [
        "",
        "//REL TO USA",
        "TOP SECRET",  # not on the default scale
        "SECRET//NOFORN//REL TO VNM",  # local-only and released at once
        "SECRET//REL TO V",  # neither a nation nor a group
        "SECRET//REL TO V N",
        "SECRET//REL TO A",
        "SECRET//TLP:PURPLE",
        "SECRET//TLP:RED//TLP:CLEAR",  # two colours: never silently keep the weaker one
        "SECRET//" + "x" * 65,  # caveat too long
        "SECRET//" + "//".join(f"C{i}" for i in range(9)),  # too many caveats
    ],
)
def test_parse_banner_refuses(banner: str) -> None:
    with pytest.raises(MarkingError):
        parse_banner(banner)


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        "SECRET",
        {},
        {"rel_to": ["USA"]},
        {"classification": "SECRET", "rel_too": ["VNM"]},  # a typo never widens release
        {"classification": "SECRET", "rel_to": "VNM"},  # a string is not a list
        {"classification": "SECRET", "rel_to": {"VNM": True}},
        {"classification": "SECRET", "caveats": "X"},
        {"classification": "SECRET", "local_only": "yes"},
        {"classification": "SECRET", "local_only": 1},
        {"classification": "SECRET", "local_only": True, "rel_to": ["VNM"]},
        {"classification": "SECRET", "tlp": "WHITE"},
        {"classification": "SECRET", "tlp": 3},
        {"classification": "SECRET", "tlp": ["TLP:RED"]},
        {"classification": ["SECRET"]},
        {"classification": None},
        {"classification": "SECRET", "rel_to": ["VNM"] + [f"G{i:03d}" for i in range(64)]},
        {"classification": "SECRET", "caveats": ["a//b"]},
        {"classification": "SECRET", "caveats": ["tab\there"]},
        {"classification": "SECRET", "caveats": [""]},
        {"classification": "SECRET", "caveats": ["A/", "B"]},  # would show as A///B
        {"classification": "SECRET", "caveats": ["/B"]},
    ],
)
def test_from_json_refuses(data: Any) -> None:
    with pytest.raises(MarkingError):
        Marking.from_json(data)


@pytest.mark.parametrize("caveat", ["NOFORN", "noforn", "REL TO VNM", "rel to VNM", "TLP:RED"])
def test_caveat_that_reads_as_a_release_control_is_refused(caveat: str) -> None:
    """Found by the round-trip property: ``caveats=["NOFORN"]`` on a record REL TO VNM gave
    the banner ``SECRET//REL TO VNM//NOFORN`` (shown NOFORN, yet released to VNM), and
    ``caveats=["rel to VNM"]`` parsed back as a release to VNM."""
    with pytest.raises(MarkingError):
        Marking.build("SECRET", caveats=[caveat])


def test_to_json_is_canonical_and_round_trips() -> None:
    m = Marking.build("restricted", ["VNM", "ASEAN-MARSEC"], tlp="TLP:GREEN", caveats=["A"])
    assert m.to_json() == {
        "classification": "RESTRICTED",
        "rel_to": ["ASEAN-MARSEC", "VNM"],
        "local_only": False,
        "tlp": "TLP:GREEN",
        "caveats": ["A"],
    }
    assert Marking.from_json(m.to_json()) == m


def test_custom_scale() -> None:
    levels = validate_levels(["public", "internal", "top secret"])
    assert levels == ("PUBLIC", "INTERNAL", "TOP SECRET")
    m = parse_banner("top secret//REL TO VNM", levels)
    assert m.classification == "TOP SECRET"
    with pytest.raises(MarkingError):
        parse_banner("SECRET", levels)
    for bad in ([], ["A", "a"], ["ok", "a//b"], ["1ST"]):
        with pytest.raises(MarkingError):
            validate_levels(bad)


def test_nation_and_group_names() -> None:
    assert is_nation("VNM") and not is_nation("VN") and not is_nation("vnm")
    assert not is_nation("VNM\n")
    assert is_group_name("ASEAN-MARSEC") and is_group_name("G7")
    assert not is_group_name("VNM")  # three letters are always a nation
    assert not is_group_name("-X") and not is_group_name("A") and not is_group_name("G7\n")


# ---- properties ---------------------------------------------------------------------------

# Letters that spell the control words, the separators that could confuse the parser, and
# some non-ASCII text (caveats carry full Unicode).
caveat_text = st.text(
    alphabet=st.sampled_from(
        "NOFRELTPnofrelt: /,-+_.0123456789AMBEGDSX\u00e9\u00df\u0131\u6f22\u02bc\u00a0\t"
    ),
    min_size=1,
    max_size=24,
).filter(
    lambda s: (
        s.isprintable()
        and s == s.strip()
        and "//" not in s
        and not s.startswith("/")
        and not s.endswith("/")
        and not s.upper().startswith(("REL TO", "TLP:"))
        and s.upper() != "NOFORN"
    )
)


def _marking(
    level: str, local_only: bool, rel: list[str], tlp: str | None, caveats: list[str]
) -> Marking:
    return Marking.build(
        level, [] if local_only else rel, local_only=local_only, tlp=tlp, caveats=caveats
    )


# Any valid marking on the default scale (NOFORN excludes REL TO).
markings = st.builds(
    _marking,
    st.sampled_from(DEFAULT_LEVELS),
    st.booleans(),
    st.lists(st.sampled_from(NATIONS + GROUPS), max_size=6),
    st.none() | st.sampled_from(TLP_LEVELS),
    st.lists(caveat_text, max_size=8, unique=True),
)


@settings(max_examples=1000, deadline=None)
@given(markings)
def test_banner_round_trip(marking: Marking) -> None:
    assert parse_banner(marking.banner()) == marking
    assert Marking.from_json(marking.to_json()) == marking
    # The canonical form is a fixed point.
    again = Marking.build(
        marking.classification,
        marking.rel_to,
        local_only=marking.local_only,
        tlp=marking.tlp,
        caveats=marking.caveats,
    )
    assert again == marking


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True)
    | st.text(max_size=20)
    | st.sampled_from(
        DEFAULT_LEVELS
        + TLP_LEVELS
        + NATIONS
        + GROUPS
        + ("NOFORN", "REL TO VNM", "secret", "amber", "", " ", "TLP:", "vnm\n")
    )
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
field_names = st.sampled_from(["classification", "rel_to", "local_only", "tlp", "caveats"])
marking_like = st.dictionaries(
    field_names | st.text(max_size=12), json_values, max_size=6
) | st.builds(
    lambda base, extra: {**base, **extra},
    markings.map(Marking.to_json),
    st.dictionaries(field_names, json_values, max_size=2),
)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(marking_like, json_values))
def test_from_json_only_raises_marking_error(data: Any) -> None:
    try:
        m = Marking.from_json(data)
    except MarkingError:
        return
    # Whatever was accepted is canonical and valid.
    assert m.classification in DEFAULT_LEVELS
    assert m.tlp is None or m.tlp in TLP_LEVELS
    assert all(is_nation(e) or is_group_name(e) for e in m.rel_to)
    assert list(m.rel_to) == sorted(set(m.rel_to))
    assert not (m.local_only and m.rel_to)
    assert Marking.from_json(m.to_json()) == m
    assert parse_banner(m.banner()) == m


banner_parts = st.sampled_from(
    [*DEFAULT_LEVELS, *TLP_LEVELS, "NOFORN", "REL TO VNM", "REL TO", "REL TO VNM, QUAD", "rel to x"]
) | st.text(max_size=30)


@settings(max_examples=1500, deadline=None)
@given(st.lists(banner_parts, max_size=6).map("//".join) | st.text(max_size=80))
def test_parse_banner_only_raises_marking_error(text: str) -> None:
    try:
        m = parse_banner(text)
    except MarkingError:
        return
    assert parse_banner(m.banner()) == m
