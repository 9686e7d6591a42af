"""The South China Sea of the built-in scenario: sea lanes, ports, fishing grounds, patrol
boxes and receiver stations.

Why hand-written waypoints: the lanes follow the routes merchant traffic really uses
(Singapore Strait to Hong Kong east of the Paracels, Singapore to Manila north of the
Spratly "Dangerous Ground", the Vietnamese coastal route, the Gulf of Thailand route round
Ca Mau) and end at anchorages off the ports, never inside rivers. A unit test samples every
lane every ~5 km against ``global_land_mask`` so an edit cannot put a ship on land.
Coordinates are (lat, lon) in degrees.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "FISHING_GROUNDS",
    "LANES",
    "PATROL_BOXES",
    "PORTS",
    "STATIONS",
    "TUG_AREAS",
    "Lane",
    "Port",
    "Station",
]


@dataclass(frozen=True)
class Port:
    """A lane end: the anchorage off a port, and how AIS destinations name the port."""

    name: str
    lat: float
    lon: float
    destinations: tuple[str, ...]


@dataclass(frozen=True)
class Lane:
    """A sea lane between two ports, as waypoints from ``origin`` to ``destination``."""

    name: str
    origin: str
    destination: str
    waypoints: tuple[tuple[float, float], ...]
    weight: float


@dataclass(frozen=True)
class Station:
    """A shore AIS receiver whose name goes in the TAG block's ``s:`` field."""

    name: str
    lat: float
    lon: float


PORTS: dict[str, Port] = {
    p.name: p
    for p in (
        Port("singapore", 1.24, 104.05, ("SGSIN", "SG SIN", "SINGAPORE")),
        Port("hongkong", 21.90, 114.20, ("HKHKG", "HK HKG", "HONG KONG")),
        Port("guangzhou", 21.70, 113.90, ("CNCAN", "CN CAN", "GUANGZHOU")),
        Port("manila", 14.30, 120.45, ("PHMNL", "PH MNL", "MANILA")),
        Port("vungtau", 10.22, 107.22, ("VNVUT", "VNSGN", "VUNG TAU", "HO CHI MINH")),
        Port("haiphong", 20.55, 107.00, ("VNHPH", "VN HPH", "HAI PHONG")),
        Port("laemchabang", 12.85, 100.65, ("THLCH", "TH LCH", "LAEM CHABANG")),
    )
}

_SPORE_EAST = ((1.24, 104.05), (1.28, 104.30), (1.35, 104.55), (1.80, 104.90), (3.20, 105.30))
_TO_HK = (
    (5.00, 107.00),
    (8.50, 109.40),
    (11.50, 110.40),
    (14.50, 112.00),
    (16.30, 113.20),
    (19.50, 114.20),
)

LANES: tuple[Lane, ...] = (
    Lane(
        "singapore-hongkong",
        "singapore",
        "hongkong",
        (*_SPORE_EAST, *_TO_HK, (21.60, 114.25), (21.90, 114.20)),
        0.30,
    ),
    Lane(
        "singapore-guangzhou",
        "singapore",
        "guangzhou",
        (*_SPORE_EAST, *_TO_HK[:-1], (19.50, 114.00), (21.70, 113.90)),
        0.15,
    ),
    Lane(
        "singapore-manila",
        "singapore",
        "manila",
        (
            *_SPORE_EAST,
            (4.30, 106.60),
            (7.00, 109.60),
            (10.50, 111.60),
            (12.20, 114.00),
            (13.60, 118.50),
            (14.10, 119.80),
            (14.30, 120.45),
        ),
        0.15,
    ),
    Lane(
        "vungtau-haiphong",
        "vungtau",
        "haiphong",
        (
            (10.22, 107.22),
            (10.35, 107.60),
            (10.65, 108.40),
            (11.25, 109.35),
            (12.90, 109.75),
            (14.50, 109.45),
            (15.60, 109.35),
            (16.30, 108.75),
            (17.30, 107.60),
            (18.50, 106.90),
            (19.80, 107.10),
            (20.55, 107.00),
        ),
        0.20,
    ),
    Lane(
        "laemchabang-hongkong",
        "laemchabang",
        "hongkong",
        (
            (12.85, 100.65),
            (12.40, 100.75),
            (10.80, 101.60),
            (8.80, 103.60),
            (8.00, 104.80),
            (8.30, 106.20),
            (9.50, 108.80),
            (11.50, 110.40),
            (14.50, 112.00),
            (16.30, 113.20),
            (19.50, 114.20),
            (21.60, 114.25),
            (21.90, 114.20),
        ),
        0.20,
    ),
)

#: Fishing grounds: (name, flag, centre lat, centre lon, radius in nm).
FISHING_GROUNDS: tuple[tuple[str, str, float, float, float], ...] = (
    ("binhdinh-offshore", "VNM", 13.90, 110.20, 12.0),
    ("paracels-west", "VNM", 16.00, 110.80, 10.0),
    ("spratly-west", "VNM", 9.20, 111.20, 12.0),
    ("camau-shelf", "VNM", 7.90, 103.80, 10.0),
    ("tonkin-gulf", "CHN", 19.60, 107.90, 10.0),
    ("paracels-east", "CHN", 17.40, 113.40, 10.0),
    ("pearl-offshore", "CHN", 21.00, 114.70, 10.0),
    ("spratly-east", "CHN", 10.20, 115.00, 12.0),
)

#: Patrol boxes: (name, flag, ship type, south, west, north, east).
PATROL_BOXES: tuple[tuple[str, str, int, float, float, float, float], ...] = (
    ("vcg-region3", "VNM", 55, 8.40, 106.80, 9.60, 108.20),
    ("vcg-region2", "VNM", 55, 14.20, 109.80, 15.40, 111.00),
    ("usn-scs-central", "USA", 35, 11.50, 112.50, 13.50, 114.50),
    ("pcg-west-luzon", "PHL", 55, 14.60, 118.80, 15.60, 119.60),
)

#: Harbour areas where tugs and SAR craft work: (name, flag, lat, lon, radius in nm).
TUG_AREAS: tuple[tuple[str, str, float, float, float], ...] = (
    ("singapore-east-anchorage", "SGP", 1.30, 104.45, 2.0),
    ("vungtau-anchorage", "VNM", 10.20, 107.25, 2.0),
    ("danang-offshore", "VNM", 16.25, 108.45, 2.0),
    ("hongkong-approach", "HKG", 21.95, 114.25, 2.0),
    ("manila-bay-approach", "PHL", 14.25, 120.35, 2.0),
    ("haiphong-approach", "VNM", 20.45, 107.05, 2.0),
)

STATIONS: tuple[Station, ...] = (
    Station("rx-spore", 1.30, 103.85),
    Station("rx-vungtau", 10.35, 107.08),
    Station("rx-danang", 16.07, 108.22),
    Station("rx-haiphong", 20.86, 106.68),
    Station("rx-manila", 14.58, 120.98),
    Station("rx-hongkong", 22.30, 114.17),
    Station("rx-laemchabang", 13.08, 100.88),
)

#: Beyond this distance from every shore station a report is tagged as heard by satellite.
SHORE_RANGE_NM = 120.0
SATELLITE_STATION = "rx-sat"
