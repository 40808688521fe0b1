"""contact preferences and their audit (the preference center)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-10 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import orchestrator.store.tables

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contact_preferences",
        sa.Column("contact_id", sa.String(length=128), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("preferred_channel", sa.String(length=16), nullable=False),
        sa.Column(
            "paused_until", orchestrator.store.tables.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "updated_at", orchestrator.store.tables.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_contact_preferences_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("contact_id", name=op.f("pk_contact_preferences")),
    )
    op.create_table(
        "preference_audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("contact_id", sa.String(length=128), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", orchestrator.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_preference_audit_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_preference_audit")),
    )
    op.create_index(
        op.f("ix_preference_audit_contact_id"), "preference_audit", ["contact_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_preference_audit_contact_id"), table_name="preference_audit")
    op.drop_table("preference_audit")
    op.drop_table("contact_preferences")
