"""scenario versions: templates stored once per version

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 17:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import orchestrator.store.tables

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scenario_versions",
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("scenario", sa.String(length=100), nullable=False),
        sa.Column("templates", sa.JSON(), nullable=False),
        sa.Column(
            "created_at", orchestrator.store.tables.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_scenario_versions")),
    )


def downgrade() -> None:
    op.drop_table("scenario_versions")
