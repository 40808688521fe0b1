"""run arms: holdout and split variants per run

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import orchestrator.store.tables

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_arms",
        sa.Column("workflow_id", sa.String(length=300), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("experiment", sa.String(length=200), nullable=False),
        sa.Column("scenario", sa.String(length=100), nullable=False),
        sa.Column("customer_ref", sa.String(length=128), nullable=False),
        sa.Column("arm", sa.String(length=100), nullable=False),
        sa.Column(
            "assigned_at", orchestrator.store.tables.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("workflow_id", "version", "experiment", name=op.f("pk_run_arms")),
    )


def downgrade() -> None:
    op.drop_table("run_arms")
