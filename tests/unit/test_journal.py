"""The raw journal keeps every received line and reads back in order."""

from __future__ import annotations

from pathlib import Path

from jointwatch.journal import RawJournal, iter_journal, record_prefix


def test_journal_round_trips_lines_sources_and_times(tmp_path: Path) -> None:
    journal = RawJournal(tmp_path)
    journal.append([b"!AIVDM,1,1,,A,abc,0*00", b"second\r\n"], "rx\tone", 1_700_000_000.25)
    journal.append([b"third"], "udp:127.0.0.1:9", 1_700_000_000.5)
    journal.close()
    records = list(iter_journal(tmp_path))
    assert [r.source for r in records] == ["rx one", "udp:127.0.0.1:9"]
    assert records[0].lines == [b"!AIVDM,1,1,,A,abc,0*00", b"second"]
    assert records[0].rx_time_s == 1_700_000_000.25
    assert records[1].lines == [b"third"]


def test_journal_splits_files_by_utc_hour(tmp_path: Path) -> None:
    journal = RawJournal(tmp_path)
    journal.append([b"a"], "s", 1_700_000_000.0)  # 2023-11-14 22:13 UTC
    journal.append([b"b"], "s", 1_700_000_000.0 + 3600)
    journal.close()
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.glob("*/*.jnl"))
    assert files == ["2023-11-14/22.jnl", "2023-11-14/23.jnl"]
    assert [line for r in iter_journal(tmp_path) for line in r.lines] == [b"a", b"b"]


def test_checkpoint_records_the_archive_parts_it_covers(tmp_path: Path) -> None:
    from jointwatch.journal import JournalPosition, read_checkpoint_parts, write_checkpoint

    assert read_checkpoint_parts(tmp_path) == []
    write_checkpoint(tmp_path, JournalPosition("2025-01-01/00.jnl", 10), ["day=x/.part-a.tmp"])
    assert read_checkpoint_parts(tmp_path) == ["day=x/.part-a.tmp"]
    write_checkpoint(tmp_path, JournalPosition("2025-01-01/00.jnl", 20))
    assert read_checkpoint_parts(tmp_path) == []


def test_checkpoint_records_counters_and_reads_none_when_it_has_none(tmp_path: Path) -> None:
    from jointwatch.journal import JournalPosition, read_checkpoint_counters, write_checkpoint

    assert read_checkpoint_counters(tmp_path) is None
    write_checkpoint(tmp_path, JournalPosition("2025-01-01/00.jnl", 10))  # as before counters
    assert read_checkpoint_counters(tmp_path) is None
    counters = {"sentences_read": 7, "rejected.checksum": 2}
    write_checkpoint(tmp_path, JournalPosition("2025-01-01/00.jnl", 20), counters=counters)
    assert read_checkpoint_counters(tmp_path) == counters


def test_a_block_is_journaled_exactly_as_its_lines(tmp_path: Path) -> None:
    from jointwatch.ais.framing import block_records

    lines = [b"!AIVDM,1,1,,A,15MgK45P3@G?fl0E`JbR0OwT0@MS,0*4E", b"junk\tx", b"\\c:1*00\\!x"]
    block = b"\r\n".join(lines) + b"\n\n" + b"x" * 2000 + b"\n"  # CRLF, blank, too long
    by_lines, by_block = RawJournal(tmp_path / "a"), RawJournal(tmp_path / "b")
    by_lines.append(lines, "rx\t1", 1_700_000_000.5)
    records = block_records(block, record_prefix("rx\t1", 1_700_000_000.5))
    by_block.append_records(records, 1_700_000_000.5)
    assert bytes(records).count(b"\n") == 3
    files_a = sorted((tmp_path / "a").rglob("*.jnl"))
    files_b = sorted((tmp_path / "b").rglob("*.jnl"))
    assert [f.read_bytes() for f in files_a] == [f.read_bytes() for f in files_b]
