"""Alembic's entry point: runs revisions on the connection ``app.db`` hands over.

Revisions are applied by ``app.db.upgrade`` (``nicepick db upgrade``, or ``serve`` on SQLite),
which passes its own connection (already holding the advisory lock) in ``config.attributes``.
``target_metadata`` is the store's MetaData so ``alembic revision --autogenerate`` can diff it.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from app.feedback.store import metadata

config = context.config
target_metadata = metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:  # the plain ``alembic`` command, e.g. for --autogenerate against a scratch database
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("set sqlalchemy.url (-x is not read); app.db.upgrade is the usual path")
    with create_engine(url).connect() as conn:
        _run(conn)
        conn.commit()
