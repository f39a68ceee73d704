"""Discovery surfaces of the running site: search, option and leaderboard pages, sitemap, feed,
robots.txt and social cards, each rendered once per content change.

Cache keys carry the library version and the visibility key (how many comparisons are live),
so a reload or a scheduled comparison going live renders fresh bytes; drafts and future-dated
comparisons never appear, because every list starts from ``Site.visible()``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from app.content.model import Comparison
from app.discovery import (
    PER_PAGE,
    Page,
    RelatedIndex,
    leaderboard,
    option_page,
    paginate,
    popular_categories,
)
from app.og import CardCache
from app.search import Searcher
from app.seo import (
    SITEMAP_LIMIT,
    atom_feed,
    category_json_ld,
    chunk,
    comparison_json_ld,
    robots_txt,
    script_json,
    sitemap_entries,
    sitemap_index_xml,
    sitemap_xml,
)
from app.site import Site, data_dir


class Surfaces:
    def __init__(self, site: Site, *, sitemap_limit: int = SITEMAP_LIMIT) -> None:
        self.site = site
        self.searcher = Searcher()
        self.cards = CardCache(data_dir(site.settings) / "og", site_name=site.settings.site_name)
        self.sitemap_limit = sitemap_limit
        self._related: tuple[Hashable, RelatedIndex] = ((), RelatedIndex(()))
        site.comparison_parts.append(self._comparison_part)

    @property
    def _url(self) -> str:
        return self.site.settings.site_url

    def content_key(self) -> tuple[int, int]:
        """Everything public output depends on besides its own arguments."""
        # _visibility_key is the site's own "what is live" counter; reuse it, don't re-derive.
        return self.site.library.version, self.site._visibility_key()

    def _cached(self, key: tuple[Hashable, ...], render: Any) -> bytes:
        body: bytes = self.site.cache.get_or_render((*key, *self.content_key()), render)
        return body

    # --- the comparison page's discovery parts ------------------------------------------------

    def _comparison_part(
        self, comparison: Comparison, thanks: bool
    ) -> tuple[Hashable, Callable[[], dict[str, Any]]]:
        """Related links, JSON-LD and the card URL; related links change as pages go live."""

        def values() -> dict[str, Any]:
            json_ld = comparison_json_ld(
                comparison, site_url=self._url, site_name=self.site.settings.site_name
            )
            return {
                "related": self._related_index().related(comparison),
                "json_ld": script_json(json_ld),
                "og_image": f"{self._url}/og/{comparison.slug}.png",
                "json_url": f"/api/comparisons/{comparison.slug}",
            }

        return ("discovery", self.site._visibility_key()), values

    def _related_index(self) -> RelatedIndex:
        """One index of the visible comparisons per content change (see ``RelatedIndex``)."""
        key = self.content_key()
        if self._related[0] != key:
            self._related = (key, RelatedIndex(self.site.visible()))
        return self._related[1]

    # --- search -----------------------------------------------------------------------------

    def warm_search(self) -> None:
        """Build the index for the current library in the background (after each load)."""
        library = self.site.library
        self.searcher.warm(library.version, list(library.comparisons.values()))

    def search_page(self, query: str, number: int) -> bytes | None:
        """Results for the reader's text, or popular categories when it has no words."""
        library = self.site.library
        index = self.searcher.index_for(library.version, library.comparisons.values())
        results = index.search(
            query,
            now=self.site.now(),
            drafts=self.site.settings.drafts,
            limit=PER_PAGE,
            offset=(number - 1) * PER_PAGE,
        )
        if not results.terms:
            if number != 1:
                return None
            return self._cached(("search-empty",), lambda: self._render_empty_search(query))
        if number > 1 and not results.hits:
            return None
        found = [
            (library.comparisons[hit.slug], hit.snippet)
            for hit in results.hits
            if hit.slug in library.comparisons
        ]
        return self.site.render(
            "search.html",
            query=query,
            results=found,
            number=number,
            has_next=results.has_next,
            categories=[],
        )

    def _render_empty_search(self, query: str) -> bytes:
        return self.site.render(
            "search.html",
            query="",
            results=[],
            number=1,
            has_next=False,
            categories=popular_categories(self.site.visible()),
        )

    # --- option pages and leaderboards ------------------------------------------------------

    def option_page(self, slug: str, number: int) -> bytes | None:
        def render() -> bytes | None:
            # Only the comparisons naming this option: the same result, no scan of all.
            found = option_page(slug, self.site.grouped("option").get(slug, []))
            if found is None:
                return None
            page = paginate(found.comparisons, number)
            if page is None:
                return None
            return self.site.render(
                "option.html",
                option=found,
                page=page,
                base=f"/option/{slug}",
                canonical=self._page_url(f"/option/{slug}", page),
            )

        return self._cached_or_none(("option", slug, number), render)

    def best_page(self, category_slug: str) -> bytes | None:
        def render() -> bytes | None:
            visible = self.site.visible()
            board = leaderboard(category_slug, visible)
            if board is None:
                return None
            json_ld = category_json_ld(category_slug, visible, site_url=self._url)
            return self.site.render(
                "best.html",
                board=board,
                json_ld=script_json(json_ld),
                canonical=f"{self._url}/best/{category_slug}",
            )

        return self._cached_or_none(("best", category_slug), render)

    def _cached_or_none(self, key: tuple[Hashable, ...], render: Any) -> bytes | None:
        # A page that does not exist is cached as b"" so a crawler's 404s cost nothing either.
        body = self._cached(key, lambda: render() or b"")
        return body or None

    def _page_url(self, path: str, page: Page[Any]) -> str:
        return f"{self._url}{path}" + (f"?page={page.number}" if page.number > 1 else "")

    # --- machines ---------------------------------------------------------------------------

    def _sitemap_parts(self) -> list[list[Any]]:
        return chunk(sitemap_entries(self.site.visible()), self.sitemap_limit)

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
