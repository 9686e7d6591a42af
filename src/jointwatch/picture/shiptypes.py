"""AIS "type of ship and cargo" codes (ITU-R M.1371, table 53): text and map groups.

Why groups: the console colours and filters by what a watch officer cares about (cargo,
tanker, fishing, law enforcement...), not by the 100 codes; the codes' hazard-category digits
matter for a detail panel, so ``ship_type_text`` keeps them.
"""

from __future__ import annotations

__all__ = ["TYPE_GROUPS", "ship_type_text", "type_group"]

#: Every value ``type_group`` can return.
TYPE_GROUPS = (
    "cargo",
    "tanker",
    "passenger",
    "fishing",
    "towing",
    "dredging",
    "diving",
    "military",
    "sailing",
    "pleasure",
    "hsc",
    "pilot",
    "sar",
    "port_tender",
    "anti_pollution",
    "law_enforcement",
    "medical",
    "other",
    "unknown",
)

_SINGLE_GROUPS: dict[int, str] = {
    30: "fishing",
    31: "towing",
    32: "towing",
    33: "dredging",
    34: "diving",
    35: "military",
    36: "sailing",
    37: "pleasure",
    50: "pilot",
    51: "sar",
    52: "towing",  # a tug: the map groups tugs with towing vessels
    53: "port_tender",
    54: "anti_pollution",
    55: "law_enforcement",
    58: "medical",
}
_DECADE_GROUPS: dict[int, str] = {4: "hsc", 6: "passenger", 7: "cargo", 8: "tanker"}

_SINGLE_TEXT: dict[int, str] = {
    30: "Fishing",
    31: "Towing",
    32: "Towing, length exceeds 200 m or breadth exceeds 25 m",
    33: "Dredging or underwater operations",
    34: "Diving operations",
    35: "Military operations",
    36: "Sailing",
    37: "Pleasure craft",
    50: "Pilot vessel",
    51: "Search and rescue vessel",
    52: "Tug",
    53: "Port tender",
    54: "Anti-pollution equipment",
    55: "Law enforcement",
    56: "Local vessel",
    57: "Local vessel",
    58: "Medical transport",
    59: "Non-combatant ship (RR Resolution No. 18)",
}
_DECADE_TEXT: dict[int, str] = {
    2: "Wing in ground (WIG)",
    4: "High-speed craft (HSC)",
    6: "Passenger",
    7: "Cargo",
    8: "Tanker",
    9: "Other type",
}


def type_group(ship_type: int | None) -> str:
    """The map group of a ship-type code; ``unknown`` when the vessel has not said (0)."""
    if ship_type is None or ship_type == 0:
        return "unknown"
    single = _SINGLE_GROUPS.get(ship_type)
    if single is not None:
        return single
    if 40 <= ship_type <= 89:
        return _DECADE_GROUPS.get(ship_type // 10, "other")
    return "other"


def ship_type_text(ship_type: int | None) -> str:
    """The standard's wording for a ship-type code, including the hazard category."""
    if ship_type is None or ship_type == 0:
        return "Not available"
    if not 1 <= ship_type <= 99 or ship_type < 20:
        return f"Reserved ({ship_type})"
    single = _SINGLE_TEXT.get(ship_type)
    if single is not None:
        return single
    decade, digit = divmod(ship_type, 10)
    if decade in (3, 5):
        return f"Reserved ({ship_type})"
    base = _DECADE_TEXT[decade]
    if digit == 0:
        return f"{base}, all ships of this type"
    if 1 <= digit <= 4:
        return f"{base}, hazardous category {'ABCD'[digit - 1]}"
    if digit == 9 and decade != 2:
        return f"{base}, no additional information"
    return f"{base}, reserved"
