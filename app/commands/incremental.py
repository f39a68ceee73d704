"""Which URLs an incremental build re-renders, from the last build's manifest.

A comparison whose content hash changed (or that appeared or went away) can change:

- its own page, card and old addresses;
- every page that linked to it last time (its cards on listings, related links, the feed,
  the sitemap): the manifest's ``linked_from``;
- when its listings or its date changed (``placed``): every page of those listings, old and
  new (of a category or tag it stayed in with its date and spelling, only the page holding
  its card, which links to it: the others list the same cards), and every comparison page
  in them whose related comparisons or tags may change: all but those whose last JSON twin
  shows what the page would show now (``shows_same``) and, when it is the one page that
  changed and only its tags did, those carrying none of the tags it gained or lost
  (``retagged``);
- its category's standings (``/best/``, old and new category) when what they show of the
  category's pages changed (``boards``), and its authors' pages;
- the home pages, the search page (counts) and the machine files, but the sitemap only when
  what it lists changed (``sitemap_key``: it is the largest file a small edit would render
  again), then with every part it is an index of; ``/tags`` (counts, and names as the
  newest page spells them) when it carries tags, before or after, and ``/categories``
  likewise;
- when the header's categories changed (a category that appeared or went away, or is spelled
  otherwise by its newest page): every page, whose header lists them;
- the JSON twin of each of these pages that still exists.

A page whose readers' notes changed since (the digest of its counts, ``app/commands/meters.py``,
differs from the manifest's) is re-rendered with its twin, changed or not: no other page shows
its counts.

Everything else has the same inputs as last time. The build still compares each re-rendered
file's bytes with the manifest's digest and writes only the ones that differ.
"""

from __future__ import annotations

import hashlib
import marshal
import re
from collections import defaultdict
from collections.abc import Callable, Sequence, Set
from dataclasses import dataclass
from typing import Any

from app.commands.manifest import Manifest
from app.commands.neighbours import Names, names
from app.commands.routes import Visible, old_addresses, pages_at, seeds
from app.content.model import Comparison, slugify

# Always re-rendered: pages that list or count every comparison.
_ALWAYS = ("/robots.txt", "/feed.xml", "/search")
SITEMAP = "/sitemap.xml"
SITEMAP_PART = re.compile(r"/sitemap-[0-9]+\.xml")  # the index's parts past SITEMAP_LIMIT URLs


def sitemap_key(visible: Sequence[Comparison]) -> str:
    """Digest of what the sitemap shows of the visible comparisons (``sitemap_entries``:
    each page, its listings and authors, with its date), in their order. The rest of its
    inputs (plain pages, writers, the site's URL) are in the manifest's fingerprint."""
    shown = [
        (
            c.slug,
            c.last_modified.toordinal() if c.last_modified is not None else None,
            c.category_slug,
            c.tag_slugs,
            [option.slug for option in c.options],
            c.authors,
        )
        for c in visible
    ]
    return _digest(shown)


def boards(visible: Sequence[Comparison]) -> dict[str, str]:
    """Digest of what each category's standings (``/best/<category>``, ``leaderboard``) show
    of its pages, by category slug: each page's category name, pick and options as spelled,
    in visible order (the first page names the category; an option's first spelling)."""
    shown: dict[str, list[object]] = defaultdict(list)
    for c in visible:
        options = [(option.slug, option.name) for option in c.options]
        shown[c.category_slug].append((c.category, c.pick_option.slug, options))
    return {slug: _digest(pages) for slug, pages in shown.items()}


def _digest(value: list[Any]) -> str:
    """A digest of plain values (str, int, None, tuples and lists of them) by value: their
    ``marshal`` form at version 2, which writes every value out (version 3 on refers back to
    an object met before, so equal lists of differently shared strings would differ). Half
    the time of their ``repr`` for the 10,000 pages each build digests twice."""
    return hashlib.blake2b(marshal.dumps(value, 2), digest_size=12).hexdigest()


def placed(comparison: Comparison) -> list[str]:
    """The listings a comparison is on and its date: what its neighbours' pages depend on."""
    listings = [f"/category/{comparison.category_slug}"]
    listings += [f"/tag/{slug}" for slug in comparison.tag_slugs]
    listings += [f"/option/{option.slug}" for option in comparison.options]
    return [*sorted(set(listings)), f"published {comparison.published.isoformat()}"]


def shifts(listing: str, moved: set[str]) -> bool:
    """Whether a changed page's ``placed`` difference ``moved`` may change pages of
    ``listing`` that do not hold its card: it joined or left the listing, or its date moved
    it within (a category or tag page shows its count and the cards of its members, newest
    first; an option page is not proven so)."""
    return (
        listing in moved
        or any(entry.startswith("published ") for entry in moved)
        or not listing.startswith(("/category/", "/tag/"))
    )


def respelled_in(listing: str, last: Names | None, now: Names) -> bool:
    """Whether a page respelled what ``listing``'s heading may show of it: its category's
    name on a category, the tag's on a tag (the page's other names are not shown there)."""
    if last is None:
        return True
    if listing.startswith("/category/"):
        return last[0] != now[0]
    if listing.startswith("/tag/"):
        tag = listing.removeprefix("/tag/")
        return [t for t in last[1] if slugify(t) == tag] != [t for t in now[1] if slugify(t) == tag]
    return last != now


def retagged(before: list[str], after: list[str]) -> set[str] | None:
    """The tags a page gained or lost, when its ``placed`` changed by tags alone; else None.

    Then a page carrying none of them, the only changed page being this one, shows the same
    related comparisons and lone tags (``RelatedIndex`` in app/pages/navigation.py): its
    candidates are pooled by its own options, tags and category, whose pools this page left
    or joined only for those tags; it ranks them by the options, tags and category they
    share with it and by date, of which this page changed only tags it does not carry."""
    moved = set(before) ^ set(after)
    if not all(listing.startswith("/tag/") for listing in moved):
        return None
    return {listing.removeprefix("/tag/") for listing in moved}


def menu(visible: Sequence[Comparison]) -> list[list[str]]:
    """The header's categories as every page shows them (base.html): slug, name."""
    from app.pages.navigation import wayfinding

    return [[item.slug, item.name] for item in wayfinding(visible).menu]


def menu_changed(previous: Manifest, shown: Shown) -> bool:
    """Whether the header's categories differ from the last build's: every page's header
    lists them, so a category that appeared or went away changes every page, and so does a
    category spelled otherwise by its newest page (the name shown; its slug unchanged). A
    page added to or removed from a category that stays changes no header: it shows no
    counts."""
    return previous.menu != shown.menu


@dataclass(frozen=True)
class Shown:
    """What the pages of a build show of its visible comparisons, as the manifest keeps it
    (``placed``, ``menu``, ``sitemap_key``, ``boards``): made once per build, for ``affected``
    to compare with the last build's and for the manifest (each walks 10,000 pages)."""

    placed: dict[str, list[str]]
    menu: list[list[str]]
    sitemap: str
    boards: dict[str, str]

    @classmethod
    def of(cls, visible: Sequence[Comparison], previous: Manifest | None = None) -> Shown:
        """``previous``: the last build's manifest, whose ``placed`` of a page built from the
        same bytes is this build's (it reads that file alone, and the fingerprint is the
        same): a dictionary's lookup instead of each page's listings made again."""
        built = previous.sources if previous is not None else {}
        last = previous.placed if previous is not None else {}
        return cls(
            placed={
                c.slug: last[c.slug]
                if built.get(c.slug) == c.content_hash and c.slug in last
                else placed(c)
                for c in visible
            },
            menu=menu(visible),
            sitemap=sitemap_key(visible),
            boards=boards(visible),
        )


def changed_slugs(previous: Manifest, visible: list[Comparison]) -> set[str]:
    now = {c.slug: c.content_hash for c in visible}
    changed = {slug for slug, content in now.items() if previous.sources.get(slug) != content}
    return changed | (previous.sources.keys() - now.keys())


def affected(
    previous: Manifest,
    visible: Visible,
    shown: Shown,
    *,
    cards: bool,
    had: Callable[[str], bool],
    shows_same: Callable[[Comparison], bool] = lambda _comparison: False,
    spelled_as: Callable[[Comparison], Names | None] = lambda _comparison: None,
    recounted: Set[str] = frozenset(),
) -> tuple[list[str], set[str]]:
    """(URLs to re-render in table order, slugs that changed); ``shown``: what this build's
    pages show (``Shown.of(visible.comparisons)``). ``had`` says whether the last
    build wrote a URL (a page's JSON twin is re-rendered only then). ``shows_same`` says
    whether an unchanged comparison's page is proven to show the same related comparisons
    and tags as last time: then a listing it shares with a changed page does not re-render
    it (a changed page it still links to re-renders it through ``linked_from``).
    ``spelled_as`` gives a changed page's category, tags and options as the last build
    spelled them (``names``), None when it cannot tell: where they differ, every page of its
    listings is re-rendered (their headings show the newest page's spelling, and only the
    page holding its card links to it). ``recounted``: the visible pages whose notes' counts
    changed (``meters.recounted``), re-rendered with their twins, which alone show them."""
    now = {c.slug: c for c in visible.comparisons}
    changed = changed_slugs(previous, visible.comparisons)
    if not changed:
        # Nothing but counts: no listing, header or machine file shows them, and the table's
        # walk (every listing's pages) would cost more than rendering a few pages.
        pages = {f"/compare/{slug}" for slug in recounted}
        _add_twins(pages, had)
        return sorted(pages), changed
    everything = menu_changed(previous, shown)
    # The table's walk (~65 ms at 10,000 pages) only when every page is asked for; else each
    # listing's pages are found alone.
    every = seeds(visible, cards=cards) if everything else None
    wanted: set[str] = set(pages_at(visible, "/")) | set(_ALWAYS)
    if every is not None:
        wanted.update(every)  # and export.py crawls every page found by links again
    members: dict[str, list[str]] = defaultdict(list)  # listing -> comparison slugs on it
    for comparison in visible.comparisons:
        for listing in shown.placed[comparison.slug][:-1]:
            members[listing].append(comparison.slug)
    proven: dict[str, bool] = {}  # slug -> shows_same, asked once per page
    standings = shown.boards
    for slug in changed:
        wanted.add(f"/compare/{slug}")
        if cards:
            wanted.add(f"/og/{slug}.png")
        wanted.update(previous.linked_from.get(slug, ()))
        before = previous.placed.get(slug, [])
        after = shown.placed[slug] if slug in now else []
        if any(x.startswith("/tag/") for x in (*before, *after)):
            # /tags: every tag with its count, named as its newest page spells it. The
            # manifest keeps slugs only, so a page that carries tags may have respelled one
            # (or become its newest page) with its slugs the same: one page to re-render.
            wanted.add("/tags")
        if _categories(before) != _categories(after):
            # /categories: every category with its count (added, removed or moved; the
            # header shows names only, so no other page changes). A name is spelled by its
            # category's newest page, which the header shows too: ``menu_changed``.
            wanted.add("/categories")
        spelled = spelled_as(now[slug]) if slug in now and slug in previous.placed else None
        respelled = slug in now and slug in previous.placed and spelled != names(now[slug])
        if slug in now:
            # Its authors' pages list it: one it was just given did not link to it last time
            # (one it left did, so ``linked_from`` brings that one).
            for author in now[slug].authors:
                wanted.update(pages_at(visible, f"/author/{author}"))
        for listing in (*before[:-1], *after[:-1]):
            category = listing.removeprefix("/category/")
            if category != listing and standings.get(category) != previous.boards.get(category):
                # Its category's standings: each option's wins (the pick) and name as spelled,
                # which link to the option pages, not to this page.
                wanted.update(pages_at(visible, "/best/" + category))
        if before != after or respelled:
            tags = retagged(before, after) if len(changed) == 1 else None
            moved = set(before) ^ set(after)
            for listing in {*before[:-1], *after[:-1]}:
                if shifts(listing, moved) or (
                    respelled and respelled_in(listing, spelled, names(now[slug]))
                ):
                    wanted.update(pages_at(visible, listing))
                for other in members.get(listing, ()):
                    if other not in proven:
                        proven[other] = other not in changed and (
                            (tags is not None and tags.isdisjoint(now[other].tag_slugs))
                            or shows_same(now[other])
                        )
                    if not proven[other]:
                        wanted.add(f"/compare/{other}")
        if slug in now:
            wanted.update(old_addresses(Visible(visible.library, [now[slug]])))
    wanted.update(f"/compare/{slug}" for slug in recounted)
    if not everything and previous.sitemap == shown.sitemap:
        # It links to every page (or its parts do): ``linked_from`` named it.
        wanted -= {url for url in wanted if url == SITEMAP or SITEMAP_PART.fullmatch(url)}
    else:
        wanted.add(SITEMAP)
        # Past SITEMAP_LIMIT URLs it is an index of parts, which it links: files the last
        # build wrote, so no crawl asks for them again. Each is asked for (one gone answers
        # 404 and is removed; a new one is a link to a file the last build did not write).
        number = 1
        while had(f"/sitemap-{number}.xml"):
            wanted.add(f"/sitemap-{number}.xml")
            number += 1
    gone = {f"/compare/{slug}" for slug in changed if slug not in now}
    _add_twins(wanted, had, gone)
    if every is None:
        # With the pages found by links last time (not in the table) that linked to a
        # changed page; rendered by this process alone, in any order.
        return sorted(url for url in wanted if url.startswith("/")), changed
    ordered = [url for url in every if url in wanted]
    listed = set(ordered)
    # Pages found by links last time (not in the table) that linked to a changed page.
    ordered += sorted(url for url in wanted - listed if url.startswith("/"))
    return ordered, changed


def _categories(placed: list[str]) -> list[str]:
    return [listing for listing in placed[:-1] if listing.startswith("/category/")]


def _add_twins(wanted: set[str], had: Callable[[str], bool], gone: Set[str] = frozenset()) -> None:
    """Add each page's JSON twin, which has the same inputs as the page, when the last build
    wrote it (``had``). A page ``gone`` has none: its address answers 404 or is now an old
    address of another page (a duplicate that sorts first took its options), whose twin's
    redirect a full build does not have, no page linking it; ``leftovers.removed_files``
    removes the last build's twin."""
    for url in list(wanted):
        path, mark, query = url.partition("?")
        if "." not in path.rsplit("/", 1)[-1] and path not in gone:
            # As app/pages/base.py's twin_path: /compare/x -> /compare/x.json, / -> /.json
            twin = "/.json" if path == "/" else f"{path}.json"
            if had(twin + mark + query):
                wanted.add(twin + mark + query)
