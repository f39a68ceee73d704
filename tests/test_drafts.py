"""Drafts, scheduled publication, aliases and "Updated": what readers see, on every surface."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.conftest import GOOD, FakeClock, SiteMaker, comparison_text
from tests.live import eventually

Write = Callable[[str, str], Path]

# A public neighbour in the same category and tag, so listings exist either way.
NEIGHBOUR = (
    comparison_text(title="tmux vs Screen", options="[tmux, Screen]", pick="tmux")
    .replace("## Vim", "## tmux")
    .replace("## Emacs", "## Screen")
    .replace("### Use Vim if", "### Use tmux if")
    .replace("### Use Emacs if", "### Use Screen if")
)
HIDDEN_SLUG = "vim-vs-emacs"
# Every public surface that lists or shows comparisons; each must leave hidden ones out.
SURFACES = [
    "/",
    "/category/dev-tools",
    "/tag/editors",
    "/sitemap.xml",
    "/feed.xml",
    "/search?q=vim",
    "/api/comparisons",
    "/option/vim",
]


def soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def client_for(settings: Settings) -> TestClient:
    return TestClient(create_app(settings), follow_redirects=False)


@pytest.fixture
def draft_site(settings: Settings, write_content: Write) -> Iterator[Settings]:
    write_content("tmux-vs-screen.md", NEIGHBOUR)
    write_content("vim-vs-emacs.md", GOOD.replace("published:", "draft: true\npublished:"))
    yield settings


def assert_absent_everywhere(client: TestClient) -> None:
    assert client.get(f"/compare/{HIDDEN_SLUG}").status_code == 404
    assert client.get("/api/comparisons/vim-vs-emacs").status_code == 404
    for url in SURFACES:
        response = client.get(url)
        if url == "/option/vim":
            assert response.status_code == 404, url  # no public comparison has Vim
            continue
        assert response.status_code == 200, url
        assert HIDDEN_SLUG not in response.text, url
        assert "tmux-vs-screen" in response.text or url == "/search?q=vim", url


def test_draft_is_absent_from_every_public_surface(draft_site: Settings) -> None:
    with client_for(draft_site) as client:
        assert_absent_everywhere(client)


def test_drafts_flag_shows_drafts_marked_as_such(draft_site: Settings) -> None:
    with client_for(draft_site.model_copy(update={"drafts": True})) as client:
        page = soup(client.get(f"/compare/{HIDDEN_SLUG}").text)
        badge = page.select_one(".comparison-header .draft-badge")
        assert badge is not None and badge.get_text() == "Draft"
        for url in ("/", "/category/dev-tools", "/tag/editors"):
            card = soup(client.get(url).text).select_one(f'a[href="/compare/{HIDDEN_SLUG}"]')
            assert card is not None, url
            assert card.find_next_sibling(class_="draft-badge") is not None, url


def test_future_date_is_hidden_until_that_moment_without_restart(make_site: SiteMaker) -> None:
    clock = FakeClock(datetime(2998, 12, 31, 23, 59, 59, tzinfo=UTC))
    files = {
        "tmux-vs-screen.md": NEIGHBOUR,
        "vim-vs-emacs.md": comparison_text(published="2999-01-01"),
    }
    client = make_site(files, clock=clock)
    assert_absent_everywhere(client)
    # The clock passes the publication moment; the same process serves it at once.
    clock.advance(timedelta(seconds=2))
    assert client.get(f"/compare/{HIDDEN_SLUG}").status_code == 200
    for url in ("/", "/category/dev-tools", "/tag/editors"):

        def listed(url: str = url) -> bool:
            return f'href="/compare/{HIDDEN_SLUG}"' in client.get(url).text

        # The hot-page path may keep a page for about a second before asking the route again.
        assert eventually(listed), url


def test_future_date_is_shown_with_drafts_flag(settings: Settings, write_content: Write) -> None:
    write_content("vim-vs-emacs.md", comparison_text(published="2999-01-01"))
    with client_for(settings.model_copy(update={"drafts": True})) as client:
        assert client.get(f"/compare/{HIDDEN_SLUG}").status_code == 200


def test_alias_answers_301_to_the_canonical_page(settings: Settings, write_content: Write) -> None:
    write_content(
        "vim-vs-emacs.md", GOOD.replace("published:", "aliases: [vi-vs-emacs, editors]\npublished:")
    )
    with client_for(settings) as client:
        for old in ("vi-vs-emacs", "editors"):
            response = client.get(f"/compare/{old}")
            assert response.status_code == 301
            assert response.headers["location"] == "https://nicepick.test/compare/vim-vs-emacs"


def test_alias_of_a_draft_is_not_found(settings: Settings, write_content: Write) -> None:
    text = GOOD.replace("published:", "draft: true\naliases: [vi-vs-emacs]\npublished:")
    write_content("vim-vs-emacs.md", text)
    with client_for(settings) as client:
        assert client.get("/compare/vi-vs-emacs").status_code == 404


def test_updated_date_is_shown(settings: Settings, write_content: Write) -> None:
    write_content("vim-vs-emacs.md", GOOD.replace("published:", "updated: 2026-03-02\npublished:"))
    with client_for(settings) as client:
        page = soup(client.get("/compare/vim-vs-emacs").text)
        dates = page.select_one(".dates")
        assert dates is not None
        assert "Updated March 2, 2026" in dates.get_text(" ", strip=True)
        assert page.select_one('.dates time[datetime="2026-03-02"]') is not None


def test_no_updated_line_without_updated(client: TestClient) -> None:
    dates = soup(client.get("/compare/vim-vs-emacs").text).select_one(".dates")
    assert dates is not None and "Updated" not in dates.get_text()


def test_an_alias_cannot_take_over_another_pages_other_order(
    settings: Settings, write_content: Write
) -> None:
    # /compare/emacs-vs-vim leads to vim-vs-emacs (the same options in another order); an
    # alias of another page claiming it silently moved that address to the other page.
    write_content("vim-vs-emacs.md", GOOD)
    write_content(
        "tmux-vs-screen.md",
        NEIGHBOUR.replace("published:", "aliases: [emacs-vs-vim, old-tmux]\npublished:"),
    )
    from app.content.library import Library

    library = Library.load(settings.content_dir)
    assert [(p.path.rsplit("/", 1)[-1], p.message) for p in library.problems] == [
        (
            "tmux-vs-screen.md",
            'alias "emacs-vs-vim" names the options of "vim-vs-emacs" in another order, '
            "an address that already leads there",
        )
    ]
    with client_for(settings) as client:
        for old, page in (("emacs-vs-vim", "vim-vs-emacs"), ("old-tmux", "tmux-vs-screen")):
            response = client.get(f"/compare/{old}")
            assert response.status_code == 301
            assert response.headers["location"] == f"https://nicepick.test/compare/{page}"
