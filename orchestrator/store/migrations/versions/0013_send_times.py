"""send times held for each customer's best hour; the send log's reactions by time

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-14 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import orchestrator.store.tables

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "send_times",
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("scenario", sa.String(length=100), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("step", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column(
            "decided_at", orchestrator.store.tables.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("send_at", orchestrator.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("local_day", sa.Integer(), nullable=False),
        sa.Column("local_hour", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_send_times")),
    )
    op.create_index(op.f("ix_send_times_customer_id"), "send_times", ["customer_id"], unique=False)
    op.create_index("ix_send_times_pending", "send_times", ["scenario", "send_at"], unique=False)
    op.create_index("ix_send_log_sent_at", "send_log", ["sent_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_send_log_sent_at", table_name="send_log")
    op.drop_index("ix_send_times_pending", table_name="send_times")
    op.drop_index(op.f("ix_send_times_customer_id"), table_name="send_times")
    op.drop_table("send_times")
