"""Cached pages: strong ETags, 304s, precompressed bodies, cache headers, the hot path."""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable
from pathlib import Path

import brotli
from fastapi.testclient import TestClient

from app.main import create_app
from app.pages.renderer import PageRenderer
from app.render.cached_page import CachedPage
from app.settings import Settings
from app.web.responses import HotPages, choose_encoding, etag_matches
from tests.conftest import GOOD, ROOT

PAGE = "/compare/vim-vs-emacs"


def test_page_has_strong_etag_and_revalidates_with_304_and_no_body(client: TestClient) -> None:
    first = client.get(PAGE, headers={"accept-encoding": "identity"})
    etag = first.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    again = client.get(PAGE, headers={"if-none-match": etag, "accept-encoding": "identity"})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert "content-encoding" not in again.headers
    other = client.get(PAGE, headers={"if-none-match": '"something-else"'})
    assert other.status_code == 200 and other.content == first.content


def test_each_content_coding_has_its_own_etag_and_revalidates_with_it(
    client: TestClient,
) -> None:
    tags = {
        coding: client.get(PAGE, headers={"accept-encoding": coding}).headers["etag"]
        for coding in ("identity", "gzip", "br")
    }
    assert len(set(tags.values())) == 3
    assert tags["gzip"] == tags["identity"][:-1] + '-gzip"'
    for coding, etag in tags.items():
        for asked, other in tags.items():
            answer = client.get(PAGE, headers={"accept-encoding": coding, "if-none-match": other})
            assert answer.status_code == (304 if asked == coding else 200)
            assert answer.headers["etag"] == etag


def test_etag_list_and_weak_form_match() -> None:
    assert etag_matches('"a", W/"b"', '"b"')
    assert etag_matches("*", '"x"')
    assert not etag_matches('"a"', '"b"')


def test_gzip_and_brotli_bodies_decompress_to_the_page(client: TestClient) -> None:
    plain = client.get(PAGE, headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers
    # httpx decodes transparently; read the raw stream to see the wire bytes.
    with client.stream("GET", PAGE, headers={"accept-encoding": "gzip"}) as response:
        assert response.headers["content-encoding"] == "gzip"
        wire = b"".join(response.iter_raw())
    assert gzip.decompress(wire) == plain.content
    assert int(response.headers["content-length"]) == len(wire)
    with client.stream("GET", PAGE, headers={"accept-encoding": "gzip, br"}) as response:
        assert response.headers["content-encoding"] == "br"
        wire = b"".join(response.iter_raw())
    assert brotli.decompress(wire) == plain.content
    for response in (plain, client.get(PAGE)):
        assert response.headers["vary"] == "Accept-Encoding"


def test_compression_is_computed_once_per_cached_page(client: TestClient) -> None:
    pages: PageRenderer = client.app.state.pages  # type: ignore[attr-defined]
    comparison = pages.site.library.comparisons["vim-vs-emacs"]
    first = pages.comparison(comparison)
    second = pages.comparison(comparison)
    assert isinstance(first, CachedPage)
    assert first is second
    assert first.gzip is second.gzip and first.br is second.br and first.etag is second.etag


def test_refused_encodings_fall_back() -> None:
    assert choose_encoding("br;q=0, gzip") == "gzip"
    assert choose_encoding("gzip;q=0") is None
    assert choose_encoding("deflate") is None
    assert choose_encoding("*") == "gzip"


def test_cache_control_follows_settings(
    settings: Settings, write_content: Callable[[str, str], Path]
) -> None:
    write_content("vim-vs-emacs.md", GOOD)
    custom = settings.model_copy(update={"cache_seconds": 60, "cache_stale_seconds": 600})
    with TestClient(create_app(custom)) as client:
        for _ in range(2):  # the full route, then the hot path
            response = client.get(PAGE)
            assert response.headers["cache-control"] == (
                "public, max-age=60, stale-while-revalidate=600"
            )
    no_cache = settings.model_copy(update={"cache_seconds": 0})
    with TestClient(create_app(no_cache)) as client:
        assert client.get(PAGE).headers["cache-control"] == "no-cache"


def test_hot_path_answers_like_the_route(client: TestClient) -> None:
    app = client.app
    first = client.get(PAGE)
    hot = client.get(PAGE)
    middleware = _hot_pages(app)
    assert PAGE in middleware.pages
    assert hot.content == first.content
    skip = {"date", "x-request-id"}  # each answer has its own id
    assert {k: v for k, v in hot.headers.items() if k not in skip} == {
        k: v for k, v in first.headers.items() if k not in skip
    }
    assert hot.headers["content-security-policy"]  # outer middleware still applies
    head = client.head(PAGE, headers={"accept-encoding": "identity"})
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == len(first.content)


def test_hot_path_forgets_pages_when_the_library_reloads(
    client: TestClient, settings: Settings
) -> None:
    client.get(PAGE)
    client.get(PAGE)
    (settings.content_dir / "vim-vs-emacs.md").write_text(
        GOOD.replace("Both editors are older", "Both editors are far older"), encoding="utf-8"
    )
    client.app.state.site.load()  # type: ignore[attr-defined]
    response = client.get(PAGE)
    assert b"far older" in response.content
    (settings.content_dir / "vim-vs-emacs.md").unlink()
    client.app.state.site.load()  # type: ignore[attr-defined]
    assert client.get(PAGE).status_code == 404


def test_not_found_and_cookie_requests_are_not_remembered(client: TestClient) -> None:
    missing = client.get("/compare/nothing-here")
    assert missing.status_code == 404 and "etag" not in missing.headers
    client.get(PAGE, headers={"cookie": "session=x"})
    assert PAGE not in _hot_pages(client.app).pages
    client.get(PAGE + "?ref=x")
    assert PAGE not in _hot_pages(client.app).pages


def _hot_pages(app: object) -> HotPages:
    stack = app.middleware_stack  # type: ignore[attr-defined]
    while stack is not None and not isinstance(stack, HotPages):
        stack = getattr(stack, "app", None)
    assert isinstance(stack, HotPages)
    return stack


def test_fingerprinted_stylesheet_is_immutable_for_a_year(client: TestClient) -> None:
    from bs4 import BeautifulSoup

    html = BeautifulSoup(client.get(PAGE).text, "html.parser")
    link = html.select_one('link[rel="stylesheet"]')
    assert link is not None
    href = str(link["href"])
    assert re.fullmatch(r"/static/site\.[0-9a-f]{10}\.css", href)
    response = client.get(href)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.content == (ROOT / "static" / "site.css").read_bytes()
    plain = client.get("/static/site.css")
    assert "immutable" not in plain.headers["cache-control"]
