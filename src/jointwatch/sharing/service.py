"""The sharing service: records, markings and partners of one node, and every decision to
let a record out.

Why every egress goes through ``decide``: REST, the WebSocket hub, federation push and pull
and the exports all ask this one method, which asks ``policy.may_release``; the tests that
attack the rule therefore attack every path.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from jointwatch.config import Settings
from jointwatch.sharing.errors import RecordError
from jointwatch.sharing.exchange import FederationExchange
from jointwatch.sharing.kinds import LOCAL_KINDS, PayloadError, validate_payload
from jointwatch.sharing.markings import (
    Marking,
    MarkingError,
    is_nation,
    parse_banner,
    validate_levels,
)
from jointwatch.sharing.policy import (
    Decision,
    Recipient,
    RecordView,
    SharingContext,
    may_publish,
    may_release,
    released_nations,
)
from jointwatch.store.accounts import AccountRepository, Principal
from jointwatch.store.audit_log import AuditLog
from jointwatch.store.records import RecordRepository, RecordStoreError

__all__ = ["RecordError", "SharingService"]

log = logging.getLogger(__name__)

_MAX_WIRE_PAYLOAD = 2_000_000  # bytes of JSON per received record


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class SharingService(FederationExchange):
    """Records and partners of one node; thread-safe (API threads and federation tasks)."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.levels = validate_levels(settings.classification_levels)
        self.nation = settings.nation.strip().upper()
        self.node_name = settings.effective_node_name
        self.accounts = AccountRepository(engine, self.levels)
        self.records = RecordRepository(engine)
        self.audit = AuditLog(engine)
        self.event_marking = parse_banner(settings.event_marking, self.levels)
        self._lock = threading.Lock()
        self._ctx = self._load_context()
        self.latest_seq = self.records.max_seq()
        self._outbox: list[dict[str, Any]] = []
        self._listeners: list[Callable[[], None]] = []

    # ---- context ------------------------------------------------------------------------

    def _load_context(self) -> SharingContext:
        groups = {
            name: frozenset(group["nations"]) for name, group in self.records.groups().items()
        }
        return SharingContext(self.nation, self.levels, groups)

    @property
    def context(self) -> SharingContext:
        """What decisions are taken against: nation, scale, current sharing groups."""
        return self._ctx

    def reload_groups(self) -> None:
        """Re-read sharing groups (after an admin changed them)."""
        self._ctx = self._load_context()

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Called (from any thread) after records change: push loops wake up."""
        self._listeners.append(callback)

    def _changed(self, records: Sequence[Mapping[str, Any]]) -> None:
        if not records:
            return
        with self._lock:
            self.latest_seq = max(self.latest_seq, *(int(r["seq"]) for r in records))
            self._outbox.extend(dict(r) for r in records)
        for callback in self._listeners:
            try:
                callback()
            except Exception:  # a listener never breaks a write
                log.exception("record listener failed")

    def take_changed_records(self) -> list[dict[str, Any]]:
        """Records written since the last call (the WebSocket hub filters and pushes them)."""
        with self._lock:
            out, self._outbox = self._outbox, []
        return list(out)

    # ---- decisions ----------------------------------------------------------------------

    def marking(self, data: Mapping[str, Any]) -> Marking:
        """Parse a marking against this node's scale (``MarkingError`` on bad input)."""
        return Marking.from_json(data, self.levels)

    def view(self, record: Mapping[str, Any]) -> RecordView | None:
        """The rule's view of a record; None when its marking does not parse here."""
        try:
            marking = Marking.from_json(record["marking"], self.levels)
        except (MarkingError, KeyError, TypeError):
            return None
        return RecordView(
            marking,
            str(record["origin_nation"]),
            frozenset(record.get("rel_nations") or ()),
            bool(record.get("deleted")),
        )

    def decide(self, record: Mapping[str, Any], recipient: Recipient) -> Decision:
        """The one egress decision."""
        view = self.view(record)
        if view is None:
            return Decision(False, "marking not understood by this node")
        return may_release(view, recipient, self._ctx)

    @staticmethod
    def recipient(principal: Principal) -> Recipient:
        """A user as a recipient: their nation, up to their clearance."""
        return Recipient(principal.nation, principal.clearance, partner_node=False)

    @staticmethod
    def partner_recipient(partner: Mapping[str, Any]) -> Recipient:
        """A partner node as a recipient: its nation, up to the ceiling agreed with it."""
        return Recipient(str(partner["nation"]), str(partner["ceiling"]), partner_node=True)

    def visible(
        self, records: Iterable[Mapping[str, Any]], principal: Principal
    ) -> list[dict[str, Any]]:
        """The records this user may see, each with its banner."""
        recipient = self.recipient(principal)
        return [self.present(r) for r in records if self.decide(r, recipient)]

    def present(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """A record as users see it: with the marking's banner."""
        view = self.view(record)
        out = dict(record)
        out["banner"] = view.marking.banner() if view else "UNKNOWN MARKING"
        return out

    def preview(self, marking: Marking) -> list[dict[str, Any]]:
        """Who would receive a local record so marked: each partner, yes or no, and why."""
        view = RecordView(marking, self.nation, None, False)
        out = []
        for partner in self.records.partners():
            decision = may_release(view, self.partner_recipient(partner), self._ctx)
            out.append(
                {
                    "partner": partner["name"],
                    "nation": partner["nation"],
                    "allowed": decision.allowed,
                    "reason": decision.reason,
                }
            )
        return out

    def event_visible(self, principal: Principal) -> bool:
        """Whether this user may see the node's own detector events (all share one marking)."""
        view = RecordView(self.event_marking, self.nation, None, False)
        return bool(may_release(view, self.recipient(principal), self._ctx))

    # ---- local writes -------------------------------------------------------------------

    def _rel_nations(self, marking: Marking) -> list[str]:
        view = RecordView(marking, self.nation, None, False)
        return sorted(released_nations(view, self._ctx))

    def _check_clearance(self, principal: Principal, marking: Marking) -> None:
        if self.levels.index(marking.classification) > self.levels.index(principal.clearance):
            raise RecordError(
                f"{principal.username} is cleared to {principal.clearance} and cannot mark "
                f"a record {marking.classification}",
                status=403,
            )

    def _check_groups(self, marking: Marking) -> None:
        """A local record may name only groups this node has: a typo (VIETNAM for VNM)
        would otherwise release it to nobody without anyone noticing."""
        unknown = [e for e in marking.rel_to if not is_nation(e) and e not in self._ctx.groups]
        if unknown:
            raise RecordError(
                f"REL TO {', '.join(unknown)}: no such sharing group on this node "
                "(nations are ISO alpha-3 codes such as VNM; groups: "
                f"{', '.join(sorted(self._ctx.groups)) or 'none'})"
            )

    def create(
        self,
        principal: Principal,
        kind: str,
        payload: Any,
        marking_data: Mapping[str, Any],
        *,
        kinds: Sequence[str] = LOCAL_KINDS,
    ) -> dict[str, Any]:
        """A new local record, version 1, audited; ``kinds`` are those the caller may make
        (the records API: reports, sightings, notes; the command center: its own kinds)."""
        if kind not in kinds:
            raise RecordError(f"create {', '.join(kinds)} records here, not {kind!r}")
        try:
            marking = self.marking(marking_data)
            body = validate_payload(kind, payload)
        except (MarkingError, PayloadError) as exc:
            raise RecordError(str(exc)) from exc
        self._check_clearance(principal, marking)
        self._check_groups(marking)
        now = _now_iso()
        stored = self.records.put(
            {
                "gid": f"{self.node_name}:{uuid.uuid4().hex}",
                "kind": kind,
                "origin_nation": self.nation,
                "origin_node": self.node_name,
                "version": 1,
                "marking": marking.to_json(),
                "rel_nations": self._rel_nations(marking),
                "payload": body,
                "created_by": principal.username,
                "created_at": now,
                "updated_at": now,
            }
        )
        self.audit.append([self._audit(principal, "create", stored, None, marking)])
        self._changed([stored])
        return self.present(stored)

    def _own(
        self, gid: str, principal: Principal, kinds: Sequence[str] = LOCAL_KINDS
    ) -> dict[str, Any]:
        record = self.records.get(gid)
        if (
            record is None
            or record["deleted"]
            or not self.decide(record, self.recipient(principal))
        ):
            raise RecordError(f"no record {gid!r}", status=404)
        if record["origin_nation"] != self.nation or record["origin_node"] != self.node_name:
            raise RecordError(
                f"{gid} belongs to {record['origin_node']}; only its originator edits it",
                status=409,
            )
        if record["kind"] not in kinds:
            raise RecordError(f"{record['kind']} records are written by the node", status=409)
        return record

    def update(
        self,
        principal: Principal,
        gid: str,
        *,
        payload: Any = None,
        marking_data: Mapping[str, Any] | None = None,
        expected_version: int | None = None,
        change: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        kinds: Sequence[str] = LOCAL_KINDS,
        action: str = "update",
    ) -> dict[str, Any]:
        """A new version of a local record (content and/or marking), audited.

        ``change`` computes the new payload from the stored one under the lock (the command
        center's lifecycle actions), so two actions on one incident never lose each other.
        """
        with self._lock:  # read-modify-write of one version
            record = self._own(gid, principal, kinds)
            if change is not None:
                payload = change(dict(record["payload"]))
            if expected_version is not None and expected_version != record["version"]:
                raise RecordError(
                    f"{gid} is at version {record['version']}, not {expected_version}", status=409
                )
            try:
                before = self.marking(record["marking"])
                marking = self.marking(marking_data) if marking_data is not None else before
                body = (
                    validate_payload(record["kind"], payload)
                    if payload is not None
                    else record["payload"]
                )
            except (MarkingError, PayloadError) as exc:
                raise RecordError(str(exc)) from exc
            self._check_clearance(principal, marking)
            if marking_data is not None:
                self._check_groups(marking)
            self._check_clearance(principal, before)
            stored = self.records.put(
                {
                    **record,
                    "version": record["version"] + 1,
                    "marking": marking.to_json(),
                    "rel_nations": self._rel_nations(marking),
                    "payload": body,
                    "updated_at": _now_iso(),
                }
            )
        self.audit.append([self._audit(principal, action, stored, before, marking)])
        self._changed([stored])
        return self.present(stored)

    def withdraw(self, principal: Principal, gid: str) -> dict[str, Any]:
        """Delete a local record: a tombstone version that partners receive as a deletion."""
        with self._lock:
            record = self._own(gid, principal)
            before = self.marking(record["marking"])
            self._check_clearance(principal, before)
            stored = self.records.put(
                {
                    **record,
                    "version": record["version"] + 1,
                    "payload": {},
                    "deleted": True,
                    "updated_at": _now_iso(),
                }
            )
        self.audit.append([self._audit(principal, "delete", stored, before, before)])
        self._changed([stored])
        return {"gid": gid, "version": stored["version"], "deleted": True}

    def mirror_alerts(self, events: Sequence[Mapping[str, Any]]) -> int:
        """Detector events become ``alert`` records when their marking releases them."""
        if self.event_marking.local_only or not events:
            return 0
        marking = self.event_marking.to_json()
        rel = self._rel_nations(self.event_marking)
        written = []
        for event in events:
            gid = f"{self.node_name}:alert:{event['id']}"
            existing = self.records.get(gid)
            if existing is not None and existing["payload"] == dict(event):
                continue
            now = _now_iso()
            written.append(
                self.records.put(
                    {
                        "gid": gid,
                        "kind": "alert",
                        "origin_nation": self.nation,
                        "origin_node": self.node_name,
                        "version": (existing["version"] + 1) if existing else 1,
                        "marking": marking,
                        "rel_nations": rel,
                        "payload": dict(event),
                        "created_by": "detector",
                        "created_at": existing["created_at"] if existing else now,
                        "updated_at": now,
                    }
                )
            )
        self.audit.append(
            [
                self._audit(None, "create" if r["version"] == 1 else "update", r, None, None)
                for r in written
            ]
        )
        self._changed(written)
        return len(written)

    def _audit(
        self,
        principal: Principal | None,
        action: str,
        record: Mapping[str, Any],
        before: Marking | None,
        after: Marking | None,
        **detail: Any,
    ) -> dict[str, Any]:
        if after is None:
            view = self.view(record)
            after = view.marking if view else None
        return {
            "actor": principal.username if principal else "system",
            "key_id": principal.key_id if principal else None,
            "action": action,
            "object_type": str(record.get("kind", "record")),
            "object_id": str(record["gid"]),
            "marking_before": before.banner() if before else None,
            "marking_after": after.banner() if after else None,
            "detail": {"version": int(record.get("version", 0)), **detail},
        }

    def audit_event(
        self,
        principal: Principal | None,
        action: str,
        object_type: str,
        object_id: str,
        **detail: Any,
    ) -> None:
        """Append one non-record entry (login, export, admin change)."""
        self.audit.append(
            [
                {
                    "actor": principal.username if principal else "system",
                    "key_id": principal.key_id if principal else None,
                    "action": action,
                    "object_type": object_type,
                    "object_id": object_id,
                    "detail": detail,
                }
            ]
        )

    def _newest(
        self, kinds: Sequence[str], limit: int, keep: Callable[[dict[str, Any]], bool]
    ) -> list[dict[str, Any]]:
        """The newest ``limit`` live records that ``keep`` admits, read a page at a time."""
        out: list[dict[str, Any]] = []
        before_seq: int | None = None
        while len(out) < limit:
            page = self.records.query(kinds=kinds, limit=1000, before_seq=before_seq)
            if not page:
                break
            out.extend(self.present(r) for r in page if keep(r))
            before_seq = int(page[-1]["seq"])
        return out[:limit]

    def published(self, kinds: Sequence[str] = (), limit: int = 1000) -> list[dict[str, Any]]:
        """Our own records fit for public release (``policy.may_publish``: TLP:CLEAR at the
        lowest classification), newest first. A partner's record is never published here,
        whatever its colour: publishing it is its originator's decision."""

        def ours_and_clear(record: dict[str, Any]) -> bool:
            view = self.view(record)
            return (
                view is not None
                and record["origin_node"] == self.node_name
                and record["origin_nation"] == self.nation
                and may_publish(view.marking, self.levels)
            )

        return self._newest(kinds, limit, ours_and_clear)

    def query_visible(
        self, principal: Principal, kinds: Sequence[str] = (), limit: int = 500
    ) -> list[dict[str, Any]]:
        """Newest records this user may see (filtered in pages until ``limit`` are found)."""
        recipient = self.recipient(principal)
        return self._newest(kinds, limit, lambda r: bool(self.decide(r, recipient)))

    # ---- partners and groups (admin) ----------------------------------------------------

    def partners_health(self) -> list[dict[str, Any]]:
        """Each partner with its cursors, last exchange, last error and receipt counts."""
        out = []
        for p in self.records.partners():
            out.append(
                {
                    "name": p["name"],
                    "nation": p["nation"],
                    "url": p["url"],
                    "ceiling": p["ceiling"],
                    "enabled": bool(p["enabled"]),
                    "push_cursor": int(p["push_cursor"]),
                    "pull_cursor": int(p["pull_cursor"]),
                    "pending": max(0, self.latest_seq - int(p["push_cursor"])),
                    "last_push_at": _iso(p["last_push_at"]),
                    "last_pull_at": _iso(p["last_pull_at"]),
                    "last_error": p["last_error"],
                    "receipts": self.records.delivery_counts(p["name"]),
                    "can_push": bool(p["url"] and p["outbound_token"]),
                }
            )
        return out

    def add_partner(
        self,
        name: str,
        *,
        nation: str,
        url: str | None,
        ceiling: str,
        outbound_token: str | None = None,
        ca_file: Path | None = None,
    ) -> str:
        """Register a partner node and its inbound identity; returns the token to give it."""
        nation = nation.strip().upper()
        if self.nation == "ZZZ":
            raise RecordError("set JOINTWATCH_NATION before linking partners")
        if nation == self.nation:
            raise RecordError("a partner node is of another nation")
        level = ceiling.strip().upper()
        if level not in self.levels:
            raise RecordError(f"unknown ceiling {ceiling!r}; levels: {list(self.levels)}")
        if url is not None and not url.startswith(("http://", "https://")):
            raise RecordError("a partner URL starts with http:// or https://")
        user = self.accounts.create_user(
            f"partner.{name}", nation=nation, role="partner", clearance=level
        )
        try:
            self.records.add_partner(
                {
                    "name": name,
                    "nation": nation,
                    "url": url.rstrip("/") if url else None,
                    "ceiling": level,
                    "outbound_token": outbound_token,
                    "ca_file": str(ca_file) if ca_file else None,
                    "user_id": user.user_id,
                }
            )
        except RecordStoreError:
            self.accounts.set_disabled(user.username, True)
            raise
        _, token = self.accounts.create_key(user.username, name=f"federation from {name}")
        self.audit_event(None, "admin", "partner", name, nation=nation, ceiling=level)
        return token


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
