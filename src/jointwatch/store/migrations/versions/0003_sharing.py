"""Sharing: users, credentials, partners, groups, shared records, deliveries, audit chain.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

Written by hand, like 0001, so the schema it creates never follows later model edits.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the sharing tables."""
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("nation", sa.String(3), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("clearance", sa.String(32), nullable=False),
        sa.Column("password_hash", sa.String(256)),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(24), primary_key=True),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("read_only", sa.Boolean(), nullable=False),
        sa.Column("allowed_ips", sa.JSON(), nullable=False),
        sa.Column("expires_at", _TS),
        sa.Column("last_used_at", _TS),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("revoked_at", _TS),
    )
    op.create_table(
        "user_sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
    )
    op.create_table(
        "enrolments",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("used_at", _TS),
    )
    op.create_table(
        "sharing_groups",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("nations", sa.JSON(), nullable=False),
        sa.Column("description", sa.String(200), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_table(
        "partners",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("nation", sa.String(3), nullable=False),
        sa.Column("url", sa.String(300)),
        sa.Column("ceiling", sa.String(32), nullable=False),
        sa.Column("outbound_token", sa.String(200)),
        sa.Column("ca_file", sa.String(500)),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("push_cursor", sa.BigInteger(), nullable=False),
        sa.Column("pull_cursor", sa.BigInteger(), nullable=False),
        sa.Column("last_push_at", _TS),
        sa.Column("last_pull_at", _TS),
        sa.Column("last_error", sa.String(500)),
        sa.Column("audit_head", sa.JSON()),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "shared_records",
        sa.Column("gid", sa.String(120), primary_key=True),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("origin_nation", sa.String(3), nullable=False),
        sa.Column("origin_node", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("change_seq", sa.BigInteger(), nullable=False),
        sa.Column("marking", sa.JSON(), nullable=False),
        sa.Column("rel_nations", sa.JSON(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("received_from", sa.String(64)),
    )
    op.create_index("ix_shared_records_change_seq", "shared_records", ["change_seq"], unique=True)
    op.create_index("ix_shared_records_kind_time", "shared_records", ["kind", "updated_at"])
    op.create_table(
        "deliveries",
        sa.Column("partner", sa.String(64), primary_key=True),
        sa.Column("gid", sa.String(120), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column("at", _TS, nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(24)),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("object_type", sa.String(32), nullable=False),
        sa.Column("object_id", sa.String(120), nullable=False),
        sa.Column("marking_before", sa.Text()),
        sa.Column("marking_after", sa.Text()),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    """Drop them."""
    for table in (
        "audit_log",
        "deliveries",
        "shared_records",
        "partners",
        "sharing_groups",
        "enrolments",
        "user_sessions",
        "api_keys",
        "users",
    ):
        op.drop_table(table)
