"""Bit layouts of the vectorised AIS message types (ITU-R M.1371, as pyais 3.3.1 reads them).

Why a table: the decoder extracts each field column-wise, so a layout is just data —
name (pyais's field name), first bit, width and how to convert the raw integer. Spare and
reserved bits are left out because pyais's ``asdict()`` leaves them out of our columns too.

Conversions: ``u`` unsigned int, ``bool``, ``float`` (plain float of the raw value),
``tenth`` (raw / 10), ``latlon`` (1/10000 minute, signed), ``latlon600`` (1/10 minute,
signed), ``turn`` (rate of turn), ``text`` (6-bit ASCII), and enumeration tables
``status``, ``maneuver``, ``epfd``, ``shiptype``, ``navaid``.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "LAYOUT_5",
    "LAYOUT_19",
    "LAYOUT_21",
    "LAYOUT_24A",
    "LAYOUT_24B",
    "LAYOUT_24B_AUX",
    "LAYOUT_27",
    "LAYOUT_BASE",
    "LAYOUT_POS_A",
    "LAYOUT_POS_B",
    "Field",
]


class Field(NamedTuple):
    """One bit field: pyais name, first bit, width in bits, conversion."""

    name: str
    start: int
    width: int
    conv: str


def _layout(*spec: tuple[str, int, str]) -> tuple[Field, ...]:
    """Build a layout from consecutive (name, width, conv); names starting '_' are skipped."""
    fields: list[Field] = []
    start = 0
    for name, width, conv in spec:
        if not name.startswith("_"):
            fields.append(Field(name, start, width, conv))
        start += width
    return tuple(fields)


_HEAD = (("msg_type", 6, "u"), ("repeat", 2, "u"), ("mmsi", 30, "u"))

#: Types 1, 2, 3: Class A position report (168 bits).
LAYOUT_POS_A = _layout(
    *_HEAD,
    ("status", 4, "status"),
    ("turn", 8, "turn"),
    ("speed", 10, "tenth"),
    ("accuracy", 1, "bool"),
    ("lon", 28, "latlon"),
    ("lat", 27, "latlon"),
    ("course", 12, "tenth"),
    ("heading", 9, "u"),
    ("second", 6, "u"),
    ("maneuver", 2, "maneuver"),
    ("_spare", 3, ""),
    ("raim", 1, "bool"),
    ("radio", 19, "u"),
)

#: Type 4: base station report (168 bits).
LAYOUT_BASE = _layout(
    *_HEAD,
    ("year", 14, "u"),
    ("month", 4, "u"),
    ("day", 5, "u"),
    ("hour", 5, "u"),
    ("minute", 6, "u"),
    ("second", 6, "u"),
    ("accuracy", 1, "bool"),
    ("lon", 28, "latlon"),
    ("lat", 27, "latlon"),
    ("epfd", 4, "epfd"),
    ("_spare", 10, ""),
    ("raim", 1, "bool"),
    ("radio", 19, "u"),
)

_DIMENSIONS = (
    ("to_bow", 9, "u"),
    ("to_stern", 9, "u"),
    ("to_port", 6, "u"),
    ("to_starboard", 6, "u"),
)

#: Type 5: static and voyage data (424 bits, two sentences).
LAYOUT_5 = _layout(
    *_HEAD,
    ("ais_version", 2, "u"),
    ("imo", 30, "u"),
    ("callsign", 42, "text"),
    ("shipname", 120, "text"),
    ("ship_type", 8, "shiptype"),
    *_DIMENSIONS,
    ("epfd", 4, "epfd"),
    ("month", 4, "u"),
    ("day", 5, "u"),
    ("hour", 5, "u"),
    ("minute", 6, "u"),
    ("draught", 8, "tenth"),
    ("destination", 120, "text"),
    ("dte", 1, "bool"),
)

_CLASS_B_MOTION = (
    ("_reserved_1", 8, ""),
    ("speed", 10, "tenth"),
    ("accuracy", 1, "bool"),
    ("lon", 28, "latlon"),
    ("lat", 27, "latlon"),
    ("course", 12, "tenth"),
    ("heading", 9, "u"),
    ("second", 6, "u"),
)

#: Type 18: Class B position report (168 bits).
LAYOUT_POS_B = _layout(
    *_HEAD,
    *_CLASS_B_MOTION,
    ("_reserved_2", 2, ""),
    ("cs", 1, "bool"),
    ("display", 1, "bool"),
    ("dsc", 1, "bool"),
    ("band", 1, "bool"),
    ("msg22", 1, "bool"),
    ("assigned", 1, "bool"),
    ("raim", 1, "bool"),
    ("radio", 20, "u"),
)

#: Type 19: extended Class B position report (312 bits).
LAYOUT_19 = _layout(
    *_HEAD,
    *_CLASS_B_MOTION,
    ("_reserved_2", 4, ""),
    ("shipname", 120, "text"),
    ("ship_type", 8, "shiptype"),
    *_DIMENSIONS,
    ("epfd", 4, "epfd"),
    ("raim", 1, "bool"),
    ("dte", 1, "bool"),
    ("assigned", 1, "bool"),
)

#: Type 21: aid to navigation (272 bits + up to 88 bits of name extension, decoded apart).
LAYOUT_21 = _layout(
    *_HEAD,
    ("aid_type", 5, "navaid"),
    ("name", 120, "text"),
    ("accuracy", 1, "bool"),
    ("lon", 28, "latlon"),
    ("lat", 27, "latlon"),
    *_DIMENSIONS,
    ("epfd", 4, "epfd"),
    ("second", 6, "u"),
    ("off_position", 1, "bool"),
    ("_reserved_1", 8, ""),
    ("raim", 1, "bool"),
    ("virtual_aid", 1, "bool"),
    ("assigned", 1, "bool"),
)

#: Type 24 part A: name (168 bits).
LAYOUT_24A = _layout(*_HEAD, ("partno", 2, "u"), ("shipname", 120, "text"))

_PART_B = (
    ("partno", 2, "u"),
    ("ship_type", 8, "u"),
    ("vendorid", 18, "text"),
    ("model", 4, "u"),
    ("serial", 20, "u"),
    ("callsign", 42, "text"),
)

#: Type 24 part B: ship type (raw, no enum in pyais), vendor, call sign, dimensions.
LAYOUT_24B = _layout(*_HEAD, *_PART_B, *_DIMENSIONS)

#: Type 24 part B of an auxiliary craft (MMSI 98xxxxxxx): mothership MMSI instead of size.
LAYOUT_24B_AUX = _layout(*_HEAD, *_PART_B, ("mothership_mmsi", 30, "u"))

#: Type 27: long-range broadcast (96 bits).
LAYOUT_27 = _layout(
    *_HEAD,
    ("accuracy", 1, "bool"),
    ("raim", 1, "bool"),
    ("status", 4, "status"),
    ("lon", 18, "latlon600"),
    ("lat", 17, "latlon600"),
    ("speed", 6, "float"),
    ("course", 9, "float"),
    ("gnss", 1, "bool"),
)
