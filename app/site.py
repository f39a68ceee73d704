"""The running site's state: the loaded library, what readers may see now, assets, and the
Jinja environment and page cache that ``app.pages.renderer`` renders into.

The clock is an argument (``clock``), so tests move time instead of patching it; so is the
reading of the folder (``read_library``), so a test can hold a background load as long as it
needs. After each full load the search index is rebuilt in the background.
"""

from __future__ import annotations

import bisect
import gc
import hashlib
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from app.content.cache import ParseCache
from app.content.library import (
    Library,
    SourceFile,
    discover,
    parse_file,
    slug_for,
    source_file,
    top_level_files,
)
from app.content.model import Comparison
from app.content.watch import Changes
from app.render.jinja import build_environment
from app.render.page_cache import PageCache
from app.search.index import Searcher
from app.settings import Settings

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


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


def freeze_long_lived_objects() -> None:
    """Take the loaded library out of the cyclic garbage collector's walks.

    The library's objects live as long as the process, yet every full collection walked all of
    them: with 10,000 comparisons each took 100-130 ms, holding the GIL, so every request in
    flight stalled, a few times per thousand pages rendered (bench: the max and p99 of
    /search). ``gc.freeze`` moves everything alive now to a generation no collection visits.
    Unfreezing and collecting first frees the previous library's cycles, if it left any, so
    reloads (live preview) never pile up frozen garbage; that one collection is the price of a
    load, paid in the loading thread.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


class Site:
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
        self.searcher = Searcher()
        self.env = build_environment(
            settings.templates_dir,
            auto_reload=settings.reload,
            bytecode_dir=settings.data_dir / "template-cache",
        )
        self.cache = PageCache(max_bytes=settings.page_cache_mb * 1024 * 1024)
        self.library = Library()
        self.loaded = threading.Event()
        # While a large library loads in the background: slug -> file, for early pages.
        self._early_sources: dict[str, str | Path] | None = None
        self._assets: dict[str, str] = {}
        self._schedule: tuple[int, list[datetime]] = (-1, [])
        self._visible: tuple[
            tuple[int, int], list[Comparison], dict[str, dict[str, list[Comparison]]]
        ] = ((-1, -1), [], {})
        self.env.globals.update(
            site_name=settings.site_name,
            site_url=settings.site_url,
            feedback_to=settings.feedback_to,
            asset=self.asset_url,
            show_drafts=settings.drafts,
            preview=settings.reload,  # base.html adds the live-preview script only then
            feedback_action=self.feedback_action,
        )

    def feedback_action(self, slug: str) -> str:
        """Where a page's feedback form posts: the running server, absolute when pages are
        exported (``NICEPICK_FEEDBACK_ENDPOINT``), since static hosts cannot take a POST."""
        path = f"/compare/{slug}/feedback"
        endpoint = self.settings.feedback_endpoint
        return endpoint.rstrip("/") + path if endpoint else path

    # --- content ----------------------------------------------------------------------------

    def load(self, sources: list[SourceFile] | None = None, *, yield_every: int = 0) -> None:
        """Read the content folder; safe to call again to pick up every change."""
        cache = ParseCache(self.settings.data_dir / "parse-cache.marshal")
        library = self._read_library(
            self.settings.content_dir, cache, sources=sources, yield_every=yield_every
        )
        library.version = self.library.version + 1
        self.library = library
        freeze_long_lived_objects()
        self._assets.clear()
        self.loaded.set()
        self._early_sources = None
        # In the background: start-up and reloads never wait for the search index.
        self.searcher.warm(library.version, list(library.comparisons.values()))

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

        def run() -> None:
            try:
                self.load(sources, yield_every=20)
            except Exception:  # never leave waiting requests hanging on a loader that died
                log.exception("loading %s failed", self.settings.content_dir)
                self.loaded.set()

        threading.Thread(target=run, name="nicepick-load", daemon=True).start()

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
        if found is None:
            found = groups[kind] = Library.group(visible, kind)
        return found

    def _visible_now(
        self,
    ) -> tuple[tuple[int, int], list[Comparison], dict[str, dict[str, list[Comparison]]]]:
        key = (self.library.version, self.visibility_key())
        kept = self._visible
        if kept[0] != key:
            kept = (key, self.library.visible(self.now(), drafts=self.settings.drafts), {})
            self._visible = kept
        return kept

    def is_visible(self, comparison: Comparison) -> bool:
        """Whether one comparison may be shown now (the same rule as ``visible``)."""
        return self.settings.drafts or comparison.is_public(self.now())

    def apply_changes(self, changes: Changes) -> None:
        """What the live preview's watcher found: re-read it, and let no page serve it stale.

        A changed content file is re-parsed alone (``Library.reload_file``), which bumps the
        library version so every cached page misses; a template change clears the page cache
        (Jinja's ``auto_reload`` re-reads the template); a static change drops fingerprints.
        """
        for path in sorted(changes.content):
            problems = self.library.reload_file(path)
            errors = sum(1 for p in problems if p.severity == "error")
            log.info("live preview: reloaded %s (%d errors)", path, errors)
        if changes.templates:
            self.cache.clear()
            log.info("live preview: templates changed")
        if changes.static:
            self.assets_changed()
            log.info("live preview: static files changed")

    def assets_changed(self) -> None:
        """A static file changed: new fingerprints, and no cached page keeps the old URLs."""
        self._assets.clear()
        self.cache.clear()

    def visibility_key(self) -> int:
        """Changes when a scheduled comparison goes live, so cached listings follow it.

        Counts publication moments already past with a binary search over a list sorted once
        per library version: listing requests stay O(log n) at 10,000 comparisons.
        """
        version = self.library.version
        if self._schedule[0] != version:
            moments = sorted(c.published_at for c in self.library.comparisons.values())
            self._schedule = (version, moments)
        return bisect.bisect_right(self._schedule[1], self.now())

    # --- assets -----------------------------------------------------------------------------

    def asset_url(self, name: str) -> str:
        """``site.css`` -> ``/static/site.<hash>.css``, so browsers may cache it for a year."""
        url = self._assets.get(name)
        if url is None:
            path = self.settings.static_dir / name
            try:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
            except OSError:
                return f"/static/{name}"
            stem, dot, suffix = name.rpartition(".")
            url = f"/static/{stem}.{digest}.{suffix}" if dot else f"/static/{name}.{digest}"
            self._assets[name] = url
        return url

    def static_file(self, requested: str) -> Path | None:
        """Map a fingerprinted or plain static name to a file inside the static folder only."""
        root = self.settings.static_dir.resolve()
        candidates = [requested]
        stem, dot, suffix = requested.rpartition(".")
        base, dot2, _digest = stem.rpartition(".")
        if dot and dot2:
            candidates.insert(0, f"{base}.{suffix}")
        for name in candidates:
            # No static name is that long; longer ones would only fail in the OS (ENAMETOOLONG).
            if not name or "\x00" in name or len(name) > 255:
                continue
            try:
                path = (root / name).resolve()
                if path.is_relative_to(root) and path.is_file():
                    return path
            except (OSError, ValueError):  # a name the OS refuses is simply not a file of ours
                continue
        return None


def data_dir(settings: Settings) -> Path:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings.data_dir
