"""The turn recorder's cursor into the tracker store and its lease (one recorder at a time).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "turn_recorder",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("last_event_id", sa.BigInteger()),
        sa.Column("holder", sa.String(128)),
        sa.Column("lease_until", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("name", name="pk_turn_recorder"),
    )


def downgrade() -> None:
    op.drop_table("turn_recorder")
