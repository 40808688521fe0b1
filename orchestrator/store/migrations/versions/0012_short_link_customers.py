"""short links know their customer (erasure deletes them)

Rows written before keep NULL: they cannot be attributed without reading every token, and
their tokens expire (90 days for clicks).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-14 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("short_links", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_id", sa.String(length=128), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_short_links_customer_id"), ["customer_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("short_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_short_links_customer_id"))
        batch_op.drop_column("customer_id")
