"""Notes: the X-Request-ID of the request that stored each (``request_id``), for the logs.

Revision ID: 0004_note_request_id
Revises: 0003_outbox_failed
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_note_request_id"
down_revision = "0003_outbox_failed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A nullable column with no default: old code keeps working on the new schema.
    op.add_column("feedback_notes", sa.Column("request_id", sa.String(128), nullable=True))


def downgrade() -> None:
    # A plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), not Alembic's batch mode: batch
    # copies feedback_notes and drops the original, and with foreign keys on that drop
    # cascades to every outbox row (mail not yet sent would be lost).
    # https://www.sqlite.org/lang_altertable.html#altertabdropcol
    op.drop_column("feedback_notes", "request_id")
