"""Relational models of sharing: users and credentials, partners, groups, shared records,
deliveries and the audit chain.

Why here and not in ``models.py``: these tables are the low-volume, security-relevant side
of a node (STYLE.md keeps modules small); revision 0003 creates them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from jointwatch.store.models import Base, UtcDateTime

__all__ = [
    "ApiKey",
    "AuditEntry",
    "Delivery",
    "Enrolment",
    "Partner",
    "SharedRecord",
    "SharingGroup",
    "UserAccount",
    "UserSession",
]


class UserAccount(Base):
    """A person or a partner node's machine identity (role ``partner``)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    nation: Mapped[str] = mapped_column(sa.String(3), nullable=False)
    role: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    clearance: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    password_hash: Mapped[str | None] = mapped_column(sa.String(256))
    disabled: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class ApiKey(Base):
    """A machine credential: shown once, stored as SHA-256 of its secret part."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(sa.String(24), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    name: Mapped[str] = mapped_column(sa.String(120), nullable=False)
    secret_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    read_only: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    allowed_ips: Mapped[list[str]] = mapped_column(sa.JSON, nullable=False)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class UserSession(Base):
    """A console login (cookie); the cookie holds the secret, the table its SHA-256."""

    __tablename__ = "user_sessions"

    id_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class Enrolment(Base):
    """A single-use, short-lived login link (first login, demo, lost password)."""

    __tablename__ = "enrolments"

    token_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class SharingGroup(Base):
    """A named set of nations, e.g. ASEAN-MARSEC."""

    __tablename__ = "sharing_groups"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    nations: Mapped[list[str]] = mapped_column(sa.JSON, nullable=False)
    description: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class Partner(Base):
    """A partner node: where to push and pull, with what credential, up to what ceiling."""

    __tablename__ = "partners"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    nation: Mapped[str] = mapped_column(sa.String(3), nullable=False)
    url: Mapped[str | None] = mapped_column(sa.String(300))
    ceiling: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    outbound_token: Mapped[str | None] = mapped_column(sa.String(200))
    ca_file: Mapped[str | None] = mapped_column(sa.String(500))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    enabled: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    push_cursor: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    pull_cursor: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    last_push_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_pull_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    # The partner's latest signed audit head (sharing/audit.py), kept to detect truncation.
    audit_head: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class SharedRecord(Base):
    """One shareable record (report, sighting, alert, vessel note; later incidents...).

    ``gid`` is global (origin node + UUID), ``version`` is owned by the originator and
    ``change_seq`` is this node's own monotonic change counter, the cursor partners pull by.
    """

    __tablename__ = "shared_records"
    __table_args__ = (
        sa.Index("ix_shared_records_change_seq", "change_seq", unique=True),
        sa.Index("ix_shared_records_kind_time", "kind", "updated_at"),
    )

    gid: Mapped[str] = mapped_column(sa.String(120), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(24), nullable=False)
    origin_nation: Mapped[str] = mapped_column(sa.String(3), nullable=False)
    origin_node: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    change_seq: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    marking: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False)
    rel_nations: Mapped[list[str]] = mapped_column(sa.JSON, nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False)
    deleted: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    created_by: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    received_from: Mapped[str | None] = mapped_column(sa.String(64))


class Delivery(Base):
    """What a partner holds of one record: the version sent and its receipt."""

    __tablename__ = "deliveries"

    partner: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    gid: Mapped[str] = mapped_column(sa.String(120), primary_key=True)
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    status: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    reason: Mapped[str] = mapped_column(sa.String(300), nullable=False, default="")
    at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class AuditEntry(Base):
    """One link of the audit chain (sharing/audit.py)."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    actor: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    key_id: Mapped[str | None] = mapped_column(sa.String(24))
    action: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    object_type: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    object_id: Mapped[str] = mapped_column(sa.String(120), nullable=False)
    marking_before: Mapped[str | None] = mapped_column(sa.Text)
    marking_after: Mapped[str | None] = mapped_column(sa.Text)
    detail: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False)
    prev_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)
