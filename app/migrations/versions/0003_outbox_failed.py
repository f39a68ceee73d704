"""Outbox: mark mail refused for good (``failed_at``), sent again only on ``outbox --retry``.

Revision ID: 0003_outbox_failed
Revises: 0002_notes_key
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_outbox_failed"
down_revision = "0002_notes_key"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A nullable column with no default: old code keeps working on the new schema.
    with op.batch_alter_table("feedback_outbox") as batch:
        batch.add_column(sa.Column("failed_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feedback_outbox") as batch:
        batch.drop_column("failed_at")
