"""CheckpointWriter on real SQLite and a real archive: Parquet parts are written beside the
row upserts, and whichever fails, no checkpoint record names anything and no rows are lost.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jointwatch.checkpoint import Checkpoint, CheckpointWriter
from jointwatch.journal import JournalPosition, read_checkpoint, read_checkpoint_parts
from jointwatch.picture.archive import PositionArchive
from jointwatch.picture.schema import POSITION_SCHEMA
from jointwatch.store import CounterRepository, VesselRepository, make_engine, migrate
from jointwatch.store.repositories import EventRepository

START = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
MMSIS = (574000001, 574000002, 574000003)


class Node:
    """What a node's service hands its checkpoint writer, on a temporary directory."""

    def __init__(self, root: Path) -> None:
        engine = make_engine(f"sqlite:///{root / 'node.db'}")
        migrate(engine)
        self.vessels = VesselRepository(engine)
        self.archive = PositionArchive(root / "archive")
        self.journal = root / "journal"
        self.journal.mkdir()
        self.writer = CheckpointWriter(
            self.archive,
            self.vessels,
            EventRepository(engine),
            CounterRepository(engine),
            self.journal,
        )

    def checkpoint(self) -> Checkpoint:
        """Take a buffer of positions and the vessel rows they changed, as the service does."""
        rows = [
            {
                "mmsi": m,
                "time": START + timedelta(seconds=10 * i),
                "lat": 10.0,
                "lon": 107.0,
                "msg_type": 1,
            }
            for i in range(4)
            for m in MMSIS
        ]
        self.archive.append(pa.Table.from_pylist(rows, schema=POSITION_SCHEMA))
        vessels = [{"mmsi": m, "lat": 10.0, "lon": 107.0, "last_seen": START} for m in MMSIS]
        return Checkpoint(
            JournalPosition("2026-03-02/06.jnl", 1234),
            self.archive.take(),
            vessels,  # type: ignore[arg-type]  # a plain row sequence, as repositories take
            [],
            {"sentences_read": 12},
        )

    def visible_parts(self) -> list[Path]:
        return sorted(self.archive.root.glob("day=*/part-*.parquet"))

    def hidden_parts(self) -> list[Path]:
        return sorted(self.archive.root.glob("day=*/.part-*"))


@pytest.fixture
def node(tmp_path: Path) -> Any:
    node = Node(tmp_path)
    yield node
    node.writer.close()


def test_parts_and_rows_are_both_written_before_the_checkpoint_names_the_part(node: Node) -> None:
    node.writer.write(node.checkpoint(), background=True)
    node.writer.wait()
    assert [v["mmsi"] for v in node.vessels.load_all()] == list(MMSIS)
    (part,) = node.visible_parts()
    assert pq.read_table(part).num_rows == 12
    assert read_checkpoint(node.journal) == JournalPosition("2026-03-02/06.jnl", 1234)
    # The record names the part as it was when written, hidden; publishing renamed it.
    hidden = part.with_name(f".{part.name}.tmp").relative_to(node.archive.root).as_posix()
    assert read_checkpoint_parts(node.journal) == [hidden]


def test_a_failed_part_write_keeps_its_rows_and_records_no_checkpoint(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(*_: Any) -> Path:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(node.archive, "_write_hidden", full_disk)
    node.writer.write(node.checkpoint(), background=True)
    with pytest.raises(OSError, match="No space left"):
        node.writer.wait()
    # The rows went in beside the failed write: ahead of the checkpoint, which replay allows
    # because upserts are idempotent. The positions wait in the buffer for the next try.
    assert [v["mmsi"] for v in node.vessels.load_all()] == list(MMSIS)
    assert read_checkpoint(node.journal) is None
    assert node.archive.buffered_rows == 12
    assert node.visible_parts() == node.hidden_parts() == []


def test_an_inline_row_failure_is_raised_after_the_part_is_finished(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    def locked(*_: Any) -> int:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(node.vessels, "upsert", locked)
    with pytest.raises(RuntimeError, match="locked"):
        node.writer.write(node.checkpoint(), background=False)
    # The part was written to the end (never left running) but not named or published:
    # recovery removes such a part, and its rows are in the journal after the checkpoint.
    assert len(node.hidden_parts()) == 1
    assert node.visible_parts() == []
    assert read_checkpoint(node.journal) is None
