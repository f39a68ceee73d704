"""The export's short way to pages (``app/commands/direct.py``) answers what the app answers,
and a build split over forked processes writes what one process writes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.commands.direct import DirectPages
from app.commands.export import as_static_copy, export_site
from app.commands.links import links, patterns_for
from app.commands.manifest import Manifest
from app.commands.routes import Visible, listing_pages, seeds
from app.content.cache import ParseCache
from app.content.library import Library
from app.content.parallel import prime
from app.content.sources import discover
from app.main import create_app
from app.settings import Settings
from app.surfaces.feeds import SitemapEntry, sitemap_xml
from app.surfaces.service import Surfaces
from app.web.deps import pages_of, site_of
from tests.test_export import SECRET, write_site

BUILT_AT = 1_780_000_000.0
ANA = "---\nname: Ana Ruiz\nrole: Editor\n---\nWrites about editors.\n"
ABOUT = "---\ntitle: About us\nsummary: Who we are\n---\nHello.\n"


@pytest.fixture
def site_settings(settings: Settings, write_content: Callable[[str, str], Path]) -> Settings:
    write_site(write_content)
    write_content("authors/ana-ruiz.md", ANA)
    write_content("pages/about.md", ABOUT)
    return settings.model_copy(
        update={"feedback_endpoint": "https://notes.nicepick.test", "secret_key": SECRET}
    )


@pytest.fixture
def served(site_settings: Settings) -> Iterator[tuple[DirectPages, TestClient, list[str]]]:
    """The direct renderer and a client of one app, made a static copy as the export makes it."""
    app = create_app(site_settings.model_copy(update={"drafts": False, "reload": False}))
    as_static_copy(app, site_settings, BUILT_AT)
    with TestClient(app, base_url=site_settings.site_url, follow_redirects=False) as client:
        site = site_of(app)
        urls = seeds(Visible(site.library, site.visible()), cards=False, twins=True)
        surfaces = Surfaces(site, cache=pages_of(app).cache)
        yield DirectPages(site, pages_of(app), surfaces), client, urls


def test_every_listed_page_is_the_apps_answer_byte_for_byte(
    served: tuple[DirectPages, TestClient, list[str]],
) -> None:
    direct, client, urls = served
    left_to_the_app = []
    for url in urls:
        answer = direct.answer(url)
        if answer is None:
            left_to_the_app.append(url)
            continue
        response = client.get(url, headers={"accept-encoding": "identity"})
        if answer.redirect is not None:
            assert response.status_code == 301, url
            assert response.headers["location"].endswith(answer.redirect), url
        elif answer.missing:
            assert response.status_code == 404, url
        else:
            assert response.status_code == 200, url
            assert response.headers["content-type"] == answer.media_type, url
            assert response.content == answer.body, url
    assert {"/compare/emacs-or-vim", "/compare/emacs-vs-vim"} <= set(urls)  # redirects too
    # The machine files and the search page without a query too: an incremental build of a
    # few pages needs no app.
    assert left_to_the_app == []
    assert {"/robots.txt", "/sitemap.xml", "/feed.xml", "/search"} <= set(urls)


def test_the_table_lists_the_twin_each_page_links(
    served: tuple[DirectPages, TestClient, list[str]],
) -> None:
    direct, _client, urls = served
    listed = set(urls)
    twins: set[str] = set()
    for url in urls:
        answer = direct.answer(url)
        if answer is not None and answer.media_type.startswith("text/html"):
            found = links(answer.body, url, "https://nicepick.test")
            twins.update(link for link in found if link.partition("?")[0].endswith(".json"))
    assert twins, "pages link their JSON twins"
    assert twins <= listed
    assert "/compare/vim-vs-emacs.json" in listed and "/about.json" in listed


def test_the_not_found_page_is_the_apps_404_byte_for_byte(
    served: tuple[DirectPages, TestClient, list[str]],
) -> None:
    direct, client, _urls = served
    response = client.get("/no-such-page", headers={"accept-encoding": "identity"})
    assert response.status_code == 404
    assert response.content == direct.not_found()
    assert b"<html" in response.content


def test_a_social_card_is_the_apps_png_byte_for_byte(
    served: tuple[DirectPages, TestClient, list[str]],
) -> None:
    direct, client, _urls = served
    answer = direct.answer("/og/vim-vs-emacs.png")
    response = client.get("/og/vim-vs-emacs.png")
    assert answer is not None and response.status_code == 200
    assert (answer.body, answer.media_type) == (response.content, response.headers["content-type"])
    assert answer.body.startswith(b"\x89PNG")


def test_a_listings_pages_are_the_ones_the_table_lists(
    served: tuple[DirectPages, TestClient, list[str]],
) -> None:
    direct, _client, urls = served
    visible = Visible(direct.site.library, direct.site.visible())
    listings = ["/tag/editors", "/category/text-editors", "/option/vim", "/tag/no-such-tag"]
    expected = {url for url in urls if url.partition("?")[0].removesuffix(".json") in listings}
    assert "/tag/editors.json" in expected
    assert listing_pages(visible, listings) == expected
    assert listing_pages(visible, []) == set()


@pytest.mark.parametrize(
    "raw",
    [
        "/compare/vim-vs-emacs",
        "https://nicepick.test/compare/vim-vs-emacs",
        "https://nicepick.test",
        "https://nicepick.test/",
        "/tag/editors?page=2",
        "/tag/editors?amp;page=2",
        "https://nicepick.test/tag/editors?page=2&amp;x=1",
        "/search?q=vim",
        "/a/../compare/x",
        "/a/./b",
        "/a//b",
        "/.well-known/x",
        "/caf%C3%A9",
        "/x#top",
        "/compare/vim-vs-emacs/feedback",
        "/api/search",
        "//cdn.example.org/x.js",
        "https://other.example/x",
        "mailto:a@b.c",
        "static/site.css",
        "../up",
        "/a\\b",
    ],
)
def test_a_link_resolves_as_urljoin_and_urlsplit_read_it(raw: str) -> None:
    # The plain paths' short way must give what the general one gives.
    from urllib.parse import parse_qs, urljoin, urlsplit

    base, url = "https://nicepick.test", "/tag/editors/"
    text = raw.replace("&amp;", "&")
    if text.startswith(base + "/") or text == base:
        text = text[len(base) :] or "/"
    expected: str | None = None
    if not text.startswith(("//", "mailto:")) and ":" not in text.split("/", 1)[0]:
        target = urlsplit(urljoin(url, text))
        page = parse_qs(target.query).get("page", [""])[0]
        path = target.path or "/"
        if not target.netloc and not (target.query and not page.isdigit()):
            if not path.endswith("/feedback") and not path.startswith("/api/"):
                expected = f"{path}?page={page}" if page else path
    assert links(f'<a href="{raw}">'.encode(), url, base) == ([expected] if expected else [])


def test_a_sitemap_is_scanned_for_its_locations_alone_and_loses_none() -> None:
    base, xml = "https://nicepick.test", "application/xml; charset=utf-8"
    day = date(2026, 1, 2)
    body = sitemap_xml(
        [
            SitemapEntry("/", None),
            SitemapEntry("/compare/a-vs-b", day),
            SitemapEntry("/tag/x", day),
        ],
        base,
    )
    every = links(body, "/sitemap.xml", base)
    assert every == ["/", "/compare/a-vs-b", "/tag/x"]
    for url in ("/sitemap.xml", "/sitemap-2.xml"):
        assert links(body, url, base, None, patterns_for(xml, url)) == every
    # Any other XML file (one an editor put in static/) is read for every kind of link.
    other = b'<?xml version="1.0"?><doc><link href="/tag/x"/><loc>/tag/y</loc></doc>'
    url = "/static/doc.xml"
    assert links(other, url, base, None, patterns_for(xml, url)) == ["/tag/x", "/tag/y"]


def test_old_addresses_answer_the_routes_redirect(
    served: tuple[DirectPages, TestClient, list[str]],
) -> None:
    direct, _client, _urls = served
    for old, new in (
        ("/compare/emacs-or-vim", "/compare/vim-vs-emacs"),
        ("/compare/emacs-vs-vim", "/compare/vim-vs-emacs"),
        ("/compare/emacs-vs-vim.json", "/compare/vim-vs-emacs.json"),
    ):
        answer = direct.answer(old)
        assert answer is not None and answer.redirect == new, old


@pytest.mark.parametrize(
    "url",
    [
        "/compare/no-such-page",
        "/compare/no-such-page.json",
        "/compare/ed-vs-sam",  # a draft: a 404, never the page
        "/tag/editors?page=9",  # past the last page
        "/tag/editors.json?page=9",
        "/tag/no-such-tag",
        "/option/no-such-option",
        "/best/no-such-category",
        "/author/no-one",
        "/author/no-one.json",
        "/?page=9",
        "/og/no-such-page.png",
        "/sitemap-1.xml",  # one sitemap holds every URL: no parts
    ],
)
def test_a_page_that_does_not_exist_is_the_routes_404(
    served: tuple[DirectPages, TestClient, list[str]], url: str
) -> None:
    direct, client, _urls = served
    answer = direct.answer(url)
    assert answer is not None and answer.missing
    assert client.get(url).status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/compare/vim-vs-emacs?page=2",  # a query the route ignores: the app decides
        "/tag/editors?page=0",
        "/tag/editors?q=vim",
        "/search?q=vim",
        "/static/site.css",
        "/compare/vim-vs-emacs/feedback",
    ],
)
def test_anything_else_is_left_to_the_app(
    served: tuple[DirectPages, TestClient, list[str]], url: str
) -> None:
    direct, _client, _urls = served
    assert direct.answer(url) is None


def test_a_build_over_two_processes_writes_what_one_writes(
    site_settings: Settings, tmp_path: Path
) -> None:
    alone = export_site(
        site_settings, tmp_path / "one", jobs=1, allow_errors=True, built_at=BUILT_AT
    )
    split = export_site(
        site_settings, tmp_path / "two", jobs=2, allow_errors=True, built_at=BUILT_AT
    )
    assert (split.pages, split.files, sorted(split.redirects)) == (
        alone.pages,
        alone.files,
        sorted(alone.redirects),
    )
    one = Manifest.load(tmp_path / "one")
    two = Manifest.load(tmp_path / "two")
    assert one is not None and two is not None
    assert two.files == one.files  # every file, by digest
    assert {slug: sorted(urls) for slug, urls in two.linked_from.items()} == one.linked_from
    for name in one.files:
        assert (tmp_path / "two" / name).read_bytes() == (tmp_path / "one" / name).read_bytes()


def test_files_parsed_over_two_processes_make_the_same_library(site_settings: Settings) -> None:
    content = site_settings.content_dir
    alone = Library.load(content, ParseCache(site_settings.data_dir / "alone.marshal"))
    cache = ParseCache(site_settings.data_dir / "split.marshal")
    primed = prime(cache, discover(content), today=None, jobs=2)
    split = Library.load(content, cache)
    # The worker processes parsed every file; the load itself parsed none.
    assert primed == len(split.files) == 5 and cache.parses == 5
    assert split.comparisons == alone.comparisons
    assert split.problems and set(split.problems) == set(alone.problems)  # the broken file's


def test_the_search_page_without_words_builds_no_search_index(site_settings: Settings) -> None:
    # The export loads the library without the search index and renders /search with no
    # query: popular categories, which need none. A query still builds it.
    app = create_app(site_settings.model_copy(update={"drafts": False, "reload": False}))
    site = site_of(app)
    site.load(search=False)
    with TestClient(app, base_url=site_settings.site_url) as client:
        page = client.get("/search")
        assert page.status_code == 200
        assert site.searcher.version == -1
        assert client.get("/search", params={"q": "editor"}).status_code == 200
        assert site.searcher.version == site.library.version
