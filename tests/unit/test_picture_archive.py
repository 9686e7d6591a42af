"""PositionArchive: Parquet by UTC day, tracks, restart and compaction."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from jointwatch.picture.archive import PositionArchive
from jointwatch.picture.schema import POSITION_SCHEMA

MIDNIGHT = datetime(2025, 3, 2, 0, 0, tzinfo=UTC)
MMSI = 574000001


def positions(*rows: dict[str, Any]) -> pa.Table:
    base = {
        "mmsi": MMSI,
        "lat": 10.0,
        "lon": 107.0,
        "sog_kn": 10.0,
        "cog_deg": 90.0,
        "heading_deg": 90,
        "nav_status": 0,
        "msg_type": 1,
        "source": "rx1",
    }
    return pa.Table.from_pylist([{**base, **row} for row in rows], schema=POSITION_SCHEMA)


def minutes(*offsets: int, mmsi: int = MMSI) -> pa.Table:
    """One position per offset (minutes from midnight), latitude rising with time."""
    return positions(
        *[
            {"mmsi": mmsi, "time": MIDNIGHT + timedelta(minutes=m), "lat": 10 + m / 100}
            for m in offsets
        ]
    )


def test_flush_writes_one_partition_per_utc_day(tmp_path: Path) -> None:
    archive = PositionArchive(tmp_path)
    archive.append(minutes(-30, -10, 10, 30))
    assert archive.flush() == 4
    assert archive.days() == [date(2025, 3, 1), date(2025, 3, 2)]
    for day in ("2025-03-01", "2025-03-02"):
        assert len(list((tmp_path / f"day={day}").glob("part-*.parquet"))) == 1
    assert not list(tmp_path.rglob(".*"))  # no temporary files left behind
    assert archive.pending_rows == 0


def test_track_spans_two_days_sorted_by_time(tmp_path: Path) -> None:
    archive = PositionArchive(tmp_path)
    archive.append(minutes(30, -30, 10, -10))
    archive.append(minutes(0, mmsi=366000001))
    archive.flush()
    track = archive.track(MMSI, MIDNIGHT - timedelta(hours=1), MIDNIGHT + timedelta(hours=1))
    assert track.schema == POSITION_SCHEMA
    expected = [MIDNIGHT + timedelta(minutes=m) for m in (-30, -10, 10, 30)]
    assert track.column("time").to_pylist() == expected
    assert set(track.column("mmsi").to_pylist()) == {MMSI}


def test_track_respects_the_time_window_inclusively(tmp_path: Path) -> None:
    archive = PositionArchive(tmp_path)
    archive.append(minutes(-30, -10, 10, 30))
    archive.flush()
    track = archive.track(MMSI, MIDNIGHT - timedelta(minutes=10), MIDNIGHT + timedelta(minutes=10))
    assert len(track) == 2


def test_track_includes_the_unflushed_buffer(tmp_path: Path) -> None:
    archive = PositionArchive(tmp_path)
    archive.append(minutes(-10))
    archive.flush()
    archive.append(minutes(10))
    assert archive.pending_rows == 1
    track = archive.track(MMSI, MIDNIGHT - timedelta(hours=1), MIDNIGHT + timedelta(hours=1))
    assert len(track) == 2
    assert archive.count() == 2


def test_identical_positions_appear_once_in_a_track(tmp_path: Path) -> None:
    archive = PositionArchive(tmp_path)
    archive.append(minutes(5))
    archive.flush()
    archive.append(minutes(5))  # heard again by a second receiver
    track = archive.track(MMSI, MIDNIGHT, MIDNIGHT + timedelta(hours=1))
    assert len(track) == 1


def test_naive_query_times_are_taken_as_utc(tmp_path: Path) -> None:
    archive = PositionArchive(tmp_path)
    archive.append(minutes(5))
    naive = MIDNIGHT.replace(tzinfo=None)
    assert len(archive.track(MMSI, naive, naive + timedelta(hours=1))) == 1


def test_reaching_flush_rows_flushes_automatically(tmp_path: Path) -> None:
    archive = PositionArchive(tmp_path, flush_rows=3)
    archive.append(minutes(1, 2))
    assert archive.pending_rows == 2
    archive.append(minutes(3))
    assert archive.pending_rows == 0
    assert archive.count() == 3


def test_restarted_archive_on_the_same_root_returns_the_data(tmp_path: Path) -> None:
    first = PositionArchive(tmp_path)
    first.append(minutes(-10, 10))
    first.flush()
    del first
    second = PositionArchive(tmp_path)
    track = second.track(MMSI, MIDNIGHT - timedelta(hours=1), MIDNIGHT + timedelta(hours=1))
    assert len(track) == 2
    assert second.count() == 2


def test_compaction_merges_a_days_files_and_preserves_rows(tmp_path: Path) -> None:
    archive = PositionArchive(tmp_path)
    for offset in range(5):
        archive.append(minutes(offset, 100 + offset))
        archive.append(minutes(offset, mmsi=366000001))
        archive.flush()
    day_dir = tmp_path / "day=2025-03-02"
    before = archive.track(MMSI, MIDNIGHT, MIDNIGHT + timedelta(days=1))
    assert len(list(day_dir.glob("part-*.parquet"))) == 5

    assert archive.compact("2025-03-02") == 5
    assert len(list(day_dir.glob("part-*.parquet"))) == 1
    assert archive.count() == 15
    assert archive.track(MMSI, MIDNIGHT, MIDNIGHT + timedelta(days=1)).equals(before)
    assert archive.compact(date(2025, 3, 2)) == 0  # nothing left to merge


def test_tracks_stay_complete_while_another_thread_appends_and_compacts(tmp_path: Path) -> None:
    archive = PositionArchive(tmp_path, flush_rows=2)
    archive.append(minutes(0, 1))  # flushed: two rows the reader must always see
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for offset in range(2, 60):
                archive.append(minutes(offset, mmsi=366000001))
                if offset % 10 == 0:
                    archive.compact(date(2025, 3, 2))
        except BaseException as exc:
            errors.append(exc)
        finally:
            stop.set()

    thread = threading.Thread(target=writer)
    thread.start()
    lengths = []
    while not stop.is_set():
        lengths.append(len(archive.track(MMSI, MIDNIGHT, MIDNIGHT + timedelta(hours=2))))
    thread.join()
    assert errors == []
    assert set(lengths) <= {2}


def test_prepared_parts_are_invisible_until_published(tmp_path: Path) -> None:
    archive = PositionArchive(tmp_path)
    archive.append(minutes(1, 2, 60 * 24 + 5))  # two days

    prepared = archive.prepare()

    assert len(prepared) == 2 and archive.buffered_rows == 0
    assert archive.pending_rows == 3 and archive.count() == 3  # still read from memory
    assert len(archive.track(MMSI, MIDNIGHT, MIDNIGHT + timedelta(days=2))) == 3
    assert PositionArchive(tmp_path).count() == 0  # another reader sees nothing yet
    archive.publish(prepared)
    assert archive.pending_rows == 0 and archive.count() == 3
    assert PositionArchive(tmp_path).count() == 3
    assert len(archive.track(MMSI, MIDNIGHT, MIDNIGHT + timedelta(days=2))) == 3


def test_recover_publishes_named_parts_and_deletes_the_others(tmp_path: Path) -> None:
    # A kill after the checkpoint named the parts: they are finished. A kill before it:
    # the journal replays their rows, so the parts must go.
    archive = PositionArchive(tmp_path)
    archive.append(minutes(1, 2))
    named = archive.prepare()
    archive.append(minutes(3, 4, 5))
    orphan = archive.prepare()

    reopened = PositionArchive(tmp_path)
    published, deleted = reopened.recover(archive.relative(named))

    assert (published, deleted) == (1, 1)
    assert reopened.count() == 2
    assert not any(path.exists() for path in orphan)
    assert reopened.recover(archive.relative(named)) == (0, 0)  # idempotent


def test_a_part_holds_its_rows_by_vessel_then_time_ties_in_arrival_order(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    archive = PositionArchive(tmp_path)
    archive.append(minutes(30, 5, mmsi=MMSI + 1))
    archive.append(minutes(20, 5, 5, mmsi=MMSI))
    archive.append(positions({"time": MIDNIGHT + timedelta(minutes=5), "lat": 11.5}))
    archive.flush()
    (part,) = tmp_path.rglob("part-*.parquet")
    rows = pq.read_table(part).to_pylist()
    keys = [(r["mmsi"], r["time"].minute, r["lat"]) for r in rows]
    assert keys == [
        (MMSI, 5, 10.05),
        (MMSI, 5, 10.05),
        (MMSI, 5, 11.5),  # same vessel and time: after the rows that came before it
        (MMSI, 20, 10.2),
        (MMSI + 1, 5, 10.05),
        (MMSI + 1, 30, 10.3),
    ]


def test_rows_being_written_stay_readable_and_are_counted_once(tmp_path: Path) -> None:
    # A checkpoint writes what it took on another thread while ingest appends: at every
    # step a reader sees each row exactly once.
    archive = PositionArchive(tmp_path)
    archive.append(minutes(1, 2, 3))
    window = (MMSI, MIDNIGHT, MIDNIGHT + timedelta(hours=1))

    taken = archive.take()
    archive.append(minutes(4))
    assert archive.buffered_rows == 1 and archive.pending_rows == 4
    assert archive.count() == 4 and len(archive.track(*window)) == 4
    hidden = archive.write_taken(taken)
    assert archive.count() == 4 and len(archive.track(*window)) == 4
    archive.publish(hidden)
    assert archive.pending_rows == 1 and archive.count() == 4
    assert len(archive.track(*window)) == 4
    assert PositionArchive(tmp_path).count() == 3  # on disk: what was published


def test_a_take_that_fails_to_write_goes_back_to_the_front_of_the_buffer(
    tmp_path: Path, monkeypatch: Any
) -> None:
    import pytest

    archive = PositionArchive(tmp_path)
    archive.append(minutes(1, 2))
    taken = archive.take()
    archive.append(minutes(3))

    def disk_full(*args: Any) -> Path:
        raise OSError("no space left on device")

    monkeypatch.setattr(archive, "_write_hidden", disk_full)
    with pytest.raises(OSError):
        archive.write_taken(taken)
    monkeypatch.undo()
    assert archive.pending_rows == 3 and archive.buffered_rows == 3
    assert archive.flush() == 3
    track = archive.track(MMSI, MIDNIGHT, MIDNIGHT + timedelta(hours=1))
    assert [t.minute for t in track.column("time").to_pylist()] == [1, 2, 3]
