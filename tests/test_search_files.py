"""The search index kept as a file in the data folder: reused on unchanged content (issue 18)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.content.library import Library
from app.content.model import Comparison
from app.search import index as search_index
from app.search.index import SearchIndex
from tests.discovery_content import write

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def comparisons(folder: Path) -> list[Comparison]:
    return list(Library.load(folder).comparisons.values())


@pytest.fixture
def content(tmp_path: Path) -> Path:
    folder = tmp_path / "content"
    folder.mkdir()
    write(folder, ["Kafka", "Pulsar"], body="A broker shoot-out about latency.")
    write(folder, ["Redis", "Valkey"], category="Databases", body="Latency of caches.")
    return folder


def hits(index: SearchIndex, text: str) -> list[str]:
    return [hit.slug for hit in index.search(text, now=NOW).hits]


def test_a_second_index_of_the_same_content_opens_the_file(
    content: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "search"
    first = SearchIndex(comparisons(content), folder=folder)
    files = list(folder.glob("search-*.sqlite3"))
    assert len(files) == 1
    builds: list[int] = []
    real_build = search_index._build

    def counted(db: sqlite3.Connection, ordered: Sequence[Comparison]) -> None:
        builds.append(1)
        real_build(db, ordered)

    monkeypatch.setattr(search_index, "_build", counted)
    second = SearchIndex(comparisons(content), folder=folder)
    try:
        assert builds == []
        assert hits(second, "latency") == hits(first, "latency")
        assert sorted(hits(second, "latency")) == ["kafka-vs-pulsar", "redis-vs-valkey"]
        # Snippets come from the comparisons (the tables keep no text).
        assert "<mark>" in str(second.search("broker", now=NOW).hits[0].snippet)
    finally:
        first.close()
        second.close()


def test_changed_content_gets_a_new_file_and_the_old_one_goes(
    content: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "search"
    SearchIndex(comparisons(content), folder=folder).close()
    before = {path.name for path in folder.glob("search-*.sqlite3")}
    write(content, ["Nats", "Rabbitmq"], body="Another broker.")
    changed = SearchIndex(comparisons(content), folder=folder)
    try:
        after = {path.name for path in folder.glob("search-*.sqlite3")}
        assert len(after) == 1 and after != before
        assert sorted(hits(changed, "broker")) == ["kafka-vs-pulsar", "nats-vs-rabbitmq"]
    finally:
        changed.close()


def test_an_unfinished_file_is_built_again(content: Path, tmp_path: Path) -> None:
    folder = tmp_path / "search"
    folder.mkdir()
    found = comparisons(content)
    ordered = sorted(found, key=lambda c: (c.published_at, c.slug))
    (folder / search_index.index_file_name(ordered)).write_bytes(b"not a database")
    index = SearchIndex(found, folder=folder)
    try:
        assert "kafka-vs-pulsar" in hits(index, "broker")
    finally:
        index.close()


def test_a_folder_that_cannot_be_written_keeps_the_index_in_memory(
    content: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the folder should be")
    index = SearchIndex(comparisons(content), folder=blocker / "search")
    try:
        assert hits(index, "broker") == ["kafka-vs-pulsar"]
    finally:
        index.close()


def test_a_prefix_with_one_completion_is_matched_as_that_word(content: Path) -> None:
    vocabulary = ["broker", "latency", "latent", "shoot"]
    assert search_index.sole_completions(vocabulary, ["brok", "late", "shoot", "b", "zz"]) == {
        "brok": "broker"
    }
    index = SearchIndex(comparisons(content))
    try:
        # Same hits, and the snippet still marks the whole word the reader began.
        found = index.search("brok", now=NOW).hits
        assert [hit.slug for hit in found] == hits(index, "broker") == ["kafka-vs-pulsar"]
        assert "<mark>broker</mark>" in str(found[0].snippet)
    finally:
        index.close()


def test_the_words_are_kept_beside_the_file_and_read_back(content: Path, tmp_path: Path) -> None:
    folder = tmp_path / "search"
    first = SearchIndex(comparisons(content), folder=folder)
    (index_file,) = folder.glob("search-*.sqlite3")
    kept = index_file.with_suffix(".vocabulary")
    assert kept.is_file()
    # What a second start reads back is what the index holds; a damaged copy is made again.
    for damage in (None, b"\x00damaged"):
        if damage is not None:
            kept.write_bytes(damage)
        second = SearchIndex(comparisons(content), folder=folder)
        try:
            assert second._vocabulary.words == first._vocabulary.words
            assert "latency" in second._vocabulary.words
            assert hits(second, "laten") == hits(first, "laten")
        finally:
            second.close()
    assert kept.read_bytes() != b"\x00damaged"
    first.close()
    write(content, ["Nats", "Rabbitmq"], body="Another broker.")
    SearchIndex(comparisons(content), folder=folder).close()
    assert not kept.exists()  # went with its index file
    assert len(list(folder.glob("search-*.vocabulary"))) == 1


def test_a_byte_changed_in_the_kept_words_is_never_read_back(content: Path, tmp_path: Path) -> None:
    # marshal has no checksum: a flipped bit in a word is still a word, and a wrong one.
    folder = tmp_path / "search"
    first = SearchIndex(comparisons(content), folder=folder)
    first.close()
    (index_file,) = folder.glob("search-*.sqlite3")
    kept = index_file.with_suffix(".vocabulary")
    whole = kept.read_bytes()
    for offset in range(0, len(whole), max(1, len(whole) // 60)):
        damaged = bytearray(whole)
        damaged[offset] ^= 4
        kept.write_bytes(bytes(damaged))
        second = SearchIndex(comparisons(content), folder=folder)
        try:
            assert second._vocabulary.words == first._vocabulary.words, offset
        finally:
            second.close()


def test_a_build_stopped_by_the_server_leaves_no_partial_file_for_good(
    content: Path, tmp_path: Path
) -> None:
    # A server stopped while its background thread builds the index exits without that
    # thread's cleanup: its partial file (up to the index's size, ~350 MB at 100,000 pages)
    # stayed in the folder through every later start.
    import os
    import subprocess
    import sys
    import threading

    folder = tmp_path / "search"
    first = SearchIndex(comparisons(content), folder=folder)
    first.close()
    (index_file,) = folder.glob("search-*.sqlite3")
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead = int(gone.stdout)
    abandoned = [
        folder / f".{index_file.name}.{dead}.12345.tmp",
        folder / f".edited-{dead}-6789.tmp",
        folder / f".search-stream.{dead}.12345.tmp",  # written beside a parse (app.search.stream)
    ]
    # This process's own, being written now (another thread's build): left alone.
    live = folder / f".{index_file.name}.{os.getpid()}.{threading.get_ident()}.tmp"
    # One left by a process of this very id (a container's server restarted gets the same
    # pid), untouched for an hour: a build writes its partial file all along.
    old = folder / f".{index_file.name}.{os.getpid()}.1.tmp"
    abandoned.append(old)
    for partial in (*abandoned, live):
        partial.write_bytes(b"partial")
    os.utime(old, (old.stat().st_atime - 3600, old.stat().st_mtime - 3600))
    again = SearchIndex(comparisons(content), folder=folder)  # a warm start
    again.close()
    assert [p.name for p in abandoned if p.exists()] == []
    assert live.exists()


def test_the_file_keeps_fts5_merge_defaults_after_the_bulk_load(
    content: Path, tmp_path: Path
) -> None:
    # The build turns merging off while rows go in; live preview's edits, made in a copy of
    # this file, must merge their segments as FTS5 does by default.
    folder = tmp_path / "search"
    SearchIndex(comparisons(content), folder=folder).close()
    (index_file,) = folder.glob("search-*.sqlite3")
    with sqlite3.connect(index_file) as db:
        for table in ("docs", "names"):
            settings = dict(db.execute(f"SELECT k, v FROM {table}_config").fetchall())
            assert settings.get("automerge", 4) == 4
            assert settings.get("crisismerge", 16) == 16
    db.close()


def test_a_failure_making_the_text_fails_the_build(
    content: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The text is made in a thread of its own: its error must reach the builder, not vanish
    # into an index missing pages.
    def broken(comparison: Comparison) -> tuple[str, str, str, str]:
        raise ValueError(comparison.slug)

    monkeypatch.setattr(search_index, "document_columns", broken)
    with pytest.raises(ValueError):
        search_index._build(sqlite3.connect(":memory:"), comparisons(content))
