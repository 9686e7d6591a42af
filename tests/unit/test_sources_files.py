"""Files and line splitting: gzip by magic, the 1 KiB cap, streaming, batching."""

from __future__ import annotations

import asyncio
import gzip
from pathlib import Path

from jointwatch.sources import MAX_LINE_BYTES, SourceStats, iter_file_batches, open_source
from jointwatch.sources.lines import LineSplitter, split_datagram

LINE = b"\\c:1700000000,s:rx-test*5A\\!AIVDM,1,1,,A,15MgK45P3@G?fl0E`JbR0OwT0@MS,0*4E"


def _lines(n: int) -> list[bytes]:
    return [LINE + b" %d" % i for i in range(n)]


def test_gzip_is_detected_by_magic_bytes_not_name(tmp_path: Path) -> None:
    lines = _lines(100)
    disguised = tmp_path / "capture.nmea"
    disguised.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    plain_gz = tmp_path / "not-really.gz"
    plain_gz.write_bytes(b"\r\n".join(lines))
    for path in (disguised, plain_gz):
        got = [line for batch in iter_file_batches(path, 30) for line in batch.lines]
        assert got == lines


def test_batches_report_bytes_read_on_disk_for_progress(tmp_path: Path) -> None:
    path = tmp_path / "big.gz"
    path.write_bytes(gzip.compress(b"\n".join(_lines(50_000)) + b"\n", compresslevel=1))
    seen: list[int] = []
    batches = list(iter_file_batches(path, 5000, chunk_bytes=64 * 1024, on_progress=seen.append))
    assert sum(len(b.lines) for b in batches) == 50_000
    assert all(len(b.lines) == 5000 for b in batches)
    assert seen == sorted(seen) and seen[-1] == path.stat().st_size
    assert batches[-1].bytes_read == path.stat().st_size
    assert {b.source for b in batches} == {"big.gz"}


def test_lines_over_1_kib_are_dropped_and_counted_without_buffering(tmp_path: Path) -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"A" * 600) == []
    assert splitter.feed(b"A" * 600) == []  # now over the cap: discarded, not kept
    assert splitter.feed(b"B" * 5000) == []
    assert splitter.feed(b"tail\nok1\n" + b"C" * (MAX_LINE_BYTES + 1) + b"\nok2\r\n") == [
        b"ok1",
        b"ok2",
    ]
    assert splitter.dropped_too_long == 2
    assert len(splitter._partial) == 0
    exactly = b"D" * MAX_LINE_BYTES
    assert splitter.feed(exactly + b"\n") == [exactly]

    path = tmp_path / "hostile.txt"
    path.write_bytes(b"good1\n" + b"X" * 10_000 + b"\ngood2\n\n\ngood3")
    stats = SourceStats()
    got = [ln for b in iter_file_batches(path, 10, stats=stats, chunk_bytes=1000) for ln in b.lines]
    assert got == [b"good1", b"good2", b"good3"]
    assert stats.dropped_too_long == 1 and stats.lines == 3


def test_datagram_end_ends_its_last_line() -> None:
    lines, too_long = split_datagram(b"a\nb\r\nc")
    assert (lines, too_long) == ([b"a", b"b", b"c"], 0)


async def test_open_source_streams_a_file_in_batches(tmp_path: Path) -> None:
    path = tmp_path / "day.nmea.gz"
    lines = _lines(12_345)
    path.write_bytes(gzip.compress(b"\n".join(lines)))
    source = open_source(str(path), batch_lines=1000)
    batches = [batch async for batch in source]
    assert [ln for b in batches for ln in b.lines] == lines
    assert max(len(b.lines) for b in batches) == 1000
    assert source.stats.lines == 12_345 and source.stats.connections == 1
    assert batches[-1].bytes_read == path.stat().st_size


async def test_open_source_stops_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"\n".join(_lines(10)))
    stop = asyncio.Event()
    stop.set()
    async with open_source(str(path), stop=stop) as source:
        got = [b async for b in source]
    assert sum(len(b.lines) for b in got) <= 10


def _block_lines(path: Path, block_bytes: int, stats: SourceStats | None = None) -> list[bytes]:
    """The lines of every block, as the block path reads them (via the journal's view)."""
    from jointwatch.ais.framing import block_records
    from jointwatch.sources import iter_file_blocks

    out: list[bytes] = []
    for block in iter_file_blocks(path, block_bytes, stats=stats):
        lines = bytes(block_records(block.data, b"")).split(b"\n")[:-1]
        out.extend(lines)
    return out


def test_blocks_hold_the_same_lines_as_batches_whatever_the_block_size(tmp_path: Path) -> None:
    # CRLF, blank lines, a last line without a newline; gzip and plain.
    text = b"\r\n".join(_lines(50)) + b"\n\n\n" + b"\n".join(_lines(7)) + b"\nlast"
    plain = tmp_path / "plain.nmea"
    plain.write_bytes(text)
    packed = tmp_path / "packed.nmea"
    packed.write_bytes(gzip.compress(text))
    for path in (plain, packed):
        want = [line for batch in iter_file_batches(path, 13) for line in batch.lines]
        for block_bytes in (1, 7, 100, 4096, 1 << 20):
            assert _block_lines(path, block_bytes) == want, (path.name, block_bytes)


def test_unfinished_long_lines_in_blocks_are_dropped_and_counted(tmp_path: Path) -> None:
    from jointwatch.sources import iter_file_blocks

    huge = b"x" * (5 * MAX_LINE_BYTES)
    path = tmp_path / "long.nmea"
    path.write_bytes(LINE + b"\n" + huge + b"\n" + LINE + b" 2\n" + huge)
    stats = SourceStats()
    got = _block_lines(path, 256, stats)
    assert got == [LINE, LINE + b" 2"]
    assert stats.dropped_too_long == 2
    # Never more than a block plus one line held: no block is larger than that.
    sizes = [len(block.data) for block in iter_file_blocks(path, 256)]
    assert max(sizes) <= 256 + MAX_LINE_BYTES
