"""The export's short way to a page: the renderer the routes call, called without a request.

A route of ``app/web/pages.py``, ``app/web/discovery.py`` or ``app/web/twins.py`` looks the
page up, asks ``PageRenderer`` for its bytes and hands them to ``responses.page``, which sends
them unchanged (headers aside). For the pages an export is made of (comparisons, listings,
option pages, home, leaderboards, writers, the indexes, and their JSON twins), ``answer``
makes the same renderer call with the same arguments, so the bytes are the ones the server
sends for that URL (``tests/test_export_direct.py`` compares each kind with the app's answer),
without an ASGI round trip, middleware and a thread hop per page.

The machine files (robots.txt, the sitemap and its parts, the feed: ``app/web/machines.py``)
come from ``Surfaces`` as their routes take them, the search page without a query from the
renderer, and ``not_found`` is the body of the app's 404 page: so an incremental build, which
asks for nothing else, needs no app at all (its imports alone cost more than such a build).

A comparison's other addresses (aliases, other orders) answer the route's 301 as a
``redirect``, and a page of these routes that does not exist (a listing past its last page, a
comparison that went, a writer's page with no writer) the route's 404 as ``missing``: nothing
is written. Anything else is ``None`` and the export asks the app: a URL this module does not
know, a query other than ``?page=N``, ``/tags`` or ``/categories`` with nothing to list (a
200 with no body).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.pages.renderer import Format, PageRenderer
from app.site import Site
from app.surfaces.service import Surfaces

HTML = "text/html; charset=utf-8"  # as app/web/responses.py sends them
JSON = "application/json"
# As app/web/machines.py sends them.
XML = "application/xml; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
ATOM = "application/atom+xml"
_SITEMAP_PART = re.compile(r"/sitemap-([0-9]+)\.xml")
_PAGE = re.compile(r"page=([1-9][0-9]{0,5})")  # the routes' accepted numbers, no other query
# /<kind>/<slug> with an optional .json; a slug never holds a slash.
_PATH = re.compile(r"/(compare|category|tag|option|best|author)/([^/]+?)(\.json)?")
_SINGLE = re.compile(r"/(|tags|categories|about)(\.json)?")


@dataclass(frozen=True)
class Answer:
    """A page's bytes as the server would send them for a GET (``CachedPage`` when cached)."""

    body: bytes
    media_type: str
    redirect: str | None = None  # a 301 to this path (an alias, another order): no body
    missing: bool = False  # the route's 404: no body either


MISSING = Answer(b"", "", missing=True)
_CARD = re.compile(r"/og/([^/]+)\.png")
PNG = "image/png"


class DirectPages:
    """Answers export URLs from ``pages`` for the library ``site`` holds (loaded)."""

    def __init__(self, site: Site, pages: PageRenderer, surfaces: Surfaces) -> None:
        self.site = site
        self.pages = pages
        self.surfaces = surfaces

    def not_found(self) -> bytes:
        """The body of the app's 404 page (``app/main.py``'s handlers)."""
        return self.pages.not_found()

    def answer(self, url: str) -> Answer | None:
        """The page at ``url``, or None when only the app can tell (see the module doc)."""
        path, _, query = url.partition("?")
        if not query:
            machine = self._machine(path)
            if machine is not None:
                return machine
        number = 1
        if query:
            page = _PAGE.fullmatch(query)
            if page is None:
                return None
            number = int(page.group(1))
        single = _SINGLE.fullmatch(path)
        if single is not None:
            return self._single(single.group(1), number, "json" if single.group(2) else "html")
        match = _PATH.fullmatch(path)
        if match is None:
            return None
        kind, slug, twin = match.groups()
        fmt: Format = "json" if twin else "html"
        pages = self.pages
        body: bytes | None
        if kind in ("category", "tag", "option"):
            if kind == "option":
                body = pages.option(slug, number, fmt)
            else:
                body = pages.listing("category" if kind == "category" else "tag", slug, number, fmt)
            return _found(body, fmt)
        if number != 1:
            return None  # these routes ignore ?page; an export never asks them for one
        if kind == "compare":
            # As the routes (app/web/pages.py, twins.py): the page, else a 301 to the page
            # the slug names (alias, other order), else the app's 404.
            site = self.site
            found, canonical = site.library.resolve(slug)
            if found is None or not site.is_visible(found):
                target = site.library.comparisons.get(canonical) if canonical else None
                if target is None or not site.is_visible(target):
                    return MISSING  # an export never has the live preview's broken page
                suffix = ".json" if twin else ""
                return Answer(b"", "", redirect=f"/compare/{target.slug}{suffix}")
            body = pages.comparison(found, fmt)
        elif kind == "best":
            body = pages.best(slug, fmt)
        else:
            body = pages.author(slug, fmt)
        return _found(body, fmt)

    def _machine(self, path: str) -> Answer | None:
        """The machine files and the search page with no query (and its twin), as their
        routes answer."""
        surfaces = self.surfaces
        if path == "/robots.txt":
            return Answer(surfaces.robots(), TEXT)
        if path == "/sitemap.xml":
            return Answer(surfaces.sitemap(), XML)
        if path == "/feed.xml":
            return Answer(surfaces.feed(), ATOM)
        if path == "/search":
            return _found(self.pages.search("", 1), "html")
        if path == "/search.json":
            return _found(self.pages.search("", 1, "json"), "json")
        card = _CARD.fullmatch(path)
        if card is not None:
            body = surfaces.card(card.group(1))
            return MISSING if body is None else Answer(body, PNG)
        part = _SITEMAP_PART.fullmatch(path)
        if part is not None and part.group(1) == str(int(part.group(1))):
            body = surfaces.sitemap_part(int(part.group(1)))
            return MISSING if body is None else Answer(body, XML)
        return None

    def _single(self, name: str, number: int, fmt: Format) -> Answer | None:
        if name == "":
            return _found(self.pages.home(number, fmt), fmt)
        if number != 1:
            return None
        if name == "about":
            return _found(self.pages.prose("about", fmt), fmt)
        body = self.pages.index("tag" if name == "tags" else "category", fmt)
        if not body and fmt == "html":
            return None  # the route answers an empty page, not a 404: the app's to write
        return _found(body, fmt)


def _found(body: bytes | None, fmt: Format) -> Answer:
    # None or empty: the route raises its 404 (NotFound, or the twins' JSON one).
    if not body:
        return MISSING
    return Answer(body, JSON if fmt == "json" else HTML)
