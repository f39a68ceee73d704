"""The running site's pages: build a page's context from the site as it is now, render it to
HTML or to its JSON twin, and keep the bytes.

Every key names what the bytes depend on (the library version and the visibility key, plus
each page's own inputs), so nothing is ever invalidated: a change makes new keys. A page
that does not exist is kept as empty bytes, so a crawler's 404s cost no work either.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal, Protocol

from jinja2 import Environment

from app import metrics
from app.content.edits import listing_facts
from app.content.model import Comparison
from app.pages import (
    best,
    comparison,
    errors,
    home,
    listing,
    option,
    people,
    related_file,
    search,
)
from app.pages.base import PageContext, render_html, render_json
from app.pages.docs import DocsPage
from app.pages.navigation import (
    PER_PAGE,
    RelatedIndex,
    Wayfinding,
    wayfinding,
)
from app.render.page_cache import PageCache
from app.search.index import query_terms
from app.site import Site

if TYPE_CHECKING:
    from app.feedback.form import FeedbackForm

Format = Literal["html", "json"]


class FeedbackParts(Protocol):
    """What the comparison page asks the feedback service: a cache-key part, and its values
    (``{"feedback": FeedbackView}``), built only when the page is rendered."""

    def page_part(
        self, comparison: Comparison, thanks: bool
    ) -> tuple[Hashable, Callable[[], Mapping[str, Any]]]: ...


class PageRenderer:
    def __init__(
        self,
        site: Site,
        *,
        env: Environment,
        cache: PageCache,
        feedback: FeedbackParts | None = None,
        related_on_demand: bool = False,
    ) -> None:
        """``related_on_demand``: each related list made when a page first needs it
        (``RelatedIndex.on_demand``), for a process that renders a few pages (an incremental
        build), instead of every list at each load."""
        self.site = site
        self.env = env
        self.cache = cache
        self.feedback = feedback
        self._related: tuple[Hashable, RelatedIndex] = ((), RelatedIndex(()))
        self._wayfinding: tuple[Hashable, Wayfinding] = ((), Wayfinding((), (), ()))
        self._related_lock = threading.Lock()
        self._related_kept = False  # whether this process kept an index in the data folder
        self._related_on_demand = related_on_demand
        # The last context built, by its key: a page and its JSON twin rendered one after the
        # other (the static export's order) build it once.
        self._last_built: tuple[Hashable, PageContext | None] | None = None
        site.after_load.append(self._warm)
        # The footer links /about only when the site has that page: without it, every page
        # linked a 404 (and an export, a file it did not hold).
        env.globals["has_page"] = lambda slug: slug in site.library.pages

    @property
    def _site_url(self) -> str:
        return self.site.settings.site_url

    def content_key(self) -> tuple[int, int]:
        """Everything a public page depends on besides its own arguments."""
        return self.site.library.version, self.site.visibility_key()

    def render(self, context: PageContext, fmt: Format = "html") -> bytes:
        if fmt == "json":
            return render_json(context)
        return render_html(self.env, context, self._shared())

    def _shared(self) -> dict[str, object]:
        """What ``base.html`` shows on every page: the header's categories menu."""
        return {"nav_categories": self.wayfinding().menu}

    def wayfinding(self) -> Wayfinding:
        """Categories and newest comparisons, computed once per content change."""
        key = self.content_key()
        if self._wayfinding[0] != key:
            site = self.site
            by_category = site.grouped("category")
            self._wayfinding = (key, wayfinding(site.visible(), by_category=by_category))
        return self._wayfinding[1]

    def _cached(
        self, key: tuple[Hashable, ...], build: Callable[[], PageContext | None], fmt: Format
    ) -> bytes | None:
        content_key = self.content_key()

        def render() -> bytes:
            context = self._built((*key, *content_key), build)
            return b"" if context is None else self.render(context, fmt)

        body = self.cache.get_or_render((*key, fmt, *content_key), render)
        return body or None

    def _built(self, key: Hashable, build: Callable[[], PageContext | None]) -> PageContext | None:
        """``build()``, or the context built last when it had the same key (which names every
        input of the page: both formats render one frozen context)."""
        last = self._last_built  # one read: another thread may replace it meanwhile
        if last is not None and last[0] == key:
            return last[1]
        context = build()
        self._last_built = (key, context)
        return context

    # --- pages --------------------------------------------------------------------------------

    def comparison(
        self,
        found: Comparison,
        fmt: Format = "html",
        *,
        thanks: bool = False,
        form: FeedbackForm | None = None,
        nonce: str | None = None,
        early: bool = False,
    ) -> bytes:
        """The comparison page. ``thanks`` shows the feedback notice (HTML only); ``form``
        (a re-filled form) and ``early`` (the library is still loading) are never cached."""
        thanks = thanks and fmt == "html"
        part = self.feedback.page_part(found, thanks) if self.feedback is not None else None

        def build() -> comparison.ComparisonPage:
            view = part[1]()["feedback"] if part is not None else None
            index = None if early else self._related_index()
            return comparison.build(
                found,
                related=() if index is None else tuple(index.related(found)),
                lone_tags=frozenset() if index is None else index.lone_tags(found),
                feedback=view,
                site_url=self._site_url,
                site_name=self.site.settings.site_name,
                profiles=self.site.library.profiles,
                authors=self.site.library.authors,
            )

        if form is not None or early:
            return self.render(replace(build(), feedback_form=form, feedback_nonce=nonce), fmt)
        key = ("compare", found.slug, found.content_hash, part[0] if part else None)
        body = self._cached(key, build, fmt)
        assert body is not None  # a comparison page always has content
        return body

    def neighbours(self, found: Comparison) -> tuple[list[str], frozenset[str]]:
        """(related slugs, lone tags): what the comparison page shows of the rest of the
        library, as ``comparison`` builds it."""
        index = self._related_index()
        return [other.slug for other in index.related(found)], index.lone_tags(found)

    def home(self, number: int, fmt: Format = "html") -> bytes | None:
        def build() -> home.HomePage | None:
            return home.build(
                number,
                visible=self.site.visible(),
                by_category=self.site.grouped("category"),
                site_url=self._site_url,
            )

        return self._cached(("index", number), build, fmt)

    def listing(
        self, kind: listing.Kind, slug: str, number: int, fmt: Format = "html"
    ) -> bytes | None:
        def build() -> listing.ListingPage | None:
            # Grouping 10,000 comparisons happens here, so only on a cache miss.
            grouped = self.site.grouped(kind)
            return listing.build(kind, slug, number, grouped=grouped, site_url=self._site_url)

        return self._cached(("listing", kind, slug, number), build, fmt)

    def option(self, slug: str, number: int, fmt: Format = "html") -> bytes | None:
        def build() -> option.OptionPageContext | None:
            # Only the comparisons naming this option: the same result, no scan of all.
            including = self.site.grouped("option").get(slug, [])
            return option.build(
                slug,
                number,
                including=including,
                profiles=self.site.library.profiles,
                site_url=self._site_url,
            )

        return self._cached(("option", slug, number), build, fmt)

    def author(self, slug: str, fmt: Format = "html") -> bytes | None:
        def build() -> people.AuthorPage | None:
            return people.author_page(
                slug,
                authors=self.site.library.authors,
                visible=self.site.visible(),
                site_url=self._site_url,
            )

        return self._cached(("author", slug), build, fmt)

    def prose(self, slug: str, fmt: Format = "html") -> bytes | None:
        """A plain page from ``content/pages/`` (``/about``)."""

        def build() -> people.ProsePage | None:
            return people.prose_page(slug, pages=self.site.library.pages, site_url=self._site_url)

        return self._cached(("prose", slug), build, fmt)

    def index(self, kind: people.IndexKind, fmt: Format = "html") -> bytes | None:
        """``/tags`` or ``/categories``: every one with its count."""

        def build() -> people.IndexPage:
            grouped = self.site.grouped(kind)
            return people.index_page(kind, grouped=grouped, site_url=self._site_url)

        return self._cached(("index-list", kind), build, fmt)

    def best(self, category_slug: str, fmt: Format = "html") -> bytes | None:
        def build() -> best.BestPage | None:
            # The category's own comparisons (same result): no scan of the whole library.
            in_category = self.site.grouped("category").get(category_slug, [])
            return best.build(category_slug, visible=in_category, site_url=self._site_url)

        return self._cached(("best", category_slug), build, fmt)

    def search(self, query: str, number: int, fmt: Format = "html") -> bytes | None:
        """Results for the reader's words (not cached: queries are endless), or popular
        categories when the text has no words (cached)."""
        site = self.site
        library = site.library
        if not query_terms(query):
            # No words: the popular categories, which need no index (building it costs a
            # second at 10,000 pages, paid by every build that re-renders this page).
            if number != 1:
                return None

            def empty() -> search.SearchPage:
                popular = self.wayfinding().popular
                return search.build(
                    "", 1, results=(), has_next=False, popular=popular, site_url=self._site_url
                )

            return self._cached(("search-empty",), empty, fmt)
        index = site.search_index()
        with metrics.timed(metrics.SEARCH_DURATION):
            results = index.search(
                query,
                now=site.now(),
                drafts=site.settings.drafts,
                limit=PER_PAGE,
                offset=(number - 1) * PER_PAGE,
            )
        if number > 1 and not results.hits:
            return None
        found = [
            (library.comparisons[hit.slug], hit.snippet)
            for hit in results.hits
            if hit.slug in library.comparisons
        ]
        lost = self.wayfinding() if not found else Wayfinding((), (), ())
        context = search.build(
            query,
            number,
            results=found,
            has_next=results.has_next,
            popular=lost.popular,
            recent=lost.recent,
            site_url=self._site_url,
        )
        return self.render(context, fmt)

    def not_found(self, fmt: Format = "html") -> bytes:
        def build() -> errors.NotFoundPage:
            return errors.not_found(
                visible=self.site.visible(),
                by_category=self.site.grouped("category"),
                site_url=self._site_url,
            )

        return self._cached(("404",), build, fmt) or b""

    def broken_file(self, slug: str) -> bytes | None:
        """Live preview: the page of a file that stopped parsing, never cached, else None."""
        context = errors.broken_file(self.site.library, slug)
        return None if context is None else render_html(self.env, context, self._shared())

    def docs(self) -> bytes:
        """``/docs``: the API reference; its header's categories follow the content."""
        return self.cache.get_or_render(
            ("docs", *self.content_key()),
            lambda: render_html(self.env, DocsPage(), self._shared()),
        )

    def error(self, status: int, message: str, fmt: Format = "html") -> bytes:
        return self.render(errors.error(status, message), fmt)

    def _warm(self) -> None:
        """After a load, in the loading thread: what the first pages would otherwise build
        (O(library) each, once per content change: 0.8 s for the first listing at 100,000)."""
        for kind in ("category", "tag", "option"):
            self.site.grouped(kind)
        self._related_index()

    def _related_index(self) -> RelatedIndex:
        """One index of the visible comparisons per content change (see ``RelatedIndex``)."""
        key = self.content_key()
        if self._related[0] != key:
            with self._related_lock:  # one build at a time; the others wait for it
                kept_key, index = self._related
                if kept_key != key:
                    self._related = (key, self._patched_related(kept_key, key, index))
        return self._related[1]

    def _patched_related(
        self, kept: Hashable, key: tuple[int, int], index: RelatedIndex
    ) -> RelatedIndex:
        """The kept index with live preview's edits made in it (``app.content.edits``), or
        a new one when something else changed. Patched in place: pages being rendered for
        the kept key may see an edit early, but their bytes are cached under that key, which
        no request asks for again."""
        changes = self.site.changes_since(kept, key)
        if changes is None:
            return self._built_related()
        for old, new in changes:
            if old is not None and new is not None and listing_facts(old) == listing_facts(new):
                index.replace(old, new)
            else:
                index.refresh(old, new, self._sharing)
        return index

    def _built_related(self) -> RelatedIndex:
        """A new index of the visible comparisons. The first of this process (at start) is
        read back from the data folder when the one kept there was built over the very same
        comparisons (a warm start), else built and kept there. Later ones (live preview's
        edits) are only built: the next start would not find their content unchanged."""
        visible = self.site.visible()
        if self._related_on_demand:
            slugs = {comparison.slug for comparison in visible}
            return RelatedIndex.on_demand(self._sharing, slugs.__contains__)
        if self._related_kept:
            return RelatedIndex(visible)
        self._related_kept = True
        path = self.site.settings.data_dir / related_file.FILE_NAME
        index = related_file.read(path, visible)
        if index is None:
            index = RelatedIndex(visible)
            related_file.write(path, visible, index)
        return index

    def _sharing(self, kind: str, name: str) -> list[Comparison]:
        """Every visible comparison with this option, tag or category (``RelatedIndex``'s
        keys), from the site's groups."""
        return self.site.grouped(kind).get(name, [])
