"""The rendered-page cache: each page rendered once, memory bounded by a byte budget."""

from __future__ import annotations

import random
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.render.cached_page import CachedPage
from app.render.page_cache import MISS_ENTRIES, PageCache
from app.settings import Settings
from app.web.responses import HOT_ENTRIES, HotPages
from tests.conftest import GOOD


def test_a_cached_page_is_rendered_once() -> None:
    cache = PageCache()
    calls: list[str] = []

    def render() -> bytes:
        calls.append("x")
        return b"<p>page</p>"

    first = cache.get_or_render("a", render)
    second = cache.get_or_render("a", render)
    assert first is second and calls == ["x"]


def test_a_cache_that_keeps_nothing_renders_each_time_and_holds_no_bytes() -> None:
    """The static export's: it asks for each page once."""
    cache = PageCache(keep=False, compress=False)
    bodies = iter([b"<p>one</p>", b"<p>two</p>", b""])
    first = cache.get_or_render("a", lambda: next(bodies))
    second = cache.get_or_render("a", lambda: next(bodies))
    missing = cache.get_or_render("b", lambda: next(bodies))
    assert (bytes(first), bytes(second), bytes(missing)) == (b"<p>one</p>", b"<p>two</p>", b"")
    assert isinstance(first, CachedPage) and first.etag
    assert len(cache) == 0 and cache.size_bytes == 0 and cache.misses == 0


def test_least_recently_used_pages_go_when_the_budget_is_spent() -> None:
    page = random.Random(7).randbytes(10_000)  # 10 KB that does not compress
    cache = PageCache(max_bytes=65_000)  # two such pages, each ~30 KB with its gzip/br forms
    cache.get_or_render("a", lambda: page)
    cache.get_or_render("b", lambda: page)
    cache.get_or_render("a", lambda: b"not rendered again")  # "a" is now the most recent
    cache.get_or_render("c", lambda: page)
    assert cache.size_bytes <= 65_000
    assert cache.get_or_render("a", lambda: b"re-rendered") == page
    assert cache.get_or_render("b", lambda: b"re-rendered") == b"re-rendered"


# --- misses: keys a client chooses never fill memory ------------------------------------------

LONG = "a" * 8000

# Every route that looks a page up by what the client typed; each miss gets a new key.
MISSES = [
    pytest.param("/option/{i}-" + LONG, id="option"),
    pytest.param("/tag/{i}-" + LONG, id="tag"),
    pytest.param("/category/{i}-" + LONG, id="category"),
    pytest.param("/best/{i}-" + LONG, id="best"),
    pytest.param("/compare/{i}-" + LONG, id="compare"),
    pytest.param("/og/{i}-" + LONG + ".png", id="card"),
    pytest.param("/?page={i}", id="index-page"),
    pytest.param("/tag/editors?page={i}", id="listing-page"),
    pytest.param("/category/dev-tools?page={i}", id="category-page"),
    pytest.param("/sitemap-{i}.xml", id="sitemap-part"),
    # Search answers 200 "nothing found"; its own result cache is bounded by count.
    pytest.param("/search?q={i}+" + "word+" * 100, id="search"),
]


@pytest.mark.parametrize("template", MISSES)
def test_unknown_urls_leave_no_client_key_in_the_page_cache(
    settings: Settings, write_content: Callable[[str, str], Path], template: str
) -> None:
    write_content("vim-vs-emacs.md", GOOD)
    cache = PageCache(max_bytes=settings.page_cache_mb * 1024 * 1024)
    with TestClient(create_app(settings, page_cache=cache), follow_redirects=False) as client:
        client.get("/")  # the 404 page and the home page are real pages: cache them first
        client.get("/compare/no-such-page")
        pages, size = len(cache), cache.size_bytes
        expected = 200 if template.startswith("/search") else 404
        for i in range(2, 302):
            assert client.get(template.format(i=i)).status_code == expected
        assert len(cache) == pages
        assert cache.size_bytes == size
        assert cache.misses <= MISS_ENTRIES


def test_misses_are_kept_as_a_bounded_set_of_digests_and_not_rendered_twice() -> None:
    cache = PageCache(max_misses=3)
    calls: list[str] = []

    def missing() -> bytes:
        calls.append("render")
        return b""

    for slug in ("a", "b", "c", "a"):
        assert not cache.get_or_render(("option", slug * 8000), missing)
    assert calls == ["render"] * 3  # the repeated "a" cost nothing
    for slug in ("d", "e"):
        cache.get_or_render(("option", slug), missing)
    assert cache.misses == 3 and len(cache) == 0 and cache.size_bytes == 0


def test_the_byte_budget_counts_keys_and_bookkeeping_as_measured() -> None:
    cache = PageCache(max_bytes=10**12)
    count = 2_000
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(count):
            key = ("option", f"{i}-" + "k" * 2000, 1, 7, 3)
            cache.get_or_render(key, lambda: b"<p>a small page</p>")
        measured = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # Keys are most of these entries: an account without them would be ~10x too low.
    assert 0.8 * measured <= cache.size_bytes <= 1.25 * measured


def test_the_hot_path_map_stays_bounded(client: TestClient) -> None:
    hot = find_hot_pages(client)
    page = CachedPage.of(b"<p>x</p>")
    for i in range(HOT_ENTRIES * 3):
        hot._remember(f"/compare/page-{i}", (page, "text/html; charset=utf-8"), "/compare/{slug}")
    assert len(hot.pages) <= HOT_ENTRIES


def find_hot_pages(client: TestClient) -> HotPages:
    """The HotPages middleware of the client's app, from its built middleware stack."""
    app = client.app
    layer: object = app.middleware_stack  # type: ignore[attr-defined]
    while layer is not None and not isinstance(layer, HotPages):
        layer = getattr(layer, "app", None)
    assert isinstance(layer, HotPages)
    return layer
