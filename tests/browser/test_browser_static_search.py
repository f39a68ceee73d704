"""Search on a static host: the exported folder under a plain file server, in Chromium.

The results the page shows must be the server's own ranking of the same pages.
"""

from __future__ import annotations

import functools
import random
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import BrowserContext, Page

from app.commands import static_search
from app.commands.export import export_site
from app.content.library import Library
from app.search.index import RANK_LIMIT, SearchIndex
from app.settings import Settings
from bench.generate import comparison_markdown
from tests.conftest import GOOD, comparison_text

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NANO = (
    comparison_text(title="Nano vs Micro", category="Text Editors", tags="[editors, beginner]")
    .replace("Vim", "Nano")
    .replace("Emacs", "Micro")
    # "vim" in the body only: the page titled Vim must still come first for "vim".
    .replace("older than most", "kinder than vim to most")
)
ENDPOINT = "https://notes.nicepick.test"
# A small rank limit, so 64 pages have common words (on more than half of them) and broad
# queries (over the limit): the server's two ranking rules, app/search/ranking.py.
SMALL_LIMIT = 8
# The oldest pages: "latency" (on every page) in one's title, "shard" in the other's options.
TITLED = comparison_text(title="Latency Lab vs Helix", published="2020-01-01").replace(
    "Emacs", "Helix"
)
NAMED = comparison_text(title="Keeper vs Emacs", published="2020-02-01").replace(
    "Vim", "Shardkeeper"
)


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _serve(
    root: Path, extra: dict[str, str], *, rank_limit: int = RANK_LIMIT
) -> Iterator[tuple[str, Path]]:
    """The export of two editors' pages, ``extra`` ones and 60 synthetic ones, served by
    http.server; the export's index made with ``rank_limit``."""
    content = root / "content"
    content.mkdir()
    (content / "vim-vs-emacs.md").write_text(GOOD)
    (content / "nano-vs-micro.md").write_text(NANO)
    for name, text in extra.items():
        (content / name).write_text(text)
    rng = random.Random(3)
    for number in range(60):
        slug, text = comparison_markdown(number, rng)
        (content / f"{slug}.md").write_text(text)
    settings = Settings(
        content_dir=content,
        data_dir=root / "var",
        site_url="https://nicepick.test",
        feedback_endpoint=ENDPOINT,
        secret_key="static-search-test-key",
        _env_file=None,
    )
    out = root / "site"
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(static_search, "RANK_LIMIT", rank_limit)  # what meta.json says
        export_site(settings, out, cards=False)
    handler = functools.partial(_Quiet, directory=str(out))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", content
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def static_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    yield from _serve(tmp_path_factory.mktemp("static-search"), {})


@pytest.fixture(scope="module")
def small_limit_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    extra = {"latency-lab-vs-helix.md": TITLED, "keeper-vs-emacs.md": NAMED}
    root = tmp_path_factory.mktemp("static-search-small")
    yield from _serve(root, extra, rank_limit=SMALL_LIMIT)


def shown(page: Page, base: str, query: str) -> list[str]:
    """The slugs the exported search page lists for ``query``, in order."""
    page.goto(f"{base}/search/?q={quote(query)}")
    page.wait_for_function(
        "q => document.querySelector('[data-searched]')?.getAttribute('data-searched') === q",
        arg=query,
    )
    links = page.locator(".static-search .summary-card h2 a")
    return [href.rsplit("/", 1)[-1] for href in links.evaluate_all("l => l.map(a => a.href)")]


def server_ranking(content: Path, query: str, *, rank_limit: int = RANK_LIMIT) -> list[str]:
    library = Library.load(content)
    index = SearchIndex(library.comparisons.values(), rank_limit=rank_limit)
    results = index.search(query, now=datetime.now(UTC), limit=24)
    return [hit.slug for hit in results.hits]


@pytest.mark.parametrize(
    "query", ["vim", "ema", "editors", "latency", "tool1", "cache shard", "Tool12a", "ms 4"]
)
def test_static_search_ranks_as_the_server_does(
    static_site: tuple[str, Path], new_context: Callable[..., BrowserContext], query: str
) -> None:
    base, content = static_site
    page = new_context().new_page()
    expected = server_ranking(content, query)
    assert expected, query  # a query that finds nothing would prove nothing
    assert shown(page, base, query) == expected


@pytest.mark.parametrize(
    "query",
    [
        "latency",  # on every page: the static order, the page titled with it first
        "shard",  # the page with it in an option's name first
        "shard latency",
        "vim latency",  # "vim" scored, "latency" only filters
        "tool1",  # more matches than the limit: the newest, then older named pages
        "tools",  # the same, where no older page names it
        "tool1 latency",  # broad, "latency" only filtering
        "machine learning",
    ],
)
def test_common_words_and_broad_queries_rank_as_on_the_server(
    small_limit_site: tuple[str, Path], new_context: Callable[..., BrowserContext], query: str
) -> None:
    base, content = small_limit_site
    page = new_context().new_page()
    expected = server_ranking(content, query, rank_limit=SMALL_LIMIT)
    assert expected, query
    assert shown(page, base, query) == expected


def test_only_common_words_list_the_title_holder_first(
    small_limit_site: tuple[str, Path], new_context: Callable[..., BrowserContext]
) -> None:
    base, _ = small_limit_site
    page = new_context().new_page()
    # The oldest pages, first by the static order; bm25 alone ranked them by word counts.
    assert shown(page, base, "latency")[0] == "latency-lab-vs-helix"
    assert shown(page, base, "shard")[0] == "keeper-vs-emacs"


def test_a_title_match_comes_before_a_body_match(
    static_site: tuple[str, Path], new_context: Callable[..., BrowserContext]
) -> None:
    base, _ = static_site
    page = new_context().new_page()
    assert shown(page, base, "vim")[:2] == ["vim-vs-emacs", "nano-vs-micro"]
    # As on the server's results page: no popular categories under the results (the list's
    # own display showed it although the script hid it).
    assert not page.locator(".popular-categories").is_visible()
    assert page.locator("#search-q").input_value() == "vim"
    assert page.title().startswith("Search: vim")


def test_hostile_input_stays_text(
    static_site: tuple[str, Path], new_context: Callable[..., BrowserContext]
) -> None:
    base, _ = static_site
    page = new_context().new_page()
    hostile = '"><img src=x onerror="window.pwned=1">'
    assert shown(page, base, hostile) == []  # every word required: none has them all
    assert page.locator("img").count() == 0
    assert page.evaluate("window.pwned") is None
    lede = page.locator(".static-search .lede").inner_text()
    assert lede.startswith(f"Nothing found for \u201c{hostile}\u201d")


def test_a_page_past_the_last_says_so_and_links_the_first(
    static_site: tuple[str, Path], new_context: Callable[..., BrowserContext]
) -> None:
    # It said "Nothing found for “vim”", where the server answers page 2 of a short list
    # with a 404: the reader had results, on another page.
    base, content = static_site
    page = new_context().new_page()
    found = len(server_ranking(content, "vim"))
    assert 0 < found <= 24  # one page of results
    page.goto(f"{base}/search/?q=vim&page=3")
    page.wait_for_function("document.querySelector('[data-searched]') !== null")
    lede = page.locator(".static-search .lede")
    assert lede.inner_text().startswith(
        f"There is no page 3 of results for \u201cvim\u201d: {found} results on one page."
    )
    page.locator(".static-search .lede a").click()
    page.wait_for_function("document.querySelector('[data-searched]') !== null")
    assert page.url.endswith("/search/?q=vim")
    assert page.locator(".static-search .summary-card").count() == found


def test_without_javascript_the_page_points_to_the_servers_search(
    static_site: tuple[str, Path], new_context: Callable[..., BrowserContext]
) -> None:
    base, _ = static_site
    page = new_context(java_script_enabled=False).new_page()
    page.goto(f"{base}/search/?q=vim")
    assert page.locator("form.search-form").get_attribute("action") == f"{ENDPOINT}/search"
    pointer = page.locator("noscript a, p.notice a").first
    assert pointer.get_attribute("href") == f"{ENDPOINT}/search"
