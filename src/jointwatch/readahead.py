"""Bulk ingest of file blocks on both cores: the next block is framed and decoded on a
worker thread while the current one is applied (picture, detectors, archive, store).

Why it pays: decoding is mostly compiled code that releases the GIL (``ais.kernels``), so
it overlaps the Python-heavy applying of the block before (about a quarter off the wall
time of a bulk load here; docs/performance.md). Why it stays exact: decoding changes
nothing durable; a block is journaled and counted only when it is applied, in file order
(``IngestService``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from jointwatch.ingest_counts import BatchResult, DecodedBlock
from jointwatch.journal_blocks import REPLAY_BATCH_LINES, iter_journal_blocks
from jointwatch.service import IngestService
from jointwatch.sources.files import LineBlock

__all__ = ["ingest_blocks", "replay_journal"]


def ingest_blocks(
    service: IngestService, blocks: Iterable[LineBlock]
) -> Iterator[tuple[LineBlock, BatchResult]]:
    """Ingest ``blocks`` in order, decoding one block ahead; yields each block with its
    result once it is applied.

    If iteration stops early (an error, or the caller stops), nothing after the last
    yielded block is journaled, counted or stored, but the pipeline has already seen the
    block decoded ahead: close the service then (as ``DirectSink`` does), rather than
    ingesting that block again into it, where its sentences would count as duplicates.
    """
    with ThreadPoolExecutor(1, thread_name_prefix="jw-decode") as pool:
        ahead: tuple[LineBlock, Future[DecodedBlock]] | None = None
        for block in blocks:
            future = pool.submit(service.decode_block, block.data, block.source, block.rx_time_s)
            if ahead is not None:
                yield ahead[0], service.apply_block(ahead[1].result())
            ahead = (block, future)
        if ahead is not None:
            yield ahead[0], service.apply_block(ahead[1].result())


def replay_journal(service: IngestService, root: Path) -> Iterator[tuple[LineBlock, BatchResult]]:
    """A journal's records (``journal_blocks``) through ``ingest_blocks``, on both cores:
    ``jointwatch replay``. Each block's ``bytes_read`` counts the journal read so far."""
    records = iter_journal_blocks(root, REPLAY_BATCH_LINES)
    blocks = (LineBlock(r.data, r.source, r.rx_time_s, r.bytes_read) for r in records)
    yield from ingest_blocks(service, blocks)
