"""Which URLs a static export requests: one table, one row per kind of page.

A new kind of page is one row here (a name and a function from the visible library to its
URLs). The export also follows every same-site link the files hold, so a page that is linked
is exported even without a row; a row makes sure of it, and gives it its place in the
incremental build (``app/commands/manifest.py``), which asks this table what exists.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import permutations

from app.content.library import Library
from app.content.model import Comparison
from app.pages.navigation import PER_PAGE

# Orderings of a comparison's options that get a redirect: every one for up to four options
# (24 at most), the given and the reversed order only for more.
_ALL_ORDERS_UP_TO = 4


@dataclass(frozen=True)
class Visible:
    """What the routes read: the library, and the comparisons readers may see, newest first."""

    library: Library
    comparisons: list[Comparison]
    # ``Library.group(comparisons, kind)`` made elsewhere already (the site's, kept with its
    # visible list), else made here once per kind: the table asks for categories thrice.
    grouped: Callable[[str], dict[str, list[Comparison]]] | None = None
    # The table's walk (``seeds``), kept by ``cards``: a build may ask for it twice
    # (the pages a change affects, the files no link keeps), ~65 ms each at 10,000 pages.
    _walks: dict[bool, dict[str, bool]] = field(default_factory=dict, compare=False, repr=False)
    _groups: dict[str, dict[str, list[Comparison]]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def group(self, kind: str) -> dict[str, list[Comparison]]:
        """The visible comparisons by ``category``, ``tag`` or ``option`` slug, newest first
        (shared: not to be changed)."""
        found = self._groups.get(kind)
        if found is None:
            found = self._groups[kind] = (
                self.grouped(kind)
                if self.grouped is not None
                else Library.group(self.comparisons, kind)
            )
        return found


Route = Callable[[Visible], Iterable[str]]


def _pages(count: int) -> int:
    return max(1, math.ceil(count / PER_PAGE))


def _paginated(path: str, count: int) -> Iterator[str]:
    yield path
    for number in range(2, _pages(count) + 1):
        yield f"{path}?page={number}"


def home(visible: Visible) -> Iterator[str]:
    return _paginated("/", len(visible.group("category")))


def machine_files(visible: Visible) -> list[str]:
    return ["/robots.txt", "/sitemap.xml", "/feed.xml"]


def search(visible: Visible) -> list[str]:
    # Its twin too: the page links it (/search.json?q=), and a static host serves the file
    # whatever the query (an outside review: the export linked a file it did not hold).
    return ["/search", "/search.json"]


def comparisons(visible: Visible) -> Iterator[str]:
    return (f"/compare/{c.slug}" for c in visible.comparisons)


def grouped(kind: str) -> Route:
    def urls(visible: Visible) -> Iterator[str]:
        for slug, items in visible.group(kind).items():
            yield from _paginated(f"/{kind}/{slug}", len(items))

    return urls


def best(visible: Visible) -> Iterator[str]:
    return (f"/best/{slug}" for slug in visible.group("category"))


def profiles(visible: Visible) -> Iterator[str]:
    """Every option profile's page, also of an option no visible comparison names yet."""
    return (f"/option/{slug}" for slug in visible.library.profiles)


def authors(visible: Visible) -> Iterator[str]:
    return (f"/author/{slug}" for slug in visible.library.authors)


def plain_pages(visible: Visible) -> list[str]:
    """The writers' plain pages that have an address (``/about``), and the two indexes."""
    found = ["/tags", "/categories"]
    if "about" in visible.library.pages:
        found.append("/about")
    return found


def cards(visible: Visible) -> Iterator[str]:
    return (f"/og/{c.slug}.png" for c in visible.comparisons)


def old_addresses(visible: Visible) -> Iterator[str]:
    """Aliases and other orders of the options: each answers 301 on the server, so the export
    records it as a redirect (``app/commands/redirect_files.py``)."""
    for comparison in visible.comparisons:
        for alias in comparison.aliases:
            yield f"/compare/{alias}"
        slugs = [option.slug for option in comparison.options]
        if len(slugs) <= _ALL_ORDERS_UP_TO:
            orders: Iterable[tuple[str, ...]] = permutations(slugs)
        else:
            orders = [tuple(slugs), tuple(reversed(slugs))]
        for order in orders:
            slug = "-vs-".join(order)
            if slug != comparison.slug and slug not in visible.library.comparisons:
                yield f"/compare/{slug}"


# The table. "cards" is left out by ``--no-cards``.
ROUTES: dict[str, Route] = {
    "home": home,
    "machine files": machine_files,
    "search": search,
    "comparisons": comparisons,
    "categories": grouped("category"),
    "tags": grouped("tag"),
    "options": grouped("option"),
    "option profiles": profiles,
    "best of": best,
    "authors": authors,
    "plain pages": plain_pages,
    "cards": cards,
    "old addresses": old_addresses,
}


# The rows whose pages link their JSON twin (``<link rel="alternate">``): the same path with
# ``.json`` and the same ``?page=N``, as app/pages/base.py's ``twin_path``.
TWINNED = frozenset(
    {
        "home",
        "comparisons",
        "categories",
        "tags",
        "options",
        "option profiles",
        "best of",
        "authors",
        "plain pages",
    }
)


def twin(url: str) -> str:
    """The JSON twin's URL of a page's URL: ``/compare/x`` -> ``/compare/x.json``, ``/`` ->
    ``/.json``, ``/tag/x?page=2`` -> ``/tag/x.json?page=2``."""
    path, mark, query = url.partition("?")
    return ("/.json" if path == "/" else f"{path}.json") + mark + query


def seeds(visible: Visible, *, cards: bool = True, twins: bool = False) -> list[str]:
    """Every URL the table lists, each once, in table order; with ``twins``, each page of a
    ``TWINNED`` row followed by its JSON twin (which the page links, so a crawl finds it too;
    listed, it is rendered beside its page, from the same context)."""
    walked = visible._walks.get(cards)
    if walked is None:
        walked = visible._walks[cards] = _walk(visible, cards=cards)
    if twins:
        return list(walked)
    return [url for url, listed in walked.items() if listed]


def _walk(visible: Visible, *, cards: bool) -> dict[str, bool]:
    """``seeds(twins=True)`` in order, each URL with whether a row lists it (a twin no row
    lists: False)."""
    urls: dict[str, bool] = {}
    for name, route in ROUTES.items():
        if name == "cards" and not cards:
            continue
        for url in route(visible):
            if url in urls:
                urls[url] = True  # where it was first found (as a twin, say): the order kept
                continue
            urls[url] = True
            if name in TWINNED:
                urls.setdefault(twin(url), False)
    return urls


def listing_pages(visible: Visible, listings: Collection[str]) -> set[str]:
    """The URLs ``seeds(visible, twins=True)`` lists for these listings (``/category/x``,
    ``/tag/x``, ``/option/x``): each of their pages and its twin, without walking the table's
    other rows (an incremental build asks for the few listings a changed page was on)."""
    found: set[str] = set()
    for kind in {listing.split("/")[1] for listing in listings}:
        groups = visible.group(kind)
        for listing in listings:
            prefix, _, slug = listing.rpartition("/")
            if prefix != f"/{kind}":
                continue
            if slug in groups:
                pages = list(_paginated(listing, len(groups[slug])))
            elif kind == "option" and slug in visible.library.profiles:
                pages = [listing]  # ``profiles``: its page, though no comparison names it
            else:
                continue
            found.update(pages)
            found.update(twin(url) for url in pages)
    return found


def pages_at(visible: Visible, path: str) -> list[str]:
    """What ``seeds(visible)`` lists at ``path``, its later pages too (``?page=N``), without
    walking the table's other rows: the home page, a category's, tag's or option's listing, a
    category's standings, an author's page (the pages an edit may change beside its own)."""
    if path == "/":
        return list(home(visible))
    kind, _, slug = path.removeprefix("/").partition("/")
    if kind in ("category", "tag", "option"):
        items = visible.group(kind).get(slug)
        if items is not None:
            return list(_paginated(path, len(items)))
        # ``profiles``: an option's page, though no comparison names it
        return [path] if kind == "option" and slug in visible.library.profiles else []
    if kind == "best":
        return [path] if slug in visible.group("category") else []
    if kind == "author":
        return [path] if slug in visible.library.authors else []
    raise ValueError(f"no row of the table lists pages at {path}")
