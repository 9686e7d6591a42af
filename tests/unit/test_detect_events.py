"""Detector events: the time text and the stable id that the store and the API key on."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from jointwatch.detect.events import Event, iso_us


def _reference_iso(us: int) -> str:
    """The definition: the instant ``us / 1e6`` seconds after the epoch, to the second."""
    return datetime.fromtimestamp(us / 1e6, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


SECOND = 1_000_000
EDGES = [
    0,
    1,
    -1,
    SECOND - 1,
    -SECOND + 1,
    1_764_000_000 * SECOND - 1,
    1_764_000_000 * SECOND,
    1_764_000_000 * SECOND + 999_999,
    (2**31 - 1) * SECOND + 999_999,  # the last second served from the cache
    2**31 * SECOND,
    -(2**31 - 1) * SECOND,
    -(2**31) * SECOND - 1,
    253_402_300_000 * SECOND + 999_999,  # late in the year 9999
]


def test_iso_us_matches_its_definition_at_the_edges() -> None:
    for us in EDGES:
        assert iso_us(us) == _reference_iso(us), us
    assert iso_us(None) is None


@given(st.integers(min_value=-62_135_596_800 * SECOND, max_value=253_402_300_000 * SECOND))
def test_iso_us_matches_its_definition_anywhere(us: int) -> None:
    assert iso_us(us) == _reference_iso(us)


@given(st.integers(min_value=0, max_value=4_000_000_000 * SECOND))
def test_iso_us_matches_its_definition_near_now(us: int) -> None:
    assert iso_us(us) == _reference_iso(us)


def test_iso_us_of_a_float_keeps_the_float_rounding() -> None:
    us = 1_764_000_000_999_999.75  # rounds up into the next second
    assert iso_us(us) == _reference_iso(us)  # type: ignore[arg-type]


def test_event_id_follows_every_change_of_its_key() -> None:
    event = Event("spoofing", 563_000_001, 1_764_000_000 * SECOND, 10.0, 110.0)
    event.details = {"reason": "speed", "n_reports": 1}
    first = event.id
    assert event.id == first
    event.end_us, event.details["n_reports"] = 1_764_000_100 * SECOND, 7
    assert event.id == first  # end and counts are not part of the identity
    changes = [
        ("start_us", 1_764_000_001 * SECOND),
        ("mmsi", 563_000_002),
        ("other_mmsi", 412_000_001),
        ("zone", "ALPHA"),
        ("kind", "approach"),
    ]
    seen = {first}
    for name, value in changes:
        setattr(event, name, value)
        fresh = Event(event.kind, event.mmsi, event.start_us, 0.0, 0.0)
        fresh.other_mmsi, fresh.zone, fresh.details = event.other_mmsi, event.zone, event.details
        assert event.id == fresh.id, name
        assert event.id not in seen, name
        seen.add(event.id)
    event.details["reason"] = "on_land"
    assert event.id not in seen
    event.details = {"reason": "speed"}
    assert event.to_json()["id"] == event.id


def test_event_id_is_the_digest_of_its_identity() -> None:
    """Stored events are keyed on the id across restarts and versions: it stays this digest."""
    import hashlib

    event = Event("zone_entry", 563_000_001, 1_764_000_000 * SECOND, 10.0, 110.0)
    event.zone = "ALPHA"
    key = f"zone_entry|563000001|None|ALPHA||{1_764_000_000 * SECOND}"
    assert event.id == hashlib.blake2s(key.encode(), digest_size=10).hexdigest()
    event.details = {"reason": "speed"}
    key = f"zone_entry|563000001|None|ALPHA|speed|{1_764_000_000 * SECOND}"
    assert event.id == hashlib.blake2s(key.encode(), digest_size=10).hexdigest()


def test_merge_takes_maxima_adds_counts_and_keeps_the_rest() -> None:
    held = Event("spoofing", 563_000_001, SECOND, 10.0, 110.0, end_us=2 * SECOND)
    held.details = {"reason": "speed", "n_reports": 2, "max_speed_kn": 40.0}
    later = Event("spoofing", 563_000_001, SECOND, 11.0, 111.0, end_us=5 * SECOND)
    later.details = {"reason": "other", "n_reports": 3, "max_speed_kn": 35.0, "note": "x"}
    held.merge(later, replace=False)
    assert held.end_us == 5 * SECOND
    assert held.details == {"reason": "speed", "n_reports": 5, "max_speed_kn": 40.0, "note": "x"}
    held.merge(later, replace=True)
    assert held.details == later.details and held.details is not later.details
