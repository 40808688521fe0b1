"""send log: why a send was held back (quiet hours, pending events)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-14 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("send_log", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("held", sa.String(length=40), server_default="", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("send_log", schema=None) as batch_op:
        batch_op.drop_column("held")
