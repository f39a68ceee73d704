"""The running site's state: the loaded library (read at start-up, in the background when
large, re-read file by file in live preview) and what readers may see now.

The Jinja environment (``app.render.jinja``), the page cache (``app.render.page_cache``) and
the static files' fingerprints (``app.render.assets``) are objects of their own, built in
``app.main.create_app`` and handed to what renders pages.

The clock is an argument (``clock``), so tests move time instead of patching it; so is the
reading of the folder (``read_library``), so a test can hold a background load as long as it
needs. After each full load the search index is rebuilt in the background.
"""

from __future__ import annotations

import bisect
import gc
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Protocol

from app import metrics
from app.collector import paused_gc
from app.content.cache import ParseCache
from app.content.edits import Change, listing_facts, moved_listings, patched_listings, row_facts
from app.content.library import Library
from app.content.model import Comparison
from app.content.parallel import Cancel, Cancelled, PerFile, prime
from app.content.sources import (
    SourceFile,
    discover,
    parse_file,
    slug_for,
    source_file,
    sources_in,
    top_level_files,
)
from app.search.index import Searcher, SearchIndex
from app.search.stream import IndexStream, index_row
from app.settings import Settings

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

# How far below the server the processes parsing a cold library run (``nice``, 0-19).
PRIME_NICENESS = 10
# How long a stop waits for the load thread to unwind a stopped parse (it takes milliseconds).
_UNWIND_SECONDS = 5.0


class ReadLibrary(Protocol):
    """How a full load reads the content folder: ``Library.load``, unless a test holds it."""

    def __call__(
        self,
        content_dir: Path,
        cache: ParseCache | None = None,
        *,
        sources: list[SourceFile] | None = None,
        yield_every: int = 0,
    ) -> Library: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


def freeze_long_lived_objects(*, collect: bool = True) -> None:
    """Take the loaded library out of the cyclic garbage collector's walks.

    The library's objects live as long as the process, yet every full collection walked all of
    them: with 10,000 comparisons each took 100-130 ms, holding the GIL, so every request in
    flight stalled, a few times per thousand pages rendered (bench: the max and p99 of
    /search). ``gc.freeze`` moves everything alive now to a generation no collection visits.
    Unfreezing and collecting first frees the previous library's cycles, if it left any, so
    reloads (live preview) never pile up frozen garbage; that one collection is the price of a
    load, paid in the loading thread. The first load has no previous library to free
    (``collect=False``): a full collection then only walked the new one (~1 s at 100,000).
    """
    gc.unfreeze()
    if collect:
        gc.collect()
    gc.freeze()


class Site:
    """The running library state: the library loaded now, its background load, what readers
    may see by the clock, and live preview's changed files."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock = utc_now,
        read_library: ReadLibrary = Library.load,
    ) -> None:
        self.settings = settings
        self.now = clock
        self._read_library = read_library
        # Waits between attempts of a failed background load; the last one repeats.
        self.load_retry_seconds: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0, 30.0)
        self.searcher = Searcher(settings.data_dir / "search")
        self.library = Library()
        self.loaded = threading.Event()
        # Called in the loading thread after each full load (e.g. the renderer's related index),
        # so the first pages after a load find what they need already built.
        self.after_load: list[Callable[[], object]] = []
        # While a large library loads in the background: slug -> file, for early pages.
        self._early_sources: dict[str, str | Path] | None = None
        self._schedule: tuple[int, list[date]] = (-1, [])
        # Set by ``stop``: the load's parse in worker processes ends, and no load starts.
        self._stopping = Cancel()
        self._loader: threading.Thread | None = None
        self._visible: tuple[
            tuple[int, int], list[Comparison], dict[str, dict[str, list[Comparison]]]
        ] = ((-1, -1), [], {})
        self._visible_lock = threading.Lock()

    # --- content ----------------------------------------------------------------------------

    def load(
        self,
        sources: list[SourceFile] | None = None,
        *,
        yield_every: int = 0,
        listed: list[str] | None = None,
        search: bool = True,
        alone: bool = False,
    ) -> None:
        """Read the content folder; safe to call again to pick up every change. ``listed``:
        the file names of a flat folder (``top_level_files``), when ``sources`` is None.
        ``search=False``: no search index built in the background (a static build answers
        no query, and the thread would take a core's worth of time from its pages).
        ``alone``: the caller runs no other thread (``nicepick build``), so a cold parse's
        workers are forked from it, at full priority, rather than from a forkserver that
        imports the parser first (0.25-0.35 s of a 10,000-file build's start)."""
        started = time.perf_counter()
        # No collection until the new library is frozen (``freeze_long_lived_objects``):
        # the collector paused only while files were read then walked every object just
        # made, more than once (1.5 s of a 4 s warm start at 100,000 comparisons).
        with paused_gc():
            cache = ParseCache(self.settings.data_dir / "parse-cache.marshal")
            if sources is None and listed is not None:
                sources = sources_in(self.settings.content_dir, [(name,) for name in listed])
            elif sources is None and self.settings.content_dir.is_dir():
                sources = discover(self.settings.content_dir)
            # The search index's rows are written while the files are parsed, when they are
            # parsed in worker processes (``app.search.stream``).
            stream = (
                IndexStream(self.searcher.folder, sources)
                if search and sources and self.searcher.folder is not None
                else None
            )
            try:
                if sources:  # a cold load of many files is parsed on every core first
                    # Below the server's own priority, so the pages asked for meanwhile (parsed
                    # alone, ``early_comparison``) do not wait behind a core's worth of parsing.
                    parsed = prime(
                        cache,
                        sources,
                        today=None,
                        start_method="fork" if alone else "forkserver",
                        niceness=0 if alone else PRIME_NICENESS,
                        cancel=self._stopping,
                        per_file=(
                            PerFile(index_row, stream.keys, stream.take)
                            if stream is not None
                            else None
                        ),
                    )
                    if stream is not None:
                        stream.end()  # merged while the library loads
                    if parsed:
                        log.info(
                            "parsed %d files in worker processes in %.1f s",
                            parsed,
                            time.perf_counter() - started,
                        )
                        # Saved before the library reads it: its comparisons then come with
                        # their bodies in the cache file, as on a warm start, instead of being
                        # read a second time after the save (``Library._lighten``: 1.3 s at
                        # 100,000).
                        cache.keep_only({str(source.path) for source in sources})
                        cache.save()
                library = self._read_library(
                    self.settings.content_dir, cache, sources=sources, yield_every=yield_every
                )
            except BaseException:
                if stream is not None:
                    stream.abandon()
                raise
            loaded_in = time.perf_counter() - started
            metrics.LIBRARY_LOAD_SECONDS.set(loaded_in)
            log.info("library of %d files loaded in %.1f s", len(library.files), loaded_in)
            metrics.LIBRARY_COMPARISONS.set(len(library.comparisons))
            library.version = self.library.version + 1
            if stream is not None and stream.started:
                # Parsed, left out by the cross-file rules: their rows are deleted.
                stream.dropped = library.left_out()
                self.searcher.expect(library.version, stream)
            first = not self.library.files
            self.library = library
            freeze_long_lived_objects(collect=not first)
        self.loaded.set()
        self._early_sources = None
        if search:
            # In the background: start-up and reloads never wait for the search index.
            self.searcher.warm(library.version, list(library.comparisons.values()))
        warming = time.perf_counter()
        for warm in self.after_load:
            warm()
        if self.after_load:
            log.info("listings and related links ready in %.1f s", time.perf_counter() - warming)
        # What the warm-ups built (groups, related index) lives as long as the library: out of
        # the collector's walks too. No collection: nothing before it needs freeing.
        gc.freeze()

    def start_loading(self) -> None:
        """Load now when the folder is small; else serve at once and load in a thread.

        Parsing 10,000 files takes seconds; the start-up target is one. Meanwhile a
        comparison page is parsed on its own (``early_comparison``); pages that list comparisons
        wait for the whole library (``LoadingGate``), so no listing is ever partial.
        """
        folder = self.settings.content_dir
        # One flat folder (the usual layout) is listed with one scandir; subfolders need
        # the full walk, whose path order decides which file wins a slug.
        names, nested = top_level_files(folder)
        sources = discover(folder) if nested else None
        count = len(sources) if sources is not None else len(names)
        if self.settings.reload or count <= self.settings.background_load_above:
            self.load(sources)
            return
        # slug -> file name (or path, nested); the first in path order wins, as in the library
        early: dict[str, str | Path] = {}
        if sources is not None:
            for source in sources:
                early.setdefault(slug_for(source.slug), source.path)
        else:
            for name in names:
                early.setdefault(slug_for(name[:-3]), name)
        self._early_sources = early

        # The listing made above is ``discover``'s (one flat folder): the first load makes
        # the sources from it instead of listing the folder again.
        listed = names if sources is None else None

        def run() -> None:
            # A failed load is retried and ``loaded`` stays unset, so /healthz keeps answering
            # 503 and listings keep waiting (the proxy times them out) rather than answering
            # from an empty library with 200, which a load balancer would route readers to.
            # A passing fault (a file being replaced, an NFS hiccup) heals on a retry; a
            # lasting one shows in the log at each attempt and in the failing health check,
            # the way Kubernetes keeps an unready pod out of rotation.
            attempt = 0
            while True:
                try:
                    # A retry lists the folder again.
                    self.load(sources, yield_every=20, listed=listed if attempt == 0 else None)
                    return
                except Cancelled:  # the server is stopping
                    return
                except Exception:
                    delay = self.load_retry_seconds[min(attempt, len(self.load_retry_seconds) - 1)]
                    attempt += 1
                    log.exception(
                        "loading %s failed (attempt %d); retrying in %g s",
                        self.settings.content_dir,
                        attempt,
                        delay,
                    )
                    if self._stopping.wait(delay):
                        return

        self._loader = threading.Thread(target=run, name="nicepick-load", daemon=True)
        self._loader.start()

    def stop(self) -> None:
        """At shutdown: stop the background load's parse in worker processes, leaving none.

        The load thread itself is a daemon and ends with the process; it is waited for only
        while it unwinds a stopped parse, whose ``with`` removes the parse's spool folder.
        """
        if self._stopping.set() and self._loader is not None:
            self._loader.join(_UNWIND_SECONDS)

    def early_comparison(self, slug: str) -> Comparison | None:
        """A comparison before the library finished loading, parsed from its file alone.

        None when the library is loaded, the slug names no file, or the file has errors or
        is not public: the caller then waits for the library, which decides (404, redirect).
        Its page must not be cached: related links and cross-file checks need the library.
        """
        sources = self._early_sources
        found = sources.get(slug) if sources is not None else None
        if found is None or self.loaded.is_set():
            return None
        comparison, _problems = parse_file(source_file(self.settings.content_dir / found))
        if comparison is None or not self.is_visible(comparison):
            return None
        return comparison

    def visible(self) -> list[Comparison]:
        """Every comparison readers may see now, newest first: THE list for every surface.

        Drafts and future ``published`` dates stay out unless ``--drafts`` is on; pages,
        listings, sitemap, feed, search and API all start from here or ``is_visible``.
        Sorted once per library version and visibility key (the set can change only when
        one of them does), so a listing request costs no sort of 10,000 comparisons.
        """
        return list(self._visible_now()[1])

    def grouped(self, kind: str) -> dict[str, list[Comparison]]:
        """``Library.group(self.visible(), kind)``, kept with the visible list: shared, so
        callers must not change it."""
        _key, visible, groups = self._visible_now()
        found = groups.get(kind)
        if found is not None:
            return found
        with self._visible_lock:  # one thread groups; the others wait for its groups
            found = groups.get(kind)
            if found is None and not groups:
                # The first after a change: every kind in one pass over the library (the
                # loading thread asks for all three right after a load).
                groups.update(group_every_kind(visible))
                found = groups.get(kind)
            if found is None:
                found = groups[kind] = Library.group(visible, kind)
        return found

    def _visible_now(
        self,
    ) -> tuple[tuple[int, int], list[Comparison], dict[str, dict[str, list[Comparison]]]]:
        key = (self.library.version, self.visibility_key())
        kept = self._visible
        if kept[0] == key:
            return kept
        # One thread at a time: a request arriving as a load ends otherwise sorted and grouped
        # the library a second time beside the loading thread's warm-up (0.4 s of a warm start
        # at 100,000, under the GIL), and two patching live edits in place would corrupt it.
        with self._visible_lock:
            kept = self._visible
            if kept[0] != key:
                kept = self._patched_visible(kept, key) or (
                    key,
                    self.library.visible(self.now(), drafts=self.settings.drafts),
                    {},
                )
                self._visible = kept
        return kept

    def _patched_visible(
        self,
        kept: tuple[tuple[int, int], list[Comparison], dict[str, dict[str, list[Comparison]]]],
        key: tuple[int, int],
    ) -> tuple[tuple[int, int], list[Comparison], dict[str, dict[str, list[Comparison]]]] | None:
        """The kept list and groups with live preview's edits made in them (``app.content.
        edits``): swapped in place when none moved a comparison in the list, else taken out
        and put in at their places; no sort and grouping of them all."""
        changes = self.changes_since(kept[0], key)
        if changes is None:
            return None
        if all(
            old is not None and new is not None and row_facts(old) == row_facts(new)
            for old, new in changes
        ):
            swaps = [(old, new) for old, new in changes if old is not None and new is not None]
            return (key, *patched_listings(kept[1], kept[2], swaps))
        return (key, *moved_listings(kept[1], kept[2], changes, self.is_visible))

    def changes_since(self, kept: Hashable, key: tuple[int, int]) -> list[Change] | None:
        """Live preview's changes (``Library.replaced``) from the content key ``kept`` to
        ``key`` (``(library version, visibility_key)``), when they are all the difference:
        None when something was rebuilt, or the clock made a page public meanwhile (the
        visibility count moved by more than the changes account for)."""
        if not (isinstance(kept, tuple) and len(kept) == 2):
            return None
        changes = self.changes(kept[0], until=key[0])
        if changes is None:
            return None
        today = self.now().astimezone(UTC).date()
        moved = sum(
            (new is not None and new.published <= today)
            - (old is not None and old.published <= today)
            for old, new in changes
        )
        return changes if kept[1] + moved == key[1] else None

    def replacements(
        self,
        version: int,
        facts: Callable[[Comparison], object] = listing_facts,
        *,
        until: int | None = None,
    ) -> list[tuple[Comparison, Comparison]] | None:
        """The comparisons live preview swapped in place since library ``version`` (up to
        ``until``, default the library's version now), oldest first, when no edit since
        changed their ``facts`` and nothing was rebuilt; else None. Lets what was built for
        ``version`` be patched, not rebuilt."""
        changes = self.changes(version, until=until)
        if changes is None:
            return None
        swaps: list[tuple[Comparison, Comparison]] = []
        for old, new in changes:
            if old is None or new is None or facts(old) != facts(new):
                return None
            swaps.append((old, new))
        return swaps

    def changes(self, version: int, *, until: int | None = None) -> list[Change] | None:
        """Every change live preview patched in since library ``version`` (up to ``until``),
        oldest first, pages added (old None) and taken away (new None) too; None when
        something was rebuilt meanwhile."""
        library = self.library
        last = library.version if until is None else until
        if version < 0 or last - version > len(library.replaced):
            return None
        changes: list[Change] = []
        for step in range(version + 1, last + 1):
            change = library.replaced.get(step)
            if change is None:
                return None
            changes.append(change)
        return changes

    def search_index(self) -> SearchIndex:
        """The search index of the library as it is now: live preview's edits re-indexed in
        place when each kept its page's slug, day and draft state (its row's place), else
        the index of this version, built now if nobody has yet."""
        library, searcher = self.library, self.searcher
        kept = searcher.version
        # Read once: the watcher's thread may reload a file meanwhile, and the index must not
        # be marked with a version whose edit it does not hold (that edit would never come).
        now = library.version
        if kept != now:
            swaps = self.replacements(kept, row_facts, until=now)
            if swaps is not None:
                searcher.patch(kept, now, swaps)
        return searcher.index_for(now, library.comparisons.values())

    def is_visible(self, comparison: Comparison) -> bool:
        """Whether one comparison may be shown now (the same rule as ``visible``)."""
        return self.settings.drafts or comparison.is_public(self.now())

    def reload_files(self, paths: Iterable[Path]) -> None:
        """Content files the live preview's watcher found changed: re-parse each alone
        (``Library.reload_file``), which bumps the library version so every cached page misses;
        the lists built before are patched from ``Library.replaced`` when they allow it.
        """
        for path in sorted(paths):
            problems = self.library.reload_file(path)
            errors = sum(1 for p in problems if p.severity == "error")
            log.info("live preview: reloaded %s (%d errors)", path, errors)
        # The next search re-indexes the edited pages in place (``search_index``), in a copy
        # of the shared index file made now, off the request path; unless an edit was not
        # swapped in place (a file added, removed, broken, mended or re-dated), after which
        # the next search builds a new index, and copying the kept one (hundreds of MB at
        # 100,000 comparisons) would only compete with the re-indexing for the machine.
        if self.replacements(self.searcher.version, row_facts) is not None:
            self.searcher.prepare_edits()

    def visibility_key(self) -> int:
        """Changes when a scheduled comparison goes live, so cached listings follow it.

        Counts publication moments already past with a binary search over a list sorted once
        per library version: listing requests stay O(log n) at 10,000 comparisons.
        """
        version = self.library.version
        kept = self._schedule[0]
        changes = self.changes(kept) if kept != version else None
        if changes is not None:  # the days of pages added, removed or re-dated: in place
            days = list(self._schedule[1])
            for old, new in changes:
                if old is not None:
                    del days[bisect.bisect_left(days, old.published)]
                if new is not None:
                    bisect.insort(days, new.published)
            self._schedule = (version, days)
        if self._schedule[0] != version:
            # Days, not moments: a page is live from its day's start (UTC), so the days on
            # or before today's count the moments past, without 100,000 datetimes.
            days = sorted(c.published for c in self.library.comparisons.values())
            self._schedule = (version, days)
        return bisect.bisect_right(self._schedule[1], self.now().astimezone(UTC).date())


def group_every_kind(comparisons: Iterable[Comparison]) -> dict[str, dict[str, list[Comparison]]]:
    """``Library.group`` by category, tag and option at once: the same groups in the same
    order, one pass over the comparisons instead of three."""
    by_category: defaultdict[str, list[Comparison]] = defaultdict(list)
    by_tag: defaultdict[str, list[Comparison]] = defaultdict(list)
    by_option: defaultdict[str, list[Comparison]] = defaultdict(list)
    for comparison in comparisons:
        by_category[comparison.category_slug].append(comparison)
        for tag in comparison.tag_slugs:
            by_tag[tag].append(comparison)
        for option in comparison.options:
            by_option[option.slug].append(comparison)
    return {"category": dict(by_category), "tag": dict(by_tag), "option": dict(by_option)}


def data_dir(settings: Settings) -> Path:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings.data_dir
