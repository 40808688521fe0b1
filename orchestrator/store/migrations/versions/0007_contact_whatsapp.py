"""contacts.whatsapp: the customer's WhatsApp number (E.164), apart from the SMS phone

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("whatsapp", sa.String(length=20), nullable=True))
        batch_op.create_index(batch_op.f("ix_contacts_whatsapp"), ["whatsapp"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_whatsapp"))
        batch_op.drop_column("whatsapp")
