"""What search engines and feed readers fetch: sitemap, robots.txt and the Atom feed.

Pure functions from comparisons and the site's base URL to bytes or strings; the site caches
their output per content change. XML is built with ElementTree, so every value is escaped.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from xml.etree import ElementTree as ET

from app.content.model import Comparison
from app.render.markup import markdown_to_html

SITEMAP_LIMIT = 50_000  # URLs per sitemap file, the protocol's maximum
FEED_SIZE = 50
_SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
_ATOM_NS = "http://www.w3.org/2005/Atom"
# XML 1.0 forbids most control characters even when escaped; drop them from any text we emit.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(value: str) -> str:
    return _XML_ILLEGAL.sub("", value)


def _moment(day: date) -> str:
    return datetime.combine(day, time.min, tzinfo=UTC).isoformat().replace("+00:00", "Z")


# --- sitemap ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SitemapEntry:
    path: str  # starts with "/"
    lastmod: date | None


def sitemap_entries(
    comparisons: Sequence[Comparison], *, pages: Sequence[str] = ()
) -> list[SitemapEntry]:
    """Every public page: home, the plain ``pages`` (``about``), each comparison, category,
    tag, option, leaderboard and author (one who wrote a visible comparison), and the tag and
    category indexes."""
    plain = [SitemapEntry(f"/{slug}", None) for slug in sorted(pages)]
    if not comparisons:
        return [SitemapEntry("/", None), *plain]
    newest = max(c.last_modified for c in comparisons)
    entries = [SitemapEntry("/", newest), *plain]
    entries += [SitemapEntry("/categories", newest), SitemapEntry("/tags", newest)]
    # Each listing's newest day, a kind at a time; inlined, as the sitemap is made again by
    # every build that changes what it lists (a call per key was a fifth of its time).
    categories: dict[str, date] = {}
    tags: dict[str, date] = {}
    options: dict[str, date] = {}
    authors: dict[str, date] = {}
    for comparison in comparisons:
        day = comparison.last_modified
        entries.append(SitemapEntry(f"/compare/{comparison.slug}", day))
        slug = comparison.category_slug
        if slug and ((known := categories.get(slug)) is None or known < day):
            categories[slug] = day
        for slug in comparison.tag_slugs:
            if slug and ((known := tags.get(slug)) is None or known < day):
                tags[slug] = day
        for option in comparison.options:
            slug = option.slug
            if slug and ((known := options.get(slug)) is None or known < day):
                options[slug] = day
        for slug in comparison.authors:
            if slug and ((known := authors.get(slug)) is None or known < day):
                authors[slug] = day
    for kind, days in (
        ("category", categories),
        ("best", categories),
        ("tag", tags),
        ("option", options),
        ("author", authors),
    ):
        entries.extend(SitemapEntry(f"/{kind}/{slug}", day) for slug, day in sorted(days.items()))
    return entries


# Each document is built with plain tag names and one ``xmlns`` attribute on its root, never
# with ``ET.register_namespace``: that edits ElementTree's process-global prefix map, so a
# feed rendered in another thread between a sitemap's register and tostring would give it
# ``ns0:`` prefixes, which the page cache then keeps. The map is documented as global:
# https://docs.python.org/3/library/xml.etree.elementtree.html#xml.etree.ElementTree.register_namespace


def _xml_bytes(root: ET.Element) -> bytes:
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body


def sitemap_xml(entries: Iterable[SitemapEntry], site_url: str) -> bytes:
    """ElementTree's bytes for the urlset (``sitemap_tree``), written as strings: it has one
    shape and escapes only text, and a tree of 30,000 URLs cost ~0.5 s to serialise, paid
    by every build that renders the sitemap again (``tests/test_seo.py`` compares the two)."""
    urls = []
    days: dict[date, str] = {}  # a few hundred distinct days among 30,000 URLs
    for entry in entries:
        loc = _escaped(_xml_text(site_url + entry.path))
        if entry.lastmod is None:
            urls.append(f"<url><loc>{loc}</loc></url>")
        else:
            day = days.get(entry.lastmod)
            if day is None:
                day = days[entry.lastmod] = entry.lastmod.isoformat()
            urls.append(f"<url><loc>{loc}</loc><lastmod>{day}</lastmod></url>")
    head = f"<?xml version='1.0' encoding='utf-8'?>\n<urlset xmlns=\"{_SITEMAP_NS}\""
    document = f"{head}>{''.join(urls)}</urlset>" if urls else f"{head} />"
    # As ElementTree encodes: what UTF-8 cannot hold (a lone surrogate) as a reference.
    return document.encode("utf-8", "xmlcharrefreplace")


def _escaped(text: str) -> str:
    """Element text as ElementTree escapes it (``_escape_cdata``)."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def sitemap_tree(entries: Iterable[SitemapEntry], site_url: str) -> bytes:
    """The urlset built with ElementTree: what ``sitemap_xml`` must write, byte for byte."""
    root = ET.Element("urlset", xmlns=_SITEMAP_NS)
    for entry in entries:
        url = ET.SubElement(root, "url")
        ET.SubElement(url, "loc").text = _xml_text(site_url + entry.path)
        if entry.lastmod is not None:
            ET.SubElement(url, "lastmod").text = entry.lastmod.isoformat()
    return _xml_bytes(root)


def sitemap_index_xml(parts: Sequence[Sequence[SitemapEntry]], site_url: str) -> bytes:
    """The index naming ``/sitemap-1.xml`` … one per chunk of at most SITEMAP_LIMIT URLs."""
    root = ET.Element("sitemapindex", xmlns=_SITEMAP_NS)
    for number, part in enumerate(parts, start=1):
        item = ET.SubElement(root, "sitemap")
        ET.SubElement(item, "loc").text = f"{site_url}/sitemap-{number}.xml"
        days = [entry.lastmod for entry in part if entry.lastmod is not None]
        if days:
            ET.SubElement(item, "lastmod").text = max(days).isoformat()
    return _xml_bytes(root)


def chunk(entries: Sequence[SitemapEntry], size: int = SITEMAP_LIMIT) -> list[list[SitemapEntry]]:
    return [list(entries[start : start + size]) for start in range(0, len(entries), size)]


def robots_txt(site_url: str) -> bytes:
    lines = [
        "User-agent: *",
        "Disallow: /search",  # endless query pages add nothing the sitemap lacks
        "Disallow: /api/",
        "",
        f"Sitemap: {site_url}/sitemap.xml",
        "",
    ]
    return "\n".join(lines).encode("utf-8")


# --- Atom feed -------------------------------------------------------------------------------


def atom_feed(
    comparisons: Sequence[Comparison], *, site_url: str, site_name: str, size: int = FEED_SIZE
) -> bytes:
    """The newest ``size`` comparisons as an Atom 1.0 feed (RFC 4287)."""
    newest = sorted(comparisons, key=lambda c: (c.published, c.slug), reverse=True)[:size]

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, tag, attrs)
        if text is not None:
            element.text = _xml_text(text)
        return element

    feed = ET.Element("feed", xmlns=_ATOM_NS)
    sub(feed, "id", f"{site_url}/")
    sub(feed, "title", site_name)
    sub(feed, "subtitle", "Comparisons with a clear pick.")
    updated = max((c.last_modified for c in newest), default=date(2000, 1, 1))
    sub(feed, "updated", _moment(updated))
    sub(feed, "link", rel="self", type="application/atom+xml", href=f"{site_url}/feed.xml")
    sub(feed, "link", rel="alternate", type="text/html", href=f"{site_url}/")
    author = sub(feed, "author")
    sub(author, "name", site_name)
    for comparison in newest:
        url = f"{site_url}/compare/{comparison.slug}"
        entry = sub(feed, "entry")
        sub(entry, "id", url)
        sub(entry, "title", comparison.title)
        sub(entry, "link", rel="alternate", type="text/html", href=url)
        sub(entry, "published", _moment(comparison.published))
        sub(entry, "updated", _moment(comparison.last_modified))
        sub(entry, "category", term=comparison.category_slug, label=comparison.category)
        sub(entry, "summary", comparison.summary)
        body = (
            f"<p>{html.escape(comparison.summary)}</p>"
            f"<p>Our pick: <strong>{html.escape(comparison.pick)}</strong>.</p>"
            f"{markdown_to_html(comparison.bottom_line)}"
        )
        sub(entry, "content", body, type="html")
    return _xml_bytes(feed)
