"""The stdlib reader of the meter counts reads what the store reads, or says it cannot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from app.feedback.meter_file import plain_sqlite_path, read_meters
from app.feedback.store import FeedbackStore, NewNote, notes


def note(slug: str, pick: str) -> NewNote:
    return NewNote(
        slug=slug,
        title="Vim vs Emacs",
        our_pick="Vim",
        reader_pick=pick,
        message="A message of some length",
        name="",
        email="",
        page_hash="hash",
        page_updated=None,
    )


def test_it_reads_the_counts_the_store_reads_by_pick_and_day(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    store = FeedbackStore.from_url(url)
    store.create_schema()
    try:
        for slug, pick in [("vim-vs-emacs", "Emacs"), ("vim-vs-emacs", "Vim"), ("a-vs-b", "A")]:
            store.add_note(note(slug, pick))
        with store.engine.begin() as connection:  # one note of an earlier day
            earlier = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=3)
            connection.execute(
                sa.update(notes).where(notes.c.reader_pick == "Vim").values(created_at=earlier)
            )
        expected = store.meter_counts()
    finally:
        store.dispose()
    assert len(expected["vim-vs-emacs"]) == 2
    assert read_meters(url, ["vim-vs-emacs", "none-yet"]) == {
        "vim-vs-emacs": expected["vim-vs-emacs"]
    }


def test_it_leaves_other_databases_and_unreadable_files_to_the_store(tmp_path: Path) -> None:
    assert read_meters("postgresql://u@db.example/nicepick", ["a"]) is None
    assert read_meters("sqlite://", ["a"]) is None
    assert read_meters(f"sqlite:///{tmp_path / 'missing.sqlite3'}", ["a"]) is None
    (tmp_path / "empty.sqlite3").write_bytes(b"")
    assert read_meters(f"sqlite:///{tmp_path / 'empty.sqlite3'}", ["a"]) is None  # no table
    assert not (tmp_path / "missing.sqlite3").exists()  # it never creates one


def test_only_urls_sqlalchemy_reads_as_the_same_plain_path() -> None:
    assert (
        plain_sqlite_path("sqlite:////var/lib/nicepick/db.sqlite3")
        == "/var/lib/nicepick/db.sqlite3"
    )
    assert plain_sqlite_path("sqlite:///relative.sqlite3") == "relative.sqlite3"
    for url in [
        "sqlite:////a%20b.db",
        "sqlite:///x.db?mode=ro",
        "sqlite:///:memory:",
        "sqlite+pysqlite:////x.db",
    ]:
        assert plain_sqlite_path(url) is None
