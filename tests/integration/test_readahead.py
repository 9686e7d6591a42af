"""Bulk ingest with the next block decoded on a worker thread (``readahead``) against the
same blocks ingested one by one: the same picture, archive, events and counters, and the
counters stay exact when the node dies with a block decoded but not yet applied.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from jointwatch import checkpoint as checkpoint_module
from jointwatch.ais import with_tag_block
from jointwatch.config import Settings
from jointwatch.exercise.fleet_corpus import fleet_sentences
from jointwatch.readahead import ingest_blocks
from jointwatch.service import IngestService
from jointwatch.sources import iter_file_blocks

BLOCK_BYTES = 64 * 1024  # about 800 lines a block: many blocks, checkpoints between them


def _capture(path: Path) -> Path:
    """A fleet's traffic as a receiver file: TAG-blocked first parts, glitches included."""
    with open(path, "w") as fh:
        for index, (second, sentence) in enumerate(
            fleet_sentences(12_000, seed=5, vessels=150, rate_per_s=40.0)
        ):
            if not sentence.startswith("!AIVDM,2,2"):
                sentence = with_tag_block(sentence, c=second, s=f"rx{index % 3}")
            fh.write(sentence + "\n")
    return path


def _settings(root: Path, db_url: str) -> Settings:
    # Checkpoints every 2,000 positions: several fall while a block is decoded ahead.
    return Settings(data_dir=root, database_url=db_url, archive_flush_rows=2_000)


def _state(service: IngestService) -> dict[str, Any]:
    stats = service.stats()
    stats.pop("archive_pending_rows")
    parts = sorted(service.archive.root.rglob("part-*.parquet"))
    rows = sorted(
        (r["mmsi"], r["time"], r["lat"], r["lon"])
        for part in parts
        for r in pq.read_table(part).to_pylist()
    )
    events = sorted((e["id"], e["kind"], e["start"], e["end"]) for e in service.events())
    vessels = {m: service.vessel(m) for m in sorted(service.picture.mmsis())}
    return {"stats": stats, "archive": rows, "events": events, "vessels": vessels}


def test_read_ahead_ingest_equals_block_by_block(db_url: str, tmp_path: Path) -> None:
    capture = _capture(tmp_path / "capture.nmea")
    reference_url = f"sqlite:///{tmp_path / 'reference.db'}"
    one_by_one = IngestService(_settings(tmp_path / "a", reference_url))
    for block in iter_file_blocks(capture, BLOCK_BYTES):
        one_by_one.ingest_block(block.data, block.source, block.rx_time_s)
    one_by_one.close()
    ahead = IngestService(_settings(tmp_path / "b", db_url))
    yielded = list(ingest_blocks(ahead, iter_file_blocks(capture, BLOCK_BYTES)))
    ahead.close()
    assert len(yielded) > 10
    assert sum(result.lines for _, result in yielded) == 12_000
    a = IngestService(_settings(tmp_path / "a", reference_url))
    b = IngestService(_settings(tmp_path / "b", db_url))
    try:
        state_a, state_b = _state(a), _state(b)
        assert state_a["stats"]["sentences_read"] == 12_000
        assert state_a["events"]  # the glitches raised spoofing events
        assert state_a == state_b
    finally:
        a.close()
        b.close()


class Killed(Exception):
    """Stands for kill -9 in the middle of a checkpoint."""


def _checkpoint_fails_at(
    monkeypatch: pytest.MonkeyPatch, call: int, error: BaseException
) -> Callable[[], int]:
    """Make the ``call``-th checkpoint record write raise ``error``; returns a call count."""
    real = checkpoint_module.write_checkpoint
    calls = 0

    def write(*args: Any, **kwargs: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == call:
            raise error
        real(*args, **kwargs)

    monkeypatch.setattr(checkpoint_module, "write_checkpoint", write)
    return lambda: calls


def _die_and_restart_exact(service: IngestService, settings: Settings, journaled: int) -> None:
    """Drop the service as kill -9 would, restart it, and check that recovery counted every
    journaled line once and archived every position once."""
    if service.journal is not None:
        service.journal.close()
    service.engine.dispose()
    restarted = IngestService(settings)
    try:
        stats = restarted.stats()
        assert stats["sentences_read"] == journaled
        assert stats["sentences_read"] == stats["sentences_ok"]
        archived = sum(
            pq.read_metadata(part).num_rows
            for part in restarted.archive.root.rglob("part-*.parquet")
        )
        assert archived + restarted.archive.pending_rows == stats["positions"]
    finally:
        restarted.close()


def test_a_kill_with_a_block_decoded_ahead_leaves_counters_exact(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    capture = _capture(tmp_path / "capture.nmea")
    settings = _settings(tmp_path / "node", db_url)
    service = IngestService(settings)
    _checkpoint_fails_at(monkeypatch, 3, Killed())
    blocks = list(iter_file_blocks(capture, BLOCK_BYTES))
    applied = 0
    with pytest.raises(Killed):
        for _ in ingest_blocks(service, blocks):
            applied += 1
    # The block being applied was journaled before the kill; the one decoded ahead was not.
    journaled = sum(block.data.count(b"\n") for block in blocks[: applied + 1])
    assert journaled < 12_000
    monkeypatch.undo()
    _die_and_restart_exact(service, settings, journaled)


def test_a_checkpoint_failing_in_the_background_is_raised_and_loses_nothing(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    capture = _capture(tmp_path / "capture.nmea")
    settings = _settings(tmp_path / "node", db_url)
    service = IngestService(settings)
    calls = _checkpoint_fails_at(monkeypatch, 1, OSError("no space left on device"))
    blocks = list(iter_file_blocks(capture, BLOCK_BYTES))
    raised_at = None
    for index, block in enumerate(blocks):
        try:
            service.ingest_block(block.data, block.source, block.rx_time_s)
        except OSError:
            raised_at = index  # the failure surfaces in the next call that checkpoints
            break
    assert raised_at is not None and calls() == 1
    journaled = sum(block.data.count(b"\n") for block in blocks[: raised_at + 1])
    monkeypatch.undo()
    _die_and_restart_exact(service, settings, journaled)


def test_bulk_ingest_holds_no_events_for_a_hub(tmp_path: Path) -> None:
    """Only a running node's hub drains ``take_events``/``take_changed``: without one, a
    big file's events piled up in memory (200 MB for a 10 GB file). Stored events are the
    same either way."""
    capture = _capture(tmp_path / "capture.nmea")
    stored = []
    for name, publish in (("bulk", False), ("node", True)):
        service = IngestService(
            _settings(tmp_path / name, f"sqlite:///{tmp_path / name}.db"), publish=publish
        )
        try:
            for _ in ingest_blocks(service, iter_file_blocks(capture, BLOCK_BYTES)):
                pass
            events, changed = service.take_events(), service.take_changed()
            if publish:
                assert events and len(changed) > 100
                assert {e["id"] for e in events} == {e["id"] for e in service.events()}
            else:
                assert events == [] and changed == set()
            stored.append(sorted((e["id"], e["kind"], e["end"]) for e in service.events()))
        finally:
            service.close()
    assert stored[0] and stored[0] == stored[1]
