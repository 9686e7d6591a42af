"""Markings: what a record is, and to whom its originator released it.

Why a value object with one canonical form: the marking decides egress, is shown on every
item and every export, is hashed into the audit chain and travels with the record to
partners. One parser and one ``to_json`` keep all of those in agreement, and a marking that
does not parse is refused at the door instead of being half-understood later.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jointwatch.errors import JointWatchError

__all__ = [
    "DEFAULT_LEVELS",
    "TLP_LEVELS",
    "Marking",
    "MarkingError",
    "is_group_name",
    "is_nation",
    "parse_banner",
]

DEFAULT_LEVELS: tuple[str, ...] = ("UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL", "SECRET")
# FIRST TLP 2.0 (https://www.first.org/tlp/): CLEAR may be published; RED is for the named
# recipients only.
TLP_LEVELS: tuple[str, ...] = ("TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT", "TLP:RED")

_NATION = re.compile(r"^[A-Z]{3}$")
# A group name is never three letters, so "REL TO" entries are never ambiguous.
_GROUP = re.compile(r"^(?![A-Z]{3}$)[A-Z0-9][A-Z0-9_-]{1,39}$")
_LEVEL = re.compile(r"^[A-Z][A-Z0-9 _-]{0,31}$")
_MAX_REL = 64
_MAX_CAVEATS = 8
_MAX_CAVEAT_LEN = 64


class MarkingError(JointWatchError, ValueError):
    """A marking is malformed or uses a level, nation or group this node does not know."""


def is_nation(code: str) -> bool:
    """An ISO 3166-1 alpha-3 shaped code (three capital letters)."""
    return bool(_NATION.fullmatch(code))  # fullmatch: "$" alone lets "VNM\n" through


def is_group_name(name: str) -> bool:
    """A sharing-group name: capitals, digits, ``-`` or ``_``, 2-40 long, not 3 letters."""
    return bool(_GROUP.fullmatch(name))


def _printable(text: str) -> bool:
    return text.isprintable() and text == text.strip() and bool(text)


def _reads_as_control(part: str) -> bool:
    """Whether ``parse_banner`` would read this banner part as NOFORN, REL TO or TLP."""
    upper = part.strip().upper()
    return upper == "NOFORN" or upper.startswith(("REL TO", "TLP:"))


@dataclass(frozen=True)
class Marking:
    """Classification, releasability, TLP colour and caveats of one record.

    ``rel_to`` holds nations and sharing-group names, sorted and unique; ``local_only`` is the
    NOFORN-style "this node's nation only" and excludes any ``rel_to``.
    """

    classification: str
    rel_to: tuple[str, ...] = ()
    local_only: bool = False
    tlp: str | None = None
    caveats: tuple[str, ...] = ()

    @classmethod
    def build(
        cls,
        classification: str,
        rel_to: Iterable[str] = (),
        *,
        local_only: bool = False,
        tlp: str | None = None,
        caveats: Iterable[str] = (),
        levels: Sequence[str] = DEFAULT_LEVELS,
    ) -> Marking:
        """A validated marking; raises ``MarkingError`` saying what is wrong."""
        level = str(classification).strip().upper()
        if level not in levels:
            raise MarkingError(f"unknown classification {classification!r}; known: {list(levels)}")
        entries: set[str] = set()
        for raw in rel_to:
            entry = str(raw).strip().upper()
            if not (is_nation(entry) or is_group_name(entry)):
                raise MarkingError(
                    f"REL TO entry {raw!r} is neither a nation (ISO alpha-3, e.g. VNM) "
                    "nor a sharing-group name (e.g. ASEAN-MARSEC)"
                )
            entries.add(entry)
        if len(entries) > _MAX_REL:
            raise MarkingError(f"REL TO lists at most {_MAX_REL} nations and groups")
        if local_only and entries:
            raise MarkingError("a local-only (NOFORN) marking cannot also be REL TO anyone")
        colour = None if tlp in (None, "") else str(tlp).strip().upper()
        if colour is not None and not colour.startswith("TLP:"):
            colour = f"TLP:{colour}"
        if colour is not None and colour not in TLP_LEVELS:
            raise MarkingError(f"unknown TLP colour {tlp!r}; known: {list(TLP_LEVELS)}")
        notes = tuple(dict.fromkeys(str(c).strip() for c in caveats))
        if len(notes) > _MAX_CAVEATS:
            raise MarkingError(f"at most {_MAX_CAVEATS} caveats")
        for note in notes:
            if (
                not _printable(note)
                or len(note) > _MAX_CAVEAT_LEN
                or "//" in note
                or note.startswith("/")
                or note.endswith("/")  # "A/" then "B" would show as "A///B": one part or two?
            ):
                raise MarkingError(
                    f"caveat {note!r} must be 1-{_MAX_CAVEAT_LEN} printable characters without "
                    "'//' and not starting or ending with '/'"
                )
            if _reads_as_control(note):
                # The banner would show (and parse_banner would read) a release control the
                # marking does not have, e.g. "REL TO VNM//NOFORN" on a record VNM receives.
                raise MarkingError(
                    f"caveat {note!r} reads as NOFORN, REL TO or a TLP colour; "
                    "use local_only, rel_to or tlp instead"
                )
        return cls(level, tuple(sorted(entries)), local_only, colour, notes)

    @classmethod
    def from_json(cls, data: Mapping[str, Any], levels: Sequence[str] = DEFAULT_LEVELS) -> Marking:
        """Parse the API/wire form; unknown keys are refused so a typo never widens release."""
        if not isinstance(data, Mapping):
            raise MarkingError("a marking is an object with at least 'classification'")
        unknown = set(data) - {"classification", "rel_to", "local_only", "tlp", "caveats"}
        if unknown:
            raise MarkingError(f"unknown marking field(s) {sorted(unknown)}")
        if "classification" not in data:
            raise MarkingError("a marking needs 'classification'")
        rel_to = data.get("rel_to") or []
        caveats = data.get("caveats") or []
        if isinstance(rel_to, str) or not isinstance(rel_to, list | tuple):
            raise MarkingError("'rel_to' is a list of nations and sharing groups")
        if isinstance(caveats, str) or not isinstance(caveats, list | tuple):
            raise MarkingError("'caveats' is a list of strings")
        local_only = data.get("local_only", False)
        if not isinstance(local_only, bool):
            raise MarkingError("'local_only' is true or false")
        return cls.build(
            str(data["classification"]),
            [str(v) for v in rel_to],
            local_only=local_only,
            tlp=data.get("tlp"),
            caveats=[str(v) for v in caveats],
            levels=levels,
        )

    def to_json(self) -> dict[str, Any]:
        """Canonical API/wire/audit form."""
        return {
            "classification": self.classification,
            "rel_to": list(self.rel_to),
            "local_only": self.local_only,
            "tlp": self.tlp,
            "caveats": list(self.caveats),
        }

    def banner(self) -> str:
        """The one-line marking shown on every item: ``RESTRICTED//REL TO USA, VNM//TLP:AMBER``."""
        parts = [self.classification]
        if self.local_only:
            parts.append("NOFORN")
        elif self.rel_to:
            parts.append("REL TO " + ", ".join(self.rel_to))
        if self.tlp:
            parts.append(self.tlp)
        parts.extend(self.caveats)
        return "//".join(parts)


def parse_banner(text: str, levels: Sequence[str] = DEFAULT_LEVELS) -> Marking:
    """Parse the banner form (settings and the CLI take markings this way)."""
    parts = [p.strip() for p in text.split("//")]
    if not parts or not parts[0]:
        raise MarkingError(f"empty marking {text!r}")
    rel: list[str] = []
    local_only = False
    tlp: str | None = None
    caveats: list[str] = []
    for part in parts[1:]:
        upper = part.upper()
        if upper == "NOFORN":
            local_only = True
        elif upper.startswith("REL TO"):
            rel.extend(v.strip() for v in part[6:].split(",") if v.strip())
        elif upper.startswith("TLP:"):
            if tlp is not None and tlp != upper:
                raise MarkingError(f"two TLP colours in {text!r}")
            tlp = upper
        elif part:
            caveats.append(part)
    return Marking.build(
        parts[0], rel, local_only=local_only, tlp=tlp, caveats=caveats, levels=levels
    )


def validate_levels(levels: Sequence[str]) -> tuple[str, ...]:
    """A deployment's classification scale, lowest first; refuse duplicates and odd names."""
    out = tuple(str(v).strip().upper() for v in levels)
    if not out:
        raise MarkingError("the classification scale needs at least one level")
    if len(set(out)) != len(out):
        raise MarkingError(f"duplicate classification level in {list(out)}")
    for level in out:
        if not _LEVEL.match(level) or "//" in level:
            raise MarkingError(f"classification level {level!r} must be capitals, digits, spaces")
    return out
