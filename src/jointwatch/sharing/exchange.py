"""Federation exchange: what goes to a partner, and what we accept from one.

Why a mixin of ``SharingService``: these methods are the sharing service's own (they decide
with its release rule, store with its repositories, audit in its chain); keeping them in a
module of their own keeps each file readable. Callers use them on the service.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from jointwatch.sharing.errors import RecordError
from jointwatch.sharing.kinds import KINDS, PayloadError, validate_payload
from jointwatch.sharing.markings import MarkingError
from jointwatch.sharing.policy import released_nations
from jointwatch.store.accounts import Principal

if TYPE_CHECKING:
    from jointwatch.sharing.markings import Marking
    from jointwatch.sharing.policy import Decision, Recipient, RecordView, SharingContext
    from jointwatch.store.audit_log import AuditLog
    from jointwatch.store.records import RecordRepository

__all__ = ["FederationExchange"]

_MAX_WIRE_PAYLOAD = 2_000_000  # bytes of JSON per received record


class _Host(Protocol):
    """What the exchange uses of the service it is mixed into."""

    records: RecordRepository
    audit: AuditLog
    nation: str
    levels: tuple[str, ...]
    _ctx: SharingContext

    def decide(self, record: Mapping[str, Any], recipient: Recipient) -> Decision: ...
    def view(self, record: Mapping[str, Any]) -> RecordView | None: ...
    def marking(self, data: Mapping[str, Any]) -> Marking: ...
    def partner_recipient(self, partner: Mapping[str, Any]) -> Recipient: ...
    def _changed(self, records: Sequence[Mapping[str, Any]]) -> None: ...
    def wire(self, record: Mapping[str, Any]) -> dict[str, Any]: ...
    def _receive_one(
        self, partner: Mapping[str, Any], item: Any
    ) -> tuple[str, str, dict[str, Any] | None]: ...
    def _receive_tombstone(
        self, partner: Mapping[str, Any], gid: str, version: int
    ) -> tuple[str, str, dict[str, Any] | None]: ...


class FederationExchange:
    """Outgoing items, receipts and incoming records of the federation protocol."""

    def partner_for(self: _Host, principal: Principal) -> dict[str, Any]:
        """The partner node a federation caller speaks for."""
        partner = self.records.partner_for_user(principal.user_id)
        if partner is None or not partner["enabled"]:
            raise RecordError("this credential belongs to no enabled partner", status=403)
        if partner["nation"] != principal.nation:
            raise RecordError("partner credential and partner nation disagree", status=403)
        return partner

    def wire(self: _Host, record: Mapping[str, Any]) -> dict[str, Any]:
        """A record as it travels: the originator's marking and release list, no local fields."""
        view = self.view(record)
        assert view is not None
        return {
            "gid": record["gid"],
            "kind": record["kind"],
            "origin_nation": record["origin_nation"],
            "origin_node": record["origin_node"],
            "version": int(record["version"]),
            "marking": dict(record["marking"]),
            "rel_nations": sorted(released_nations(view, self._ctx)),
            "payload": dict(record["payload"]),
            "created_at": record["created_at"],
            "updated_at": record["updated_at"],
        }

    def outgoing(
        self: _Host, partner: Mapping[str, Any], after_seq: int, limit: int
    ) -> tuple[list[dict[str, Any]], int, bool]:
        """What this partner should receive of the changes after ``after_seq``.

        Returns (items, cursor to resume after, more pending). Items are whole records the
        partner may see, or content-free tombstones for records it holds and may no longer
        see (withdrawn, or re-marked out of its reach). Records it never held and may not see
        leave no trace.
        """
        changes = self.records.query(
            after_seq=after_seq, include_deleted=True, limit=limit, newest_first=False
        )
        if not changes:
            return [], after_seq, False
        recipient = self.partner_recipient(partner)
        held = self.records.delivered(partner["name"], [r["gid"] for r in changes])
        items: list[dict[str, Any]] = []
        for record in changes:
            had = held.get(record["gid"])
            # Anything but our own withdrawal counts as held: a "stale" receipt means the
            # partner holds a newer version, and one "rejected" version leaves the older
            # copy it accepted in place; a revocation must reach it either way.
            holds = had is not None and had["status"] != "withdrawn"
            if record["deleted"]:
                if holds:
                    items.append(
                        {"gid": record["gid"], "version": record["version"], "deleted": True}
                    )
                continue
            if record.get("received_from") == partner["name"]:
                continue
            if self.decide(record, recipient):
                items.append(self.wire(record))
            elif holds:
                items.append({"gid": record["gid"], "version": record["version"], "revoked": True})
        return items, int(changes[-1]["seq"]), len(changes) == limit

    def note_sent(
        self: _Host,
        partner: Mapping[str, Any],
        items: Sequence[Mapping[str, Any]],
        receipts: Any,
    ) -> None:
        """Record what the partner now holds and audit each share."""
        by_gid = {str(r.get("gid")): r for r in receipts or [] if isinstance(r, Mapping)}
        rows = []
        entries = []
        for item in items:
            receipt = by_gid.get(item["gid"], {"status": "sent"})
            status = str(receipt.get("status", "sent"))
            if item.get("deleted") or item.get("revoked"):
                status = "withdrawn"
            rows.append(
                {
                    "gid": item["gid"],
                    "version": item["version"],
                    "status": status,
                    "reason": str(receipt.get("reason") or ""),
                }
            )
            banner = None
            if "marking" in item:
                view = self.view(item)
                banner = view.marking.banner() if view else None
            entries.append(
                {
                    "actor": "federation",
                    "action": "share",
                    "object_type": str(item.get("kind", "record")),
                    "object_id": item["gid"],
                    "marking_after": banner,
                    "detail": {
                        "partner": partner["name"],
                        "nation": partner["nation"],
                        "version": item["version"],
                        "status": status,
                    },
                }
            )
        self.records.record_deliveries(partner["name"], rows)
        self.audit.append(entries)

    def receive(
        self: _Host, partner: Mapping[str, Any], items: Sequence[Any]
    ) -> list[dict[str, Any]]:
        """Apply records a partner sent; one receipt per item (accepted, duplicate, stale,
        rejected with the reason). Idempotent: the same item twice changes nothing."""
        receipts: list[dict[str, Any]] = []
        stored_all: list[dict[str, Any]] = []
        entries: list[dict[str, Any]] = []
        with self.records.batch():
            results = [self._receive_one(partner, item) for item in items]
        for item, (status, reason, stored) in zip(items, results, strict=True):
            gid = str(item.get("gid")) if isinstance(item, Mapping) else "?"
            version = item.get("version") if isinstance(item, Mapping) else None
            receipts.append({"gid": gid, "version": version, "status": status, "reason": reason})
            if stored is not None:
                stored_all.append(stored)
                view = self.view(stored)
                entries.append(
                    {
                        "actor": "federation",
                        "action": "receive",
                        "object_type": stored["kind"],
                        "object_id": stored["gid"],
                        "marking_after": view.marking.banner() if view else None,
                        "detail": {
                            "partner": partner["name"],
                            "version": stored["version"],
                            "deleted": stored["deleted"],
                        },
                    }
                )
        self.audit.append(entries)
        self._changed(stored_all)
        return receipts

    def _receive_one(
        self: _Host, partner: Mapping[str, Any], item: Any
    ) -> tuple[str, str, dict[str, Any] | None]:
        if not isinstance(item, Mapping) or not isinstance(item.get("gid"), str):
            return "rejected", "not a record", None
        try:
            version = int(item["version"])
        except (KeyError, TypeError, ValueError):
            return "rejected", "no integer version", None
        gid = item["gid"]
        if not 0 < len(gid) <= 120 or version < 1:
            return "rejected", "bad gid or version", None
        if item.get("deleted") or item.get("revoked"):
            return self._receive_tombstone(partner, gid, version)
        kind = item.get("kind")
        if kind not in KINDS:
            return "rejected", f"unknown kind {kind!r}", None
        origin = str(item.get("origin_nation", ""))
        if origin == self.nation:
            return "rejected", "a record of this node's own nation comes only from itself", None
        try:
            marking = self.marking(item.get("marking") or {})
        except MarkingError as exc:
            return "rejected", f"marking: {exc}", None
        rel = item.get("rel_nations")
        if not isinstance(rel, list) or not all(isinstance(n, str) for n in rel):
            return "rejected", "rel_nations is a list of nations", None
        if marking.local_only or self.nation not in rel:
            return "rejected", f"not released to {self.nation}", None
        payload = item.get("payload")
        if not isinstance(payload, dict) or len(json.dumps(payload)) > _MAX_WIRE_PAYLOAD:
            return "rejected", "payload missing or too large", None
        try:
            payload = validate_payload(kind, payload)
        except PayloadError as exc:
            return "rejected", str(exc), None
        record = {
            "gid": gid,
            "kind": kind,
            "origin_nation": origin,
            "origin_node": str(item.get("origin_node", ""))[:64],
            "version": version,
            "marking": marking.to_json(),
            "rel_nations": sorted(set(rel)),
            "payload": payload,
            "created_by": f"{origin}",
            "created_at": item.get("created_at"),
            "updated_at": item.get("updated_at"),
            "received_from": partner["name"],
        }

        def check(existing: Mapping[str, Any] | None) -> str:
            if existing is not None and existing["origin_nation"] == self.nation:
                return "that id belongs to a record of this node"
            return ""

        return self.records.apply_received(record, check)

    def _receive_tombstone(
        self: _Host, partner: Mapping[str, Any], gid: str, version: int
    ) -> tuple[str, str, dict[str, Any] | None]:
        tombstone = {
            "gid": gid,
            "kind": "alert",
            "origin_nation": partner["nation"],
            "origin_node": partner["name"],
            "version": version,
            "marking": {"classification": self.levels[0], "local_only": True},
            "rel_nations": [],
            "payload": {},
            "deleted": True,
            "created_by": "federation",
            "received_from": partner["name"],
        }

        def check(existing: Mapping[str, Any] | None) -> str:
            if existing is None:
                return ""  # keep the tombstone so an older copy arriving later stays out
            if existing["origin_nation"] == self.nation:
                return "that id belongs to a record of this node"
            if (
                existing["received_from"] != partner["name"]
                and existing["origin_nation"] != (partner["nation"])
            ):
                return "only the originator or the node it came from may withdraw it"
            tombstone["kind"] = existing["kind"]
            tombstone["origin_nation"] = existing["origin_nation"]
            tombstone["origin_node"] = existing["origin_node"]
            tombstone["marking"] = existing["marking"]
            tombstone["rel_nations"] = existing["rel_nations"]
            tombstone["created_at"] = existing["created_at"]
            return ""

        return self.records.apply_received(tombstone, check)
