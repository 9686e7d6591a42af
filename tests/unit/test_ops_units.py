"""Which units to send (``ops/units.py``): available units with a position, nearest first,
with their great-circle distance and time to arrive at their own speed."""

from __future__ import annotations

import math
from typing import Any

import pytest

from jointwatch.ops.units import UNIT_STATUSES, UNIT_TYPES, suggest_units

R_M = 6_371_008.8  # the IUGG mean radius the node measures with
NM = 1852.0


def unit(name: str, lat: float | None, lon: float | None, **kw: Any) -> dict[str, Any]:
    return {
        "gid": f"jw-usa:{name}",
        "name": name,
        "nation": "USA",
        "status": "available",
        "lat": lat,
        "lon": lon,
        "speed_kn": 20.0,
        **kw,
    }


def great_circle_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Spherical law of cosines: a formula independent of the node's haversine."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    cos_c = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
    return R_M * math.acos(max(-1.0, min(1.0, cos_c)))


def test_the_vocabularies_of_the_issue() -> None:
    assert UNIT_TYPES == ("ship", "aircraft", "boat_team", "shore_team")
    assert UNIT_STATUSES == ("available", "tasked", "on_scene", "unavailable")


def test_nearest_first() -> None:
    units = [
        unit("far", 12.0, 109.0),
        unit("near", 10.1, 107.0),
        unit("middle", 10.0, 108.0),
        unit("next-door", 10.0, 107.01),
    ]
    ranked = suggest_units(10.0, 107.0, units)
    assert [u["name"] for u in ranked] == ["next-door", "near", "middle", "far"]
    distances = [u["distance_m"] for u in ranked]
    assert distances == sorted(distances)
    assert suggest_units(10.0, 107.0, units, limit=2) == ranked[:2]
    # Every field of the unit comes along, with the three the ranking adds.
    assert set(ranked[0]) == set(units[0]) | {"distance_m", "distance_nm", "eta_h"}
    assert ranked[0]["gid"] == "jw-usa:next-door"


def test_equal_distances_keep_the_given_order() -> None:
    units = [unit("b", 11.0, 107.0), unit("a", 9.0, 107.0), unit("c", 10.0, 108.5)]
    ranked = suggest_units(10.0, 107.0, units)
    assert [u["name"] for u in ranked[:2]] == ["b", "a"]  # stable sort: 1 degree north, south


@pytest.mark.parametrize("status", ["tasked", "on_scene", "unavailable", None])
def test_units_not_available_are_left_out(status: str | None) -> None:
    units = [unit("busy", 10.0, 107.001, status=status), unit("free", 11.0, 108.0)]
    assert [u["name"] for u in suggest_units(10.0, 107.0, units)] == ["free"]


def test_units_without_position_or_speed_are_left_out() -> None:
    units = [
        unit("no-lat", None, 107.0),
        unit("no-lon", 10.0, None),
        unit("nowhere", None, None),
        unit("no-speed", 10.0, 107.0, speed_kn=None),
        unit("zero-speed", 10.0, 107.0, speed_kn=0),
        unit("ok", 10.5, 107.5),
    ]
    del units[2]["lat"], units[2]["lon"]  # missing keys, not only None
    assert [u["name"] for u in suggest_units(10.0, 107.0, units)] == ["ok"]
    assert suggest_units(10.0, 107.0, units[:5]) == []
    assert suggest_units(10.0, 107.0, []) == []


def test_one_degree_of_latitude_is_sixty_nautical_miles_and_change() -> None:
    [u] = suggest_units(0.0, 0.0, [unit("north", 1.0, 0.0)])
    one_degree = math.pi * R_M / 180  # 111 195.08 m along a meridian
    assert u["distance_m"] == pytest.approx(one_degree, abs=0.1)
    assert u["distance_m"] == 111_195.1
    assert u["distance_nm"] == 60.0  # 60.04 nm, to one decimal
    assert u["eta_h"] == 3.0  # 60.04 nm at 20 kn


def test_a_known_great_circle_distance() -> None:
    """Land's End to John o' Groats: 968.9 km, the worked example of the haversine formula
    (movable-type.co.uk/scripts/latlong.html, R = 6371 km)."""
    lands_end = (50 + 3 / 60 + 59 / 3600, -(5 + 42 / 60 + 53 / 3600))
    john_o_groats = (58 + 38 / 60 + 38 / 3600, -(3 + 4 / 60 + 12 / 3600))
    [u] = suggest_units(*john_o_groats, [unit("from-lands-end", *lands_end, speed_kn=18.0)])
    assert u["distance_m"] / 1000 * 6371 / (R_M / 1000) == pytest.approx(968.9, abs=0.05)
    assert u["distance_m"] == pytest.approx(great_circle_m(*john_o_groats, *lands_end), abs=0.5)
    assert u["distance_nm"] == 523.1  # 968 854.9 m / 1852 = 523.14 nm
    assert u["eta_h"] == 29.06  # 523.14 nm at 18 kn


def test_da_nang_to_manila() -> None:
    da_nang, manila = (16.0544, 108.2022), (14.5995, 120.9842)
    [u] = suggest_units(*manila, [unit("from-da-nang", *da_nang, speed_kn=18.0)])
    expected = great_circle_m(*manila, *da_nang)
    assert u["distance_m"] == pytest.approx(expected, abs=0.5)
    assert 1_375_000 < u["distance_m"] < 1_385_000  # about 1 380 km
    assert u["distance_nm"] == round(expected / NM, 1)
    assert u["eta_h"] == round(expected / NM / 18.0, 2)


@pytest.mark.parametrize("speed", [8.0, 15.0, 20.0, 35.0, 140.0])
def test_eta_is_nautical_miles_over_the_units_own_speed(speed: float) -> None:
    units = [unit("a", 10.0, 107.5, speed_kn=speed), unit("b", 12.3, 109.1, speed_kn=speed)]
    for u in suggest_units(10.0, 107.0, units):
        exact = great_circle_m(10.0, 107.0, u["lat"], u["lon"])
        assert u["distance_m"] == pytest.approx(exact, abs=0.5)
        assert u["eta_h"] == round(u["distance_m"] / NM / speed, 2)
        assert u["eta_h"] == pytest.approx(u["distance_nm"] / speed, abs=0.01)


def test_a_slow_near_unit_still_ranks_before_a_fast_far_one() -> None:
    """The ranking is by distance; the time to arrive is shown for the officer to weigh."""
    slow = unit("boat", 10.0, 107.2, speed_kn=5.0)
    fast = unit("helicopter", 10.0, 107.6, type="aircraft", speed_kn=120.0)
    ranked = suggest_units(10.0, 107.0, [fast, slow])
    assert [u["name"] for u in ranked] == ["boat", "helicopter"]
    assert ranked[0]["eta_h"] > ranked[1]["eta_h"]


def test_across_the_antimeridian() -> None:
    east, west = unit("east", 0.0, 179.9), unit("west", 0.0, -179.5)
    ranked = suggest_units(0.0, -179.9, [west, east])
    assert [u["name"] for u in ranked] == ["east", "west"]
    assert ranked[0]["distance_m"] == pytest.approx(0.2 * math.pi * R_M / 180, abs=0.1)
