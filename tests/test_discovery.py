"""Related comparisons, option pages, leaderboards and pagination of listing pages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from app.content.library import Library
from app.content.model import Comparison
from app.content.parse import parse_text
from app.main import create_app
from app.pages.navigation import leaderboard, option_page, page_number, paginate, related
from tests.conftest import GOOD
from tests.discovery_content import site_settings, standard_library, write
from tests.soup import attr, text


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    content = tmp_path_factory.mktemp("content")
    standard_library(content)
    for n in range(30):
        write(content, [f"Widget{n}", f"Gadget{n}"], category="Gizmos", tags=["widgets"],
              published=f"2024-03-{n % 28 + 1:02d}")  # fmt: skip
    return content


@pytest.fixture(scope="module")
def library(folder: Path) -> Library:
    return Library.load(folder)


@pytest.fixture(scope="module")
def client(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = site_settings(folder, tmp_path_factory.mktemp("var"))
    with TestClient(create_app(settings), follow_redirects=False) as test_client:
        yield test_client


def soup_of(client: TestClient, url: str) -> BeautifulSoup:
    response = client.get(url)
    assert response.status_code == 200, url
    return BeautifulSoup(response.text, "html.parser")


def test_related_orders_shared_options_then_tags_then_category(library: Library) -> None:
    visible = [c for c in library.comparisons.values() if not c.draft and c.published.year < 2090]
    found = [c.slug for c in related(library.comparisons["nginx-vs-caddy"], visible)]
    # Shares Nginx and reverse-proxy, then Caddy, then Nginx only, then the tag, nothing else.
    assert found == [
        "nginx-vs-apache",
        "lighttpd-vs-caddy",
        "nginx-vs-haproxy",
        "traefik-vs-envoy",
    ]


def test_comparison_page_links_related_and_option_pages(client: TestClient) -> None:
    soup = soup_of(client, "/compare/nginx-vs-caddy")
    links = [a["href"] for a in soup.select(".related-comparisons a[href^='/compare/']")]
    assert len(links) >= 3
    assert links[0] == "/compare/nginx-vs-apache"
    assert "/compare/nginx-vs-hiddendraft" not in links
    assert "/compare/nginx-vs-futurepage" not in links
    option_links = [a["href"] for a in soup.select(".option-card h2 a")]
    assert option_links == ["/option/nginx", "/option/caddy"]


def test_option_page_lists_comparisons_and_wins(client: TestClient) -> None:
    soup = soup_of(client, "/option/caddy")
    assert text(soup, "h1") == "Caddy"
    links = {a["href"] for a in soup.select(".card-list a")}
    assert links == {"/compare/nginx-vs-caddy", "/compare/lighttpd-vs-caddy"}
    assert text(soup, ".win-count") == "2"
    nginx = soup_of(client, "/option/nginx")
    # The draft and the future page, both picking against Nginx, count for nothing.
    assert {a["href"] for a in nginx.select(".card-list a")} == {
        "/compare/nginx-vs-caddy",
        "/compare/nginx-vs-apache",
        "/compare/nginx-vs-haproxy",
    }
    assert text(nginx, ".win-count") == "2"


def test_unknown_or_hidden_option_is_404(client: TestClient) -> None:
    assert client.get("/option/nope").status_code == 404
    assert client.get("/option/hiddendraft").status_code == 404


def test_option_page_function(library: Library) -> None:
    found = option_page("caddy", list(library.comparisons.values()))
    assert found is not None and found.name == "Caddy" and found.wins == 2
    assert found.win_rate == 1.0


def test_best_ranks_options_by_wins(client: TestClient, library: Library) -> None:
    visible = [c for c in library.comparisons.values() if not c.draft and c.published.year < 2090]
    board = leaderboard("web-servers", visible)
    assert board is not None
    assert [(s.rank, s.name, s.wins, s.appearances) for s in board.standings] == [
        (1, "Caddy", 2, 2),
        (2, "Nginx", 1, 2),
        (3, "Apache", 0, 1),
        (3, "Lighttpd", 0, 1),
    ]
    soup = soup_of(client, "/best/web-servers")
    rows = [
        [cell.get_text() for cell in tr.find_all(["td", "th"])] for tr in soup.select("tbody tr")
    ]
    assert rows[0] == ["1", "Caddy", "2", "2"]
    assert attr(soup, "tbody a", "href") == "/option/caddy"
    assert client.get("/best/nope").status_code == 404


def test_category_listing_paginates(client: TestClient) -> None:
    first = soup_of(client, "/category/gizmos")
    assert len(first.select(".card-list > li")) == 24
    assert attr(first, "link[rel=next]", "href") == "/category/gizmos?page=2"
    assert attr(first, "nav.pager a[rel=next]", "href") == "/category/gizmos?page=2"
    second = soup_of(client, "/category/gizmos?page=2")
    assert len(second.select(".card-list > li")) == 6
    assert attr(second, "link[rel=prev]", "href") == "/category/gizmos"
    assert attr(second, "link[rel=canonical]", "href").endswith("/category/gizmos?page=2")
    first_slugs = {a["href"] for a in first.select(".card-list a")}
    second_slugs = {a["href"] for a in second.select(".card-list a")}
    assert not first_slugs & second_slugs and len(first_slugs | second_slugs) == 30
    for bad in ("3", "0", "-1", "x", "1e3", "٣"):
        assert client.get(f"/category/gizmos?page={bad}").status_code == 404, bad


def test_tag_option_and_index_paginate(client: TestClient) -> None:
    assert len(soup_of(client, "/tag/widgets?page=2").select(".card-list > li")) == 6
    assert soup_of(client, "/").select_one("nav.pager") is None  # few categories: one page
    assert client.get("/?page=2").status_code == 404


def test_paginate_and_page_number() -> None:
    page = paginate(list(range(50)), 3, per_page=24)
    assert page is not None and page.items == [48, 49] and page.pages == 3
    assert page.has_prev and not page.has_next
    assert paginate([], 1) is not None and paginate([], 2) is None
    assert page_number(None) == 1 and page_number("2") == 2
    assert page_number("0") is None and page_number("²") is None and page_number("9" * 20) is None


def test_best_ranks_only_options_compared_with_each_other() -> None:
    def comparison(source: str, slug: str) -> Comparison:
        parsed, problems = parse_text(source, path=f"content/{slug}.md", slug=slug)
        assert parsed is not None, problems
        return parsed

    vim = comparison(GOOD, "vim-vs-emacs")
    nano = comparison(
        GOOD.replace("Vim", "Nano").replace("Emacs", "Ed").replace("vim", "nano"), "nano-vs-ed"
    )
    board = leaderboard("dev-tools", [vim, nano])
    assert board is not None
    assert [[(s.rank, s.name, s.group) for s in group] for group in board.groups] == [
        [(1, "Nano", 1), (2, "Ed", 1)],
        [(1, "Vim", 2), (2, "Emacs", 2)],
    ]
