"""The search index written while the parse workers run (issue 18): the same answers as an
index built after the load, whatever the cross-file rules left out."""

from __future__ import annotations

import logging
import random
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.content import parallel
from app.content.cache import ParseCache
from app.content.library import Library
from app.content.parallel import MIN_FILES, PerFile, available_cores, prime
from app.content.sources import discover
from app.search import index as search_index
from app.search import stream as stream_module
from app.search.index import SearchIndex
from app.search.stream import IndexStream, StreamRow, index_row
from app.site import Site
from bench.generate import generate
from tests.discovery_content import comparison_md, site_settings, write

NOW = datetime(2026, 1, 1, tzinfo=UTC)
LATER = datetime(2031, 1, 1, tzinfo=UTC)  # the future pages are out by then
WORDS = (
    "latency throughput memory cache broker queue storage replication index shard "
    "lease quorum vector column stream batch window tensor graph ledger schema "
    "backup restore mirror proxy tunnel socket thread fiber"
).split()
QUERIES = [
    *WORDS,
    "lat",
    "tool",
    "kafka",
    "pulsar",
    "latency cache",
    "memory broker queue",
    "handles large inputs",
    "steady",
    "s",
    "clear pick",
    "draft",
    "nothing-matches-this",
]


@pytest.fixture
def content(tmp_path: Path) -> Path:
    """Pages on shared days, drafts, future pages, a broken file, a slug given twice (a
    subfolder's copy, and a subfolder's other page) and a pair of options given twice."""
    folder = tmp_path / "content"
    folder.mkdir()
    chosen = random.Random(18)
    for number in range(40):
        body = " ".join(chosen.choices(WORDS, k=chosen.randint(2, 9)))
        day = f"2025-0{1 + number % 4}-1{number % 3}"  # many pages a day
        extra = "draft: true\n" if number % 13 == 5 else ""
        write(
            folder, [f"Tool{number}", f"Kit{number}"], body=body, published=day, extra_front=extra
        )
    write(folder, ["Later", "Sooner"], body="latency of the future", published="2030-05-01")
    write(folder, ["Kafka", "Pulsar"], body="A broker shoot-out about latency.")
    (folder / "broken.md").write_text("---\ntitle: [unclosed\n---\nlatency\n", encoding="utf-8")
    # Pulsar vs Kafka: the pair Kafka vs Pulsar has; published later, so left out.
    write(folder, ["Pulsar", "Kafka"], body="memory broker latency again", published="2025-09-01")
    copy, other = folder / "a", folder / "b"
    copy.mkdir()
    other.mkdir()
    (copy / "kafka-vs-pulsar.md").write_text(
        (folder / "kafka-vs-pulsar.md").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (other / "tool3-vs-kit3.md").write_text(
        comparison_md(["Tool3", "Kit3", "Extra"], body="queue shard index cache"), encoding="utf-8"
    )
    return folder


def streamed(
    content: Path, data: Path, *, drop: bool = True, rank_limit: int = 5
) -> tuple[Library, SearchIndex]:
    """The library and its index, loaded as the server loads a cold start: parsed in worker
    processes that also make the rows the stream writes."""
    sources = discover(content)
    cache = ParseCache(data / "parse-cache.marshal")
    stream = IndexStream(data / "search", sources)
    made = prime(
        cache, sources, today=None, jobs=2, per_file=PerFile(index_row, stream.keys, stream.take)
    )
    assert made == len(sources)
    stream.end()
    library = Library.load(content, cache, sources=sources)
    if drop:
        stream.dropped = library.left_out()
    index = SearchIndex(
        library.comparisons.values(), folder=data / "search", stream=stream, rank_limit=rank_limit
    )
    return library, index


Answer = tuple[str, list[tuple[str, str]], bool, bool]  # query, (slug, snippet)s, more, capped


def answers(index: SearchIndex) -> list[Answer]:
    """Every query's page of results, by day, with drafts or not, first page or further."""
    found: list[Answer] = []
    for query in QUERIES:
        for now in (NOW, LATER):
            for drafts in (False, True):
                for offset in (0, 3):
                    results = index.search(query, now=now, drafts=drafts, limit=4, offset=offset)
                    found.append(
                        (
                            query,
                            [(hit.slug, str(hit.snippet)) for hit in results.hits],
                            results.has_next,
                            results.capped,
                        )
                    )
    return found


@pytest.mark.parametrize("chunk, write_rows", [(None, None), (5, 7)])
def test_the_streamed_index_answers_as_one_built_after_the_load(
    content: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    chunk: int | None,
    write_rows: int | None,
) -> None:
    if chunk is not None and write_rows is not None:
        # Many chunks, inserted several together, the last batch short: rows of one chunk
        # split between two transactions, and chunks out of rowid order.
        monkeypatch.setattr(parallel, "_CHUNK", chunk)
        monkeypatch.setattr(stream_module, "_WRITE_ROWS", write_rows)
    batches: list[int] = []
    insert = IndexStream._insert

    def counted(self: IndexStream, db: sqlite3.Connection, rows: list[StreamRow]) -> None:
        batches.append(len(rows))
        insert(self, db, rows)

    monkeypatch.setattr(IndexStream, "_insert", counted)
    with caplog.at_level(logging.INFO, logger="app.search.stream"):
        library, index = streamed(content, tmp_path / "data")
    if write_rows is not None:
        assert len(batches) > 2 and batches[-1] < write_rows
    else:
        assert len(batches) == 1
    # The rows of the left-out copy, the other page of that slug and the repeated pair
    # went in from the workers and were deleted; none had to be added.
    assert len(library.left_out()) == 3
    assert "used (3 deleted, 0 added)" in caplog.text
    built = SearchIndex(library.comparisons.values(), rank_limit=5)
    try:
        assert answers(index) == answers(built)
        assert any(capped for *_, capped in answers(built))  # the broad path ran too
        assert index._vocabulary.words == built._vocabulary.words
        assert [index._vocabulary.pages(w, exact=True) for w in built._vocabulary.words] == [
            built._vocabulary.pages(w, exact=True) for w in built._vocabulary.words
        ]
    finally:
        index.close()
        built.close()
    assert list((tmp_path / "data" / "search").glob(".*.tmp")) == []


def test_a_warm_start_opens_the_streamed_file_with_its_rowids(
    content: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    library, first = streamed(content, tmp_path / "data")
    expected = answers(first)
    first.close()

    def no_build(db: sqlite3.Connection, ordered: object) -> None:
        raise AssertionError("built again")

    monkeypatch.setattr(search_index, "_build", no_build)
    again = SearchIndex(
        library.comparisons.values(), folder=tmp_path / "data" / "search", rank_limit=5
    )
    try:
        assert answers(again) == expected
    finally:
        again.close()


def test_rows_that_cannot_be_deleted_mean_a_build_as_before(
    content: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Without the left-out pages' values, their rows cannot leave the file: it is not used.
    with caplog.at_level(logging.WARNING, logger="app.search.stream"):
        library, index = streamed(content, tmp_path / "data", drop=False)
    assert "not used" in caplog.text
    built = SearchIndex(library.comparisons.values(), rank_limit=5)
    try:
        assert answers(index) == answers(built)
    finally:
        index.close()
        built.close()
    search = tmp_path / "data" / "search"
    assert list(search.glob(".*.tmp")) == []
    assert len(list(search.glob("search-*.sqlite3"))) == 1


def test_pages_the_workers_did_not_parse_are_added(
    content: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A file the parse cache has an entry for is not parsed by the workers (here: edited
    # since, so the load parses it again itself): its row is made at the end.
    data = tmp_path / "data"
    Library.load(content, ParseCache(data / "parse-cache.marshal"))
    write(content, ["Later", "Sooner"], body="throughput of the future", published="2030-05-01")
    cache = ParseCache(data / "parse-cache.marshal")
    sources = discover(content)
    for source in sources:
        if source.path.name != "later-vs-sooner.md":
            del cache.entries[str(source.path)]
    stream = IndexStream(data / "search", sources)
    prime(cache, sources, today=None, jobs=2, per_file=PerFile(index_row, stream.keys, stream.take))
    stream.end()
    library = Library.load(content, cache, sources=sources)
    stream.dropped = library.left_out()
    with caplog.at_level(logging.INFO, logger="app.search.stream"):
        index = SearchIndex(library.comparisons.values(), folder=data / "search", stream=stream)
    assert "used (3 deleted, 1 added)" in caplog.text
    built = SearchIndex(library.comparisons.values())
    try:
        assert answers(index) == answers(built)
        assert [hit.slug for hit in index.search("throughput future", now=LATER).hits] == [
            "later-vs-sooner"
        ]
    finally:
        index.close()
        built.close()


@pytest.mark.skipif(available_cores() < 2, reason="parsed in worker processes on 2+ cores")
def test_a_cold_load_of_the_site_searches_from_the_streamed_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    content, data = tmp_path / "content", tmp_path / "data"
    generate(content, MIN_FILES, options=MIN_FILES // 4)
    site = Site(site_settings(content, data))
    with caplog.at_level(logging.INFO, logger="app.search.stream"):
        site.load()
        index = site.search_index()
    assert "used (0 deleted, 0 added)" in caplog.text
    built = SearchIndex(site.library.comparisons.values())
    try:
        for query in ("tool", "latency", "fast cache", "a", "zzz"):
            assert [h.slug for h in index.search(query, now=LATER).hits] == [
                h.slug for h in built.search(query, now=LATER).hits
            ]
        assert index.search("tool", now=LATER).hits  # the queries find pages
    finally:
        built.close()
        index.close()
    assert list((data / "search").glob(".*.tmp")) == []


def test_a_stream_of_few_pages_is_not_used(
    content: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A reload that parsed a few files in workers: the rest would be added one by one,
    # slower than the usual build.
    data = tmp_path / "data"
    Library.load(content, ParseCache(data / "parse-cache.marshal"))
    cache = ParseCache(data / "parse-cache.marshal")
    sources = discover(content)
    for source in sources[:3]:
        del cache.entries[str(source.path)]
    stream = IndexStream(data / "search", sources)
    prime(cache, sources, today=None, jobs=2, per_file=PerFile(index_row, stream.keys, stream.take))
    stream.end()
    library = Library.load(content, cache, sources=sources)
    stream.dropped = library.left_out()
    with caplog.at_level(logging.WARNING, logger="app.search.stream"):
        index = SearchIndex(library.comparisons.values(), folder=data / "search", stream=stream)
    assert "were not parsed in workers" in caplog.text
    built = SearchIndex(library.comparisons.values())
    try:
        assert answers(index) == answers(built)
    finally:
        index.close()
        built.close()
    assert list((data / "search").glob(".*.tmp")) == []


def test_a_parse_with_nothing_to_parse_ranks_no_slugs(content: Path, tmp_path: Path) -> None:
    # A warm start parses no file: the slugs of 100,000 files were ranked for nothing (0.2 s).
    cache = ParseCache(tmp_path / "var" / "parse-cache.marshal")
    Library.load(content, cache)  # every file now has its entry
    sources = discover(content)
    asked: list[int] = []

    def keys() -> list[int]:
        asked.append(1)
        return list(range(len(sources)))

    taken: list[object] = []
    per_file = PerFile(index_row, keys, taken.append)
    assert prime(cache, sources, today=None, jobs=2, per_file=per_file) == 0
    assert asked == [] and taken == []
    del cache.entries[str(sources[0].path)]  # one file to parse: the keys are asked for once
    assert prime(cache, sources, today=None, jobs=2, per_file=per_file) == 1
    assert asked == [1] and len(taken) == 1
