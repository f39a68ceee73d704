"""Sitemap, robots.txt, Atom feed, JSON-LD, meta tags, social cards and the canonical host."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from PIL import Image

from app.content.parse import parse_text
from app.main import create_app
from app.pages.json_ld import script_json
from app.surfaces.feeds import (
    SitemapEntry,
    atom_feed,
    chunk,
    sitemap_entries,
    sitemap_index_xml,
    sitemap_tree,
    sitemap_xml,
)
from tests.conftest import GOOD
from tests.discovery_content import HIDDEN, PUBLISHED, site_settings, standard_library, write
from tests.soup import attr

SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
ATOM = "{http://www.w3.org/2005/Atom}"
SITE = "https://nicepick.test"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    content = tmp_path_factory.mktemp("content")
    standard_library(content)
    # A title that tries to end the JSON-LD script and open another.
    write(content, ["Sneaky", "Other"], title='"Sneaky </script><script>alert(1)</script> & co"',
          category="Edge Cases", published="2025-02-01")  # fmt: skip
    return content


@pytest.fixture(scope="module")
def client(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = site_settings(folder, tmp_path_factory.mktemp("var"))
    with TestClient(create_app(settings), follow_redirects=False) as test_client:
        yield test_client


def parse_xml(response_text: str) -> ET.Element:
    return ET.fromstring(response_text.encode("utf-8"))


def test_sitemap_lists_every_published_page_and_no_hidden_one(client: TestClient) -> None:
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    root = parse_xml(response.text)
    assert root.tag == f"{SM}urlset"
    urls = {u.findtext(f"{SM}loc"): u.findtext(f"{SM}lastmod") for u in root}
    published = PUBLISHED | {"sneaky-vs-other"}
    for slug in published:
        assert f"{SITE}/compare/{slug}" in urls
    for slug in HIDDEN:
        assert f"{SITE}/compare/{slug}" not in urls
    assert not any("hiddendraft" in url or "futurepage" in url for url in urls if url)
    assert urls[f"{SITE}/compare/nginx-vs-caddy"] == "2025-06-01"  # updated wins
    assert urls[f"{SITE}/compare/nginx-vs-apache"] == "2025-01-11"  # else published
    for path in ("/", "/category/web-servers", "/tag/reverse-proxy", "/option/nginx",
                 "/best/web-servers"):  # fmt: skip
        assert SITE + path in urls
    # Every listed URL answers 200.
    for url in urls:
        assert url is not None
        assert client.get(url.removeprefix(SITE) or "/").status_code == 200, url


def test_sitemap_becomes_an_index_past_the_limit(
    folder: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    app = create_app(site_settings(folder, tmp_path_factory.mktemp("var")))
    app.state.surfaces.sitemap_limit = 5
    with TestClient(app) as small:
        root = parse_xml(small.get("/sitemap.xml").text)
        assert root.tag == f"{SM}sitemapindex"
        parts = [s.findtext(f"{SM}loc") for s in root]
        assert parts[0] == f"{SITE}/sitemap-1.xml"
        seen: list[str] = []
        for url in parts:
            assert url is not None
            part = parse_xml(small.get(url.removeprefix(SITE)).text)
            assert part.tag == f"{SM}urlset" and len(part) <= 5
            seen += [u.findtext(f"{SM}loc") or "" for u in part]
        assert len(seen) == len(set(seen))
        assert f"{SITE}/compare/nginx-vs-caddy" in seen
        assert small.get(f"/sitemap-{len(parts) + 1}.xml").status_code == 404


def test_sitemap_index_names_each_part_with_its_newest_date() -> None:
    entries = [SitemapEntry(f"/compare/p{n}", date(2025, 1, n + 1)) for n in range(5)]
    root = ET.fromstring(sitemap_index_xml(chunk(entries, 2), SITE))
    assert [s.findtext(f"{SM}lastmod") for s in root] == ["2025-01-02", "2025-01-04", "2025-01-05"]


def test_robots_points_at_the_sitemap(client: TestClient) -> None:
    text = client.get("/robots.txt").text
    assert f"Sitemap: {SITE}/sitemap.xml" in text.splitlines()
    assert "User-agent: *" in text


def test_feed_is_atom_with_newest_published_entries(client: TestClient) -> None:
    response = client.get("/feed.xml")
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = parse_xml(response.text)
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):
        assert feed.findtext(f"{ATOM}{required}")
    assert feed.find(f"{ATOM}author/{ATOM}name") is not None
    self_link = [link for link in feed.findall(f"{ATOM}link") if link.get("rel") == "self"]
    assert self_link[0].get("href") == f"{SITE}/feed.xml"
    entries = feed.findall(f"{ATOM}entry")
    ids = [e.findtext(f"{ATOM}id") for e in entries]
    assert set(ids) == {f"{SITE}/compare/{slug}" for slug in PUBLISHED | {"sneaky-vs-other"}}
    assert ids[0] == f"{SITE}/compare/sneaky-vs-other"  # newest first
    for entry in entries:
        for required in ("id", "title", "updated", "published", "summary"):
            assert entry.findtext(f"{ATOM}{required}"), required
        link = entry.find(f"{ATOM}link")
        assert link is not None and link.get("href") == entry.findtext(f"{ATOM}id")
    sneaky = entries[0]
    assert sneaky.findtext(f"{ATOM}title") == "Sneaky </script><script>alert(1)</script> & co"


def test_feed_keeps_the_newest_fifty(tmp_path: Path) -> None:
    content = tmp_path / "content"
    content.mkdir()
    for n in range(55):
        write(
            content, [f"Alpha{n}", f"Beta{n}"], published=f"2024-{n // 28 + 1:02d}-{n % 28 + 1:02d}"
        )
    with TestClient(create_app(site_settings(content, tmp_path / "var"))) as small:
        entries = parse_xml(small.get("/feed.xml").text).findall(f"{ATOM}entry")
    assert len(entries) == 50
    assert entries[0].findtext(f"{ATOM}id") == f"{SITE}/compare/alpha54-vs-beta54"
    assert all("alpha0-vs" not in (e.findtext(f"{ATOM}id") or "") for e in entries)


def json_ld(html: str) -> dict[str, object]:
    soup = BeautifulSoup(html, "html.parser")
    (script,) = soup.find_all("script", type="application/ld+json")
    assert script.string is not None
    data: dict[str, object] = json.loads(script.string)
    return data


def test_comparison_json_ld_has_review_notes_and_pick(client: TestClient) -> None:
    data = json_ld(client.get("/compare/nginx-vs-caddy").text)
    assert data["@context"] == "https://schema.org"
    graph = data["@graph"]
    assert isinstance(graph, list)
    review = graph[0]
    assert review["@type"] == "Review"
    assert review["url"] == f"{SITE}/compare/nginx-vs-caddy"
    assert review["itemReviewed"] == {"@id": f"{SITE}/compare/nginx-vs-caddy#option-caddy"}
    assert review["dateModified"] == "2025-06-01"
    notes = review["positiveNotes"]
    assert notes["@type"] == "ItemList"
    assert notes["itemListElement"][0] == {
        "@type": "ListItem",
        "position": 1,
        "name": "Caddy handles large inputs with steady memory use",
    }
    assert review["negativeNotes"]["itemListElement"][0]["@type"] == "ListItem"
    options = next(node for node in graph if node["@type"] == "ItemList")
    assert [i["item"]["name"] for i in options["itemListElement"]] == ["Nginx", "Caddy"]
    per_option = [node for node in graph[1:] if node["@type"] == "Review"]
    assert [r["itemReviewed"]["name"] for r in per_option] == ["Nginx", "Caddy"]


def test_json_ld_survives_a_title_that_closes_the_script(client: TestClient) -> None:
    html = client.get("/compare/sneaky-vs-other").text
    data = json_ld(html)
    assert data["@graph"][0]["name"] == "Sneaky </script><script>alert(1)</script> & co"  # type: ignore[index]
    soup = BeautifulSoup(html, "html.parser")
    assert not [s for s in soup.find_all("script") if "alert" in (s.string or "")
                and s.get("type") != "application/ld+json"]  # fmt: skip


def test_script_json_escapes_html_significant_characters() -> None:
    text = str(script_json({"a": "</script><!-- & \u2028"}))
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"a": "</script><!-- & \u2028"}


def test_comparison_page_meta_tags(client: TestClient) -> None:
    soup = BeautifulSoup(client.get("/compare/nginx-vs-caddy").text, "html.parser")

    def meta(attr: str, name: str) -> str:
        tag = soup.find("meta", attrs={attr: name})
        assert tag is not None, name
        return str(tag["content"])

    assert attr(soup, "link[rel=canonical]", "href") == f"{SITE}/compare/nginx-vs-caddy"
    assert meta("name", "description").startswith("A head-to-head of Nginx, Caddy")
    assert meta("property", "og:title").startswith("Nginx vs Caddy")
    assert meta("property", "og:url") == f"{SITE}/compare/nginx-vs-caddy"
    assert meta("property", "og:type") == "article"
    assert meta("property", "og:image") == f"{SITE}/og/nginx-vs-caddy.png"
    assert meta("name", "twitter:card") == "summary_large_image"
    twin = 'link[rel=alternate][type="application/json"]'
    assert attr(soup, twin, "href") == "/compare/nginx-vs-caddy.json"


def test_listing_pages_have_canonical_and_og(client: TestClient) -> None:
    soup = BeautifulSoup(client.get("/category/web-servers").text, "html.parser")
    assert attr(soup, "link[rel=canonical]", "href") == f"{SITE}/category/web-servers"
    assert attr(soup, 'meta[property="og:type"]', "content") == "website"
    assert attr(soup, 'meta[name="twitter:card"]', "content") == "summary"


def test_social_card_is_a_1200x630_png_rendered_once(client: TestClient, folder: Path) -> None:
    first = client.get("/og/nginx-vs-caddy.png")
    assert first.status_code == 200
    assert first.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(first.content))
    assert image.format == "PNG" and image.size == (1200, 630)
    surfaces = client.app.state.surfaces  # type: ignore[attr-defined]
    card_files = list(surfaces.cards.folder.glob("*.png"))
    assert len(card_files) == 1
    mtime = card_files[0].stat().st_mtime_ns
    assert client.get("/og/nginx-vs-caddy.png").content == first.content
    assert card_files[0].stat().st_mtime_ns == mtime


def test_no_social_card_for_hidden_or_unknown_pages(client: TestClient) -> None:
    for slug in (*HIDDEN, "nope"):
        assert client.get(f"/og/{slug}.png").status_code == 404


@pytest.fixture(scope="module")
def strict_host(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = site_settings(folder, tmp_path_factory.mktemp("var"), redirect_host=True)
    with TestClient(
        create_app(settings), base_url="https://nicepick.test", follow_redirects=False
    ) as test_client:
        yield test_client


def test_other_host_redirects_to_the_canonical_one(strict_host: TestClient) -> None:
    response = strict_host.get("/compare/nginx-vs-caddy?x=1", headers={"host": "www.nicepick.test"})
    assert response.status_code == 301
    assert response.headers["location"] == f"{SITE}/compare/nginx-vs-caddy?x=1"
    evil = strict_host.get("//evil.example/x", headers={"host": "evil.example"})
    assert evil.headers["location"].startswith(f"{SITE}/")


def test_canonical_host_is_served(strict_host: TestClient) -> None:
    assert strict_host.get("/compare/nginx-vs-caddy").status_code == 200
    assert strict_host.get("/healthz", headers={"host": "10.0.0.5:8000"}).status_code == 200


def test_local_site_url_never_redirects(folder: Path, tmp_path: Path) -> None:
    settings = site_settings(folder, tmp_path, site_url="http://127.0.0.1:8000", redirect_host=True)
    with TestClient(create_app(settings)) as local:
        assert local.get("/compare/nginx-vs-caddy", follow_redirects=False).status_code == 200


def test_the_sitemap_is_elementtrees_document_byte_for_byte() -> None:
    entries = [
        SitemapEntry("/", date(2025, 1, 2)),
        SitemapEntry("/about", None),
        SitemapEntry("/compare/a-vs-b", date(2025, 1, 3)),
        SitemapEntry("/tag/c&d<e>f\"g'h", date(2025, 1, 4)),
        SitemapEntry("/option/caf\u00e9-\u65e5\u672c", None),
        SitemapEntry("/option/bell\x07-\ud800", None),  # illegal in XML; a lone surrogate
    ]
    for site_url in ("https://nicepick.test", "https://x.test/a&b"):
        assert sitemap_xml(entries, site_url) == sitemap_tree(entries, site_url)
    assert sitemap_xml([], "https://nicepick.test") == sitemap_tree([], "https://nicepick.test")


def test_xml_renders_leave_the_global_namespace_map_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    # ElementTree's prefix map is process-global: a render that edits it can give a sitemap
    # being serialised in another thread "ns0:" prefixes. Another module's registration (here
    # a foreign prefix for both namespaces) must not reach our documents either.
    import xml.etree.ElementTree as element_tree

    monkeypatch.setattr(element_tree, "_namespace_map", dict(vars(element_tree)["_namespace_map"]))
    ET.register_namespace("sm", "http://www.sitemaps.org/schemas/sitemap/0.9")
    ET.register_namespace("at", "http://www.w3.org/2005/Atom")
    before = dict(vars(element_tree)["_namespace_map"])
    entries = [SitemapEntry("/compare/a-vs-b", date(2025, 1, 2))]
    documents = [
        sitemap_xml(entries, "https://nicepick.test"),
        sitemap_index_xml([entries], "https://nicepick.test"),
        atom_feed([], site_url="https://nicepick.test", site_name="Nice Pick"),
    ]
    assert vars(element_tree)["_namespace_map"] == before
    for document in documents:
        assert b"sm:" not in document and b"at:" not in document and b"ns0:" not in document
        root = ET.fromstring(document)
        assert root.tag.startswith("{http://www.")  # the default namespace, declared once


def test_listings_of_a_page_dated_the_first_day_of_the_calendar_are_in_the_sitemap() -> None:
    # A second review: the newest day per listing started from date.min, and a page dated
    # 0001-01-01 (check accepts it) left its category, tags, options and writers out.
    base, _problems = parse_text(GOOD, path="vim-vs-emacs.md", slug="vim-vs-emacs")
    assert base is not None
    page = replace(base, published=date.min, updated=None, authors=("ana-ruiz",))
    paths = {entry.path for entry in sitemap_entries([page])}
    expected = {f"/category/{page.category_slug}", f"/best/{page.category_slug}"}
    expected |= {f"/tag/{tag}" for tag in page.tag_slugs}
    expected |= {f"/option/{option.slug}" for option in page.options}
    assert expected | {"/author/ana-ruiz"} <= paths
