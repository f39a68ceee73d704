"""Reader-facing pages, checked by parsing the HTML they return."""

from __future__ import annotations

from bs4 import BeautifulSoup
from fastapi.testclient import TestClient


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
    assert response.headers["location"] == "/compare/vim-vs-emacs"


def test_unknown_page_gets_styled_404(client: TestClient) -> None:
    response = client.get("/compare/no-such-thing")
    assert response.status_code == 404
    page = soup(response.text)
    assert page.h1 is not None and "could not find" in page.h1.get_text()
    assert page.select_one('a[href="/compare/vim-vs-emacs"]') is not None
