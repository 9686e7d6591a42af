"""Ingest counters stay exact when a node dies in the middle of a checkpoint.

A checkpoint writes the counters to the database and the journal position to
``checkpoint.json``; recovery replays and counts the journal after that position. A kill
between the two writes must not make recovery count the replayed lines twice (or never).
The kill is simulated by raising at each write, before or after it is done, and abandoning
the service without a clean close.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jointwatch import checkpoint as checkpoint_module
from jointwatch.config import Settings
from jointwatch.journal import CHECKPOINT
from jointwatch.service import IngestService
from jointwatch.store import CounterRepository
from tests.integration.test_node import NOW, position

EXACT = ("sentences_read", "sentences_ok", "decoded", "positions")


class Killed(Exception):
    """Stands for kill -9 at one point of a checkpoint."""


def _lines(first: int, count: int) -> list[bytes]:
    return [
        position(574200000 + i, 5 + i * 0.001, 105 + i * 0.001, NOW - 5_000 + i).encode()
        for i in range(first, first + count)
    ]


def _settings(tmp_path: Path, db_url: str, *, journal: bool = True) -> Settings:
    return Settings(data_dir=tmp_path / "node", database_url=db_url, detect=False, journal=journal)


def _abandon(service: IngestService) -> None:
    """Drop a service as kill -9 would: no flush, no checkpoint, only handles released."""
    if service.journal is not None:
        service.journal.close()
    service.engine.dispose()


def _counts(service: IngestService) -> dict[str, int]:
    stats = service.stats()
    return {name: stats[name] for name in EXACT}


def _killing(real: Callable[..., Any], *, after: bool) -> Callable[..., Any]:
    def step(*args: Any, **kwargs: Any) -> None:
        if after:
            real(*args, **kwargs)
        raise Killed

    return step


@pytest.mark.parametrize("after", [False, True], ids=["before", "after"])
@pytest.mark.parametrize("step", ["checkpoint-file", "db-counters"])
def test_a_kill_at_any_checkpoint_step_leaves_counters_exact(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str, after: bool
) -> None:
    settings = _settings(tmp_path, db_url)
    service = IngestService(settings)
    service.ingest_lines(_lines(0, 30), "rx")
    service.flush(force_archive=True)  # a clean checkpoint: counters and position agree
    service.ingest_lines(_lines(30, 20), "rx")
    with monkeypatch.context() as patch:
        if step == "checkpoint-file":
            real = checkpoint_module.write_checkpoint
            patch.setattr(checkpoint_module, "write_checkpoint", _killing(real, after=after))
        else:
            patch.setattr(
                service.counter_repo, "save", _killing(service.counter_repo.save, after=after)
            )
        with pytest.raises(Killed):
            service.flush(force_archive=True)
    _abandon(service)

    restarted = IngestService(settings)
    try:
        assert _counts(restarted) == dict.fromkeys(EXACT, 50)
        # The database copy other tools read is brought up to date by recovery.
        stored = CounterRepository(restarted.engine).load()
        assert {name: stored[name] for name in EXACT} == dict.fromkeys(EXACT, 50)
    finally:
        restarted.close()
    again = IngestService(settings)  # and a clean restart changes nothing
    try:
        assert _counts(again) == dict.fromkeys(EXACT, 50)
    finally:
        again.close()


def test_a_checkpoint_without_counters_falls_back_to_the_database(
    db_url: str, tmp_path: Path
) -> None:
    settings = _settings(tmp_path, db_url)
    service = IngestService(settings)
    service.ingest_lines(_lines(0, 25), "rx")
    service.close()
    checkpoint = settings.data_dir / "journal" / CHECKPOINT
    record = json.loads(checkpoint.read_text())
    assert record.pop("counters")["sentences_read"] == 25
    checkpoint.write_text(json.dumps(record))  # as written before checkpoints held counters

    restarted = IngestService(settings)
    try:
        assert _counts(restarted) == dict.fromkeys(EXACT, 25)
    finally:
        restarted.close()


def test_a_node_without_journal_keeps_its_counters_in_the_database(
    db_url: str, tmp_path: Path
) -> None:
    settings = _settings(tmp_path, db_url, journal=False)
    for first in (0, 10):
        service = IngestService(settings)
        service.ingest_lines(_lines(first, 10), "rx")
        service.close()
    assert not (settings.data_dir / "journal").exists()
    restarted = IngestService(settings)
    try:
        assert _counts(restarted) == dict.fromkeys(EXACT, 20)
    finally:
        restarted.close()
