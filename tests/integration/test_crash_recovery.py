"""SECURITY.md D1 in small: kill -9 a node while it ingests, restart, and lose nothing.

Every line a node journaled must end up in the archive exactly once after restarts, however
the kills fall relative to the node's checkpoints.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from jointwatch.journal import iter_journal
from tests.integration.conftest import NodeProcess
from tests.integration.test_node import NOW, position, send_tcp

pytestmark = pytest.mark.slow


def _archived(node: NodeProcess) -> tuple[int, int]:
    root = node.data_dir / "archive" / "positions"
    table = ds.dataset(root, format="parquet", partitioning="hive").to_table(
        columns=["mmsi", "time"]
    )
    unique = table.group_by(["mmsi", "time"]).aggregate([]).num_rows
    return table.num_rows, unique


def _journaled(node: NodeProcess) -> int:
    return sum(len(r.lines) for r in iter_journal(node.data_dir / "journal"))


def test_kill_9_during_ingest_loses_no_journaled_line_and_duplicates_none(
    node: NodeProcess, tmp_path: Path
) -> None:
    rng = random.Random(20261125)
    node.stop()
    node.env_extra = {
        **node.env_extra,
        "JOINTWATCH_ARCHIVE_FLUSH_S": "0.7",
        "JOINTWATCH_STATE_FLUSH_S": "0.3",
    }
    node.start()
    batches = [
        [
            position(574100000 + v, 5 + b * 0.01, 105 + v * 0.001, NOW - 20_000 + b * 60 + v % 60)
            for v in range(400)
        ]
        for b in range(24)
    ]
    kills = 0
    for index, batch in enumerate(batches):
        send_tcp(node.tcp_port, batch)
        if index % 4 == 3:
            time.sleep(rng.uniform(0.0, 1.2))  # sometimes before, sometimes after a checkpoint
            node.kill()
            kills += 1
            node.start()
    node.wait_for(lambda s: s["sentences_read"] >= _journaled(node))
    node.stop()  # a clean stop writes the last checkpoint
    journaled = _journaled(node)
    rows, unique = _archived(node)
    print(f"kills={kills} journaled={journaled} archived={rows} unique={unique}")
    assert kills == 6
    assert journaled > 0
    assert rows == unique, "a journaled line was archived twice"
    assert rows == journaled, "a journaled line never reached the archive"
