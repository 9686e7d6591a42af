"""Detector events and user zones.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

Written by hand, like 0001, so the schema it creates never follows later model edits.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``detector_events`` and ``zones``."""
    op.create_table(
        "detector_events",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("mmsi", sa.BigInteger(), nullable=False),
        sa.Column("other_mmsi", sa.BigInteger()),
        sa.Column("zone", sa.String(120)),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True)),
        sa.Column("lat", sa.Double(), nullable=False),
        sa.Column("lon", sa.Double(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_detector_events_start", "detector_events", ["start_time"])
    op.create_index("ix_detector_events_mmsi", "detector_events", ["mmsi"])
    op.create_index("ix_detector_events_updated_at", "detector_events", ["updated_at"])
    op.create_table(
        "zones",
        sa.Column("name", sa.String(120), primary_key=True),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("feature", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    """Drop them."""
    op.drop_table("zones")
    op.drop_index("ix_detector_events_updated_at", "detector_events")
    op.drop_index("ix_detector_events_mmsi", "detector_events")
    op.drop_index("ix_detector_events_start", "detector_events")
    op.drop_table("detector_events")
