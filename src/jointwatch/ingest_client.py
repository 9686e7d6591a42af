"""``jointwatch ingest``: read sources and feed a node.

Two sinks share one reading loop: ``HttpSink`` posts batches to a running node's ingest API
(the node journals, decodes and stores them exactly as it does for its own listeners), and
``DirectSink`` writes into a node's data directory when no node is running (bulk loads).
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

import httpx
import pyarrow as pa
from rich.console import Console

from jointwatch.config import Settings
from jointwatch.errors import JointWatchError
from jointwatch.sources.files import LineBlock
from jointwatch.sources.spec import SourceSpec

__all__ = ["DirectSink", "HttpSink", "IngestSummary", "Sink", "run_ingest"]


class Sink(Protocol):
    """Where ingested batches go."""

    def lines(self, lines: Sequence[bytes], source: str, rx_time_s: float) -> None: ...

    def tables(self, positions: pa.Table, static: pa.Table) -> None: ...

    def stats(self) -> dict[str, Any]: ...


class HttpSink:
    """Posts batches to a node's ``/api/ingest`` endpoints."""

    def __init__(self, node_url: str, token: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.node_url = node_url.rstrip("/")
        self.client = httpx.Client(base_url=self.node_url, timeout=120.0, headers=headers)

    def __enter__(self) -> HttpSink:
        try:
            self.client.get("/api/health").raise_for_status()
        except httpx.HTTPError as exc:
            self.client.close()
            raise JointWatchError(
                f"cannot reach a JointWatch node at {self.node_url} ({exc.__class__.__name__}); "
                "start one with `jointwatch serve`, or use --direct"
            ) from exc
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.client.close()

    def _post(self, path: str, content: bytes, params: dict[str, str], ctype: str) -> None:
        try:
            response = self.client.post(
                path, content=content, params=params, headers={"Content-Type": ctype}
            )
        except httpx.HTTPError as exc:
            raise JointWatchError(f"node {self.node_url} stopped answering: {exc}") from exc
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail")
            except ValueError:
                detail = response.text[:200]
            raise JointWatchError(f"node refused the batch ({response.status_code}): {detail}")

    def lines(self, lines: Sequence[bytes], source: str, rx_time_s: float) -> None:
        """Post raw lines; the node stamps its own receive time, as for a live feed."""
        self._post("/api/ingest", b"\n".join(lines), {"source": source}, "text/plain")

    def tables(self, positions: pa.Table, static: pa.Table) -> None:
        """Post CSV-derived tables as Arrow IPC streams."""
        for kind, table in (("positions", positions), ("static", static)):
            if table.num_rows == 0:
                continue
            sink = io.BytesIO()
            with pa.ipc.new_stream(sink, table.schema) as writer:
                writer.write_table(table)
            self._post(
                "/api/ingest/arrow",
                sink.getvalue(),
                {"kind": kind},
                "application/vnd.apache.arrow.stream",
            )

    def stats(self) -> dict[str, Any]:
        """The node's counters after the ingest."""
        stats: dict[str, Any] = self.client.get("/api/stats").json()
        return stats


class DirectSink:
    """Feeds an in-process ``IngestService`` on a node's data directory."""

    def __init__(self, settings: Settings) -> None:
        from jointwatch.service import IngestService

        self.service = IngestService(settings)
        self._batches = 0

    def __enter__(self) -> DirectSink:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.service.close()

    def _tick(self) -> None:
        self._batches += 1
        if self._batches % 50 == 0:
            self.service.flush()

    def lines(self, lines: Sequence[bytes], source: str, rx_time_s: float) -> None:
        """Ingest lines in-process."""
        self.service.ingest_lines(lines, source, rx_time_s)
        self._tick()

    def blocks(self, blocks: Iterable[LineBlock]) -> Iterator[tuple[LineBlock, int]]:
        """Ingest blocks of whole lines in-process (the fast path: no object per line, the
        next block decoded on a second thread); yields each block and its lines."""
        from jointwatch.readahead import ingest_blocks

        for block, result in ingest_blocks(self.service, blocks):
            self._tick()
            yield block, result.lines

    def tables(self, positions: pa.Table, static: pa.Table) -> None:
        """Ingest CSV-derived tables in-process."""
        self.service.ingest_tables(positions, static)
        self._tick()

    def stats(self) -> dict[str, Any]:
        """The store's counters after the ingest."""
        return self.service.stats()


class IngestSummary:
    """What one ``jointwatch ingest`` run did, printed at the end."""

    def __init__(self) -> None:
        self.lines = 0
        self.rows = 0
        self.started = time.perf_counter()
        self.node_stats: dict[str, Any] = {}

    def __rich__(self) -> str:
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        parts = [f"sent {self.lines:,} lines ({self.lines / elapsed:,.0f} sentences/s)"]
        if self.rows:
            parts.append(f"{self.rows:,} CSV rows")
        parts.append(f"in {elapsed:.1f} s")
        stats = self.node_stats
        if stats:
            parts.append(
                f"— node totals: {stats.get('decoded', 0):,} decoded, "
                f"{stats.get('duplicates', 0):,} duplicates, "
                f"{stats.get('rejected_total', 0):,} rejected, {stats.get('vessels', 0):,} vessels"
            )
        return " ".join(parts)


def run_ingest(
    specs: Sequence[SourceSpec],
    sink: Sink,
    progress_factory: Callable[[], Any],
    console: Console,
) -> IngestSummary:
    """Read every source in turn into the sink, with a progress bar per file."""
    from jointwatch.sources import iter_file_batches, iter_file_blocks
    from jointwatch.sources.csv_archive import read_csv_archive

    summary = IngestSummary()
    with progress_factory() as progress:
        for spec in specs:
            if spec.kind not in ("file", "csv"):
                task = progress.add_task(spec.name, total=None, lines=0, rate=0.0)
                asyncio.run(_stream(spec.text, sink, progress, task, summary))
                continue
            assert spec.path is not None
            path = Path(spec.path)
            task = progress.add_task(path.name, total=path.stat().st_size, lines=0, rate=0.0)
            if spec.kind == "csv":
                rows = 0
                for positions, static in read_csv_archive(path):
                    sink.tables(positions, static)
                    rows += positions.num_rows
                    summary.rows += positions.num_rows
                    progress.update(task, lines=rows, rate=_rate(summary, rows))
                progress.update(task, completed=path.stat().st_size)
                continue
            lines = 0
            if isinstance(sink, DirectSink):  # in-process: whole blocks, no object per line
                for block, count in sink.blocks(iter_file_blocks(path)):
                    lines += count
                    summary.lines += count
                    progress.update(
                        task, completed=block.bytes_read, lines=lines, rate=_rate(summary, lines)
                    )
                continue
            for batch in iter_file_batches(path, batch_lines=20_000):
                sink.lines(batch.lines, batch.source, batch.rx_time_s)
                lines += len(batch.lines)
                summary.lines += len(batch.lines)
                progress.update(
                    task, completed=batch.bytes_read, lines=lines, rate=_rate(summary, lines)
                )
    summary.node_stats = sink.stats()
    return summary


def _rate(summary: IngestSummary, count: int) -> float:
    return summary.lines / max(time.perf_counter() - summary.started, 1e-9) if count else 0.0


async def _stream(spec: str, sink: Sink, progress: Any, task: Any, summary: IngestSummary) -> None:
    from jointwatch.sources import open_source

    lines = 0
    async for batch in open_source(spec):
        if not batch.lines:
            continue
        await asyncio.to_thread(sink.lines, batch.lines, batch.source, batch.rx_time_s)
        lines += len(batch.lines)
        summary.lines += len(batch.lines)
        progress.update(task, lines=lines, rate=_rate(summary, lines))
