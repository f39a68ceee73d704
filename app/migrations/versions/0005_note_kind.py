"""Notes: a ``kind`` column, so readers' comparison requests share the notes' outbox.

Revision ID: 0005_note_kind
Revises: 0004_note_request_id
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_note_kind"
down_revision = "0004_note_request_id"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every existing row is a disagreement note: the server default says so, and old code,
    # which never names the column, keeps inserting notes on the new schema.
    op.add_column(
        "feedback_notes",
        sa.Column("kind", sa.String(16), nullable=False, server_default="note"),
    )


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+), not batch mode: batch mode copies the table and
    # drops the original, which cascades to every unsent outbox row (see 0004).
    op.drop_column("feedback_notes", "kind")
