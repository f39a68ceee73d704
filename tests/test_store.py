"""The feedback store's behaviour, once on SQLite and once on PostgreSQL (same code, same tests).

Two ``FeedbackStore`` objects on one database stand for two instances of the site.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text

from app.db import (
    SchemaBehind,
    alembic_config,
    make_engine,
    prepare_schema,
    schema_status,
    upgrade,
)
from app.feedback.store import FeedbackStore, NewNote, utcnow
from tests.pg import scratch_database

LEASE = timedelta(seconds=30)


def new_note(number: int = 1, *, pick: str = "Emacs", slug: str = "vim-vs-emacs") -> NewNote:
    return NewNote(
        slug=slug,
        title="Vim vs Emacs",
        our_pick="Vim",
        reader_pick=pick,
        message=f"note number {number}, long enough",
        name="",
        email="",
        page_hash="abc",
        page_updated=None,
    )


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'notes.sqlite3'}"
    else:
        with scratch_database() as url:
            yield url


@pytest.fixture
def engines(database_url: str) -> Iterator[Callable[[], Engine]]:
    made: list[Engine] = []

    def make() -> Engine:
        engine = make_engine(database_url)
        made.append(engine)
        return engine

    yield make
    for engine in made:
        engine.dispose()


@pytest.fixture
def stores(engines: Callable[[], Engine]) -> tuple[FeedbackStore, FeedbackStore]:
    """Two instances' stores on one upgraded database."""
    first = engines()
    upgrade(first)
    return FeedbackStore(first), FeedbackStore(engines())


def test_note_and_outbox_row_are_committed_together(
    stores: tuple[FeedbackStore, FeedbackStore],
) -> None:
    one, other = stores
    note = one.add_note(new_note())
    assert [n.id for n in other.notes()] == [note.id]
    [entry] = other.outbox_entries()
    assert entry.note_id == note.id and entry.sent_at is None


def test_each_due_note_is_claimed_by_exactly_one_instance(
    stores: tuple[FeedbackStore, FeedbackStore],
) -> None:
    one, other = stores
    ids = {one.add_note(new_note(n)).id for n in range(40)}
    claimed: dict[str, list[int]] = {"a": [], "b": []}

    def drain(store: FeedbackStore, worker: str) -> None:
        while batch := store.claim(worker, lease=LEASE, limit=3):
            claimed[worker] += [d.note.id for d in batch]

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(drain, [one, other], ["a", "b"]))
    assert sorted(claimed["a"] + claimed["b"]) == sorted(ids)
    assert not set(claimed["a"]) & set(claimed["b"])


def test_claim_of_a_dead_instance_is_taken_over_after_the_lease(
    stores: tuple[FeedbackStore, FeedbackStore],
) -> None:
    one, other = stores
    note = one.add_note(new_note())
    assert [d.note.id for d in one.claim("dead", lease=LEASE)] == [note.id]
    assert other.claim("alive", lease=LEASE) == []
    later = utcnow() + LEASE + timedelta(seconds=1)
    assert [d.note.id for d in other.claim("alive", lease=LEASE, now=later)] == [note.id]


def test_release_hands_unsent_claims_back_at_once(
    stores: tuple[FeedbackStore, FeedbackStore],
) -> None:
    one, other = stores
    sent, unsent = one.add_note(new_note(1)), one.add_note(new_note(2))
    deliveries = {d.note.id: d for d in one.claim("stopping", lease=LEASE)}
    one.mark_sent(deliveries[sent.id].outbox_id, "stopping")
    assert one.release("stopping") == 1
    assert [d.note.id for d in other.claim("alive", lease=LEASE)] == [unsent.id]


def test_a_sent_note_is_never_claimed_again(stores: tuple[FeedbackStore, FeedbackStore]) -> None:
    one, other = stores
    one.add_note(new_note())
    [delivery] = one.claim("a", lease=LEASE)
    one.mark_sent(delivery.outbox_id, "a")
    far = utcnow() + timedelta(days=1)
    assert other.claim("b", lease=LEASE, now=far) == []
    assert other.attempt_errors(delivery.outbox_id) == [None]


def test_failed_attempt_is_recorded_and_retried_when_due(
    stores: tuple[FeedbackStore, FeedbackStore],
) -> None:
    one, other = stores
    one.add_note(new_note())
    [delivery] = one.claim("a", lease=LEASE)
    retry_at = utcnow() + timedelta(seconds=60)
    one.mark_failed(delivery.outbox_id, "a", "SMTPConnectError: down", retry_at=retry_at)
    assert other.claim("b", lease=LEASE) == []
    [again] = other.claim("b", lease=LEASE, now=retry_at + timedelta(seconds=1))
    assert again.attempts == 1
    assert other.outbox_entries()[0].last_error == "SMTPConnectError: down"


def test_rate_limit_holds_in_total_across_instances(
    stores: tuple[FeedbackStore, FeedbackStore],
) -> None:
    one, other = stores
    period = timedelta(minutes=10)
    results = [
        store.hit_rate_limit("203.0.113.7", limit=5, period=period)
        for store in (one, other, one, other, one, other, one)
    ]
    assert results == [True] * 5 + [False] * 2
    assert one.hit_rate_limit("203.0.113.8", limit=5, period=period)
    later = utcnow() + period + timedelta(seconds=1)
    assert other.hit_rate_limit("203.0.113.7", limit=5, period=period, now=later)


def test_concurrent_hits_from_many_instances_let_exactly_the_limit_through(
    stores: tuple[FeedbackStore, FeedbackStore],
) -> None:
    one, other = stores
    barrier = threading.Barrier(12)

    def hit(index: int) -> bool:
        barrier.wait()
        store = one if index % 2 else other
        return store.hit_rate_limit("198.51.100.1", limit=5, period=timedelta(minutes=10))

    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(hit, range(12)))
    assert results.count(True) == 5


def test_note_within_the_limit_is_counted_and_stored_together_and_over_it_nothing_is(
    stores: tuple[FeedbackStore, FeedbackStore],
) -> None:
    one, other = stores
    period = timedelta(minutes=10)
    assert other.hit_rate_limit("192.0.2.9", limit=2, period=period)
    note = one.add_note_within_limit(new_note(1), "192.0.2.9", limit=2, period=period)
    assert note is not None
    assert one.add_note_within_limit(new_note(2), "192.0.2.9", limit=2, period=period) is None
    assert [n.id for n in other.notes()] == [note.id]
    assert [entry.note_id for entry in other.outbox_entries()] == [note.id]
    assert not other.hit_rate_limit("192.0.2.9", limit=2, period=period)  # the note counted


def test_meter_from_another_instance_shows_after_a_refresh(
    stores: tuple[FeedbackStore, FeedbackStore],
) -> None:
    one, other = stores
    other.refresh_meters()
    before = other.meter_version("vim-vs-emacs")
    one.add_note(new_note(1, pick="Emacs"))
    one.add_note(new_note(2, pick="Vim"))
    one.add_note(new_note(3, pick="Emacs"))
    assert one.meter("vim-vs-emacs").counts == {"Emacs": 2, "Vim": 1}  # at once, here
    assert other.meter("vim-vs-emacs").total == 0  # the other instance: memory only
    assert other.refresh_meters() == {"vim-vs-emacs"}
    assert other.meter("vim-vs-emacs").counts == {"Emacs": 2, "Vim": 1}
    assert other.meter_version("vim-vs-emacs") != before
    # Nothing changed: the version (and so the cached page) stays.
    version = other.meter_version("vim-vs-emacs")
    assert other.refresh_meters() == set()
    assert other.meter_version("vim-vs-emacs") == version


def test_meter_since_a_day_counts_later_notes_here_and_after_a_refresh(
    stores: tuple[FeedbackStore, FeedbackStore],
) -> None:
    """The day a note was written comes back from the database (``date(created_at)``, text on
    SQLite, a date on PostgreSQL), so another instance splits the counts as the writer does."""
    one, other = stores
    one.add_note(new_note(1, pick="Emacs"), now=datetime(2026, 5, 31, 23, 59, 59, tzinfo=UTC))
    one.add_note(new_note(2, pick="Vim"), now=datetime(2026, 6, 1, 0, 0, tzinfo=UTC))
    one.add_note(new_note(3, pick="Emacs"), now=datetime(2026, 6, 2, 12, 0, tzinfo=UTC))
    other.refresh_meters()
    for store in (one, other):
        meter = store.meter("vim-vs-emacs", since=date(2026, 6, 1))
        assert (meter.counts, meter.total, meter.earlier) == ({"Vim": 1, "Emacs": 1}, 2, 1)
        assert store.meter("vim-vs-emacs").counts == {"Emacs": 2, "Vim": 1}


def test_upgrades_started_together_do_not_race(engines: Callable[[], Engine]) -> None:
    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda _: upgrade(engines()), range(4)))
    assert all(status.is_current for status in statuses)


def test_serve_upgrades_sqlite_but_refuses_an_old_postgresql_schema(
    engines: Callable[[], Engine],
) -> None:
    engine = engines()
    if engine.dialect.name == "sqlite":
        assert prepare_schema(engine).is_current
        return
    with pytest.raises(SchemaBehind, match="run `nicepick db upgrade` first"):
        prepare_schema(engine)
    upgrade(engine)
    assert prepare_schema(engine).is_current
    with engine.begin() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == (
            schema_status(engine).head
        )


def test_db_commands_and_serve_refusal_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NICEPICK_")}
    (tmp_path / "content").mkdir()  # serve refuses a missing content folder before anything
    env.update(
        NICEPICK_DATABASE_URL=pg_url,
        NICEPICK_DATA_DIR=str(tmp_path),
        NICEPICK_CONTENT_DIR=str(tmp_path / "content"),
    )

    def nicepick(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "app", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)

    refused = nicepick("serve", "--port", "1")
    assert refused.returncode == 1
    assert "run `nicepick db upgrade` first" in refused.stderr
    assert nicepick("db", "current").stdout.startswith("empty (behind")
    upgraded = nicepick("db", "upgrade")
    assert upgraded.returncode == 0 and "(current)" in upgraded.stdout
    assert nicepick("db", "current").stdout.strip().endswith("(current)")


def test_a_note_keeps_the_request_that_stored_it_until_its_delivery(
    stores: tuple[FeedbackStore, FeedbackStore],
) -> None:
    one, other = stores
    note = one.add_note(replace(new_note(1), request_id="edge-7f3a:1"))
    (delivery,) = other.claim("worker-b", lease=LEASE)
    assert delivery.note.id == note.id
    assert delivery.request_id == "edge-7f3a:1"


def test_the_request_id_column_comes_and_goes_with_its_migration(
    engines: Callable[[], Engine],
) -> None:
    from alembic import command

    engine = engines()
    upgrade(engine)
    FeedbackStore(engine).add_note(replace(new_note(1), request_id="r-1"))

    def columns() -> set[str]:
        return {column["name"] for column in inspect(engine).get_columns("feedback_notes")}

    assert "request_id" in columns()
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0003_outbox_failed")
    assert "request_id" not in columns()
    assert upgrade(engine).is_current  # the note stored before is still there, id unknown
    (delivery,) = FeedbackStore(engine).claim("worker", lease=LEASE)
    assert delivery.request_id is None
