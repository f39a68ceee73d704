"""What the outbox recorded about its deliveries, read from the database.

Tests prove "mailed once" from these records once every sender has demonstrably finished
(every row sent, no lease still live), never by sleeping while a second mail might arrive.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, func, select

from app.feedback.store import attempts, outbox


def _database_now(connection: Connection) -> datetime:
    """Now as the store's leases count it: naive UTC, from PostgreSQL's clock there."""
    if connection.dialect.name == "postgresql":
        moment: datetime = connection.execute(select(func.timezone("UTC", func.now()))).scalar_one()
        return moment
    return datetime.now(UTC).replace(tzinfo=None)


def settled(engine: Engine) -> bool:
    """Every outbox row is sent and no sender still holds a live lease on any of them.

    A sender sends only what it holds, so past this point no mail is in flight and every
    delivery that happened is recorded.
    """
    with engine.connect() as connection:
        now = _database_now(connection)
        busy = connection.execute(
            select(func.count())
            .select_from(outbox)
            .where(
                outbox.c.sent_at.is_(None)
                | (outbox.c.claimed_by.is_not(None) & (outbox.c.claimed_until > now))
            )
        ).scalar_one()
    return busy == 0


def deliveries_per_note(engine: Engine) -> Counter[int]:
    """note id -> how many deliveries (attempts without an error) the outbox recorded."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(outbox.c.note_id, func.count(attempts.c.id))
            .select_from(outbox.outerjoin(attempts, attempts.c.outbox_id == outbox.c.id))
            .where(attempts.c.error.is_(None))
            .group_by(outbox.c.note_id)
        ).all()
    return Counter({note_id: count for note_id, count in rows})
