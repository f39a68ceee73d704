"""What an incremental build takes out of OUT, and which pages still link what.

After the pages are rendered, ``export.py`` asks here which files of the last build go (a
page gone, a listing's last pages, what a build that rendered everything no longer writes, a
file only pages' text linked) and what the manifest keeps of who links whom: each
comparison's linking pages (``linked_from``) and each file outside the route table that
pages' text links (``files_from``), the last build's but for the pages this build answered.
"""

from __future__ import annotations

from app.commands.files import output_name
from app.commands.manifest import Manifest
from app.commands.redirect_files import NGINX_MAP, REDIRECTS
from app.commands.routes import Visible, listing_pages, seeds
from app.commands.static_search import FOLDER
from app.commands.summary import ExportSummary

INDEX = FOLDER + "/"  # the search index's files (``static_search``)
# Files the build writes itself, beside the crawl: no page's URL answers them, so a link to
# one answers 404 (an outside review: a text link to /_redirects removed the redirects).
_BUILT_BESIDE = frozenset({"404.html", REDIRECTS, NGINX_MAP})


def built_beside_the_crawl(name: str) -> bool:
    """Whether the build writes this file of OUT itself: the 404 page, the redirect files,
    the search index."""
    return name in _BUILT_BESIDE or name.startswith(INDEX)


def removed_files(
    previous: Manifest,
    summary: ExportSummary,
    changed: set[str],
    visible: Visible,
    *,
    everything: bool,
    index: bool,
) -> set[str]:
    """Files of the last build whose page no longer exists: a changed page that answered
    404 this time, and pages of its listings past their new last page (not among the pages
    the route table lists now: a listing page this build did not reach is kept).

    A build that rendered ``everything`` (the header's categories changed: a page added,
    removed or moved) asked for every URL the table lists and followed every link, as a full
    build does: any other file of the last build is one a full build no longer writes,
    whatever made it (a category emptied: its standings; the home page's last page; a script
    no page links any more). Not the search index, unless it was written whole (``index``):
    a patch writes only the files it changes, and the others stay."""
    gone: set[str] = set()
    if everything or index:
        # Only these builds: a set difference of 75,000 names at 10,000 pages (~15 ms) is
        # nothing beside rendering every page or indexing every page's words again.
        for name in previous.files.keys() - summary.written.keys():
            if index if name.startswith(INDEX) else everything:
                gone.add(name)
    for url, _status in summary.skipped:
        # The URL's own file: /tag/x?page=2 is tag/x/page-2/index.html, not page 1's.
        candidates = {output_name(url)}
        if "?" not in url:
            name = url.strip("/")
            candidates.update((f"{name}/index.html" if name else "index.html", name))
        gone.update(
            candidate
            for candidate in candidates
            if candidate in previous.files and not built_beside_the_crawl(candidate)
        )
    paths = {listing for slug in changed for listing in previous.placed.get(slug, [])[:-1]}
    listings = {path.strip("/") for path in paths}
    listed = {output_name(url) for url in listing_pages(visible, paths)}
    for name in previous.files:
        # A listing's later page and its twin: x/page-2/index.html and x/page-2.json.
        folder = name.rpartition("/page-")[0]
        if (
            folder in listings
            and name not in summary.written
            and name not in listed  # a page this build did not re-render, still there
        ):
            gone.add(name)
    for slug in changed:
        # The twin too: a page gone is not asked for it (``affected``).
        for name in (f"compare/{slug}/index.html", f"compare/{slug}.json", f"og/{slug}.png"):
            if name in previous.files and name not in summary.written:
                gone.add(name)
    return gone


def still_linking(
    previous: Manifest, found: dict[str, set[str]], answered: set[str]
) -> dict[str, set[str]]:
    """The pages linking each page (``linked_from``): the last build's, but for the URLs
    this build ``answered`` for themselves (asked for, or gone), whose links are the ones it
    ``found``. Kept, a page that answered 404 or a redirect, or went, would be asked for again
    by every build that changes a page it linked, and reported skipped, forever; a page
    rendered again would keep links it no longer has."""
    # set - answered walks the smaller side (CPython's set_difference): the few URLs an edit
    # asks for, or each page's few sources when every page was asked for.
    linked = {slug: set(sources) - answered for slug, sources in previous.linked_from.items()}
    for slug, sources in found.items():
        linked.setdefault(slug, set()).update(sources)
    return linked


def still_linked_files(
    previous: Manifest, found: dict[str, set[str]], answered: set[str]
) -> dict[str, set[str]]:
    """``files_from`` after this build: the last build's sources but the URLs it
    ``answered`` (whose links are the ones it ``found``), and only files something links."""
    kept = {target: set(sources) - answered for target, sources in previous.files_from.items()}
    for target, sources in found.items():
        kept.setdefault(target, set()).update(sources)
    return {target: sources for target, sources in kept.items() if sources}


def unlinked_files(
    previous: Manifest, files_from: dict[str, set[str]], written: dict[str, str]
) -> set[str]:
    """Files only pages' text linked, which none links now (``files_from`` after this
    build): a full build would not write them. One linked again was asked for by the
    crawl, and written."""
    return {
        name
        for name in previous.files_from.keys() - files_from.keys()
        if name in previous.files and name not in written
    }


def unlisted(
    files_from: dict[str, set[str]],
    table: list[str] | None,
    previous: Manifest | None,
    visible: Visible,
    cards: bool,
) -> dict[str, list[str]]:
    """``files_from`` for the manifest, less the files of what the route table lists
    (``table``: this build's, when it asked for all of it), which no link keeps or removes.
    A file the last build kept is not listed (the table's kinds of page are the same): the
    table is made only for a new one, rarely (~0.1 s at 10,000 pages).

    A file the last build wrote but did not list here was one of the table's then, and is
    one now: what the table lists outside the comparisons' own kinds of page (the home page's
    twin, ``tags.json``), which pages link and ``Share.keep`` lets through, is fixed by the
    fingerprint an incremental build shares with the last. Not a file the build writes
    itself (``built_beside_the_crawl``: the 404 page, the search index), which no row
    lists (an outside review)."""
    known = previous.files_from if previous is not None else {}
    wrote = previous.files if previous is not None else {}

    def kept(name: str) -> bool:
        return name in known or name not in wrote or built_beside_the_crawl(name)

    urls = table
    if urls is None and any(name not in known and kept(name) for name in files_from):
        urls = seeds(visible, cards=cards, twins=True)
    listed = {output_name(url) for url in urls} if urls is not None else set()
    return {
        target: sorted(sources)
        for target, sources in files_from.items()
        if sources and target not in listed and kept(target)
    }
