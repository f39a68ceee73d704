"""Every page's JSON twin: linked from the page, served from the same context, cached and
conditional like the page, and saying what the page shows (compared on the parsed HTML)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup, Tag
from fastapi.testclient import TestClient

from app.main import create_app
from app.pages import comparison as comparison_page
from app.pages import listing as listing_page
from app.pages.renderer import PageRenderer
from tests.discovery_content import HIDDEN, site_settings, standard_library, write

SITE = "https://nicepick.test"
Json = dict[str, Any]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    content = tmp_path_factory.mktemp("content")
    standard_library(content)
    for n in range(30):  # a second page for the Gizmos category and the widget option
        write(
            content,
            [f"Widget{n}", "Gadget"],
            category="Gizmos",
            published=f"2024-03-{n % 28 + 1:02d}",
        )
    settings = site_settings(content, tmp_path_factory.mktemp("var"))
    with TestClient(create_app(settings), follow_redirects=False) as test_client:
        yield test_client


def html_of(client: TestClient, path: str) -> BeautifulSoup:
    response = client.get(path)
    assert response.status_code == 200, path
    return BeautifulSoup(response.text, "html.parser")


def twin_of(client: TestClient, path: str) -> tuple[str, Json]:
    """The twin the page links, and its JSON."""
    link = html_of(client, path).find("link", rel="alternate", type="application/json")
    assert isinstance(link, Tag), f"{path} links no JSON twin"
    href = str(link["href"])
    response = client.get(href)
    assert response.status_code == 200, href
    assert response.headers["content-type"] == "application/json"
    body: Json = response.json()
    return href, body


def card_titles(soup: BeautifulSoup) -> list[str]:
    main = soup.find("main")
    assert isinstance(main, Tag)
    return [a.get_text(strip=True) for a in main.select(".card-list a[href^='/compare/']")]


def text_of(soup: BeautifulSoup, selector: str) -> str:
    found = soup.select_one(selector)
    assert found is not None, selector
    return found.get_text(" ", strip=True)


def check_home(soup: BeautifulSoup, data: Json) -> None:
    assert card_titles(soup) == [i["title"] for c in data["categories"] for i in c["items"]]
    assert [h.get_text(strip=True) for h in soup.select(".category-block h2")] == [
        c["name"] for c in data["categories"]
    ]
    assert str(data["total"]) in text_of(soup, ".lede")


def check_comparison(soup: BeautifulSoup, data: Json) -> None:
    assert text_of(soup, "h1") == data["title"]
    intro = soup.select_one(".intro")
    assert intro is not None and intro.decode_contents().strip() == data["intro"]["html"]
    assert [h.get_text(" ", strip=True) for h in soup.select(".option-card h2 a")] == [
        o["name"] for o in data["options"]
    ]
    verdict = soup.select_one(".verdict")
    assert verdict is not None and data["verdict"]["html"] in verdict.decode_contents()
    bottom = soup.select_one(".bottom-line")
    assert bottom is not None and data["bottom_line"]["html"] in bottom.decode_contents()
    assert [h.get_text(strip=True) for h in soup.select(".use-case h3")] == [
        f"Use {case['option']} if" for case in data["use_cases"]
    ]
    assert card_titles(soup) == [r["title"] for r in data["related"]]
    assert data["pick"] in text_of(soup, ".pick-badge")
    assert data["version"] == {"hash": data["version"]["hash"], "updated": "2025-06-01"}
    assert data["meter"] == {
        "total": 0,
        "rows": data["meter"]["rows"],
        "since": None,  # no change of pick in its log
        "earlier": 0,
    }


def check_listing(soup: BeautifulSoup, data: Json) -> None:
    assert card_titles(soup) == [i["title"] for i in data["items"]]
    assert data["title"] in text_of(soup, "h1")
    assert text_of(soup, ".lede").startswith(f"{data['page']['total']} comparison")
    if data["page"]["pages"] > 1:
        assert f"Page {data['page']['number']} of {data['page']['pages']}" in soup.get_text()


def check_option(soup: BeautifulSoup, data: Json) -> None:
    assert card_titles(soup) == [i["title"] for i in data["items"]]
    assert text_of(soup, "h1") == data["name"]
    assert text_of(soup, ".win-count") == str(data["wins"])


def check_best(soup: BeautifulSoup, data: Json) -> None:
    rows = [
        [cell.get_text(strip=True) for cell in tr.find_all(["td", "th"])]
        for tr in soup.select("tbody tr")
    ]
    assert rows == [
        [str(s["rank"]), s["name"], str(s["wins"]), str(s["appearances"])]
        for s in data["standings"]
    ]


def check_search(soup: BeautifulSoup, data: Json) -> None:
    titles = [a.get_text(strip=True) for a in soup.select(".search-results h2 a")]
    assert titles == [r["title"] for r in data["results"]] and titles
    snippets = [p.decode_contents() for p in soup.select(".search-results .snippet")]
    assert snippets == [r["snippet"]["html"] for r in data["results"] if r["snippet"]["html"]]


def check_empty_search(soup: BeautifulSoup, data: Json) -> None:
    pills = [a.get_text(strip=True) for a in soup.select(".popular-categories a")]
    assert pills == [f"{c['name']} ({c['count']})" for c in data["categories"]] and pills


CASES: list[tuple[str, str, Callable[[BeautifulSoup, Json], None]]] = [
    ("/", "/.json", check_home),
    ("/compare/nginx-vs-caddy", "/compare/nginx-vs-caddy.json", check_comparison),
    ("/category/web-servers", "/category/web-servers.json", check_listing),
    ("/category/gizmos?page=2", "/category/gizmos.json?page=2", check_listing),
    ("/tag/reverse-proxy", "/tag/reverse-proxy.json", check_listing),
    ("/option/caddy", "/option/caddy.json", check_option),
    ("/option/gadget?page=2", "/option/gadget.json?page=2", check_option),
    ("/best/web-servers", "/best/web-servers.json", check_best),
    ("/search?q=caddy", "/search.json?q=caddy", check_search),
    ("/search", "/search.json?q=", check_empty_search),
]


@pytest.mark.parametrize(("path", "twin", "check"), CASES, ids=[c[0] for c in CASES])
def test_each_page_links_a_twin_that_says_what_the_page_shows(
    client: TestClient, path: str, twin: str, check: Callable[[BeautifulSoup, Json], None]
) -> None:
    href, data = twin_of(client, path)
    assert href == twin
    check(html_of(client, path), data)


@pytest.mark.parametrize("twin", [c[1] for c in CASES if "search" not in c[1]])
def test_twins_are_cached_bytes_with_etag_304_and_compression(
    client: TestClient, twin: str
) -> None:
    first = client.get(twin)
    etag = first.headers["etag"]
    assert first.headers["cache-control"].startswith("public, max-age=")
    assert client.get(twin).content == first.content
    again = client.get(twin, headers={"if-none-match": etag})
    assert again.status_code == 304 and again.content == b""
    packed = client.get(twin, headers={"accept-encoding": "br"})
    assert packed.headers["content-encoding"] == "br" and packed.json() == first.json()


def test_api_detail_is_the_comparison_twin_byte_for_byte(client: TestClient) -> None:
    twin = client.get("/compare/nginx-vs-caddy.json")
    api = client.get("/api/comparisons/nginx-vs-caddy")
    assert api.content == twin.content and api.headers["etag"] == twin.headers["etag"]
    listed = client.get("/api/comparisons", params={"category": "web-servers"}).json()["items"]
    card = next(c for c in listed if c["slug"] == "nginx-vs-caddy")
    assert {key: twin.json()[key] for key in card if key != "options"} == {
        key: value for key, value in card.items() if key != "options"
    }


@pytest.mark.parametrize(
    "twin",
    ["/compare/nope.json", *(f"/compare/{slug}.json" for slug in HIDDEN), "/category/nope.json",
     "/tag/nope.json", "/option/nope.json", "/best/nope.json", "/category/gizmos.json?page=9"],
)  # fmt: skip
def test_missing_twins_are_json_404s(client: TestClient, twin: str) -> None:
    response = client.get(twin)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert set(response.json()) == {"detail"}


def test_a_reversed_slug_redirects_to_the_canonical_twin(client: TestClient) -> None:
    """Like every redirect of the site, built from the site URL, never the Host header."""
    response = client.get("/compare/caddy-vs-nginx.json")
    assert response.status_code == 301
    assert response.headers["location"] == "https://nicepick.test/compare/nginx-vs-caddy.json"


def test_openapi_describes_every_twin(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for _path, twin, _check in CASES:
        route = twin.split("?")[0].replace("nginx-vs-caddy", "{slug}")
        route = route.replace(
            "/web-servers.json", "/{category}.json" if "best" in route else "/{slug}.json"
        )
        route = route.replace("/gizmos.json", "/{slug}.json").replace(
            "/reverse-proxy.json", "/{slug}.json"
        )
        route = route.replace("/caddy.json", "/{slug}.json").replace("/gadget.json", "/{slug}.json")
        assert "200" in paths[route]["get"]["responses"], route


def test_the_meter_in_the_twin_counts_a_stored_note(settings: Any, write_content: Any) -> None:
    write_content(
        "vim-vs-emacs.md",
        (Path(__file__).parent / "conftest.py")
        .read_text()
        .split('GOOD = """\\\n')[1]
        .split('"""')[0],
    )
    with TestClient(create_app(settings), follow_redirects=False) as client:
        soup = html_of(client, "/compare/vim-vs-emacs")
        token = soup.select_one('#feedback input[name="token"]')
        assert token is not None
        sent = client.post(
            "/compare/vim-vs-emacs/feedback",
            data={
                "option": "Emacs",
                "message": "Org mode wins it for me.",
                "token": str(token["value"]),
            },
        )
        assert sent.status_code == 303
        deadline = time.monotonic() + 10
        data: Json = {}
        meter = None
        while time.monotonic() < deadline:  # the hot path may keep the old bytes a second
            data = client.get("/compare/vim-vs-emacs.json").json()
            meter = html_of(client, "/compare/vim-vs-emacs").select_one("#meter-title")
            if data["meter"]["total"] == 1 and meter is not None:
                break
        assert data["meter"]["total"] == 1
        assert {r["option"]: r["count"] for r in data["meter"]["rows"]} == {"Vim": 0, "Emacs": 1}
        assert meter is not None and meter.get_text().startswith("1 reader")


# --- contexts, without HTTP ---------------------------------------------------------------------


def test_a_comparison_context_names_its_template_and_twin(client: TestClient) -> None:
    pages: PageRenderer = client.app.state.pages  # type: ignore[attr-defined]
    found = pages.site.library.comparisons["nginx-vs-caddy"]
    context = comparison_page.build(found, related=(), feedback=None, site_url=SITE, site_name="N")
    assert context.TEMPLATE == "compare.html"
    assert context.json_url == "/compare/nginx-vs-caddy.json"
    assert context.canonical == f"{SITE}/compare/nginx-vs-caddy"
    assert [case.option for case in context.use_cases] == ["Nginx", "Caddy"]
    data = context.as_json()
    assert data.meter is None and data.intro.text == "Both are widely used in production."


def test_a_tag_listing_takes_the_tags_own_spelling_and_paginates(client: TestClient) -> None:
    pages: PageRenderer = client.app.state.pages  # type: ignore[attr-defined]
    grouped = pages.site.grouped("tag")
    context = listing_page.build("tag", "reverse-proxy", 1, grouped=grouped, site_url=SITE)
    assert context is not None and context.TEMPLATE == "listing.html"
    assert context.listing.title == "reverse-proxy" and context.page.total == 3
    assert listing_page.build("tag", "reverse-proxy", 2, grouped=grouped, site_url=SITE) is None
    gizmos = listing_page.build(
        "category", "gizmos", 2, grouped=pages.site.grouped("category"), site_url=SITE
    )
    assert gizmos is not None
    assert (gizmos.canonical, gizmos.json_url) == (
        f"{SITE}/category/gizmos?page=2",
        "/category/gizmos.json?page=2",
    )


@pytest.mark.parametrize(
    "path",
    [
        "/compare/nginx-vs-caddy.json",
        "/category/web-servers.json",
        "/search.json?q=nginx",
        "/.json",
    ],
)
def test_a_twin_answers_head_as_it_answers_get(client: TestClient, path: str) -> None:
    """Link checkers send HEAD: a twin is there before any GET has warmed it."""
    head = client.head(path)
    assert head.status_code == 200, path
    assert head.headers["content-type"] == "application/json"
    assert head.content == b""
    get = client.get(path)
    # Search results are not kept (their key is the reader's query), so they carry no ETag.
    assert head.headers.get("etag") == get.headers.get("etag")
    assert head.headers["content-length"] == get.headers["content-length"]
