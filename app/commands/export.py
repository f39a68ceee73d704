"""``nicepick build OUT``: the whole site as static files, byte for byte what the server sends.

The URLs come from the route table (``app/commands/routes.py``: home and its pages, every
visible comparison, category, tag and option page with their pagination, social cards,
sitemap, feed, robots.txt, old addresses); every same-site link found in the files is
exported as well (assets, sitemap parts, leaderboards), so a new kind of page is exported
the day it is linked. Pages are rendered by the renderer the routes call, without a request
(``app/commands/direct.py``); anything else is requested from the app itself (in-process
ASGI calls in the app's own event loop, no network), so an exported file cannot drift from
the served one. The app is made only when a URL needs it (``app/commands/app_when_needed.py``):
an incremental build renders its pages with the forms' counts read without the feedback
service (``app/commands/static_forms.py``), importing neither FastAPI nor SQLAlchemy. Large
sites are split over processes forked once the library is loaded (``app/commands/workers.py``).

Where files go and their ``.gz``/``.br`` siblings: ``app/commands/files.py``. Old addresses
get three redirect forms (``app/commands/redirect_files.py``), the search page an index
(``app/commands/static_search.py``), and ``OUT`` a manifest for the next, incremental, build
(``app/commands/manifest.py``).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from app.collector import paused_gc
from app.commands import workers
from app.commands.app_when_needed import AppWhenNeeded
from app.commands.dealer import Dealer
from app.commands.direct import DirectPages
from app.commands.files import Files, output_name, output_path, page_urls
from app.commands.incremental import Shown, affected, menu_changed
from app.commands.leftovers import (
    removed_files,
    still_linked_files,
    still_linking,
    unlinked_files,
    unlisted,
)
from app.commands.links import links
from app.commands.manifest import Manifest, begin_writing, end_writing, fingerprint
from app.commands.meters import Counts, digests, recounted
from app.commands.neighbours import twin_names, twin_neighbours
from app.commands.out_folder import check_out, empty_for_full_build, still_written
from app.commands.progress import Progress, progress_bar
from app.commands.quick_record import (
    UNREAD,
    Entry,
    MaybeRead,
    Record,
    current_record,
    file_entries,
    last_digests,
    remember,
)
from app.commands.redirect_files import kept_redirects, write_redirects
from app.commands.routes import Visible, seeds
from app.commands.search_patch import patched_index
from app.commands.search_patch import shard_sizes as search_shard_sizes
from app.commands.search_terms import StoredTerms
from app.commands.share import Renderer, Share
from app.commands.static_forms import StaticForms
from app.commands.static_search import PageTerms, Write, ordered, write_search_index
from app.commands.summary import ExportSummary
from app.content.library import Library
from app.content.model import Comparison, Problem
from app.feedback.tokens import EXPORT_VALID_SECONDS
from app.pages.renderer import PageRenderer
from app.render.assets import Assets
from app.render.jinja import page_environment
from app.render.page_cache import PageCache
from app.settings import Settings
from app.site import Site
from app.surfaces.service import Surfaces

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = [
    "ContentErrors",
    "ExportSummary",
    "Files",
    "export_site",
    "output_path",
    "progress_bar",
]

# Below this many URLs one process exports alone: a fork and its share of the work cost
# more than they save.
PARALLEL_ABOVE = 2000


class ContentErrors(Exception):
    """The content folder has errors and the build was not told to leave their pages out."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} content errors")
        self.problems = problems


def build_warnings(settings: Settings) -> list[str]:
    """What an operator must hear before publishing this build."""
    if not settings.feedback_endpoint:
        return [
            "NICEPICK_FEEDBACK_ENDPOINT is not set: a static host cannot take the notes "
            "readers post, so the exported pages say notes cannot be sent and show "
            f"{settings.feedback_to} instead of the form. Set it to a running `nicepick serve` "
            "(docs/static-hosting.md)."
        ]
    if not settings.secret_key:
        return [
            "NICEPICK_SECRET_KEY is not set: the exported forms are signed with the key in "
            f"{settings.data_dir / 'secret_key'}; the endpoint at {settings.feedback_endpoint} "
            "accepts them only with that same key (set NICEPICK_SECRET_KEY on both)."
        ]
    return []


def left_out(library: Library) -> int:
    """Content files that have no page in the build (their errors keep them out)."""
    return sum(
        1
        for parsed in library.files.values()
        if parsed.comparison is None
        or library.comparisons.get(parsed.comparison.slug) is not parsed.comparison
    )


def as_static_copy(app: FastAPI, settings: Settings, built_at: float) -> float:
    """Make ``app`` render pages for a static host: forms stamped with the build time (valid
    until the returned moment), and no "ask for a comparison" form without an endpoint to
    take it (a static host has no /request)."""
    from app.web.deps import feedback_of, pages_of

    pages_of(app).env.globals["can_ask"] = settings.feedback_endpoint is not None
    return feedback_of(app).export_forms(built_at)


def static_pages(
    site: Site, settings: Settings, cache: PageCache, forms: StaticForms
) -> PageRenderer:
    """The app's page renderer (``create_app``) as ``as_static_copy`` makes it, without the
    app: the forms from ``forms``, not from the feedback service."""
    env = page_environment(settings, asset_url=Assets(settings.static_dir).url)
    env.globals["can_ask"] = settings.feedback_endpoint is not None
    # An incremental build renders a few pages; when it renders every one (a header
    # changed), each process makes the lists its pages need, each once.
    return PageRenderer(site, env=env, cache=cache, feedback=forms, related_on_demand=True)


def _static_app(settings: Settings, site: Site, cache: PageCache, built_at: float) -> FastAPI:
    """The app around ``site``, made a static copy, its meters read (``_prepare_feedback``)."""
    from app.main import create_app

    app = create_app(settings, page_cache=cache, site=site)
    as_static_copy(app, settings, built_at)
    app.state.meters_read = _prepare_feedback(app)
    return app


def export_site(
    settings: Settings,
    out: Path,
    *,
    progress: Progress | None = None,
    clean: bool = True,
    cards: bool = True,
    precompress: bool = False,
    jobs: int | None = None,
    allow_errors: bool = False,
    built_at: float | None = None,
    incremental: bool = True,
    record: MaybeRead = UNREAD,
    held: list[object] | None = None,
) -> ExportSummary:
    """Write the whole site for ``settings`` into ``out``; return what was written.

    ``ContentErrors`` (nothing written) when a content file has an error, unless
    ``allow_errors``: then those files are left out and the summary counts them. Drafts and
    future pages are never exported, whatever ``settings.drafts`` says. ``built_at`` (epoch
    seconds, default now) stamps the forms' tokens (``app/feedback/tokens.py``).

    When ``out`` holds a build with a manifest made by the same code, templates and settings
    (``app/commands/manifest.py``) and ``incremental`` is on, only the pages a changed
    comparison can appear on are rendered (``app/commands/incremental.py``), files are
    written only when their bytes differ, and the forms keep the first build's time.
    ``clean`` (a full build) empties ``out`` first; ``UnusableOut`` (nothing written) when
    ``out`` holds anything but a build, or is or holds the content or data folder
    (``app/commands/out_folder.py``).

    ``cards=False`` leaves the social card PNGs out (about half the time of a large build;
    pages still name them in ``og:image``). ``precompress`` writes each text file's ``.gz``
    and ``.br`` forms beside it, for nginx's ``gzip_static``/``brotli_static``. ``jobs``
    processes share the work (default: one per CPU for large sites, one for small ones,
    where starting more costs more). ``record``: ``current_record`` for ``out``, when the
    caller read it already (the quick build's attempt). ``held``: where the build's own
    objects (the library, the manifests) go instead of being freed as it returns, for a
    caller that exits without freeing them (``nicepick build``).
    """
    # The build's bookkeeping (the library's lists, the manifest, the record) makes tens of
    # thousands of objects that live until it ends and leaves next to no cycles: the collector
    # only walked them, ~0.13 s of an incremental build of 10,000 pages (bench/RESULTS.md). It
    # collects again before rendering when every page is rendered (a full build).
    with paused_gc() as collector:
        return _export_site(
            settings,
            out,
            collector,
            progress=progress,
            clean=clean,
            cards=cards,
            precompress=precompress,
            jobs=jobs,
            allow_errors=allow_errors,
            built_at=built_at,
            incremental=incremental,
            record=record,
            held=held,
        )


def _export_site(
    settings: Settings,
    out: Path,
    collector: paused_gc,
    *,
    progress: Progress | None,
    clean: bool,
    cards: bool,
    precompress: bool,
    jobs: int | None,
    allow_errors: bool,
    built_at: float | None,
    incremental: bool,
    record: MaybeRead,
    held: list[object] | None,
) -> ExportSummary:
    started = time.perf_counter()
    began = time.time()  # for the next build's quick path: when this one read the content
    check_out(out, content_dir=settings.content_dir, data_dir=settings.data_dir)
    # An export is what readers see: never drafts, never the live preview's scripts.
    settings = settings.model_copy(update={"drafts": False, "reload": False})
    build_print = fingerprint(settings, cards=cards, precompress=precompress)
    previous = Manifest.load(out) if incremental else None
    if previous is not None and previous.fingerprint != build_print:
        previous = None  # other code, templates or settings: every page may differ
    if built_at is None:
        built_at = previous.built_at if previous is not None else time.time()
    base = settings.site_url
    cache = _page_cache(compress=precompress)
    site = Site(settings)
    # An incremental build renders its pages without the app when the forms' counts can be
    # read without the feedback service: it then imports neither FastAPI nor SQLAlchemy,
    # unless a URL only the app answers turns up (``AppWhenNeeded``).
    forms = None
    if previous is not None:
        forms = StaticForms.open(settings, built_at, lambda: [c.slug for c in site.visible()])
    # Made before the load, which then warms what the pages need (the related index) before
    # any process is forked.
    app = None
    counted: Callable[[], Counts | None]  # the counts the pages show (read once); None: unread
    if forms is None:
        app = _static_app(settings, site, cache, built_at)
        pages = _pages_of(app)
        counted = partial(_meter_counts, app)
    else:
        pages = static_pages(site, settings, cache, forms)
        counted = forms.counts
    forms_until = built_at + EXPORT_VALID_SECONDS  # as the forms say (Feedback.export_forms)
    # A cold parse cache is filled over one process per core (Site.load: app/content/parallel.py).
    # The whole library now, not in the background; saves the parse cache too. No search
    # index: the search page exported has no query, and the static index is made below.
    site.load(search=False, alone=True)  # no thread yet: see workers.py
    errors = [problem for problem in site.library.problems if problem.severity == "error"]
    if errors and not allow_errors:
        raise ContentErrors(sorted(errors, key=lambda p: (p.path, p.line, p.column, p.message)))
    visible = Visible(site.library, site.visible(), site.grouped)
    # The last build's record (app/commands/quick_record.py), read before anything changes
    # OUT: the search index is patched from it, and its digests of unchanged files are kept.
    if previous is None:
        record = None
    elif record is UNREAD:
        record = current_record(out, settings.data_dir)
    if previous is None and clean and out.exists():
        empty_for_full_build(
            out,
            precompress=precompress,
            tops=lambda: {output_name(url).split("/", 1)[0] for url in seeds(visible, twins=True)},
        )
    out.mkdir(parents=True, exist_ok=True)
    begin_writing(out)
    files = Files(out, previous.files if previous is not None else {}, precompress=precompress)
    shown = Shown.of(visible.comparisons, previous)
    # The counts the pages are rendered with, read before any is: the manifest keeps their
    # digests, and a page whose notes changed since the last build is re-rendered.
    counts = counted()
    if counts is not None:
        meters = digests(counts, (c.slug for c in visible.comparisons))
    else:
        # The database did not answer: pages keep the counts they show rather than all lose
        # them at once, and the manifest the digests they were rendered with, but for the
        # pages this build re-renders for other reasons (now showing none): the next build
        # that can read the counts renders those again.
        meters = dict(previous.meters) if previous is not None else {}
    if previous is None:
        urls = seeds(visible, cards=cards, twins=True)
        changed: set[str] = set()
    else:
        known = previous.files

        def shows_same(comparison: Comparison) -> bool:
            last = twin_neighbours(out, known, comparison)
            return last is not None and last == pages.neighbours(comparison)

        urls, changed = affected(
            previous,
            visible,
            shown,
            cards=cards,
            had=lambda url: output_name(url) in known,
            shows_same=shows_same,
            spelled_as=lambda comparison: twin_names(out, known, comparison),
            recounted=recounted(previous.meters, meters, (c.slug for c in visible.comparisons)),
        )
    # Every page changes (the header's counts): the crawl follows known pages' links too,
    # and the pages are shared out as a full build's are.
    everything = previous is not None and menu_changed(previous, shown)
    if previous is not None and not everything:
        jobs = 1
    else:
        collector.resume(oldest=False)  # before the workers fork: they inherit it
    seen = set(urls)
    if jobs is None:
        jobs = min(os.cpu_count() or 1, 4) if len(urls) >= PARALLEL_ABOVE else 1
    if not workers.can_fork():
        jobs = 1
    direct = DirectPages(site, pages, Surfaces(site, cache=cache))
    everywhere = frozenset(links(direct.not_found(), "/404.html", base))
    renderer = Renderer(direct, files, base, everywhere, stand_ins=previous is None)
    counter = multiprocessing.get_context("fork" if jobs > 1 else None).Value("q", 0)
    total = len(urls)

    def done() -> None:
        with counter.get_lock():
            counter.value += 1
        if progress:
            progress(counter.value, total)

    # Every process takes pages as it goes (app/commands/dealer.py): this one from the front
    # of the list, the first other from its back; then this one asks the app for what none
    # of them could render.
    dealer = Dealer(urls) if jobs > 1 else None
    # A full build over several processes: one more writes the search index (it needs only
    # the visible pages) beside the rendering, not after it on one core (~8 % of the build).
    indexing = (
        workers.start(
            partial(
                _index_alone,
                out,
                visible.comparisons,
                files,
                partial(_record_entries, out, site.library, visible, began, settings, build_print),
            )
        )
        if previous is None and jobs > 1
        else None
    )
    children = [
        workers.start(
            partial(
                renderer.render_all,
                dealer.urls(from_back=number % 2 == 1),
                workers.counting(counter),
            )
        )
        for number in range(1, jobs)
        if dealer is not None
    ]
    share, deferred = renderer.render_all(
        dealer.urls(from_back=False) if dealer is not None else urls, done
    )
    shares = [share]

    def waiting() -> None:
        if progress:
            progress(counter.value, total)

    for share, more in workers.collect(children, waiting):
        shares.append(share)
        deferred += more
        files.cleared |= share.cleared  # what the forked processes removed to make room
    if dealer is not None:  # in the list's order, whichever process met them
        order = {url: number for number, url in enumerate(urls)}
        deferred.sort(key=order.__getitem__)
    made = app
    the_app = AppWhenNeeded(
        lambda: made if made is not None else _static_app(settings, site, cache, built_at),
        renderer,
        base,
    )
    try:
        shares.append(the_app.run(deferred, done))
        # What every process exported, the crawl's pages below included: its summary, and
        # what its pages link (the manifest's ``linked_from`` and ``files_from``).
        exported = Share(ExportSummary(incremental=previous is not None))
        for share in shares:
            exported.add(share)
        summary, linked, files_from = exported.summary, exported.linked, exported.files_from
        # Links nobody listed up front (assets, sitemap parts, new kinds of pages): here.
        # An incremental build has the last build's files already.
        unseen = exported.links - seen
        if previous is not None and not everything:
            known = previous.files
            unseen = {link for link in unseen if output_name(link) not in known}
        pending = sorted(unseen)  # sorted after: a sitemap links 30,000 known pages
        if not cards:  # pages still name their cards in og:image; --no-cards means no PNGs
            seen.update(link for link in pending if link.startswith("/og/"))
            pending = [link for link in pending if not link.startswith("/og/")]
        while pending:
            seen.update(pending)
            total += len(pending)
            share = the_app.run(pending, done)
            exported.add(share)
            pending = sorted(share.links - seen)
            if not cards:
                pending = [link for link in pending if not link.startswith("/og/")]
    finally:
        the_app.close()
    if progress:
        progress(total, total)
    files.write(out / "404.html", direct.not_found(), summary, {})

    def write(path: Path, body: bytes) -> None:
        files.write(path, body, summary, {})

    # After the crawl: the index is for what was exported, and a search page written above.
    emptied: set[str] = set()  # search shards a patch left with no word: they go below
    entries: dict[str, Entry] | None = None  # the next build's record of each content file
    shard_sizes: dict[str, int] | None = None
    if indexing is not None:
        # Its files, written whole, and digests; what the record needs of them.
        indexed, entries, shard_sizes = workers.collect([indexing])[0]
        summary.add(indexed)
        sizes = None
    else:
        words = StoredTerms.load(out) if previous is not None else StoredTerms()
        sizes = _search_index(
            out, visible.comparisons, changed, previous, record, words, write, emptied.add
        )
        words.save(out, keep=[c.content_hash for c in visible.comparisons])
    whole_index = sizes is None  # no patch: every file of the index was written above
    redirects = summary.redirects
    if previous is not None:
        # The last build's, except those of the changed pages (found again above if kept).
        redirects += [
            (source, target)
            for source, target in previous.redirects
            # A twin's redirect (to /compare/b.json) belongs to page b as much as its page's.
            if target.removeprefix("/compare/").removesuffix(".json") not in changed
        ]
    if (
        previous is not None
        and not everything
        and kept_redirects(redirects) == previous.redirects
        and not files.cleared
    ):
        # The last build's, whose three forms are in OUT, none cleared for a page: the
        # digests of 10,000 stand-in pages cost ~0.15 s of each build. Not when every page
        # was rendered again, whose files must name all a full build writes
        # (``leftovers.removed_files``).
        summary.redirects = previous.redirects
    else:
        summary.redirects = write_redirects(
            redirects,
            site_url=base,
            write=lambda name, body: files.write_name(name, body, summary, {}),
            stood_in=exported.stand_ins,
        )
    written = summary.written
    if previous is not None:
        # Files of the last build this one did not visit are still there, unchanged; those
        # of pages that are gone (a removed comparison, an emptied listing, a dropped alias's
        # stand-in page, a category's standings) are deleted.
        gone = removed_files(
            previous, summary, changed, visible, everything=everything, index=whole_index
        )
        gone |= emptied
        files_from = still_linked_files(previous, files_from, seen)
        gone |= unlinked_files(previous, files_from, written)
        kept = {source for source, _target in summary.redirects}
        gone.update(
            f"{source.strip('/')}/index.html"
            for source, _target in previous.redirects
            # Not when this build wrote the page itself there (a file renamed back).
            if source not in kept and f"{source.strip('/')}/index.html" not in summary.written
        )
        for name in gone:
            files.remove(name)
        summary.removed = len(gone)
        # The last build's pages asked for again answer 404 when they are gone (a tag no page
        # carries now, a comparison removed): their files went above. Such a URL is a link
        # skipped only when a page's text still links it, which a page not rendered again
        # does not tell this build (an outside review: a broken link went unreported).
        asked = set(urls) - text_links(visible.comparisons)
        summary.skipped = [(url, status) for url, status in summary.skipped if url not in asked]
        linked = still_linking(
            previous, linked, seen | {u for name in gone for u in page_urls(name)}
        )
        # A copy less the few files gone: filtering 75,000 names cost ~0.07 s.
        written = dict(previous.files)
        for name in gone | files.cleared:
            written.pop(name, None)
        written.update(summary.written)
    if counts is None:
        for slug in [slug for slug in meters if f"/compare/{slug}" in seen]:
            del meters[slug]  # re-rendered showing no notes: the next build recounts it
    manifest = Manifest(
        fingerprint=build_print,
        built_at=built_at,
        sources={c.slug: c.content_hash for c in visible.comparisons},
        placed=shown.placed,
        linked_from={slug: sorted(sources) for slug, sources in linked.items() if sources},
        files_from=unlisted(
            files_from, urls if previous is None else None, previous, visible, cards
        ),
        redirects=summary.redirects,
        files=written,
        rewritten=sorted(summary.rewritten),
        menu=shown.menu,
        sitemap=shown.sitemap,
        boards=shown.boards,
        meters=meters,
    )
    still_written(out)  # before the manifest vouches for what was written
    data = manifest.save(out)
    remember(
        out,
        site.library,
        visible.comparisons,
        began=began,
        data_dir=settings.data_dir,
        manifest=manifest,
        data=data,
        sizes=sizes if sizes is not None else shard_sizes,
        last=record,
        entries=entries,
    )
    end_writing(out)
    summary.skipped.sort()
    summary.left_out = left_out(site.library)
    summary.forms_until = forms_until
    summary.seconds = time.perf_counter() - started
    if held is not None:
        held.append(locals())  # every object this build made stays referenced
    return summary


def text_links(comparisons: Iterable[Comparison]) -> set[str]:
    """The site's pages the comparisons' texts link (``/compare/``, and the listings,
    standings and writers' pages ``check`` looks at), as the parser found them."""
    linked = {f"/compare/{target}" for c in comparisons for _line, target in c.links}
    linked.update(
        f"/{kind}/{slug}{rest}"
        for c in comparisons
        for _line, _column, kind, slug, rest in c.listing_links
    )
    return linked


def _search_index(
    out: Path,
    visible: list[Comparison],
    changed: set[str],
    previous: Manifest | None,
    record: Record | None,
    words: PageTerms,
    write: Write,
    remove: Callable[[str], None],
) -> dict[str, int] | None:
    """Write the search index: only the files the ``changed`` pages change when the last
    build's ``record`` shows the same pages in the same order (``search_patch.patched_index``),
    else all of it; ``remove`` is given the name in OUT of a shard the patch empties. The
    shards' sizes when known (the patched record's), for the next record."""
    if previous is not None and record is not None and record.fingerprint == previous.fingerprint:
        files = patched_index(
            out,
            ordered(visible),
            changed,
            built=previous.sources,
            known=words,
            order=record.order,
            sizes=record.shard_sizes,
        )
        if files is not None:
            for path, body in files.items():
                if body is None:
                    remove(path.relative_to(out).as_posix())
                else:
                    write(path, body)
            return record.shard_sizes
    write_search_index(out, visible, write, words)
    return None


def _index_alone(
    out: Path,
    comparisons: list[Comparison],
    files: Files,
    record_entries: Callable[[], dict[str, Entry] | None],
) -> tuple[ExportSummary, dict[str, Entry] | None, dict[str, int]]:
    """A forked process's part of a full build: the whole search index and each page's words
    for the next build, with what it wrote; then what the next build's record needs of the
    content files and of the index (``remember``), made here rather than after every page
    is written, with the other cores idle (~0.8 s at 10,000 comparisons)."""
    summary = ExportSummary()
    words = StoredTerms()
    write_search_index(
        out, comparisons, lambda path, body: files.write(path, body, summary, {}), words
    )
    words.save(out, keep=[c.content_hash for c in comparisons])
    return summary, record_entries(), search_shard_sizes(out)


def _record_entries(
    out: Path,
    library: Library,
    visible: Visible,
    began: float,
    settings: Settings,
    build_print: str,
) -> dict[str, Entry] | None:
    """``file_entries`` for the record of the build into ``out``."""
    shown = {comparison.slug for comparison in visible.comparisons}
    known = last_digests(out, settings.data_dir, build_print)
    return file_entries(library, shown, began, known)


def _prepare_feedback(app: FastAPI) -> bool:
    """What the app's start does for the forms' meters (schema, counts in memory), done
    before any page is rendered without it, then the connections closed: a forked process
    must not share an open database connection with its parent. Whether the counts were
    read (the database answered)."""
    from sqlalchemy.exc import SQLAlchemyError

    from app.web.deps import feedback_of

    store = feedback_of(app).store
    read = True
    try:
        store.create_schema()
        store.refresh_meters()
    except SQLAlchemyError as error:  # as the app's start: pages need no database
        logging.getLogger(__name__).warning("database unreachable (%s); meters empty", error)
        read = False
    store.dispose()
    return read


def _meter_counts(app: FastAPI) -> Counts | None:
    """The counts the app's pages show: its store's snapshot (``_prepare_feedback``); None
    when the database did not answer (the pages then show none)."""
    from app.web.deps import feedback_of

    if not app.state.meters_read:
        return None
    return feedback_of(app).store.meter_snapshot()


def _pages_of(app: FastAPI) -> PageRenderer:
    from app.web.deps import pages_of

    return pages_of(app)


def _page_cache(*, compress: bool) -> PageCache:
    """The pages' cache for an export, which asks for each page once: it keeps none."""
    return PageCache(compress=compress, keep=False)
