"""Notes: a ``kind`` column, so readers' comparison requests share the notes' outbox.

Revision ID: 0004_note_kind
Revises: 0003_outbox_failed
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_note_kind"
down_revision = "0003_outbox_failed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every existing row is a disagreement note: the server default says so, and old code,
    # which never names the column, keeps inserting notes on the new schema.
    with op.batch_alter_table("feedback_notes") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="note"))


def downgrade() -> None:
    with op.batch_alter_table("feedback_notes") as batch:
        batch.drop_column("kind")
