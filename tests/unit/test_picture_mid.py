"""flag_for_mmsi: the flag state from the Maritime Identification Digits."""

from __future__ import annotations

import pytest

from jointwatch.picture.mid import MID_TABLE, flag_for_mmsi


@pytest.mark.parametrize(
    ("mmsi", "alpha3", "alpha2"),
    [
        (574123456, "VNM", "VN"),
        (366999712, "USA", "US"),
        (338123456, "USA", "US"),
        (303174162, "USA", "US"),
        (412345678, "CHN", "CN"),
        (414000001, "CHN", "CN"),
        (548123456, "PHL", "PH"),
        (563012345, "SGP", "SG"),
        (566999999, "SGP", "SG"),
        (533130000, "MYS", "MY"),
        (525005000, "IDN", "ID"),
        (567000123, "THA", "TH"),
        (351234567, "PAN", "PA"),
        (372345678, "PAN", "PA"),
        (636091234, "LBR", "LR"),
        (538006789, "MHL", "MH"),
        (477123456, "HKG", "HK"),
        (431000001, "JPN", "JP"),
        (440123456, "KOR", "KR"),
    ],
)
def test_ship_station_flag_comes_from_its_first_three_digits(
    mmsi: int, alpha3: str, alpha2: str
) -> None:
    flag = flag_for_mmsi(mmsi)
    assert flag is not None
    assert (flag.alpha3, flag.alpha2, flag.station) == (alpha3, alpha2, "ship")


def test_vanuatu_not_vietnam_owns_mids_576_and_577() -> None:
    flags = [flag_for_mmsi(m) for m in (576111111, 577111111)]
    assert [f.alpha3 if f else None for f in flags] == ["VUT", "VUT"]


def test_coast_station_00mid_reads_digits_three_to_five() -> None:
    flag = flag_for_mmsi(5741000)  # 005741000: a Vietnamese coast station
    assert flag is not None
    assert (flag.alpha3, flag.station, flag.mid) == ("VNM", "coast", 574)


def test_group_call_0mid_reads_digits_two_to_four() -> None:
    flag = flag_for_mmsi(36612345)  # 036612345
    assert flag is not None
    assert (flag.alpha3, flag.station) == ("USA", "group")


def test_sar_aircraft_111mid_reads_digits_four_to_six() -> None:
    flag = flag_for_mmsi(111548100)
    assert flag is not None
    assert (flag.alpha3, flag.station) == ("PHL", "sar_aircraft")


def test_aid_to_navigation_and_craft_associated_read_digits_three_to_five() -> None:
    aton = flag_for_mmsi(995631234)
    craft = flag_for_mmsi(985331234)
    assert aton is not None and craft is not None
    assert (aton.alpha3, aton.station) == ("SGP", "aton")
    assert (craft.alpha3, craft.station) == ("MYS", "craft_associated")


def test_handheld_8mid_reads_digits_two_to_four() -> None:
    flag = flag_for_mmsi(841212345)
    assert flag is not None
    assert (flag.alpha3, flag.station) == ("CHN", "handheld")


@pytest.mark.parametrize(
    "mmsi", [0, -1, 1_000_000_000, 970123456, 972123456, 974123456, 100000000, 217123456, None]
)
def test_identities_without_an_allocated_mid_have_no_flag(mmsi: int | None) -> None:
    assert flag_for_mmsi(mmsi) is None


def test_table_covers_the_mid_range_with_well_formed_codes() -> None:
    assert min(MID_TABLE) == 201 and max(MID_TABLE) == 775
    assert len(MID_TABLE) > 280
    for mid, (alpha3, alpha2, name) in MID_TABLE.items():
        assert 201 <= mid <= 775
        assert len(alpha3) == 3 and alpha3.isupper()
        assert len(alpha2) == 2 and alpha2.isupper()
        assert name
