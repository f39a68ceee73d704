"""Outbox leases in the store, on SQLite and on PostgreSQL: who may write what, and when.

Two ``FeedbackStore`` objects on one database stand for two instances; ``now=`` moves one
instance past a lease without waiting for it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from app.db import make_engine, upgrade
from app.feedback.store import FeedbackStore, NewNote, OutboxStatus, utcnow
from tests.pg import scratch_database

LEASE = timedelta(seconds=30)


def new_note(number: int = 1) -> NewNote:
    return NewNote(
        slug="vim-vs-emacs",
        title="Vim vs Emacs",
        our_pick="Vim",
        reader_pick="Emacs",
        message=f"note number {number}, long enough",
        name="",
        email="",
        page_hash="abc",
        page_updated=None,
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def stores(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[FeedbackStore, FeedbackStore]]:
    with database(request.param, tmp_path) as url:
        engine = make_engine(url)
        upgrade(engine)
        one, other = FeedbackStore(engine), FeedbackStore(make_engine(url))
        try:
            yield one, other
        finally:
            one.dispose()
            other.dispose()


def database(kind: str, tmp_path: Path) -> contextlib.AbstractContextManager[str]:
    if kind == "sqlite":
        return contextlib.nullcontext(f"sqlite:///{tmp_path / 'notes.sqlite3'}")
    return scratch_database()


def taken_over(one: FeedbackStore, other: FeedbackStore) -> int:
    """Instance "a" claims a note, its lease runs out, instance "b" claims it; the row's id."""
    one.add_note(new_note())
    [mine] = one.claim("a", lease=LEASE)
    later = utcnow() + LEASE + timedelta(seconds=1)
    [theirs] = other.claim("b", lease=LEASE, now=later)
    assert theirs.outbox_id == mine.outbox_id
    return mine.outbox_id


def test_a_claim_takes_no_more_rows_than_its_limit(
    stores: tuple[FeedbackStore, FeedbackStore],
) -> None:
    one, other = stores
    ids = [one.add_note(new_note(n)).id for n in range(6)]
    assert [d.note.id for d in one.claim("a", lease=LEASE, limit=1)] == ids[:1]
    assert [d.note.id for d in other.claim("b", lease=LEASE, limit=2)] == ids[1:3]
    assert [d.note.id for d in one.claim("a", lease=LEASE, limit=5)] == ids[3:]


def test_a_late_delivery_is_recorded_without_freeing_the_new_holders_lease(
    stores: tuple[FeedbackStore, FeedbackStore],
) -> None:
    one, other = stores
    outbox_id = taken_over(one, other)
    assert one.mark_sent(outbox_id, "a") is False  # no longer a's, but the mail is out
    [entry] = other.outbox_entries(include_sent=True)
    assert entry.sent_at is not None
    assert entry.claimed_by == "b"  # b's claim untouched ...
    assert other.renew("b", {outbox_id}, lease=LEASE) == set()  # ... and b learns not to send


def test_a_late_failure_report_changes_nothing_but_the_attempt_log(
    stores: tuple[FeedbackStore, FeedbackStore],
) -> None:
    one, other = stores
    outbox_id = taken_over(one, other)
    before = other.outbox_entries()
    assert one.mark_failed(outbox_id, "a", "SMTPServerDisconnected: gone") is False
    assert one.mark_failed(outbox_id, "a", "554 refused", permanent=True) is False
    assert other.outbox_entries() == before
    assert other.renew("b", {outbox_id}, lease=LEASE) == {outbox_id}
    assert other.attempt_errors(outbox_id) == ["SMTPServerDisconnected: gone", "554 refused"]


def test_renewing_extends_only_the_holders_unsent_rows(
    stores: tuple[FeedbackStore, FeedbackStore],
) -> None:
    one, other = stores
    first, second = one.add_note(new_note(1)), one.add_note(new_note(2))
    rows = {d.note.id: d.outbox_id for d in one.claim("a", lease=LEASE)}
    one.mark_sent(rows[first.id], "a")
    assert one.renew("a", set(rows.values()), lease=LEASE) == {rows[second.id]}
    assert other.renew("b", set(rows.values()), lease=LEASE) == set()
    # Renewed from the lease clock: still held a lease later than the first claim ran out.
    later = utcnow() + LEASE - timedelta(seconds=1)
    one.renew("a", {rows[second.id]}, lease=LEASE, now=later)
    assert other.claim("b", lease=LEASE, now=later + timedelta(seconds=2)) == []


def test_an_unknown_outcome_keeps_the_lease_until_it_ends_and_is_never_handed_back(
    stores: tuple[FeedbackStore, FeedbackStore],
) -> None:
    one, other = stores
    one.add_note(new_note())
    [delivery] = one.claim("a", lease=LEASE)
    assert one.mark_unknown(delivery.outbox_id, "a", "outcome unknown: dropped") is True
    assert one.release("a") == 0
    assert other.claim("b", lease=LEASE) == []
    later = utcnow() + LEASE + timedelta(seconds=1)
    [again] = other.claim("b", lease=LEASE, now=later)
    assert again.attempts == 1


def test_release_hands_back_only_the_rows_named(
    stores: tuple[FeedbackStore, FeedbackStore],
) -> None:
    one, other = stores
    first, second = one.add_note(new_note(1)), one.add_note(new_note(2))
    rows = {d.note.id: d.outbox_id for d in one.claim("a", lease=LEASE)}
    assert one.held_by("a") == set(rows.values())
    assert one.release("a", {rows[first.id]}) == 1
    assert one.release("a", set()) == 0
    assert [d.note.id for d in other.claim("b", lease=LEASE)] == [first.id]
    assert one.held_by("a") == {rows[second.id]}


def test_a_permanent_failure_is_never_claimed_until_retry_and_is_counted(
    stores: tuple[FeedbackStore, FeedbackStore],
) -> None:
    one, other = stores
    one.add_note(new_note(1))
    one.add_note(new_note(2))
    [refused, _] = one.claim("a", lease=LEASE)
    assert one.mark_failed(refused.outbox_id, "a", "SMTPDataError: 554", permanent=True)
    assert one.release("a") == 1
    assert other.outbox_status() == OutboxStatus(pending=1, failed=1)
    far = utcnow() + timedelta(days=365)
    assert [d.outbox_id for d in other.claim("b", lease=LEASE, now=far)] != [refused.outbox_id]
    assert other.next_due_in() is not None  # the pending one; the failed one is never due
    assert other.retry_now() == 2
    assert other.outbox_status() == OutboxStatus(pending=2, failed=0)


@pytest.mark.postgres
def test_postgresql_leases_run_on_the_servers_clock() -> None:
    with scratch_database() as url:
        engine = make_engine(url)
        upgrade(engine)
        store = FeedbackStore(engine)
        try:
            store.add_note(new_note())
            store.claim("a", lease=LEASE)
            with engine.connect() as connection:
                left = connection.execute(
                    text(
                        "SELECT EXTRACT(EPOCH FROM claimed_until - timezone('UTC', now())) "
                        "FROM feedback_outbox"
                    )
                ).scalar_one()
            assert LEASE.total_seconds() - 5 < float(left) <= LEASE.total_seconds()
        finally:
            store.dispose()
