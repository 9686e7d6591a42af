"""type_group and ship_type_text: AIS ship-type codes for the map and the detail panel."""

from __future__ import annotations

import pytest

from jointwatch.picture.vessels import ship_type_text, type_group


@pytest.mark.parametrize(
    ("ship_type", "group"),
    [
        (70, "cargo"),
        (79, "cargo"),
        (80, "tanker"),
        (84, "tanker"),
        (60, "passenger"),
        (69, "passenger"),
        (30, "fishing"),
        (31, "towing"),
        (32, "towing"),
        (52, "towing"),
        (33, "dredging"),
        (34, "diving"),
        (35, "military"),
        (36, "sailing"),
        (37, "pleasure"),
        (40, "hsc"),
        (49, "hsc"),
        (50, "pilot"),
        (51, "sar"),
        (53, "port_tender"),
        (54, "anti_pollution"),
        (55, "law_enforcement"),
        (58, "medical"),
        (90, "other"),
        (20, "other"),
        (56, "other"),
        (150, "other"),
        (0, "unknown"),
        (None, "unknown"),
    ],
)
def test_type_group_maps_codes_to_map_groups(ship_type: int | None, group: str) -> None:
    assert type_group(ship_type) == group


@pytest.mark.parametrize(
    ("ship_type", "text"),
    [
        (0, "Not available"),
        (None, "Not available"),
        (52, "Tug"),
        (70, "Cargo, all ships of this type"),
        (81, "Tanker, hazardous category A"),
        (89, "Tanker, no additional information"),
        (66, "Passenger, reserved"),
        (5, "Reserved (5)"),
        (38, "Reserved (38)"),
    ],
)
def test_ship_type_text_uses_the_standards_wording(ship_type: int | None, text: str) -> None:
    assert ship_type_text(ship_type) == text
