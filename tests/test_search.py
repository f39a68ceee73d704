"""Search: FTS5 ranking, prefix matching, safe handling of any reader text, the search page."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup

from app.content.library import Library
from app.main import create_app
from app.search.index import (
    MAX_QUERY_CHARS,
    SearchIndex,
    markdown_text,
    match_expression,
    query_terms,
    whole_words,
)
from app.settings import Settings
from tests.conftest import ROOT
from tests.discovery_content import write
from tests.soup import attr, text

NOW = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def content(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("content")
    write(folder, ["Knowledge Distillation", "Pruning"], category="Machine Learning",
          tags=["compression"])  # fmt: skip
    write(folder, ["Rclone", "rsync"], category="Storage", tags=["sync", "backup"])
    # Title match for "kafka" ...
    write(folder, ["Kafka", "Pulsar"], category="Messaging", tags=["streaming"])
    # ... and a body-only match for it, which must rank below.
    write(folder, ["RabbitMQ", "NATS"], category="Messaging", tags=["queues"],
          body="Teams moving off Kafka often land here.")  # fmt: skip
    write(folder, ["Xylo", "Marimba"], body="<script>alert(1)</script> xylophone & <b>bold</b>")
    write(folder, ["Secretdraft", "Other"], extra_front="draft: true\n", body="zebrafish")
    write(folder, ["Futurething", "Other2"], published="2099-01-01", body="okapi")
    # "cache" is a whole word on one page and the start of "cached" on another.
    write(folder, ["Varnish", "Squid"], category="Web Servers", body="A cache in front.")
    write(folder, ["Memcached", "Dragonfly"], category="Databases", body="Pages stay cached.")
    # A one-letter name: "c" must mean the word, not every word starting with c.
    write(folder, ["C", "Zig"], category="Languages", body="Manual memory.")
    for number in range(30):
        write(folder, [f"Widget{number}", f"Gadget{number}"], category="Gizmos",
              tags=["widgets"], body="A widget roundup.")  # fmt: skip
    return folder


@pytest.fixture(scope="module")
def index(content: Path) -> Iterator[SearchIndex]:
    library = Library.load(content)
    built = SearchIndex(library.comparisons.values())
    yield built
    built.close()


@pytest.fixture(scope="module")
def client(content: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(
        content_dir=content,
        data_dir=tmp_path_factory.mktemp("var"),
        templates_dir=ROOT / "templates",
        static_dir=ROOT / "static",
        site_url="https://nicepick.test",
        redirect_host=False,
        _env_file=None,
    )
    with TestClient(create_app(settings), follow_redirects=False) as test_client:
        yield test_client


def slugs(index: SearchIndex, text: str) -> list[str]:
    return [hit.slug for hit in index.search(text, now=NOW).hits]


def test_prefix_finds_knowledge_distillation(index: SearchIndex) -> None:
    assert slugs(index, "distil") == ["knowledge-distillation-vs-pruning"]


def test_prefix_finds_rclone(index: SearchIndex) -> None:
    assert slugs(index, "rclo") == ["rclone-vs-rsync"]


def test_prefix_is_case_and_accent_insensitive(index: SearchIndex) -> None:
    assert slugs(index, "RCLÖ") == ["rclone-vs-rsync"]


def test_title_match_ranks_above_body_match(index: SearchIndex) -> None:
    assert slugs(index, "kafka") == ["kafka-vs-pulsar", "rabbitmq-vs-nats"]


def test_every_word_must_match(index: SearchIndex) -> None:
    assert slugs(index, "kafka pulsar") == ["kafka-vs-pulsar"]
    assert slugs(index, "kafka marimba") == []


def test_a_whole_word_still_finds_longer_words_it_starts(index: SearchIndex) -> None:
    assert sorted(slugs(index, "cache")) == ["memcached-vs-dragonfly", "varnish-vs-squid"]
    assert slugs(index, "cached") == ["memcached-vs-dragonfly"]


def test_a_single_letter_matches_that_word_only(index: SearchIndex) -> None:
    # As a prefix, "c" would also find the pages with "cache", "cached", "compression"...
    assert slugs(index, "c") == ["c-vs-zig"]
    assert slugs(index, "C zig") == ["c-vs-zig"]


def test_whole_words_are_single_letters_and_words_nothing_longer_starts_with() -> None:
    vocabulary = sorted(["cache", "cached", "rsync", "zig", "über"])
    chosen = whole_words(vocabulary, ["cache", "cached", "rsy", "rsync", "c", "zig", "ü", "uber"])
    # "cache" keeps its prefix (cached), "rsy" and "uber" are not indexed words, "ü" not ASCII.
    assert chosen == {"cached", "rsync", "c", "zig"}
    assert match_expression(["cache", "zig"], {"zig"}) == '"cache"* "zig"'


def test_sharp_s_is_kept_as_the_index_keeps_it(tmp_path: Path) -> None:
    slug = write(tmp_path, ["Alpha", "Beta"], body="Die Straße entlang.")
    index = SearchIndex(Library.load(tmp_path).comparisons.values())
    try:
        (hit,) = index.search("STRAßE", now=NOW).hits
        assert hit.slug == slug and "<mark>Straße</mark>" in hit.snippet
    finally:
        index.close()


def test_drafts_and_future_pages_are_not_found(index: SearchIndex) -> None:
    assert slugs(index, "zebrafish") == []
    assert slugs(index, "okapi") == []
    assert slugs(index, "secretdraft") == []


def test_drafts_are_found_in_preview(index: SearchIndex) -> None:
    hits = index.search("zebrafish", now=NOW, drafts=True).hits
    assert [hit.slug for hit in hits] == ["secretdraft-vs-other"]


def test_snippet_escapes_text_and_marks_words(index: SearchIndex) -> None:
    (hit,) = index.search("xylophone", now=NOW).hits
    assert "<mark>xylophone</mark>" in hit.snippet
    assert "&lt;script" in hit.snippet
    assert "<script" not in hit.snippet and "<b>" not in hit.snippet


def plain_markdown_text(source: str) -> str:
    """``markdown_text`` as three passes over every character, with no shortcut."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", source)
    text = re.sub(r"[`*_#>|~]+", " ", text)
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", " ", unicodedata.normalize("NFC", text))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab [](!)`*_#>|~\x00\x07\t\n\x1f\x7fe\u0301é\u2028")))
def test_index_text_skips_only_passes_that_would_change_nothing(source: str) -> None:
    assert markdown_text(source) == plain_markdown_text(source)


def test_reader_words_never_become_query_syntax() -> None:
    assert query_terms('a" OR b NEAR(c) *d ^e -f') == ["a", "or", "b", "near", "c", "d", "e", "f"]
    assert match_expression(["near", "c"]) == '"near"* "c"*'
    assert query_terms("x" * 3000) == ["x" * MAX_QUERY_CHARS]
    assert query_terms("\ud800rclo\x00ne") == ["rclo", "ne"]


def test_search_page_lists_results_with_highlight(client: TestClient) -> None:
    response = client.get("/search", params={"q": "rclo"})
    assert response.status_code == 200
    soup = BeautifulSoup(response.text, "html.parser")
    results = soup.select(".search-results li")
    assert [attr(li, "h2 a", "href") for li in results] == ["/compare/rclone-vs-rsync"]
    assert text(results[0], ".snippet mark").lower() == "rclone"
    assert "Storage" in results[0].get_text()
    # The page's own form keeps the query; the header has no second search box here.
    assert attr(soup, "#search-q", "value") == "rclo"
    assert soup.select("#site-search-q") == []
    assert text(soup, ".result-count") == "1 comparison found for “rclo”."
    assert "·" not in text(results[0], ".meta")


def test_empty_query_shows_popular_categories(client: TestClient) -> None:
    response = client.get("/search?q=")
    assert response.status_code == 200
    soup = BeautifulSoup(response.text, "html.parser")
    pills = [a["href"] for a in soup.select(".popular-categories a")]
    assert pills[0] == "/category/gizmos"  # the category with the most comparisons first
    assert "/category/messaging" in pills


def test_nothing_found_shows_popular_categories_and_the_newest_comparisons(
    client: TestClient,
) -> None:
    response = client.get("/search", params={"q": "qwertyuiop"})
    assert response.status_code == 200
    soup = BeautifulSoup(response.text, "html.parser")
    assert text(soup, ".result-count").startswith("Nothing found for “qwertyuiop”.")
    assert attr(soup, ".popular-categories a", "href") == "/category/gizmos"
    newest = [attr(card, "h3 a", "href") for card in soup.select(".recent .card-item")]
    assert len(newest) == 6 and newest == sorted(set(newest), key=newest.index)
    twin = client.get("/search.json", params={"q": "qwertyuiop"}).json()
    assert [c["url"].removeprefix("https://nicepick.test") for c in twin["recent"]] == newest


def test_a_second_page_counts_from_where_the_first_stopped(client: TestClient) -> None:
    second = BeautifulSoup(client.get("/search?q=widget&page=2").text, "html.parser")
    assert text(second, ".result-count") == "Comparisons 25–30 for “widget”."
    first = BeautifulSoup(client.get("/search?q=widget").text, "html.parser")
    assert text(first, ".result-count") == ("Comparisons 1–24 for “widget”; more on the next page.")


def test_search_paginates(client: TestClient) -> None:
    first = BeautifulSoup(client.get("/search?q=widget").text, "html.parser")
    assert len(first.select(".search-results > li")) == 24
    assert attr(first, 'a[rel="next"]', "href") == "/search?q=widget&page=2"
    second = BeautifulSoup(client.get("/search?q=widget&page=2").text, "html.parser")
    assert len(second.select(".search-results > li")) == 6
    assert second.select_one('a[rel="next"]') is None
    assert client.get("/search?q=widget&page=3").status_code == 404
    assert client.get("/search?q=widget&page=-1").status_code == 404


HOSTILE = [
    '"',
    '""""',
    "'",
    "NEAR(",
    "NEAR(a b",
    "a AND OR b",
    "AND",
    "NOT",
    "*",
    "**rclo",
    "rclo*",
    "^kafka",
    "col:kafka",
    "title:kafka",
    "{title options}: kafka",
    "'; DROP TABLE docs; --",
    "1) OR 1=1 --",
    "\x00\x01\x02\x1f\x7f",
    "\u202erclo",
    "x" * 3000,
    "a " * 1500,
    "🦀 rust",
    "中文 搜索",
    "<script>alert(1)</script>",
    "%",
    "\\",
]


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_answer_a_normal_page(client: TestClient, query: str) -> None:
    response = client.get("/search", params={"q": query})
    assert response.status_code == 200
    soup = BeautifulSoup(response.text, "html.parser")
    assert text(soup, "h1") == "Search"
    # Only our own file (the empty page's static-search script), never the reader's text.
    scripts = soup.select("script:not([type])")
    assert [str(s.get("src", "")).split(".")[0] for s in scripts] in ([], ["/static/search"])
    assert all(not s.get_text() for s in scripts)


@pytest.mark.parametrize(
    "raw",
    [
        "/search?q=%ED%A0%80",  # a lone surrogate, UTF-8-encoded
        "/search?q=%ED%A0%80rclo%ED%B0%80",
        "/search?q=%FF%FE",  # not UTF-8 at all
        "/search?q=%00",
        "/search?q=a&q=b",
        "/search?q=rclo&page=99999999999999999999",
        "/search?q=rclo&page=%ED%A0%80",
    ],
)
def test_hostile_raw_urls_never_fail(client: TestClient, raw: str) -> None:
    assert client.get(raw).status_code in (200, 404)


def test_surrogate_query_still_finds_words(client: TestClient) -> None:
    soup = BeautifulSoup(client.get("/search?q=%ED%A0%80rclo").text, "html.parser")
    assert soup.select(".search-results li")


def test_cached_results_follow_pages_going_live(index: SearchIndex) -> None:
    assert slugs(index, "okapi") == []  # cached while the page is scheduled ...
    later = datetime(2100, 1, 1, tzinfo=UTC)
    hits = index.search("okapi", now=later).hits
    assert [hit.slug for hit in hits] == ["futurething-vs-other2"]  # ... and found once live
    assert slugs(index, "okapi") == []


def test_a_kept_result_page_is_the_same_and_outside_the_collectors_walks(
    index: SearchIndex,
) -> None:
    first = index.search("kafka", now=NOW)
    again = index.search("kafka", now=NOW)  # from the LRU
    assert again == first
    assert [hit.slug for hit in again.hits] == ["kafka-vs-pulsar", "rabbitmq-vs-nats"]
    assert all(isinstance(hit.snippet, Markup) for hit in again.hits)
    assert "<mark>Kafka</mark>" in again.hits[1].snippet
    # Every full collection walks what stays tracked: the LRU's pages must not be. The collector
    # stops tracking a tuple once everything in it is untracked, which holds for exact str, bool,
    # int and None. (Asserting ``gc.is_tracked`` after a collection instead failed when another
    # thread's library load called ``gc.freeze`` in between: a frozen tuple stays tracked.)
    assert index._cache
    for kept in index._cache.values():
        assert only_untrackable_atoms(kept), kept


def only_untrackable_atoms(value: object) -> bool:
    if type(value) is tuple:
        return all(only_untrackable_atoms(item) for item in value)
    return type(value) in (str, bool, int, type(None))


def test_markup_and_lists_fail_the_untrackable_atoms_check() -> None:
    kept = (("a-vs-b",), ("snippet",), False, 3)
    assert only_untrackable_atoms(kept)
    assert not only_untrackable_atoms((("a-vs-b",), (Markup("<mark>x</mark>"),)))
    assert not only_untrackable_atoms((["a-vs-b"],))


def write_fillers(folder: Path, count: int) -> None:
    """Old pages without the tests' word, so it is on fewer than half the pages: a word on
    more is common and answered in the static order, not scored (app/search/ranking.py)."""
    for number in range(count):
        write(folder, [f"Filler{number}", f"Spare{number}"], published="2019-01-01")


def test_broad_query_ranks_title_matches_and_the_newest_body_matches(tmp_path: Path) -> None:
    # An old title match, then six body-only matches published a day apart; three are ranked.
    write_fillers(tmp_path, 8)
    write(tmp_path, ["Kafka", "Pulsar"], published="2020-01-01", body="A broker shoot-out.")
    body_only = [
        write(
            tmp_path,
            [f"Alpha{day}", f"Beta{day}"],
            published=f"2024-01-0{day}",
            body="Teams moving off Kafka often land here.",
        )
        for day in range(1, 7)
    ]
    comparisons = Library.load(tmp_path).comparisons.values()
    capped = SearchIndex(comparisons, rank_limit=3)
    full = SearchIndex(comparisons)
    try:
        results = capped.search("kafka", now=NOW)
        found = [hit.slug for hit in results.hits]
        assert results.capped
        assert found[0] == "kafka-vs-pulsar"
        assert sorted(found[1:]) == sorted(body_only[3:])  # the three newest, none older
        everything = full.search("kafka", now=NOW)
        assert not everything.capped
        assert len(everything.hits) == 7 and everything.hits[0].slug == "kafka-vs-pulsar"
    finally:
        capped.close()
        full.close()


def test_broad_query_order_is_the_full_ranking_of_the_ranked_set(tmp_path: Path) -> None:
    # 24 pages say "kafka" a varying number of times, a day apart; every third also names it.
    # The eight "Kafka<day>" names count towards the prefix's pages: 32 of 64.
    write_fillers(tmp_path, 40)
    in_order: list[tuple[str, bool]] = []  # (slug, names Kafka), oldest first
    for day in range(24):
        names_it = day % 3 == 0
        options = [f"Kafka{day}", f"Other{day}"] if names_it else [f"Alpha{day}", f"Beta{day}"]
        words = " ".join(["kafka"] * (1 + day * 7 % 5))
        slug = write(tmp_path, options, published=f"2024-01-{day + 1:02d}", body=f"{words} go")
        in_order.append((slug, names_it))
    comparisons = Library.load(tmp_path).comparisons.values()
    capped, full = SearchIndex(comparisons, rank_limit=5), SearchIndex(comparisons)
    try:
        results = capped.search("kafka", now=NOW, limit=100)
        everything = [hit.slug for hit in full.search("kafka", now=NOW, limit=100).hits]
        newest = {slug for slug, _ in in_order[-5:]}
        older_named = [slug for slug, names_it in in_order[:-5] if names_it][-5:]
        ranked_set = newest | set(older_named)
        assert results.capped and len(everything) == 24 and len(ranked_set) == 10
        assert [hit.slug for hit in results.hits] == [s for s in everything if s in ranked_set]
    finally:
        capped.close()
        full.close()


def test_words_on_most_pages_list_title_then_option_holders_then_the_rest_newest_first(
    tmp_path: Path,
) -> None:
    # "kafka" is on every page: bm25 would give it an idf of 1e-6, so it is not scored.
    write(tmp_path, ["Kafka", "Pulsar"], published="2020-01-01", body="Kafka kafka kafka.")
    named = write(tmp_path, ["Redpanda", "Kafka Streams"], title="Redpanda vs Streams",
                  published="2020-02-01", body="Kafka.")  # fmt: skip
    body_only = [
        write(
            tmp_path,
            [f"Alpha{day}", f"Beta{day}"],
            published=f"2024-01-0{day}",
            body="kafka " * (7 - day),
        )  # fmt: skip
        for day in range(1, 7)
    ]
    comparisons = Library.load(tmp_path).comparisons.values()
    index = SearchIndex(comparisons, rank_limit=3)
    try:
        results = index.search("kafka", now=NOW)
        assert [hit.slug for hit in results.hits] == [
            "kafka-vs-pulsar",
            named,
            *reversed(body_only),  # nothing left out, newest first whatever the word count
        ]
        assert not results.capped
        second = index.search("kafka", now=NOW, limit=3, offset=3)
        assert [hit.slug for hit in second.hits] == body_only[4:1:-1] and second.has_next
        # On no more pages than the rank limit, the word is scored by bm25 as before: the
        # oldest body-only page says it most and ranks first of them.
        scored = SearchIndex(comparisons, rank_limit=8)
        try:
            hits = [hit.slug for hit in scored.search("kafka", now=NOW).hits]
            assert hits[0] == "kafka-vs-pulsar"
            assert [slug for slug in hits if slug in body_only] == body_only
            assert sorted(hits) == sorted(["kafka-vs-pulsar", named, *body_only])
        finally:
            scored.close()
    finally:
        index.close()


def test_narrow_query_is_not_capped(index: SearchIndex) -> None:
    assert not index.search("kafka", now=NOW).capped
