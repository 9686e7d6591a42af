"""Column layouts of the public AIS CSV archives, and the DMA's text codes.

Why tables, not code: the layouts drift between years (``TranscieverClass``, missing
``Status``/``Cargo``), so each canonical column lists every spelling we have met.
"""

from __future__ import annotations

from collections.abc import Sequence

from jointwatch.errors import SourceError

__all__ = ["DMA_NAV_STATUS", "DMA_SHIP_TYPES", "LAYOUT_COLUMNS", "detect_csv_layout"]

#: canonical column -> accepted header names (lower case, leading ``#`` and spaces removed).
LAYOUT_COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "marinecadastre": {
        "mmsi": ("mmsi",),
        "time": ("basedatetime",),
        "lat": ("lat",),
        "lon": ("lon",),
        "sog": ("sog",),
        "cog": ("cog",),
        "heading": ("heading",),
        "shipname": ("vesselname",),
        "imo": ("imo",),
        "callsign": ("callsign",),
        "ship_type": ("vesseltype",),
        "status": ("status",),
        "length": ("length",),
        "beam": ("width",),
        "draught": ("draft",),
        "ais_class": ("transceiverclass", "transcieverclass"),
    },
    "dma": {
        "time": ("timestamp",),
        "ais_class": ("type of mobile",),
        "mmsi": ("mmsi",),
        "lat": ("latitude",),
        "lon": ("longitude",),
        "status": ("navigational status",),
        "sog": ("sog",),
        "cog": ("cog",),
        "heading": ("heading",),
        "imo": ("imo",),
        "callsign": ("callsign",),
        "shipname": ("name",),
        "ship_type": ("ship type",),
        "beam": ("width",),
        "length": ("length",),
        "draught": ("draught",),
        "destination": ("destination",),
    },
}

_REQUIRED = ("mmsi", "time", "lat", "lon")

#: DMA navigational status texts -> AIS navigational status codes.
DMA_NAV_STATUS: dict[str, int] = {
    "under way using engine": 0,
    "at anchor": 1,
    "not under command": 2,
    "restricted maneuverability": 3,
    "restricted manoeuvrability": 3,
    "constrained by her draught": 4,
    "moored": 5,
    "aground": 6,
    "engaged in fishing": 7,
    "under way sailing": 8,
    "reserved for future amendment [hsc]": 9,
    "reserved for future amendment [wig]": 10,
    "power-driven vessel towing astern": 11,
    "power-driven vessel pushing ahead or towing alongside": 12,
    "reserved for future use": 13,
    "ais-sart (active)": 14,
    "unknown value": 15,
}

#: DMA ship type texts -> AIS ship type codes (the generic code of each category).
DMA_SHIP_TYPES: dict[str, int] = {
    "wig": 20,
    "fishing": 30,
    "towing": 31,
    "towing long/wide": 32,
    "dredging": 33,
    "diving": 34,
    "military": 35,
    "sailing": 36,
    "pleasure": 37,
    "hsc": 40,
    "pilot": 50,
    "sar": 51,
    "tug": 52,
    "port tender": 53,
    "anti-pollution": 54,
    "law enforcement": 55,
    "spare 1": 56,
    "spare 2": 57,
    "medical": 58,
    "not party to conflict": 59,
    "passenger": 60,
    "cargo": 70,
    "tanker": 80,
    "other": 90,
}


def _canonical(name: str) -> str:
    return name.strip().lstrip("#").strip().lower()


def detect_csv_layout(header: Sequence[str] | str) -> str:
    """``"marinecadastre"`` or ``"dma"`` from a header row (a list, or the raw first line)."""
    names = header.split(",") if isinstance(header, str) else list(header)
    present = {_canonical(n) for n in names}
    raw_first = _canonical(names[0]) if names else ""
    for layout in ("marinecadastre", "dma"):
        columns = LAYOUT_COLUMNS[layout]
        if all(present & set(columns[key]) for key in _REQUIRED):
            if layout == "dma" and raw_first != "timestamp":
                continue
            return layout
    shown = ",".join(n.strip() for n in names[:8])
    raise SourceError(
        f"unrecognised CSV header ({shown}...): expected the MarineCadastre layout "
        "(MMSI,BaseDateTime,LAT,LON,...) or the Danish Maritime Authority layout "
        "(# Timestamp,Type of mobile,MMSI,Latitude,Longitude,...)"
    )
