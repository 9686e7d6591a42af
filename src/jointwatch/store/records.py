"""Shared records, their deliveries to partners, partners and sharing groups.

Why a per-node ``change_seq``: partners pull "everything that changed after N" and the push
loop walks the same sequence, so one monotonic counter gives both a resumable cursor. The
node is the only writer of its database, so the next value is taken under a process lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from jointwatch.errors import JointWatchError
from jointwatch.store.sharing_models import Delivery, Partner, SharedRecord, SharingGroup

__all__ = ["RecordRepository", "RecordStoreError"]

_RECORDS: sa.Table = SharedRecord.__table__  # type: ignore[assignment]
_DELIVERIES: sa.Table = Delivery.__table__  # type: ignore[assignment]
_PARTNERS: sa.Table = Partner.__table__  # type: ignore[assignment]
_GROUPS: sa.Table = SharingGroup.__table__  # type: ignore[assignment]


class RecordStoreError(JointWatchError, ValueError):
    """A record, partner or group request cannot be met (unknown name, stale version...)."""


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def record_json(row: Any) -> dict[str, Any]:
    """A stored record as the API and the wire carry it."""
    return {
        "gid": row["gid"],
        "kind": row["kind"],
        "origin_nation": row["origin_nation"],
        "origin_node": row["origin_node"],
        "version": int(row["version"]),
        "seq": int(row["change_seq"]),
        "marking": dict(row["marking"]),
        "rel_nations": list(row["rel_nations"] or []),
        "payload": dict(row["payload"] or {}),
        "deleted": bool(row["deleted"]),
        "created_by": row["created_by"],
        "created_at": _iso(row["created_at"]),
        "updated_at": _iso(row["updated_at"]),
        "received_from": row["received_from"],
    }


class RecordRepository:
    """The shared_records, deliveries, partners and sharing_groups tables."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # Re-entrant: a batch holds it while the puts inside it take it again.
        self._lock = threading.RLock()
        self._batch_conn: Connection | None = None
        self._batch_seq = 0

    # ---- records -------------------------------------------------------------------------

    def _next_seq(self, conn: Connection) -> int:
        if conn is self._batch_conn and self._batch_seq:
            self._batch_seq += 1
            return self._batch_seq
        current = conn.execute(sa.select(sa.func.max(_RECORDS.c.change_seq))).scalar()
        seq = int(current or 0) + 1
        if conn is self._batch_conn:
            self._batch_seq = seq
        return seq

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Run the puts and received records inside one transaction (one commit per batch:
        a partner's push of hundreds of records costs one fsync, not hundreds)."""
        with self._lock:
            if self._batch_conn is not None:  # already inside a batch
                yield
                return
            with self.engine.begin() as conn:
                self._batch_conn, self._batch_seq = conn, 0
                try:
                    yield
                finally:
                    self._batch_conn, self._batch_seq = None, 0

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        with self._lock:
            if self._batch_conn is not None:
                yield self._batch_conn
                return
            with self.engine.begin() as conn:
                yield conn

    def get(self, gid: str) -> dict[str, Any] | None:
        """One record (tombstones included)."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(_RECORDS).where(_RECORDS.c.gid == gid)).mappings().first()
        return record_json(row) if row else None

    def put(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """Insert or replace a whole record, giving it the next ``change_seq``.

        The caller decided the version; this only stores. Used for local writes, which the
        sharing service versions itself.
        """
        with self._transaction() as conn:
            return self._put_locked(conn, record)

    def _put_locked(self, conn: Connection, record: Mapping[str, Any]) -> dict[str, Any]:
        now = _now()
        values = {
            "gid": record["gid"],
            "kind": record["kind"],
            "origin_nation": record["origin_nation"],
            "origin_node": record["origin_node"],
            "version": int(record["version"]),
            "change_seq": self._next_seq(conn),
            "marking": dict(record["marking"]),
            "rel_nations": sorted(record.get("rel_nations") or []),
            "payload": dict(record.get("payload") or {}),
            "deleted": bool(record.get("deleted", False)),
            "created_by": str(record.get("created_by") or "")[:64],
            "created_at": _parse(record.get("created_at")) or now,
            "updated_at": _parse(record.get("updated_at")) or now,
            "received_from": record.get("received_from"),
        }
        exists = conn.execute(
            sa.select(_RECORDS.c.gid).where(_RECORDS.c.gid == values["gid"])
        ).first()
        if exists:
            conn.execute(_RECORDS.update().where(_RECORDS.c.gid == values["gid"]).values(values))
        else:
            conn.execute(_RECORDS.insert().values(values))
        return record_json(values)

    def apply_received(
        self, record: Mapping[str, Any], check: Any
    ) -> tuple[str, str, dict[str, Any] | None]:
        """Store a partner's record if it is newer; (status, reason, stored record or None).

        ``check(existing)`` sees the stored version (or None) and returns '' to go on or a
        refusal reason; it runs inside the same transaction, so two deliveries of one record
        cannot both win.
        """
        with self._lock, self.engine.begin() as conn:
            row = (
                conn.execute(sa.select(_RECORDS).where(_RECORDS.c.gid == record["gid"]))
                .mappings()
                .first()
            )
            existing = record_json(row) if row else None
            reason = check(existing)
            if reason:
                return "rejected", reason, None
            if existing is not None and existing["version"] >= int(record["version"]):
                status = "duplicate" if existing["version"] == int(record["version"]) else "stale"
                return status, f"holding version {existing['version']}", None
            return "accepted", "", self._put_locked(conn, record)

    def query(
        self,
        *,
        kinds: Sequence[str] = (),
        after_seq: int = 0,
        before_seq: int | None = None,
        include_deleted: bool = False,
        limit: int = 500,
        newest_first: bool = True,
    ) -> list[dict[str, Any]]:
        """Records by kind, after a change sequence, newest change first by default."""
        t = _RECORDS.c
        query = sa.select(_RECORDS).where(t.change_seq > after_seq)
        if before_seq is not None:
            query = query.where(t.change_seq < before_seq)
        if kinds:
            query = query.where(t.kind.in_(list(kinds)))
        if not include_deleted:
            query = query.where(~t.deleted)
        order = t.change_seq.desc() if newest_first else t.change_seq
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(order).limit(limit)).mappings().all()
        return [record_json(r) for r in rows]

    def max_seq(self) -> int:
        """The newest change sequence (0 for none)."""
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.max(_RECORDS.c.change_seq))).scalar() or 0)

    def count(self, kind: str | None = None) -> int:
        """Live records (of one kind)."""
        query = sa.select(sa.func.count()).select_from(_RECORDS).where(~_RECORDS.c.deleted)
        if kind:
            query = query.where(_RECORDS.c.kind == kind)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    # ---- deliveries ----------------------------------------------------------------------

    def delivered(self, partner: str, gids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """What the partner was last sent of each record: version and receipt."""
        wanted = list(gids)
        out: dict[str, dict[str, Any]] = {}
        t = _DELIVERIES.c
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                rows = conn.execute(
                    sa.select(_DELIVERIES).where(t.partner == partner, t.gid.in_(chunk))
                ).mappings()
                for row in rows:
                    out[row["gid"]] = dict(row)
        return out

    def record_deliveries(self, partner: str, receipts: Sequence[Mapping[str, Any]]) -> None:
        """Keep each record's newest receipt from the partner."""
        if not receipts:
            return
        now = _now()
        rows = {
            str(r["gid"]): {
                "partner": partner,
                "gid": str(r["gid"]),
                "version": int(r["version"]),
                "status": str(r["status"])[:16],
                "reason": str(r.get("reason") or "")[:300],
                "at": now,
            }
            for r in receipts
        }
        t = _DELIVERIES.c
        with self.engine.begin() as conn:
            gids = list(rows)
            for start in range(0, len(gids), 500):
                conn.execute(
                    _DELIVERIES.delete().where(
                        t.partner == partner, t.gid.in_(gids[start : start + 500])
                    )
                )
            conn.execute(_DELIVERIES.insert(), list(rows.values()))

    def delivery_counts(self, partner: str) -> dict[str, int]:
        """Receipts by status (the sync-health view)."""
        t = _DELIVERIES.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.status, sa.func.count()).where(t.partner == partner).group_by(t.status)
            ).all()
        return {str(status): int(n) for status, n in rows}

    # ---- partners ------------------------------------------------------------------------

    def add_partner(self, values: Mapping[str, Any]) -> None:
        """A new partner node; its name must be new."""
        with self.engine.begin() as conn:
            if conn.execute(
                sa.select(_PARTNERS.c.name).where(_PARTNERS.c.name == values["name"])
            ).first():
                raise RecordStoreError(f"partner {values['name']!r} exists already")
            conn.execute(
                _PARTNERS.insert().values(
                    enabled=True, push_cursor=0, pull_cursor=0, created_at=_now(), **values
                )
            )

    def update_partner(self, name: str, **values: Any) -> None:
        """Change a partner's settings or cursors."""
        with self.engine.begin() as conn:
            done = conn.execute(
                _PARTNERS.update().where(_PARTNERS.c.name == name).values(**values)
            ).rowcount
        if not done:
            raise RecordStoreError(f"no partner {name!r}")

    def delete_partner(self, name: str) -> None:
        """Forget a partner (its deliveries too)."""
        with self.engine.begin() as conn:
            done = conn.execute(_PARTNERS.delete().where(_PARTNERS.c.name == name)).rowcount
            conn.execute(_DELIVERIES.delete().where(_DELIVERIES.c.partner == name))
        if not done:
            raise RecordStoreError(f"no partner {name!r}")

    def partners(self) -> list[dict[str, Any]]:
        """Every partner row."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(_PARTNERS).order_by(_PARTNERS.c.name)).mappings().all()
        return [dict(r) for r in rows]

    def partner(self, name: str) -> dict[str, Any] | None:
        """One partner row."""
        with self.engine.connect() as conn:
            row = (
                conn.execute(sa.select(_PARTNERS).where(_PARTNERS.c.name == name))
                .mappings()
                .first()
            )
        return dict(row) if row else None

    def partner_for_user(self, user_id: int) -> dict[str, Any] | None:
        """The partner whose inbound identity is this user."""
        with self.engine.connect() as conn:
            row = (
                conn.execute(sa.select(_PARTNERS).where(_PARTNERS.c.user_id == user_id))
                .mappings()
                .first()
            )
        return dict(row) if row else None

    # ---- sharing groups ------------------------------------------------------------------

    def put_group(self, name: str, nations: Sequence[str], description: str = "") -> None:
        """Create or replace a group."""
        with self.engine.begin() as conn:
            conn.execute(_GROUPS.delete().where(_GROUPS.c.name == name))
            conn.execute(
                _GROUPS.insert().values(
                    name=name,
                    nations=sorted(set(nations)),
                    description=description[:200],
                    updated_at=_now(),
                )
            )

    def delete_group(self, name: str) -> None:
        """Remove a group; records REL TO it are then released to nobody through it."""
        with self.engine.begin() as conn:
            done = conn.execute(_GROUPS.delete().where(_GROUPS.c.name == name)).rowcount
        if not done:
            raise RecordStoreError(f"no sharing group {name!r}")

    def groups(self) -> dict[str, dict[str, Any]]:
        """Every group: name -> {nations, description}."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(_GROUPS).order_by(_GROUPS.c.name)).mappings().all()
        return {
            r["name"]: {"nations": list(r["nations"]), "description": r["description"]}
            for r in rows
        }


def _parse(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
