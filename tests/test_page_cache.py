"""The rendered-page cache: each page rendered once, memory bounded by a byte budget."""

from __future__ import annotations

import random

from app.render import PageCache


def test_a_cached_page_is_rendered_once() -> None:
    cache = PageCache()
    calls: list[str] = []

    def render() -> bytes:
        calls.append("x")
        return b"<p>page</p>"

    first = cache.get_or_render("a", render)
    second = cache.get_or_render("a", render)
    assert first is second and calls == ["x"]


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
