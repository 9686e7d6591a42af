"""Writers for ``jointwatch decode``: JSON Lines or Parquet from decoded Arrow batches."""

from __future__ import annotations

import json
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

__all__ = ["DecodeWriter"]


def _iso_column(column: pa.ChunkedArray) -> pa.ChunkedArray:
    # ISO 8601 UTC with a Z, e.g. 2026-11-25T01:02:03.000000Z (Arrow's %S on a microsecond
    # timestamp already carries the fraction).
    return pc.strftime(column, format="%Y-%m-%dT%H:%M:%SZ")


class DecodeWriter:
    """Appends decoded batches to one output file, chosen by its suffix."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows = 0
        self._jsonl: IO[str] | None = None
        self._parquet: pq.ParquetWriter | None = None
        self.parquet = path.suffix.lower() == ".parquet"

    def __enter__(self) -> DecodeWriter:
        if not self.parquet:
            self._jsonl = open(self.path, "w", encoding="utf-8")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._jsonl is not None:
            self._jsonl.close()
        if self._parquet is not None:
            self._parquet.close()

    def write(self, table: pa.Table) -> None:
        """Write one decoded batch; JSON lines omit fields the message type does not have."""
        if table.num_rows == 0:
            return
        self.rows += table.num_rows
        if self.parquet:
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.path, table.schema, compression="zstd")
            self._parquet.write_table(table)
            return
        assert self._jsonl is not None
        index = table.schema.get_field_index("rx_time")
        if index >= 0:
            table = table.set_column(index, "rx_time", _iso_column(table.column("rx_time")))
        out = self._jsonl
        for row in table.to_pylist():
            record: dict[str, Any] = {k: v for k, v in row.items() if v is not None}
            extra = record.pop("extra", None)
            if extra:
                record.update(json.loads(extra))
            out.write(json.dumps(record, ensure_ascii=False, default=str))
            out.write("\n")
