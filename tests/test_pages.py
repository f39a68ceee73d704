"""Reader-facing pages, checked by parsing the HTML they return."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from app.content.library import Library
from app.main import create_app
from app.pages.renderer import PageRenderer
from app.settings import Settings
from tests.conftest import GOOD, ROOT, comparison_text


def soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def test_comparison_page_shows_title_pick_and_both_options(client: TestClient) -> None:
    response = client.get("/compare/vim-vs-emacs")
    assert response.status_code == 200
    page = soup(response.text)
    assert page.h1 is not None and page.h1.get_text(strip=True) == "Vim vs Emacs"
    badge = page.select_one(".pick-badge strong")
    assert badge is not None and badge.get_text() == "Vim"
    option_headings = [h.get_text(" ", strip=True) for h in page.select(".option-card h2")]
    assert option_headings == ["Vim Nice Pick", "Emacs"]
    bottom = page.select_one(".bottom-line h2")
    assert bottom is not None and "Vim wins" in bottom.get_text()


def test_reversed_slug_redirects_to_canonical(client: TestClient) -> None:
    response = client.get("/compare/emacs-vs-vim")
    assert response.status_code == 301
    assert response.headers["location"] == "https://nicepick.test/compare/vim-vs-emacs"


def test_unknown_page_gets_styled_404(client: TestClient) -> None:
    response = client.get("/compare/no-such-thing")
    assert response.status_code == 404
    page = soup(response.text)
    assert page.h1 is not None and "could not find" in page.h1.get_text()
    assert page.select_one('a[href="/compare/vim-vs-emacs"]') is not None


def build_client(settings: Settings, files: dict[str, str]) -> TestClient:
    for name, text in files.items():
        path = settings.content_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return TestClient(create_app(settings), follow_redirects=False)


def test_raw_html_in_content_shows_as_text_and_never_as_markup(settings: Settings) -> None:
    hostile = GOOD.replace(
        "- Modal editing takes weeks to learn",
        "- Sync needs `rclone sync <src> <dst>` and <buckets> in plain text\n"
        "- <script>alert(1)</script> [click](javascript:alert(1)) <img src=x onerror=alert(1)>",
    )
    with build_client(settings, {"vim-vs-emacs.md": hostile}) as client:
        page = soup(client.get("/compare/vim-vs-emacs").text)
    cons = page.select(".option-card")[0].select(".cons li")
    assert "<buckets>" in cons[0].get_text()
    assert cons[0].select_one("code") is not None  # inline code still renders
    assert page.select("article script") == [] and page.select("article img") == []
    assert "<script>alert(1)</script>" in cons[1].get_text()
    link = cons[1].select_one("a")
    assert link is None or not str(link.get("href", "")).startswith("javascript:")


def test_markdown_renders_bold_code_links_and_tables(settings: Settings) -> None:
    text = GOOD.replace(
        "Pick by how you work.",
        "Pick by how you work, see [the docs](https://vimhelp.org/).\n\n"
        "| editor | start |\n|---|---|\n| Vim | 50 ms |\n",
    )
    with build_client(settings, {"vim-vs-emacs.md": text}) as client:
        page = soup(client.get("/compare/vim-vs-emacs").text)
    verdict = page.select_one(".verdict")
    assert verdict is not None and verdict.select("table") == []  # moved up, side by side
    side = page.select_one("#side-by-side table")
    assert side is not None
    assert [th.get_text(" ", strip=True) for th in side.select("thead th")] == ["editor", "start"]
    assert [c.get_text(strip=True) for c in side.select("tbody th, tbody td")] == ["Vim", "50 ms"]
    link = verdict.select_one('a[href="https://vimhelp.org/"]')
    assert link is not None and "noopener" in str(link.get("rel"))
    assert page.select_one(".pros li strong") is not None


def test_verdict_has_a_use_if_card_per_option(client: TestClient) -> None:
    page = soup(client.get("/compare/vim-vs-emacs").text)
    cards = [h.get_text() for h in page.select(".use-case h3")]
    assert cards == ["Use Vim if", "Use Emacs if"]


def test_headings_are_in_order_with_one_h1(client: TestClient) -> None:
    page = soup(client.get("/compare/vim-vs-emacs").text)
    levels = [int(tag.name[1]) for tag in page.find_all(["h1", "h2", "h3", "h4"])]
    assert levels.count(1) == 1 and levels[0] == 1
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False))
    assert page.select_one("main#main") is not None
    assert page.select_one('a.skip-link[href="#main"]') is not None


NANO = GOOD.replace("Vim", "Nano").replace("vim", "nano")


def test_related_tags_link_to_tag_pages_that_list_the_comparison(settings: Settings) -> None:
    files = {"vim-vs-emacs.md": GOOD, "nano-vs-emacs.md": NANO}
    with build_client(settings, files) as client:
        page = soup(client.get("/compare/vim-vs-emacs").text)
        listing = soup(client.get("/tag/terminal").text)
    assert page.select_one('.related a[href="/tag/terminal"]') is not None
    assert listing.select_one('a[href="/compare/vim-vs-emacs"]') is not None
    assert listing.select_one('a[href="/compare/nano-vs-emacs"]') is not None


def test_a_related_pill_whose_tag_page_lists_only_this_page_is_left_out(
    client: TestClient,
) -> None:
    page = soup(client.get("/compare/vim-vs-emacs").text)
    assert page.select('.related a[href="/tag/lisp"]') == []
    assert page.select('.related a[href="/tag/terminal"]') == []
    twin = client.get("/compare/vim-vs-emacs.json").json()
    assert [option["related"] for option in twin["options"]] == [[], []]


def test_index_and_category_list_comparisons_by_category(client: TestClient) -> None:
    index = soup(client.get("/").text)
    heading = index.select_one('h2 a[href="/category/dev-tools"]')
    assert heading is not None and heading.get_text() == "Dev Tools"
    category = client.get("/category/dev-tools")
    assert category.status_code == 200
    assert soup(category.text).select_one('a[href="/compare/vim-vs-emacs"]') is not None
    assert client.get("/category/no-such-category").status_code == 404


def test_broken_file_is_skipped_with_a_log_line_and_the_rest_serves(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    broken = comparison_text(pick="Nano")
    files = {"vim-vs-emacs.md": GOOD, "sub/nano-vs-ed.md": broken.replace("Vim vs Emacs", "x")}
    with caplog.at_level(logging.ERROR), build_client(settings, files) as client:
        assert client.get("/compare/vim-vs-emacs").status_code == 200
        assert client.get("/compare/nano-vs-ed").status_code == 404
        assert client.get("/healthz").status_code == 200
    # Paths are shown relative to the working directory, which is the test's own folder.
    expected = 'content/sub/nano-vs-ed.md:6:7: error: pick "Nano" is not one'
    assert any(record.getMessage().startswith(expected) for record in caplog.records)


def test_pages_are_rendered_once_and_served_from_cache(client: TestClient) -> None:
    pages: PageRenderer = client.app.state.pages  # type: ignore[attr-defined]
    comparison = pages.site.library.comparisons["vim-vs-emacs"]
    first = client.get("/compare/vim-vs-emacs")
    kept = pages.comparison(comparison)
    # A cookie keeps the hot path out of it: the route itself answers, from the cache.
    second = client.get("/compare/vim-vs-emacs", headers={"cookie": "seen=1"})
    assert first.content == second.content == kept
    assert pages.comparison(comparison) is kept  # a render would have stored a new page


def test_every_shipped_comparison_loads_without_errors() -> None:
    library = Library.load(ROOT / "content")
    assert [str(p) for p in library.problems if p.severity == "error"] == []
    assert len(library.comparisons) >= 12
    assert len({c.category for c in library.comparisons.values()}) >= 4
    assert "knowledge-distillation-vs-pruning" in library.comparisons
    assert any(len(c.options) >= 3 for c in library.comparisons.values())


def test_a_related_term_that_is_no_page_tag_still_has_a_tag_page(client: TestClient) -> None:
    listing = client.get("/tag/lisp")
    assert listing.status_code == 200
    assert soup(listing.text).select_one('a[href="/compare/vim-vs-emacs"]') is not None


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/compare/vim-vs-emacs",
        "/category/dev-tools",
        "/search?q=vim",
        "/sitemap.xml",
        "/og/vim-vs-emacs.png",
        "/healthz",
    ],
)
def test_head_answers_like_get_without_a_body_on_first_request(
    client: TestClient, path: str
) -> None:
    # First request for the path: the hot path has not learned it, so the route answers.
    head = client.head(path)
    get = client.get(path)
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]


def test_the_form_address_answers_head_as_it_answers_get(client: TestClient) -> None:
    # GET sends a reader who reloads the form's address to the page; HEAD answered 405.
    head = client.head("/compare/vim-vs-emacs/feedback", follow_redirects=False)
    get = client.get("/compare/vim-vs-emacs/feedback", follow_redirects=False)
    assert head.status_code == get.status_code == 303
    assert head.headers["location"] == get.headers["location"]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("OPTIONS", "/compare/vim-vs-emacs", {"GET", "HEAD"}),
        ("DELETE", "/compare/vim-vs-emacs/feedback", {"GET", "HEAD", "POST"}),
        ("PUT", "/request", {"GET", "HEAD", "POST"}),
        ("POST", "/compare/vim-vs-emacs.json", {"GET", "HEAD"}),
    ],
)
def test_a_method_not_allowed_names_the_allowed_ones(
    client: TestClient, method: str, path: str, allowed: set[str]
) -> None:
    # RFC 9110 section 15.5.6: a 405 carries Allow; the HTML error pages dropped it.
    response = client.request(method, path)
    assert response.status_code == 405
    kind = "application/json" if path.endswith(".json") else "text/html"
    assert kind in response.headers["content-type"]
    assert {m.strip() for m in response.headers["allow"].split(",")} == allowed


@pytest.mark.parametrize(
    ("path", "trail"),
    [
        ("/compare/vim-vs-emacs", ["Home", "Dev Tools", "Vim vs Emacs"]),
        ("/category/dev-tools", ["Home", "Dev Tools"]),
        ("/tag/terminal", ["Home", "Tag: terminal"]),
        ("/option/vim", ["Home", "Option: Vim"]),
        ("/best/dev-tools", ["Home", "Dev Tools", "Best in Dev Tools"]),
    ],
)
def test_breadcrumbs_end_with_the_current_page(
    client: TestClient, path: str, trail: list[str]
) -> None:
    page = soup(client.get(path).text)
    links = page.select("nav.breadcrumb li a")
    assert [a.get_text(strip=True) for a in links] == trail
    assert [a.get("aria-current") for a in links][-1] == "page"
    assert links[-1].get("href") == path


def test_category_pages_link_to_their_best_of_and_the_header_lists_categories(
    client: TestClient,
) -> None:
    page = soup(client.get("/category/dev-tools").text)
    best = page.select_one('a[href="/best/dev-tools"]')
    assert best is not None and best.get_text() == "Best in Dev Tools"
    menu = [a.get("href") for a in page.select('header nav[aria-label="Categories"] a')]
    assert menu == ["/category/dev-tools"]


def test_the_footer_links_the_about_page_only_when_the_site_has_one(
    settings: Settings, write_content: Callable[[str, str], Path]
) -> None:
    # Every page linked /about, a 404 on a site without content/pages/about.md.
    write_content("vim-vs-emacs.md", GOOD)
    with TestClient(create_app(settings), follow_redirects=False) as client:
        assert client.get("/about").status_code == 404
        page = BeautifulSoup(client.get("/compare/vim-vs-emacs").text, "html.parser")
        assert page.select('a[href="/about"]') == []
    write_content("pages/about.md", "---\ntitle: About us\nsummary: Who we are\n---\nHello.\n")
    with TestClient(create_app(settings), follow_redirects=False) as client:
        assert client.get("/about").status_code == 200
        page = BeautifulSoup(client.get("/compare/vim-vs-emacs").text, "html.parser")
        assert [a.get_text() for a in page.select('footer a[href="/about"]')] == ["About"]
