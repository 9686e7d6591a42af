"""The command center of one node: incidents, units, ops log, metrics.

Why on top of the sharing service: incidents, units and log entries are shareable records,
so markings, the release rule, versions, federation and the audit chain apply to them with
no code of their own. Ownership follows the records: the node that opened an incident runs
its lifecycle and tasking; partners see it (if released to them) and write ops-log entries
on their own node, which travel back as records of their own, marked for the same nations.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from jointwatch.errors import JointWatchError
from jointwatch.ops.lifecycle import (
    OPEN_STATES,
    Actor,
    TransitionError,
    apply_action,
    new_incident,
)
from jointwatch.ops.metrics import incident_durations, summarise
from jointwatch.ops.units import suggest_units
from jointwatch.service import IngestService
from jointwatch.sharing.kinds import OPS_KINDS
from jointwatch.sharing.markings import Marking, MarkingError
from jointwatch.sharing.policy import RecordView, released_nations
from jointwatch.sharing.service import RecordError, SharingService
from jointwatch.store.accounts import Principal

__all__ = ["ALERT_TO_INCIDENT", "OpsError", "OpsService"]

# What a detector alert most likely means, as the starting kind of an incident opened from it.
ALERT_TO_INCIDENT = {
    "approach": "piracy",
    "zone_entry": "zone_violation",
    "zone_exit": "zone_violation",
    "encounter": "smuggling",
    "loitering": "illegal_fishing",
    "ais_gap": "other",
    "spoofing": "other",
}


class OpsError(JointWatchError, ValueError):
    """A command-center request cannot be met; ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


def _now() -> datetime:
    return datetime.now(UTC)


def _stamp() -> str:
    """Now, as the ISO text the records carry (UTC, milliseconds, Z)."""
    return _now().isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _actor(principal: Principal) -> Actor:
    return Actor(principal.username, principal.nation)


class OpsService:
    """Incidents, units and the ops log of one node, for one caller at a time."""

    def __init__(self, sharing: SharingService, ingest: IngestService | None) -> None:
        self.sharing = sharing
        self.ingest = ingest

    # ---- reading ------------------------------------------------------------------------

    def visible(self, principal: Principal, kind: str, limit: int = 5000) -> list[dict[str, Any]]:
        """Records of one ops kind the caller may see (tombstones left out)."""
        return self.sharing.query_visible(principal, [kind], limit)

    def incident(self, principal: Principal, gid: str) -> dict[str, Any]:
        """One incident the caller may see, with its log, durations and whether we own it."""
        record = self.sharing.records.get(gid)
        if (
            record is None
            or record["deleted"]
            or record["kind"] != "incident"
            or not self.sharing.decide(record, self.sharing.recipient(principal))
        ):
            raise OpsError(f"no incident {gid!r}", status=404)
        out = self.sharing.present(record)
        out["log"] = [
            entry
            for entry in self.visible(principal, "ops_log")
            if entry["payload"].get("incident_gid") == gid
        ]
        out["log"].sort(key=lambda e: str(e["payload"].get("at")))
        out["durations"] = incident_durations(record["payload"])
        out["owned"] = record["origin_node"] == self.sharing.node_name
        return out

    def incidents(self, principal: Principal, state: str | None = None) -> list[dict[str, Any]]:
        """Incidents the caller may see, newest change first, with their durations."""
        out = []
        for record in self.visible(principal, "incident"):
            if state and record["payload"].get("state") != state:
                continue
            record["durations"] = incident_durations(record["payload"])
            record["owned"] = record["origin_node"] == self.sharing.node_name
            out.append(record)
        return out

    # ---- incidents ----------------------------------------------------------------------

    def _marking(self, data: Mapping[str, Any]) -> Marking:
        try:
            return self.sharing.marking(data)
        except MarkingError as exc:
            raise OpsError(str(exc)) from exc

    def _source_alert(
        self, principal: Principal, alert_id: str | None, alert_gid: str | None
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """(the alert's event JSON, the partner record it came in, if any)."""
        if alert_gid:
            record = self.sharing.records.get(alert_gid)
            if (
                record is None
                or record["deleted"]
                or record["kind"] != "alert"
                or not self.sharing.decide(record, self.sharing.recipient(principal))
            ):
                raise OpsError(f"no alert {alert_gid!r}", status=404)
            return dict(record["payload"]), record
        if alert_id:
            if self.ingest is None or not self.sharing.event_visible(principal):
                raise OpsError(f"no alert {alert_id!r}", status=404)
            event = self.ingest.event(alert_id)
            if event is None:
                raise OpsError(f"no alert {alert_id!r}", status=404)
            return event, None
        return None, None

    def _check_within(self, marking: Marking, source: Mapping[str, Any]) -> None:
        """An incident carrying a partner's alert goes no further than that alert may."""
        view = self.sharing.view(source)
        if view is None:
            raise OpsError("the source alert's marking is not understood here")
        levels = self.sharing.levels
        if levels.index(marking.classification) < levels.index(view.marking.classification):
            raise OpsError(
                f"the incident carries {source['origin_nation']}'s alert marked "
                f"{view.marking.classification}: mark it at least that"
            )
        allowed = set(view.rel_nations or ()) | {source["origin_nation"]}
        mine = RecordView(marking, self.sharing.nation, None, False)
        wider = sorted(released_nations(mine, self.sharing.context) - allowed)
        if wider or (view.marking.local_only and not marking.local_only):
            raise OpsError(
                f"the incident carries {source['origin_nation']}'s alert, which is not released"
                f" to {', '.join(wider) or 'other nations'}"
            )

    def open_incident(
        self,
        principal: Principal,
        fields: Mapping[str, Any],
        marking_data: Mapping[str, Any],
        *,
        alert_id: str | None = None,
        alert_gid: str | None = None,
    ) -> dict[str, Any]:
        """A new incident (state detected), by hand or from an alert of ours or a partner's."""
        marking = self._marking(marking_data)
        event, source = self._source_alert(principal, alert_id, alert_gid)
        if source is not None:
            self._check_within(marking, source)
        values = dict(fields)
        if event is not None:
            values.setdefault("kind", ALERT_TO_INCIDENT.get(str(event.get("kind")), "other"))
            values.setdefault("lat", event.get("lat"))
            values.setdefault("lon", event.get("lon"))
            mmsis = [m for m in (event.get("mmsi"), event.get("other_mmsi")) if m]
            values.setdefault("mmsis", mmsis)
            values.setdefault("title", f"{event.get('kind')} {event.get('mmsi')}")
        alert_ref = None
        if event is not None:
            alert_ref = {
                "id": event.get("id"),
                "kind": event.get("kind"),
                "origin_nation": source["origin_nation"] if source else self.sharing.nation,
                "gid": source["gid"] if source else None,
                "start": event.get("start"),
            }
        try:
            payload = new_incident(values, _actor(principal), _now(), alert_ref)
            return self.sharing.create(
                principal, "incident", payload, marking.to_json(), kinds=OPS_KINDS
            )
        except (TransitionError, RecordError) as exc:
            raise OpsError(str(exc), getattr(exc, "status", 422)) from exc

    def _owned_incident(self, principal: Principal, gid: str) -> dict[str, Any]:
        incident = self.incident(principal, gid)
        if not incident["owned"]:
            raise OpsError(
                f"{gid} is run by {incident['origin_node']} ({incident['origin_nation']}): "
                "act on that node, or add to its ops log here",
                status=409,
            )
        return incident

    def act(
        self,
        principal: Principal,
        gid: str,
        action: str,
        *,
        unit_gid: str | None = None,
        note: str = "",
    ) -> dict[str, Any]:
        """One lifecycle action (acknowledge, task, on_scene, release_unit, resolve,
        false_alarm, reopen) on an incident this node runs; timestamps are the server's."""
        self._owned_incident(principal, gid)
        unit = None
        if unit_gid:
            unit = self.unit(principal, unit_gid)
            incident = self.sharing.records.get(gid)
            assert incident is not None
            payload = incident["payload"]
            if payload.get("lat") is not None and unit.get("lat") is not None:
                ranked = suggest_units(
                    payload["lat"], payload["lon"], [{**unit, "status": "available"}], 1
                )
                if ranked:
                    unit = {**unit, **{k: ranked[0][k] for k in ("distance_m", "eta_h")}}

        def change(payload: dict[str, Any]) -> dict[str, Any]:
            return apply_action(payload, action, _actor(principal), _now(), unit=unit, note=note)

        try:
            return self.sharing.update(
                principal, gid, change=change, kinds=("incident",), action=action
            )
        except (TransitionError, RecordError) as exc:
            raise OpsError(str(exc), getattr(exc, "status", 422)) from exc

    def edit_incident(
        self,
        principal: Principal,
        gid: str,
        fields: Mapping[str, Any],
        marking_data: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        """Change an incident's description fields (not its lifecycle) or its marking."""
        protected = {"state", "timeline", "taskings", "detected_at", "opened_by", "requests"}
        touched = sorted(protected & set(fields))
        if touched:
            raise OpsError(f"{', '.join(touched)} change only through actions")
        incident = self._owned_incident(principal, gid)
        if marking_data is not None and incident["payload"].get("source_alert", {}).get("gid"):
            source = self.sharing.records.get(incident["payload"]["source_alert"]["gid"])
            if source is not None:
                self._check_within(self._marking(marking_data), source)

        def change(payload: dict[str, Any]) -> dict[str, Any]:
            return {**payload, **fields}

        try:
            return self.sharing.update(
                principal,
                gid,
                change=change,
                marking_data=marking_data,
                kinds=("incident",),
            )
        except RecordError as exc:
            raise OpsError(str(exc), exc.status) from exc

    # ---- HADR resource requests ---------------------------------------------------------

    def add_request(
        self, principal: Principal, gid: str, what: str, quantity: float, unit_of_measure: str
    ) -> dict[str, Any]:
        """A disaster-relief incident asks for resources."""
        incident = self._owned_incident(principal, gid)
        if incident["payload"]["kind"] != "disaster_relief":
            raise OpsError("resource requests belong to disaster-relief incidents")
        request = {
            "id": uuid.uuid4().hex[:12],
            "what": what,
            "quantity": quantity,
            "unit_of_measure": unit_of_measure,
            "requested_at": _stamp(),
            "requested_by": principal.username,
            "status": "open",
        }

        def change(payload: dict[str, Any]) -> dict[str, Any]:
            return {**payload, "requests": [*payload.get("requests", []), request]}

        try:
            return self.sharing.update(
                principal, gid, change=change, kinds=("incident",), action="request"
            )
        except RecordError as exc:
            raise OpsError(str(exc), exc.status) from exc

    def fulfil_request(
        self, principal: Principal, gid: str, request_id: str, unit_gid: str
    ) -> dict[str, Any]:
        """A unit of either nation fulfils a resource request."""
        self._owned_incident(principal, gid)
        unit = self.unit(principal, unit_gid)
        stamp = _stamp()

        def change(payload: dict[str, Any]) -> dict[str, Any]:
            requests = [dict(r) for r in payload.get("requests", [])]
            found = next((r for r in requests if r["id"] == request_id), None)
            if found is None:
                raise TransitionError(f"no request {request_id!r} in this incident")
            if found["status"] != "open":
                raise TransitionError(f"request {request_id} is {found['status']} already")
            found.update(
                status="fulfilled",
                fulfilled_by_unit=unit["name"],
                fulfilled_by_nation=unit["nation"],
                fulfilled_at=stamp,
            )
            return {**payload, "requests": requests}

        try:
            return self.sharing.update(
                principal, gid, change=change, kinds=("incident",), action="fulfil"
            )
        except (TransitionError, RecordError) as exc:
            raise OpsError(str(exc), getattr(exc, "status", 422)) from exc

    # ---- ops log ------------------------------------------------------------------------

    def add_log(self, principal: Principal, gid: str, text: str) -> dict[str, Any]:
        """An ops-log entry by this user, marked to reach everyone who sees the incident."""
        incident = self.incident(principal, gid)
        view = self.sharing.view(incident)
        assert view is not None
        base = view.marking
        if incident["origin_nation"] == self.sharing.nation:
            nations = set(released_nations(view, self.sharing.context))
        else:
            nations = set(incident["rel_nations"]) | {incident["origin_nation"]}
        nations.discard(self.sharing.nation)
        marking = {
            "classification": base.classification,
            "rel_to": sorted(nations),
            "local_only": not nations,
            "tlp": base.tlp,
            "caveats": list(base.caveats),
        }
        payload = {
            "incident_gid": gid,
            "text": text,
            "at": _stamp(),
            "by": principal.username,
            "nation": principal.nation,
        }
        try:
            return self.sharing.create(principal, "ops_log", payload, marking, kinds=OPS_KINDS)
        except RecordError as exc:
            raise OpsError(str(exc), exc.status) from exc

    # ---- units --------------------------------------------------------------------------

    def create_unit(
        self, principal: Principal, fields: Mapping[str, Any], marking_data: Mapping[str, Any]
    ) -> dict[str, Any]:
        """A unit of this node's nation."""
        payload = {**fields, "nation": self.sharing.nation}
        if payload.get("lat") is not None and not payload.get("position_time"):
            payload["position_time"] = _now().isoformat(timespec="seconds").replace("+00:00", "Z")
        try:
            return self.sharing.create(principal, "unit", payload, marking_data, kinds=OPS_KINDS)
        except RecordError as exc:
            raise OpsError(str(exc), exc.status) from exc

    def update_unit(
        self, principal: Principal, gid: str, fields: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Status or position reported by the unit (our own units only)."""
        if "nation" in fields and fields["nation"] != self.sharing.nation:
            raise OpsError("a unit keeps its nation")
        stamp = _now().isoformat(timespec="seconds").replace("+00:00", "Z")

        def change(payload: dict[str, Any]) -> dict[str, Any]:
            out = {**payload, **fields}
            if "lat" in fields or "lon" in fields:
                out["position_time"] = stamp
            return out

        try:
            return self.sharing.update(principal, gid, change=change, kinds=("unit",))
        except RecordError as exc:
            raise OpsError(str(exc), exc.status) from exc

    def _taskings(self, principal: Principal) -> dict[str, str]:
        """unit gid -> tasked/on_scene, from the open incidents the caller can see."""
        active: dict[str, str] = {}
        for incident in self.visible(principal, "incident"):
            payload = incident["payload"]
            if payload.get("state") not in OPEN_STATES:
                continue
            for tasking in payload.get("taskings") or []:
                status = tasking.get("status")
                if status in ("tasked", "on_scene") and active.get(tasking["unit_gid"]) != (
                    "on_scene"
                ):
                    active[tasking["unit_gid"]] = str(status)
        return active

    def units(self, principal: Principal) -> list[dict[str, Any]]:
        """Units of every nation the caller may see, with live status and position.

        A unit tasked to an open incident shows as tasked or on scene whatever its record
        says; a unit linked to an MMSI takes its latest AIS position from the picture.
        """
        active = self._taskings(principal)
        out = []
        for record in self.visible(principal, "unit"):
            unit = {**record["payload"], "gid": record["gid"], "banner": record["banner"]}
            unit["origin_nation"] = record["origin_nation"]
            if record["gid"] in active:
                unit["status"] = active[record["gid"]]
            mmsi = unit.get("mmsi")
            if mmsi and self.ingest is not None:
                vessel = self.ingest.vessel(int(mmsi))
                if vessel and vessel.get("lat") is not None:
                    unit["lat"], unit["lon"] = vessel["lat"], vessel["lon"]
                    unit["position_time"] = vessel.get("time")
                    unit["position_source"] = "ais"
            out.append(unit)
        return out

    def unit(self, principal: Principal, gid: str) -> dict[str, Any]:
        """One unit the caller may see (with live status and position)."""
        for unit in self.units(principal):
            if unit["gid"] == gid:
                return unit
        raise OpsError(f"no unit {gid!r}", status=404)

    def suggest(self, principal: Principal, gid: str, limit: int = 5) -> list[dict[str, Any]]:
        """Nearest available units to the incident, with distance and time to arrive."""
        incident = self.incident(principal, gid)
        payload = incident["payload"]
        if payload.get("lat") is None or payload.get("lon") is None:
            raise OpsError("the incident has no position to measure from")
        return suggest_units(payload["lat"], payload["lon"], self.units(principal), limit)

    # ---- metrics ------------------------------------------------------------------------

    def metric_rows(
        self,
        principal: Principal,
        *,
        kind: str | None = None,
        nation: str | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> list[dict[str, Any]]:
        """One row per visible incident: its owner nation, month and durations."""
        rows = []
        for record in self.visible(principal, "incident"):
            payload = record["payload"]
            detected = str(payload.get("detected_at", ""))
            if kind and payload.get("kind") != kind:
                continue
            if nation and record["origin_nation"] != nation:
                continue
            if (since and detected < since) or (until and detected > until):
                continue
            rows.append(
                {
                    "gid": record["gid"],
                    "banner": record["banner"],
                    "title": payload.get("title"),
                    "kind": payload.get("kind"),
                    "nation": record["origin_nation"],
                    "month": detected[:7],
                    "state": payload.get("state"),
                    "detected_at": detected,
                    "payload": payload,
                    **incident_durations(payload),
                }
            )
        return rows

    def metrics(
        self, principal: Principal, group_by: Sequence[str], **filters: Any
    ) -> dict[str, Any]:
        """Median and 90th percentile of each response time, per kind, nation and month."""
        rows = self.metric_rows(principal, **filters)
        return {
            "incidents": len(rows),
            "groups": {key: summarise(rows, key) for key in group_by},
        }
