"""Capture files, plain or gzip, read in fixed-size chunks.

Why chunks: a day of global AIS is tens of GB; reading in 1 MiB chunks keeps memory flat
whatever the file size. Gzip is recognised by its magic bytes, because captures are often
renamed (``.nmea`` files that are really gzip, ``.gz`` files that are not).
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

from jointwatch.errors import SourceError
from jointwatch.sources.lines import MAX_LINE_BYTES, LineBatch, LineSplitter, SourceStats

__all__ = [
    "BLOCK_BYTES",
    "CHUNK_BYTES",
    "GZIP_MAGIC",
    "FileReader",
    "LineBlock",
    "is_gzip",
    "iter_file_batches",
    "iter_file_blocks",
]

GZIP_MAGIC = b"\x1f\x8b"
CHUNK_BYTES = 1 << 20
BLOCK_BYTES = 4 << 20  # about 55,000 sentences: large enough that per-block costs vanish


@dataclass(frozen=True)
class LineBlock:
    """Whole lines of a file as one bytes object (it ends at a line end, or at the end of
    the file), for the pipeline's block path: no Python object per line.

    ``bytes_read`` is the position in the file on disk (compressed bytes for gzip).
    """

    data: bytes
    source: str
    rx_time_s: float
    bytes_read: int


def is_gzip(path: Path) -> bool:
    """True when the file starts with the gzip magic bytes, whatever its name."""
    with open(path, "rb") as raw:
        return raw.read(2) == GZIP_MAGIC


class FileReader:
    """Reads decompressed chunks of a file and knows how far it is in the file on disk."""

    def __init__(self, path: Path) -> None:
        try:
            self._raw: BinaryIO = open(path, "rb")  # noqa: SIM115 - closed in close()
        except OSError as exc:
            raise SourceError(f"cannot open {path}: {exc.strerror or exc}") from exc
        self.path = path
        self.gzip = self._raw.read(2) == GZIP_MAGIC
        self._raw.seek(0)
        self._stream: IO[bytes] | gzip.GzipFile = self._raw
        if self.gzip:
            self._stream = gzip.GzipFile(fileobj=self._raw)

    @property
    def bytes_read(self) -> int:
        """Bytes consumed from the file on disk (compressed bytes for gzip)."""
        return self._raw.tell()

    def read(self, size: int = CHUNK_BYTES) -> bytes:
        """Next chunk of content; empty at the end. A damaged gzip stream is a ``SourceError``."""
        try:
            return self._stream.read(size)
        except (OSError, EOFError) as exc:
            raise SourceError(
                f"{self.path} is damaged or truncated ({exc}); lines before the damage were read"
            ) from exc

    def close(self) -> None:
        """Close the file."""
        if self._stream is not self._raw:
            self._stream.close()
        self._raw.close()


def iter_file_batches(
    path: str | Path,
    batch_lines: int = 5000,
    *,
    chunk_bytes: int = CHUNK_BYTES,
    max_line_bytes: int = MAX_LINE_BYTES,
    on_progress: Callable[[int], None] | None = None,
    stats: SourceStats | None = None,
) -> Iterator[LineBatch]:
    """Batches of lines of a plain or gzip file, synchronously (the CLI's fast path).

    Each batch's ``bytes_read`` is the position in the file on disk, and ``on_progress``
    (when given) is called with it after every chunk, so a progress bar moves even while a
    long stretch of the file yields no complete batch.
    """
    if batch_lines < 1:
        raise ValueError("batch_lines must be at least 1")
    path = Path(path)
    stats = stats if stats is not None else SourceStats()
    reader = FileReader(path)
    splitter = LineSplitter(max_line_bytes)
    pending: list[bytes] = []
    stats.connections += 1
    try:
        while True:
            chunk = reader.read(chunk_bytes)
            lines = splitter.feed(chunk) if chunk else splitter.finish()
            stats.bytes += len(chunk)
            stats.lines += len(lines)
            stats.dropped_too_long = splitter.dropped_too_long
            pending.extend(lines)
            done = reader.bytes_read
            while len(pending) >= batch_lines:
                head, pending = pending[:batch_lines], pending[batch_lines:]
                yield LineBatch(head, path.name, time.time(), done)
            if on_progress is not None:
                on_progress(done)
            if not chunk:
                break
        if pending:
            yield LineBatch(pending, path.name, time.time(), reader.bytes_read)
    finally:
        reader.close()


def iter_file_blocks(
    path: str | Path,
    block_bytes: int = BLOCK_BYTES,
    *,
    max_line_bytes: int = MAX_LINE_BYTES,
    stats: SourceStats | None = None,
) -> Iterator[LineBlock]:
    """Blocks of whole lines of a plain or gzip file, read ``block_bytes`` at a time, so
    memory stays flat whatever the file size.

    A line that would not fit is carried into the next block; an unfinished line longer
    than ``max_line_bytes`` is dropped (counted in ``stats.dropped_too_long``) and reading
    resumes after its line end, as the line splitter does. Complete over-long lines stay in
    the block: ``AisPipeline.process_block`` drops them and counts them as ``too_long``.
    """
    if block_bytes < 1:
        raise ValueError("block_bytes must be at least 1")
    path = Path(path)
    stats = stats if stats is not None else SourceStats()
    reader = FileReader(path)
    carry = b""
    skipping = False
    stats.connections += 1
    try:
        while True:
            chunk = reader.read(block_bytes)
            stats.bytes += len(chunk)
            if not chunk:
                if carry and not skipping:
                    yield LineBlock(carry, path.name, time.time(), reader.bytes_read)
                break
            if skipping:
                newline = chunk.find(b"\n")
                if newline < 0:
                    continue
                chunk = chunk[newline + 1 :]
                skipping = False
            # The block is the carried start of a line plus the chunk up to its last line
            # end, copied once (a chunk that ends at a line end, with nothing carried, not
            # at all): a copy of 4 MiB is a millisecond, twice per block before.
            end = chunk.rfind(b"\n") + 1
            data = b""
            if not end:
                carry += chunk
            else:
                if carry:
                    data = b"".join((carry, memoryview(chunk)[:end]))
                else:
                    data = chunk if end == len(chunk) else chunk[:end]
                carry = chunk[end:]
            if len(carry) > max_line_bytes:
                stats.dropped_too_long += 1
                carry = b""
                skipping = True
            if data:
                yield LineBlock(data, path.name, time.time(), reader.bytes_read)
    finally:
        reader.close()
