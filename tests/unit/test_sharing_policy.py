"""The release rule (sharing/policy.py) against an independent reference.

``reference_allows`` spells the rule out the plain way, with no shared code; a property test
checks ``may_release`` agrees with it on 10,000 random (marking, groups, recipient, local or
received record) cases, and targeted cases pin the refusals that matter most. The egress
test (tests/integration/test_sharing_egress.py) uses the same reference on every path.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jointwatch.sharing.markings import DEFAULT_LEVELS, TLP_LEVELS, Marking
from jointwatch.sharing.policy import (
    Recipient,
    RecordView,
    SharingContext,
    expand_release,
    may_release,
)

NATIONS = ("USA", "VNM", "PHL", "JPN", "AUS", "IDN")
GROUP_NAMES = ("ASEAN-MARSEC", "QUAD", "G2", "NOBODY-9")


def reference_allows(
    *,
    classification: str,
    rel_to: Collection[str],
    local_only: bool,
    tlp: str | None,
    origin_nation: str,
    rel_nations: Collection[str] | None,
    recipient_nation: str,
    recipient_ceiling: str,
    partner_node: bool,
    local_nation: str,
    groups: Mapping[str, Collection[str]],
    levels: tuple[str, ...] = DEFAULT_LEVELS,
) -> bool:
    """The release rule in words, one clause per line. Deny unless every clause passes."""
    # Classification known, and not above the recipient's (known) ceiling.
    if classification not in levels or recipient_ceiling not in levels:
        return False
    if levels.index(classification) > levels.index(recipient_ceiling):
        return False
    # The originating nation: its people hold it already; its partner node never gets it back.
    if recipient_nation == origin_nation:
        return not partner_node
    # From here the recipient is of another nation than the originator's.
    if local_only:  # NOFORN: nobody of another nation
        return False
    if origin_nation == local_nation:
        # Our record: REL TO nations, plus members of our sharing groups it names.
        released: set[str] = set()
        for entry in rel_to:
            if len(entry) == 3 and entry.isalpha() and entry.isupper():
                released.add(entry)
            else:
                released.update(groups.get(entry, ()))
    else:
        # A received record: only the originator's own list, never our (maybe wider) groups.
        released = set(rel_nations or ())
    if recipient_nation not in released:
        return False
    # TLP:RED: only nations named explicitly (a group does not name anyone).
    return not (tlp == "TLP:RED" and recipient_nation not in rel_to)


def _allowed(view: RecordView, recipient: Recipient, ctx: SharingContext) -> bool:
    return reference_allows(
        classification=view.marking.classification,
        rel_to=view.marking.rel_to,
        local_only=view.marking.local_only,
        tlp=view.marking.tlp,
        origin_nation=view.origin_nation,
        rel_nations=view.rel_nations,
        recipient_nation=recipient.nation,
        recipient_ceiling=recipient.ceiling,
        partner_node=recipient.partner_node,
        local_nation=ctx.local_nation,
        groups=ctx.groups,
        levels=ctx.levels,
    )


# ---- strategies ---------------------------------------------------------------------------

# Weighted choices (a value listed twice comes twice as often): unknown levels about one
# time in eight, low classifications and high ceilings favoured so that many cases get past
# the ceiling to the release clauses, TLP:RED one time in three.
CLASSIFICATIONS = (*DEFAULT_LEVELS, "UNCLASSIFIED", "UNCLASSIFIED", "RESTRICTED", "TOP SECRET")
CEILINGS = (*DEFAULT_LEVELS, "SECRET", "SECRET", "SECRET", "COSMIC")
REL_POOL = NATIONS + GROUP_NAMES
TLPS = (None, None, *TLP_LEVELS, "TLP:RED", "TLP:RED")

# Speed: hypothesis costs about a millisecond per drawn value on a busy machine, so each of
# the three strategies below draws ONE short byte string and reads one field per byte (sets
# as bit masks). Bytes come out close to uniform (zero more often: the first choice of each
# field), and shrinking a byte to zero simplifies that field alone: first level, no
# NOFORN, empty sets, no TLP.


def _pick(choices: tuple[Any, ...], byte: int) -> Any:
    return choices[byte % len(choices)]


def _subset(pool: tuple[str, ...], mask: int) -> frozenset[str]:
    return frozenset(item for bit, item in enumerate(pool) if mask >> bit & 1)


def _bytes(n: int) -> st.SearchStrategy[bytes]:
    return st.binary(min_size=n, max_size=n)


def _marking(b: bytes) -> Marking:
    local_only = b[1] % 4 == 3  # one marking in four
    rel = () if local_only else tuple(sorted(_subset(REL_POOL, b[2] | b[3] << 8)))
    return Marking(_pick(CLASSIFICATIONS, b[0]), rel, local_only, _pick(TLPS, b[4]))


# Random markings; some with a level this node does not know (built around validation, as a
# record from a partner with a wider scale would look). NOFORN excludes REL TO.
markings = _bytes(5).map(_marking)


def _recipient(b: bytes) -> Recipient:
    return Recipient(_pick(NATIONS, b[0]), _pick(CEILINGS, b[1]), bool(b[2] & 1))


recipients = _bytes(3).map(_recipient)


def _nations(byte: int) -> frozenset[str] | None:
    """A set of nations, or None (a group not defined here; a record without a list)."""
    return None if byte % 8 == 7 else _subset(NATIONS, byte)


def _place(b: bytes) -> tuple[SharingContext, str, frozenset[str] | None, bool]:
    """The deciding node (nation, sharing groups) and where the record comes from."""
    local = _pick(NATIONS[:3], b[0])
    groups = {  # undefined groups, and NOBODY-9 always, release to nobody
        name: members
        for name, members in zip(GROUP_NAMES[:3], map(_nations, b[1:4]), strict=True)
        if members is not None
    }
    # Half local records (their stored rel_nations is ignored by the rule), half received
    # from any nation (the local one included: a record naming us as its origin).
    origin = local if b[4] & 1 == 0 else _pick(NATIONS, b[4] >> 1)
    ctx = SharingContext(local, DEFAULT_LEVELS, groups)
    return ctx, origin, _nations(b[5]), bool(b[6] & 1)


places = _bytes(7).map(_place)


def _case(
    place: tuple[SharingContext, str, frozenset[str] | None, bool],
    marking: Marking,
    recipient: Recipient,
) -> tuple[RecordView, Recipient, SharingContext]:
    ctx, origin, rel_nations, deleted = place
    return RecordView(marking, origin, rel_nations, deleted), recipient, ctx


cases = st.builds(_case, places, markings, recipients)


@settings(max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases)
def test_may_release_agrees_with_the_reference(
    case: tuple[RecordView, Recipient, SharingContext],
) -> None:
    view, recipient, ctx = case
    decision = may_release(view, recipient, ctx)
    assert decision.allowed == _allowed(view, recipient, ctx), decision.reason
    assert bool(decision) == decision.allowed
    assert decision.reason


# ---- targeted cases -----------------------------------------------------------------------

USA = SharingContext(
    "USA",
    DEFAULT_LEVELS,
    {
        "ASEAN-MARSEC": frozenset({"VNM", "PHL", "IDN", "MYS"}),
        "QUAD": frozenset({"USA", "JPN", "AUS", "IND"}),
    },
)


def _m(level: str = "RESTRICTED", rel: tuple[str, ...] = (), **kw: object) -> Marking:
    return Marking.build(level, rel, **kw)  # type: ignore[arg-type]


def test_reshare_guard_received_record_never_wider_than_originator() -> None:
    """PHL released to USA and VNM; our ASEAN group is wider (IDN, MYS): they get nothing."""
    view = RecordView(_m(rel=("ASEAN-MARSEC", "USA")), "PHL", frozenset({"USA", "VNM"}))
    assert may_release(view, Recipient("VNM", "SECRET", partner_node=True), USA)
    for nation in ("IDN", "MYS", "JPN"):
        for node in (True, False):
            assert not may_release(view, Recipient(nation, "SECRET", partner_node=node), USA)
    # Back to its originator's node: never; to the originator's people here: yes.
    assert not may_release(view, Recipient("PHL", "SECRET", partner_node=True), USA)
    assert may_release(view, Recipient("PHL", "SECRET"), USA)
    # Our own users see what was released to us.
    assert may_release(view, Recipient("USA", "SECRET"), USA)


def test_received_record_not_released_to_us_is_not_shown_locally() -> None:
    view = RecordView(_m(rel=("VNM",)), "PHL", frozenset({"VNM"}))
    assert not may_release(view, Recipient("USA", "SECRET"), USA)
    assert not may_release(RecordView(_m(), "PHL", None), Recipient("USA", "SECRET"), USA)


def test_received_noforn_and_red_are_not_shown_to_local_users() -> None:
    """Defence in depth: even if a partner sent a NOFORN record, or a TLP:RED one that names
    us only through a group, our users (another nation than the originator's) see nothing."""
    noforn = RecordView(_m(local_only=True), "PHL", frozenset({"USA"}))
    assert not may_release(noforn, Recipient("USA", "SECRET"), USA)
    red_via_group = RecordView(_m(rel=("QUAD",), tlp="TLP:RED"), "PHL", frozenset({"USA"}))
    assert not may_release(red_via_group, Recipient("USA", "SECRET"), USA)
    red_named = RecordView(_m(rel=("USA",), tlp="TLP:RED"), "PHL", frozenset({"USA"}))
    assert may_release(red_named, Recipient("USA", "SECRET"), USA)


def test_ceiling() -> None:
    view = RecordView(_m("CONFIDENTIAL", ("VNM",)), "USA")
    assert may_release(view, Recipient("VNM", "CONFIDENTIAL"), USA)
    assert may_release(view, Recipient("VNM", "SECRET", partner_node=True), USA)
    assert not may_release(view, Recipient("VNM", "RESTRICTED"), USA)
    assert not may_release(view, Recipient("VNM", "RESTRICTED", partner_node=True), USA)
    assert not may_release(view, Recipient("USA", "UNCLASSIFIED"), USA)  # our own, too
    assert not may_release(view, Recipient("VNM", "TOP SECRET"), USA)  # unknown ceiling


def test_tlp_red_only_to_named_nations() -> None:
    via_group = RecordView(_m(rel=("ASEAN-MARSEC",), tlp="TLP:RED"), "USA")
    assert not may_release(via_group, Recipient("VNM", "SECRET"), USA)
    assert not may_release(via_group, Recipient("VNM", "SECRET", partner_node=True), USA)
    assert may_release(via_group, Recipient("USA", "SECRET"), USA)
    named = RecordView(_m(rel=("ASEAN-MARSEC", "VNM"), tlp="TLP:RED"), "USA")
    assert may_release(named, Recipient("VNM", "SECRET", partner_node=True), USA)
    assert not may_release(named, Recipient("PHL", "SECRET", partner_node=True), USA)
    amber = RecordView(_m(rel=("ASEAN-MARSEC",), tlp="TLP:AMBER"), "USA")
    assert may_release(amber, Recipient("PHL", "SECRET", partner_node=True), USA)


def test_unknown_classification_refused_to_everyone() -> None:
    view = RecordView(Marking("TOP SECRET", ("VNM",)), "USA")
    for nation in ("USA", "VNM"):
        for node in (False, True):
            decision = may_release(view, Recipient(nation, "SECRET", partner_node=node), USA)
            assert not decision and "unknown" in decision.reason


def test_noforn_stays_home() -> None:
    view = RecordView(_m("UNCLASSIFIED", local_only=True), "USA")
    assert may_release(view, Recipient("USA", "UNCLASSIFIED"), USA)
    for nation in ("VNM", "PHL", "JPN"):
        assert not may_release(view, Recipient(nation, "SECRET"), USA)
        assert not may_release(view, Recipient(nation, "SECRET", partner_node=True), USA)


def test_unknown_group_releases_to_nobody_and_deny_by_default() -> None:
    assert not may_release(
        RecordView(_m(rel=("NOBODY-9",)), "USA"), Recipient("VNM", "SECRET"), USA
    )
    assert not may_release(RecordView(_m(), "USA"), Recipient("VNM", "SECRET", True), USA)
    assert expand_release(["NOBODY-9", "VNM", "QUAD"], USA.groups) == {
        "VNM",
        "USA",
        "JPN",
        "AUS",
        "IND",
    }


def test_a_partner_node_never_gets_its_own_nations_record_back() -> None:
    view = RecordView(_m(rel=("VNM", "USA")), "VNM", frozenset({"USA", "VNM"}))
    assert not may_release(view, Recipient("VNM", "SECRET", partner_node=True), USA)
    local = RecordView(_m(rel=("USA",)), "USA")
    assert not may_release(local, Recipient("USA", "SECRET", partner_node=True), USA)
