"""Notes: a submission key (a resent form is stored once); editor-given values as text.

The unique index on ``submission_key`` lets a resent form find the note its first sending
stored. ``slug``, ``title``, ``our_pick`` and ``reader_pick`` come from content files, whose
only bound is the file system: PostgreSQL's varchar(200/500) refused long ones (a 500 for
every note on that page) while SQLite, which never enforces a declared length, took them.
They become text on PostgreSQL (no table rewrite: varchar to text is binary-coercible). On
SQLite the declared type changes nothing (both have TEXT affinity), so its tables are not
copied for it.

Revision ID: 0002_notes_key
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_notes_key"
down_revision = "0001"
branch_labels = None
depends_on = None

_EDITOR_COLUMNS = {"slug": 200, "title": 500, "our_pick": 200, "reader_pick": 200}


def upgrade() -> None:
    op.add_column("feedback_notes", sa.Column("submission_key", sa.String(64), nullable=True))
    op.create_index(
        "ux_feedback_notes_submission_key", "feedback_notes", ["submission_key"], unique=True
    )
    if op.get_bind().dialect.name == "postgresql":
        for column, length in _EDITOR_COLUMNS.items():
            op.alter_column(
                "feedback_notes",
                column,
                type_=sa.Text(),
                existing_type=sa.String(length),
                existing_nullable=False,
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for column, length in _EDITOR_COLUMNS.items():
            op.alter_column(
                "feedback_notes",
                column,
                type_=sa.String(length),
                existing_type=sa.Text(),
                existing_nullable=False,
            )
    op.drop_index("ux_feedback_notes_submission_key", table_name="feedback_notes")
    with op.batch_alter_table("feedback_notes") as batch:
        batch.drop_column("submission_key")
