"""event outbox: events keep their payload until delivered

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 15:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import orchestrator.store.tables

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payload", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "delivered_at", orchestrator.store.tables.UtcDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column(
                "lease_until", orchestrator.store.tables.UtcDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.create_index("ix_events_undelivered", ["delivered_at", "lease_until"])
    # Events accepted before the outbox were delivered (or released) by their request.
    op.execute("UPDATE events SET delivered_at = received_at")


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_undelivered")
        batch_op.drop_column("attempts")
        batch_op.drop_column("lease_until")
        batch_op.drop_column("delivered_at")
        batch_op.drop_column("payload")
