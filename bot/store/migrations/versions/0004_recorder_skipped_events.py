"""The turn recorder counts the tracker events it could not record and passed over.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("turn_recorder") as table:
        table.add_column(sa.Column("skipped", sa.BigInteger(), nullable=False, server_default="0"))
        table.add_column(sa.Column("last_skipped_event_id", sa.BigInteger()))


def downgrade() -> None:
    with op.batch_alter_table("turn_recorder") as table:
        table.drop_column("last_skipped_event_id")
        table.drop_column("skipped")
