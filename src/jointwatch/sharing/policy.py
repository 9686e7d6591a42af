"""The release rule: may this record go to this recipient?

Why one function: every egress path (REST, WebSocket, federation push and pull, exports)
asks ``may_release`` and nothing else, so a rule fixed here is fixed everywhere, and the
property tests that attack it cover every path at once. Deny by default: each rule below
returns early only to refuse, and a record is released only when all of them passed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from jointwatch.sharing.markings import DEFAULT_LEVELS, Marking, is_nation

__all__ = [
    "Decision",
    "Recipient",
    "RecordView",
    "SharingContext",
    "expand_release",
    "may_release",
]


@dataclass(frozen=True)
class SharingContext:
    """What the deciding node knows: its own nation, its scale and its sharing groups."""

    local_nation: str
    levels: tuple[str, ...] = DEFAULT_LEVELS
    groups: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def rank(self, level: str) -> int:
        """Position on the scale; -1 for a level this node does not know."""
        try:
            return self.levels.index(level)
        except ValueError:
            return -1


@dataclass(frozen=True)
class Recipient:
    """Who would receive: a person (user) or a partner node, of one nation, up to a ceiling."""

    nation: str
    ceiling: str
    partner_node: bool = False


@dataclass(frozen=True)
class RecordView:
    """The parts of a shareable record the rule reads.

    ``rel_nations`` is the originator's own expansion of ``rel_to`` into nations, carried
    with a received record: a node never re-shares beyond what the originator released, even
    if its own sharing groups are wider.
    """

    marking: Marking
    origin_nation: str
    rel_nations: frozenset[str] | None = None
    deleted: bool = False


@dataclass(frozen=True)
class Decision:
    """The answer and, for refusals, the reason shown in previews and receipts."""

    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


def expand_release(rel_to: Iterable[str], groups: Mapping[str, frozenset[str]]) -> frozenset[str]:
    """Nations named directly plus the members of each named group; unknown groups add none."""
    nations: set[str] = set()
    for entry in rel_to:
        if is_nation(entry):
            nations.add(entry)
        else:
            nations |= set(groups.get(entry, frozenset()))
    return frozenset(nations)


def released_nations(record: RecordView, ctx: SharingContext) -> frozenset[str]:
    """The nations the originator released the record to (the origin itself excluded)."""
    if record.marking.local_only:
        return frozenset()
    if record.origin_nation != ctx.local_nation:
        # A received record: only what the originator said counts.
        return frozenset(record.rel_nations or ())
    return expand_release(record.marking.rel_to, ctx.groups)


def may_release(record: RecordView, recipient: Recipient, ctx: SharingContext) -> Decision:
    """Whether ``record`` may go to ``recipient`` from the node described by ``ctx``."""
    marking = record.marking
    level = ctx.rank(marking.classification)
    if level < 0:
        return Decision(False, f"classification {marking.classification} unknown to this node")
    ceiling = ctx.rank(recipient.ceiling)
    if ceiling < 0 or level > ceiling:
        return Decision(
            False,
            f"{marking.classification} is above {recipient.nation}'s ceiling {recipient.ceiling}",
        )
    if recipient.nation == record.origin_nation:
        if recipient.partner_node:
            return Decision(False, "the originating nation already holds its own record")
        return Decision(True, "originating nation")
    # From here the recipient is of another nation than the originator's; that includes our
    # own users looking at a received record, who see it only as the originator released it
    # to our nation (never a NOFORN one, a TLP:RED one only if we are named).
    if marking.local_only:
        return Decision(False, f"NOFORN: {record.origin_nation} only")
    if recipient.nation not in released_nations(record, ctx):
        return Decision(False, f"{recipient.nation} is not in REL TO")
    if marking.tlp == "TLP:RED" and recipient.nation not in marking.rel_to:
        return Decision(False, "TLP:RED goes only to nations named in REL TO")
    return Decision(True, f"REL TO {recipient.nation}")


def may_publish(marking: Marking, levels: Sequence[str] = DEFAULT_LEVELS) -> bool:
    """TLP:CLEAR at the lowest classification, not local-only: fit for a public release."""
    return (
        marking.tlp == "TLP:CLEAR"
        and marking.classification == levels[0]
        and not (marking.local_only)
    )
