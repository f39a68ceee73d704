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
    with op.batch_alter_table("feedback_notes") as batch:
        batch.add_column(sa.Column("request_id", sa.String(128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feedback_notes") as batch:
        batch.drop_column("request_id")
