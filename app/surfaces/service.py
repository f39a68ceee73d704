"""What machines read from the running site: sitemap, Atom feed, robots.txt and social cards,
each rendered once per content change.

Cache keys carry the library version and the visibility key (how many comparisons are live),
so a reload or a scheduled comparison going live renders fresh bytes; drafts and future-dated
comparisons never appear, because every list starts from ``Site.visible()``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from app.content.model import Comparison
from app.render.page_cache import PageCache
from app.site import Site, data_dir
from app.surfaces.cards import CardCache
from app.surfaces.feeds import (
    SITEMAP_LIMIT,
    atom_feed,
    chunk,
    robots_txt,
    sitemap_entries,
    sitemap_index_xml,
    sitemap_xml,
)


class Surfaces:
    def __init__(self, site: Site, *, cache: PageCache, sitemap_limit: int = SITEMAP_LIMIT) -> None:
        self.site = site
        self.cache = cache
        self.cards = CardCache(data_dir(site.settings) / "og", site_name=site.settings.site_name)
        self.sitemap_limit = sitemap_limit

    @property
    def _url(self) -> str:
        return self.site.settings.site_url

    def content_key(self) -> tuple[int, int]:
        """Everything public output depends on besides its own arguments."""
        return self.site.library.version, self.site.visibility_key()

    def _cached(self, key: tuple[Hashable, ...], render: Callable[[], bytes]) -> bytes:
        body: bytes = self.cache.get_or_render((*key, *self.content_key()), render)
        return body

    def _cached_or_none(
        self, key: tuple[Hashable, ...], render: Callable[[], bytes | None]
    ) -> bytes | None:
        # A page that does not exist is cached as b"" so a crawler's 404s cost nothing either.
        body = self._cached(key, lambda: render() or b"")
        return body or None

    # --- machines ---------------------------------------------------------------------------

    def _sitemap_parts(self) -> list[list[Any]]:
        library = self.site.library
        entries = sitemap_entries(self.site.visible(), pages=list(library.pages))
        # An author slug no file defines is a check error; its page would be a 404.
        entries = [
            e
            for e in entries
            if not e.path.startswith("/author/") or e.path[len("/author/") :] in library.authors
        ]
        return chunk(entries, self.sitemap_limit)

    def sitemap(self) -> bytes:
        """One urlset while it fits, else an index of numbered sitemaps."""

        def render() -> bytes:
            parts = self._sitemap_parts()
            if len(parts) <= 1:
                return sitemap_xml(parts[0] if parts else [], self._url)
            return sitemap_index_xml(parts, self._url)

        return self._cached(("sitemap",), render)

    def sitemap_part(self, number: int) -> bytes | None:
        def render() -> bytes | None:
            parts = self._sitemap_parts()
            if len(parts) <= 1 or not 1 <= number <= len(parts):
                return None
            return sitemap_xml(parts[number - 1], self._url)

        return self._cached_or_none(("sitemap", number), render)

    def robots(self) -> bytes:
        return robots_txt(self._url)

    def feed(self) -> bytes:
        return self._cached(
            ("feed",),
            lambda: atom_feed(
                self.site.visible(), site_url=self._url, site_name=self.site.settings.site_name
            ),
        )

    def card(self, slug: str) -> bytes | None:
        comparison = self.visible_comparison(slug)
        return None if comparison is None else self.cards.card(comparison)

    def visible_comparison(self, slug: str) -> Comparison | None:
        comparison = self.site.library.comparisons.get(slug)
        if comparison is None or not self.site.is_visible(comparison):
            return None
        return comparison
