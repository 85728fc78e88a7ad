"""Relationship store: persons, identities, provenance, interactions, interests, consent, handoff, linking.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
OPEN = sa.text("status IN ('waiting', 'claimed')")


def _person_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["person_id"], ["persons.id"], name=f"fk_{table}_person_id_persons", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "persons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(80)),
        sa.Column("tone", sa.String(16), nullable=False),
        sa.Column("language", sa.String(35), nullable=False),
        sa.Column("preferred_channel", sa.String(32)),
        sa.Column("remembering", sa.Boolean(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("last_seen_at", TZ, nullable=False),
        sa.Column("merged_into_id", sa.Integer()),
        sa.PrimaryKeyConstraint("id", name="pk_persons"),
        sa.ForeignKeyConstraint(
            ["merged_into_id"], ["persons.id"], name="fk_persons_merged_into_id_persons", ondelete="SET NULL"
        ),
    )
    op.create_index("ix_persons_merged_into_id", "persons", ["merged_into_id"])

    op.create_table(
        "identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("sender_id", sa.String(256), nullable=False),
        sa.Column("verified_by", sa.String(16), nullable=False),
        sa.Column("verified_at", TZ),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_identities"),
        _person_fk("identities"),
        sa.UniqueConstraint("channel", "sender_id", name="uq_identities_channel_sender_id"),
    )
    op.create_index("ix_identities_person_id", "identities", ["person_id"])

    op.create_table(
        "fact_provenance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("fact", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("how", sa.String(16), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("learned_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_fact_provenance"),
        _person_fk("fact_provenance"),
        sa.UniqueConstraint("person_id", "fact", name="uq_fact_provenance_person_id_fact"),
    )

    op.create_table(
        "interactions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("intent", sa.String(128)),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("content_item", sa.String(200)),
        sa.Column("content_type", sa.String(16)),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("satisfaction", sa.SmallInteger()),
        sa.Column("text", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_interactions"),
        _person_fk("interactions"),
    )
    op.create_index("ix_interactions_person_id_at", "interactions", ["person_id", "at"])
    op.create_index("ix_interactions_at", "interactions", ["at"])

    op.create_table(
        "interests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("mentions", sa.Integer(), nullable=False),
        sa.Column("last_mentioned_at", TZ, nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("how", sa.String(16), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_interests"),
        _person_fk("interests"),
        sa.UniqueConstraint("person_id", "topic", name="uq_interests_person_id_topic"),
    )

    op.create_table(
        "content_engagement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(200), nullable=False),
        sa.Column("item_type", sa.String(16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_at", TZ, nullable=False),
        sa.Column("last_at", TZ, nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_content_engagement"),
        _person_fk("content_engagement"),
        sa.UniqueConstraint("person_id", "item_id", name="uq_content_engagement_person_id_item_id"),
    )

    op.create_table(
        "advocacy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("how", sa.String(16), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_advocacy"),
        _person_fk("advocacy"),
    )
    op.create_index("ix_advocacy_person_id", "advocacy", ["person_id"])

    op.create_table(
        "consent_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("channel", sa.String(32)),
        sa.Column("how", sa.String(16), nullable=False),
        sa.Column("merge_id", sa.Integer()),
        sa.PrimaryKeyConstraint("id", name="pk_consent_events"),
        _person_fk("consent_events"),
    )
    op.create_index("ix_consent_events_person_id_purpose", "consent_events", ["person_id", "purpose"])

    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("sender_id", sa.String(256), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("team", sa.String(64), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("assigned_staff_id", sa.Integer()),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("claimed_at", TZ),
        sa.Column("closed_at", TZ),
        sa.Column("satisfaction", sa.SmallInteger()),
        sa.PrimaryKeyConstraint("id", name="pk_tickets"),
        _person_fk("tickets"),
    )
    op.create_index("ix_tickets_person_id", "tickets", ["person_id"])
    op.create_index("ix_tickets_status_created_at", "tickets", ["status", "created_at"])
    op.create_index(
        "uq_tickets_open_channel_sender_id",
        "tickets",
        ["channel", "sender_id"],
        unique=True,
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )

    op.create_table(
        "staff_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer()),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("author_name", sa.String(80), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_staff_notes"),
        _person_fk("staff_notes"),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name="fk_staff_notes_ticket_id_tickets", ondelete="SET NULL"
        ),
    )
    op.create_index("ix_staff_notes_person_id", "staff_notes", ["person_id"])
    op.create_index("ix_staff_notes_ticket_id", "staff_notes", ["ticket_id"])

    op.create_table(
        "link_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("code_hmac", sa.String(64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("used_at", TZ),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("invalidated_at", TZ),
        sa.PrimaryKeyConstraint("id", name="pk_link_codes"),
        _person_fk("link_codes"),
    )
    op.create_index("ix_link_codes_person_id", "link_codes", ["person_id"])
    op.create_index("ix_link_codes_code_hmac", "link_codes", ["code_hmac"])

    op.create_table(
        "link_code_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("sender_id", sa.String(256), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_link_code_failures"),
    )
    op.create_index(
        "ix_link_code_failures_channel_sender_id_at", "link_code_failures", ["channel", "sender_id", "at"]
    )

    op.create_table(
        "merge_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("into_id", sa.Integer(), nullable=False),
        sa.Column("from_id", sa.Integer(), nullable=False),
        sa.Column("by", sa.String(64), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("undone_at", TZ),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_merge_log"),
    )
    op.create_index("ix_merge_log_into_id", "merge_log", ["into_id"])
    op.create_index("ix_merge_log_from_id", "merge_log", ["from_id"])


def downgrade() -> None:
    for table in (
        "merge_log",
        "link_code_failures",
        "link_codes",
        "staff_notes",
        "tickets",
        "consent_events",
        "advocacy",
        "content_engagement",
        "interests",
        "interactions",
        "fact_provenance",
        "identities",
        "persons",
    ):
        op.drop_table(table)
