"""Roles and permissions: what each kind of user may do, denied unless granted here.

Why a table and not checks scattered in routes: every route names one permission
(``api/auth.py``), the authorization matrix test walks routes by roles against this table,
and a route that names none fails that test.
"""

from __future__ import annotations

__all__ = ["PERMISSIONS", "ROLES", "permissions_for"]

PERMISSIONS: dict[str, str] = {
    "picture:read": "vessels, tracks, statistics and the live feed",
    "picture:ingest": "feed NMEA lines and columnar tables into the node",
    "zones:write": "add and remove detector zones",
    "events:read": "detector events and alerts",
    "records:read": "intelligence reports, sightings, vessel notes, shared alerts",
    "records:write": "create, edit, re-mark and withdraw records",
    "partners:read": "partner nodes, sharing groups and sync health",
    "incidents:read": "incidents, their ops log, units and response-time metrics",
    "incidents:write": "open incidents, act on them, task units, write the ops log",
    "units:write": "add units and report their status and position",
    "audit:read": "the audit log and its verification",
    "admin": "users, credentials, partners and sharing groups",
    "federation": "partner-node exchange (push and pull of records)",
}

ROLES: dict[str, frozenset[str]] = {
    "admin": frozenset(PERMISSIONS) - {"federation"},
    "watch_officer": frozenset(
        {
            "picture:read",
            "picture:ingest",
            "zones:write",
            "events:read",
            "records:read",
            "records:write",
            "partners:read",
            "incidents:read",
            "incidents:write",
            "units:write",
        }
    ),
    "analyst": frozenset(
        {"picture:read", "events:read", "records:read", "records:write", "incidents:read"}
    ),
    # A partner's officer at our watch floor: reads what may be released to their nation.
    "liaison": frozenset({"picture:read", "events:read", "records:read", "incidents:read"}),
    "programme_manager": frozenset(
        {"picture:read", "events:read", "records:read", "incidents:read"}
    ),
    # Machine identities.
    "partner": frozenset({"federation"}),
    "feed": frozenset({"picture:ingest"}),
}

_READ_ONLY_SAFE = frozenset(p for p in PERMISSIONS if p.endswith(":read"))


def permissions_for(role: str, *, read_only: bool = False) -> frozenset[str]:
    """The role's permissions; a read-only API key keeps only the ``:read`` ones."""
    granted = ROLES.get(role, frozenset())
    return granted & _READ_ONLY_SAFE if read_only else granted
