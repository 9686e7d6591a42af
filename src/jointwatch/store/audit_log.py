"""The audit log table: one writer appends hash-chained entries (sharing/audit.py).

Why appends happen under a lock and in one transaction with the read of the last entry:
two appends racing would both link to the same predecessor and break the chain.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from jointwatch.sharing.audit import GENESIS, entry_hash
from jointwatch.store.sharing_models import AuditEntry

__all__ = ["AuditLog"]

_AUDIT: sa.Table = AuditEntry.__table__  # type: ignore[assignment]


class AuditLog:
    """Append and read the chain."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()

    def append(self, entries: Sequence[Mapping[str, Any]]) -> int:
        """Chain and store entries (actor, action, object_type, object_id, ...); last seq."""
        if not entries:
            return self.head()[0]
        with self._lock, self.engine.begin() as conn:
            last = conn.execute(
                sa.select(_AUDIT.c.seq, _AUDIT.c.hash).order_by(_AUDIT.c.seq.desc()).limit(1)
            ).first()
            seq, prev = (int(last[0]), str(last[1])) if last else (0, GENESIS)
            rows = []
            for entry in entries:
                seq += 1
                row: dict[str, Any] = {
                    "seq": seq,
                    "at": entry.get("at")
                    or datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z"),
                    "actor": str(entry.get("actor") or "system")[:64],
                    "key_id": entry.get("key_id"),
                    "action": str(entry["action"])[:32],
                    "object_type": str(entry["object_type"])[:32],
                    "object_id": str(entry["object_id"])[:120],
                    "marking_before": entry.get("marking_before"),
                    "marking_after": entry.get("marking_after"),
                    "detail": dict(entry.get("detail") or {}),
                    "prev_hash": prev,
                }
                prev = entry_hash(row)
                row["hash"] = prev
                rows.append(row)
            conn.execute(_AUDIT.insert(), rows)
        return seq

    def head(self) -> tuple[int, str]:
        """(last sequence, its hash); (0, genesis) for an empty log."""
        with self.engine.connect() as conn:
            last = conn.execute(
                sa.select(_AUDIT.c.seq, _AUDIT.c.hash).order_by(_AUDIT.c.seq.desc()).limit(1)
            ).first()
        return (int(last[0]), str(last[1])) if last else (0, GENESIS)

    def iter_entries(self, after: int = 0, page: int = 5000) -> Iterator[dict[str, Any]]:
        """Every entry in order, streamed in pages of ``page`` rows (long logs).

        One query streamed, not pages keyed on ``seq``: a tampered row whose ``seq`` is no
        longer a number (SQLite keeps whatever is written) must reach ``verify_chain`` and be
        reported, not break the paging.
        """
        query = sa.select(_AUDIT).where(_AUDIT.c.seq > after).order_by(_AUDIT.c.seq)
        with self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=page).execute(query)
            for row in result.mappings():
                yield dict(row)

    def recent(self, limit: int = 200, object_id: str | None = None) -> list[dict[str, Any]]:
        """Newest entries first."""
        query = sa.select(_AUDIT)
        if object_id:
            query = query.where(_AUDIT.c.object_id == object_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(_AUDIT.c.seq.desc()).limit(limit)).mappings().all()
        return [dict(r) for r in rows]
