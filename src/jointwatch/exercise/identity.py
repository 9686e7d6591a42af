"""Believable vessel identities: MMSIs with real flag prefixes, IMO numbers with valid check
digits, call signs in each flag's pattern, and names in each fleet's style.

Why care: the watch officer's console derives the flag from the MMSI and flags invalid IMO
numbers, so exercise traffic must pass the same checks real traffic does.
"""

from __future__ import annotations

import string

import numpy as np

__all__ = [
    "FLAG_MIDS",
    "callsign_for",
    "fishing_name",
    "imo_with_check_digit",
    "is_valid_imo",
    "merchant_name",
    "mmsi_for",
]

#: Maritime Identification Digits used per flag (ITU), the first three MMSI digits.
FLAG_MIDS: dict[str, tuple[int, ...]] = {
    "VNM": (574,),
    "USA": (366, 367, 368, 369, 338),
    "CHN": (412, 413, 414),
    "PHL": (548,),
    "SGP": (563, 564, 565, 566),
    "PAN": (351, 352, 353, 354, 355, 356, 357, 370, 371, 372, 373),
    "LBR": (636,),
    "MHL": (538,),
    "HKG": (477,),
    "MYS": (533,),
    "IDN": (525,),
    "THA": (567,),
}

_L = string.ascii_uppercase
_CALLSIGN_PATTERNS: dict[str, tuple[str, str]] = {
    # flag: (prefix, rest pattern: L letter, D digit)
    "VNM": ("XV", "LLD"),
    "USA": ("WD", "LDDDD"),
    "CHN": ("B", "LLLD"),
    "PHL": ("DU", "LLD"),
    "SGP": ("9V", "DDDD"),
    "PAN": ("3E", "LLD"),
    "LBR": ("D5", "LLDD"),
    "MHL": ("V7", "LLDD"),
    "HKG": ("VR", "LLD"),
    "MYS": ("9M", "LLD"),
    "IDN": ("PN", "LLL"),
    "THA": ("HS", "DDDD"),
}

_ADJECTIVES = (
    "PACIFIC",
    "ORIENT",
    "GOLDEN",
    "OCEAN",
    "ASIAN",
    "SILVER",
    "JADE",
    "CORAL",
    "EASTERN",
    "GRAND",
    "ROYAL",
    "BRIGHT",
    "GLOBAL",
    "LUCKY",
    "MORNING",
    "SOUTHERN",
    "NORDIC",
    "ATLANTIC",
    "CAPE",
    "STAR",
    "SEA",
    "BLUE",
    "GREAT",
    "NEW",
    "SUNNY",
    "EVER",
    "MAJESTIC",
    "NOBLE",
)
_NOUNS = (
    "PIONEER",
    "HARMONY",
    "GLORY",
    "PROSPERITY",
    "FORTUNE",
    "DRAGON",
    "PHOENIX",
    "PEARL",
    "VENTURE",
    "SPIRIT",
    "TRADER",
    "EXPRESS",
    "BRIDGE",
    "HORIZON",
    "VOYAGER",
    "MARINER",
    "LOTUS",
    "ORCHID",
    "JASMINE",
    "CROWN",
    "DIAMOND",
    "EAGLE",
    "FALCON",
    "BREEZE",
    "TIDE",
    "DAWN",
    "UNITY",
    "TRIUMPH",
    "SUMMIT",
    "LEGEND",
    "ACE",
    "BEACON",
)
_PINYIN = (
    "HAI",
    "YANG",
    "FENG",
    "SHUN",
    "DA",
    "TAI",
    "AN",
    "HUA",
    "KANG",
    "MING",
    "HONG",
    "CHANG",
    "XING",
    "FU",
    "JIN",
    "RONG",
)
_VIET = (
    "HAI AN",
    "PHUONG DONG",
    "VIET THUAN",
    "THANH CONG",
    "HOANG SON",
    "BINH MINH",
    "MINH KHANG",
    "HAI DUONG",
    "TRUONG AN",
    "DAI DUONG",
    "VINH PHAT",
    "QUANG MINH",
)
_MALAY = (
    "MANIS",
    "BAHAGIA",
    "MUTIARA",
    "PERMAI",
    "JAYA",
    "SETIA",
    "CAHAYA",
    "INDAH",
    "MEGAH",
    "SURIA",
    "AMAN",
    "BESTARI",
)
_VN_PROVINCES = ("BD", "QNG", "KH", "DNA", "BTH", "QB", "TTH", "BV", "KG", "CM", "TG", "PY")
_CN_FISHING = (
    "QIONG SAN YA",
    "QIONG DAN YU",
    "YUE YANG XI YU",
    "GUI BEI YU",
    "MIN SHI YU",
    "YUE DIAN YU",
    "QIONG WEN CHANG YU",
)


def imo_with_check_digit(first_six: int) -> int:
    """A 7-digit IMO number: six digits plus the check digit (weights 7..2, mod 10)."""
    digits = [int(c) for c in f"{first_six:06d}"]
    check = sum(d * w for d, w in zip(digits, range(7, 1, -1), strict=True)) % 10
    return first_six * 10 + check


def is_valid_imo(imo: int) -> bool:
    """True when ``imo`` has seven digits and a correct check digit."""
    return 1_000_000 <= imo <= 9_999_999 and imo_with_check_digit(imo // 10) == imo


def mmsi_for(flag: str, rng: np.random.Generator, taken: set[int]) -> int:
    """A ship-station MMSI (MID + six digits) of ``flag`` not yet in ``taken``."""
    mids = FLAG_MIDS[flag]
    while True:
        mmsi = int(mids[int(rng.integers(len(mids)))]) * 1_000_000 + int(
            rng.integers(100_000, 1_000_000)
        )
        if mmsi not in taken:
            taken.add(mmsi)
            return mmsi


def callsign_for(flag: str, rng: np.random.Generator) -> str:
    """A call sign in the flag's usual prefix and pattern."""
    prefix, pattern = _CALLSIGN_PATTERNS[flag]
    chars = [_L[int(rng.integers(26))] if p == "L" else str(int(rng.integers(10))) for p in pattern]
    return (prefix + "".join(chars))[:7]


def _pick(options: tuple[str, ...], rng: np.random.Generator) -> str:
    return options[int(rng.integers(len(options)))]


def merchant_name(flag: str, rng: np.random.Generator) -> str:
    """A merchant ship name in the style of the flag's fleets (at most 20 characters)."""
    style = float(rng.random())
    if flag == "CHN" and style < 0.7:
        name = f"XIN {_pick(_PINYIN, rng)} {_pick(_PINYIN, rng)} {int(rng.integers(1, 99))}"
    elif flag == "VNM":
        name = f"{_pick(_VIET, rng)} {int(rng.integers(1, 399))}"
    elif flag in ("MYS", "SGP", "IDN") and style < 0.5:
        name = f"KOTA {_pick(_MALAY, rng)}"
    elif flag == "HKG" and style < 0.5:
        name = f"{_pick(_PINYIN, rng)} {_pick(_PINYIN, rng)} {_pick(_NOUNS, rng)}"
    else:
        name = f"{_pick(_ADJECTIVES, rng)} {_pick(_NOUNS, rng)}"
        if style > 0.7:
            name += f" {_pick(('I', 'II', 'III', 'V', 'VII'), rng)}"
    return name[:20]


def fishing_name(flag: str, rng: np.random.Generator) -> str:
    """A fishing vessel name in the registration style of Vietnamese or Chinese boats."""
    if flag == "VNM":
        return f"{_pick(_VN_PROVINCES, rng)} {int(rng.integers(90000, 99999))} TS"
    return f"{_pick(_CN_FISHING, rng)} {int(rng.integers(10000, 99999))}"[:20]
