"""The quick incremental build: after edits to comparisons' bodies only, re-render just those
pages, and those whose readers' notes changed, without the app, the library or the crawl.

``nicepick build OUT`` tries this first when OUT holds a build. It proves from the last build's
manifest and record (``app/commands/quick_record.py``) that nothing but the edited pages'
own bytes and the search index can change, and answers None whenever it cannot, so the
caller runs the incremental build of ``app/commands/export.py``, which checks everything.
It takes this path only when all of these hold:

- the record belongs to the manifest in OUT and its changes, and the code, templates, static
  files, settings, writers, profiles and plain pages are the last build's (its fingerprint);
- the same comparison files exist, and no scheduled page has gone live since;
- each edited file parses without errors, keeps its slug, its ``/compare/`` links name pages
  that exist, and what other pages show of it is unchanged (``shown_digest``; the feed, which
  also shows its pages' bottom lines, is rendered again when one of them was edited);
- the last build's JSON twin of each edited page is intact (its related comparisons and the
  tags it leaves out are read from it: both depend only on what the edit left unchanged);
- the search index's shards keep their split (``app/commands/search_patch.py``);
- each page links the same files outside the comparisons as before (a script or an image
  linked from its text: one new needs the crawl, one gone may be left linked by no page).

The page is rendered by the same functions the server's renderer calls (``comparison.build``,
``render_html``/``render_json``, ``app/feedback/view.py`` for the form and the meter, whose
counts the stdlib's sqlite3 reads when it can: ``app/feedback/meter_file.py``; else the
feedback store), with the header's categories from the record. The counts of every page are
read each time: a note edits no file, and a page whose counts differ from the ones the record
says it shows is re-rendered too (``app/commands/meters.py``), though no file changed.
Files are written only when their bytes differ, with their ``.gz``/``.br`` siblings if the
build precompresses; the
manifest's changes are saved beside it (``Changes``: saving the whole manifest would cost
more than the rest) and the record is updated.
What it skips costs the other path ~1 s of imports, the library (2.5 s at 10,000 pages) and
a walk over every redirect page. What it keeps: Settings (pydantic), the parser, Jinja and
the page modules, and one ``lstat`` per content file (an edit in place changes no folder).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from app.collector import paused_gc
from app.commands.manifest import (
    Changes,
    begin_writing,
    digest,
    end_writing,
    fingerprint,
    unfinished,
)
from app.commands.meters import Counts, digests, recounted
from app.commands.neighbours import twin_neighbours
from app.commands.quick_record import (
    UNREAD,
    Entry,
    MaybeRead,
    Record,
    current_record,
    record_path,
    shown_digest,
)
from app.content.model import Comparison
from app.content.sources import (
    SourceFile,
    comparison_paths,
    parse_file,
    source_file,
)
from app.settings import Settings

if TYPE_CHECKING:
    from app.feedback.view import FeedbackView

# More edited files than this: the other path, whose cost does not grow with them.
MOST_FILES = 20
_COMPRESSED_OVER = 256  # bytes; as export.py's Files.write: smaller files get no siblings


@dataclass
class QuickSummary:
    """What a quick build wrote, printed like the other builds' summaries."""

    pages: int = 0  # pages re-rendered (HTML)
    rewritten: list[str] = field(default_factory=list)  # paths whose bytes changed
    seconds: float = 0.0
    forms_until: float | None = None
    skipped: list[tuple[str, int]] = field(default_factory=list)  # none: it requests no URL

    def __str__(self) -> str:
        return (
            f"{self.pages} pages re-rendered in {self.seconds:.2f} s; "
            f"incremental (page bodies and notes only): {len(self.rewritten)} files rewritten"
        )


@dataclass
class _Edit:
    source: SourceFile
    comparison: Comparison
    entry: Entry


def quick_build(
    settings: Settings,
    out: Path,
    *,
    cards: bool,
    precompress: bool = False,
    record: MaybeRead = UNREAD,
) -> QuickSummary | None:
    """Bring the build in ``out`` up to date when only pages' bodies changed; None (nothing
    written) when that cannot be shown, for the caller to run the full incremental build.
    ``record``: ``current_record`` for ``out``, when the caller read it already (it is left
    as it was when this returns None, for that build to use)."""
    # At most MOST_FILES pages: its garbage stays small, and the collector would only walk the
    # record's 10,000 entries again and again (as in export.export_site).
    with paused_gc():
        return _quick_build(settings, out, cards=cards, precompress=precompress, record=record)


def _quick_build(
    settings: Settings, out: Path, *, cards: bool, precompress: bool, record: MaybeRead
) -> QuickSummary | None:
    started = time.perf_counter()
    settings = settings.model_copy(update={"drafts": False, "reload": False})  # as export
    kept_at = record_path(out, settings.data_dir)
    if unfinished(out):
        return None  # a build stopped halfway: its files are not the record's
    if record is UNREAD:
        record = current_record(out, settings.data_dir)
    if record is None:
        return None
    if record.fingerprint != fingerprint(settings, cards=cards, precompress=precompress):
        return None
    if record.reveal_at is not None and time.time() >= record.reveal_at:
        return None  # a scheduled page is live now: listings change
    found = _edits(settings, record)
    if found is None:
        return None
    edits, named = found
    # Pages whose bytes change: visible ones whose content differs from what was built, and
    # those whose notes' counts differ from the ones the last build rendered them with.
    pages = [
        e
        for e in edits
        if e.entry.visible and e.comparison.content_hash != record.sources.get(e.entry.slug)
    ]
    counts = _meter_counts(settings, record.sources)
    if counts is not None:
        meters = digests(counts, record.sources)
    else:
        # The database did not answer: pages keep the counts they show rather than all lose
        # them at once; an edited page, rendered showing none, is recounted by the next build.
        edited = {e.entry.slug for e in pages}
        meters = {slug: known for slug, known in record.meters.items() if slug not in edited}
        counts = {}
    counted = recounted(record.meters, meters, record.sources)
    recount = sorted(counted - {e.entry.slug for e in pages})
    written = (
        _render(settings, out, record, pages, recount, named, counts) if pages or recount else {}
    )
    if written is None or not _same_files_linked(settings, out, written):
        return None
    summary = QuickSummary(pages=len(pages) + len(recount))
    changes = Changes.load(out) if record.changes is not None else None
    if changes is None:
        changes = Changes(base=record.manifest)
    begin_writing(out)
    for path, body in written.items():
        name = path.relative_to(out).as_posix()
        value = digest(body)
        if record.digests.get(name) != value or not path.is_file():
            _write(out, path, body, precompress=precompress)
            summary.rewritten.append(name)
        record.digests[name] = changes.files[name] = value
    for edit in pages:
        slug = edit.comparison.slug
        record.sources[slug] = changes.sources[slug] = edit.comparison.content_hash
        for _line, target in edit.comparison.links:  # as the crawl records the links it finds
            linking = changes.linked_from.setdefault(target, [])
            if f"/compare/{slug}" not in linking:
                linking.append(f"/compare/{slug}")
    for slug in counted:
        changes.meters[slug] = meters.get(slug)
    record.meters = meters
    changes.rewritten = sorted(summary.rewritten)
    record.changes = digest(changes.save(out))
    for edit in edits:
        record.files[str(edit.source.path)] = edit.entry
    record.save(kept_at)
    end_writing(out)
    summary.forms_until = _forms_until(record.built_at)
    summary.seconds = time.perf_counter() - started
    return summary


def _edits(settings: Settings, record: Record) -> tuple[list[_Edit], _Sources] | None:
    """The comparison files whose bytes may differ from the last build's, each parsed, with
    its new record entry, and every file by path; None when one is more than a body edit.

    One ``lstat`` per file: an edit in place changes the file's mtime and size, never its
    folder's, so nothing cheaper proves a file unchanged. Paths stay strings (a ``Path`` per
    file cost more than the stats): ``discover``'s names, which the record's keys are."""
    content_dir = settings.content_dir
    found = comparison_paths(content_dir)
    if len(found) != len(record.files):
        return None  # a file added or removed
    root = str(content_dir)
    prefix = "" if root == "." else root.rstrip(os.sep) + os.sep  # as Path.joinpath names
    known = set(record.known)
    edits: list[_Edit] = []
    stat_of = os.stat
    for parts in found:
        name = prefix + os.sep.join(parts)
        entry = record.files.get(name)
        if entry is None:
            return None  # another file, or named otherwise than discover names it
        stat = stat_of(name, follow_symlinks=False)
        if stat.st_mtime_ns == entry.mtime_ns and stat.st_size == entry.size:
            continue
        if len(edits) == MOST_FILES:
            return None
        source = _source_file(content_dir, Path(name))
        comparison, problems = parse_file(source)
        if comparison is None or any(p.severity == "error" for p in problems):
            return None
        if comparison.slug != entry.slug or shown_digest(comparison) != entry.shown:
            return None
        if any(target not in known for _line, target in comparison.links):
            return None  # the full build names the broken link
        new = Entry(stat.st_mtime_ns, stat.st_size, entry.slug, entry.visible, entry.shown)
        edits.append(_Edit(source, comparison, new))
    return edits, _Sources(content_dir)


def _source_file(content_dir: Path, path: Path) -> SourceFile:
    """The ``SourceFile`` ``discover`` makes of one of its paths (its display name too:
    the parser keeps it as ``Comparison.source``)."""
    cwd = os.getcwd().rstrip(os.sep) + os.sep
    absolute = content_dir.is_absolute() and ".." not in content_dir.parts
    folder = str(content_dir).rstrip(os.sep) + os.sep
    if absolute and not folder.startswith(cwd) and not cwd.startswith(folder):
        return SourceFile(path, str(path), path.stem)
    return source_file(path, cwd if absolute else None)


class _Sources:
    """Content files by path, named as ``discover`` names them, made when first asked for."""

    def __init__(self, content_dir: Path) -> None:
        self._content_dir = content_dir

    def __getitem__(self, name: str) -> SourceFile:
        return _source_file(self._content_dir, Path(name))


def _render(
    settings: Settings,
    out: Path,
    record: Record,
    edits: list[_Edit],
    recount: list[str],
    named: _Sources,
    counts: Counts,
) -> dict[Path, bytes] | None:
    """Every file the edits change (pages, JSON twins, search index) and the pages (with
    their twins) of the ``recount`` slugs, whose counts changed, by path; None when the last
    build's twin of a page is not what it wrote or the index cannot be patched."""
    sources = {entry.slug: path for path, entry in record.files.items()}
    # Unchanged since the last build but for their counts: read as it read them.
    comparisons = [e.comparison for e in edits] + [_parsed(named[sources[s]]) for s in recount]
    neighbours: dict[str, tuple[list[str], frozenset[str]]] = {}
    for comparison in comparisons:
        found = twin_neighbours(out, record.digests, comparison)
        if found is None:
            return None
        neighbours[comparison.slug] = found
    files = _pages(settings, out, record, comparisons, neighbours, named, counts)
    # After the pages: it saves the words of the edited pages' new content for the next build.
    index_files = _index(out, record, edits) if edits else {}
    if index_files is None:
        return None
    if any(e.comparison.slug in record.feed for e in edits):
        # The feed shows its pages' bottom lines: the same function on the same pages.
        from app.surfaces.feeds import atom_feed

        edited = {e.comparison.slug: e.comparison for e in edits}
        newest = [edited.get(s) or _parsed(named[sources[s]]) for s in record.feed]
        files[out / "feed.xml"] = atom_feed(
            newest, site_url=settings.site_url, site_name=settings.site_name
        )
    return {**files, **index_files}


def _index(out: Path, record: Record, edits: list[_Edit]) -> dict[Path, bytes] | None:
    """The search index's files the edits change, its words of each page saved for the next
    build; None when it cannot be patched."""
    from app.commands.search_patch import patch
    from app.commands.search_terms import StoredTerms
    from app.commands.static_search import page_terms

    known_terms = StoredTerms.load(out)  # export.py's words of each page, by content hash
    changes = []
    order = {slug: number for number, slug in enumerate(record.order)}
    for edit in edits:
        comparison = edit.comparison
        old = known_terms.get(record.sources.get(comparison.slug, ""))
        if old is None or comparison.slug not in order:
            return None
        new = page_terms(comparison)
        known_terms[comparison.content_hash] = new
        changes.append((order[comparison.slug], old, new))
    patched = patch(out, changes, record.shard_sizes)
    if patched is None or None in patched.values():
        return None  # a shard that goes: its file and the manifest's, for the other path
    index_files = {path: body for path, body in patched.items() if body is not None}
    current = set(record.sources.values()) | {e.comparison.content_hash for e in edits}
    current -= {record.sources[e.comparison.slug] for e in edits}
    known_terms.save(out, keep=current)
    return index_files


def _pages(
    settings: Settings,
    out: Path,
    record: Record,
    comparisons: list[Comparison],
    neighbours: dict[str, tuple[list[str], frozenset[str]]],
    named: _Sources,
    counts: Counts,
) -> dict[Path, bytes]:
    """Each page and its JSON twin, rendered as the server renders them."""
    from app.content.library import Library
    from app.pages import comparison as comparison_page
    from app.pages.base import render_html, render_json
    from app.pages.navigation import MenuItem
    from app.render.assets import Assets
    from app.render.jinja import page_environment

    # Writers, profiles and plain pages only: the same as the last build's (fingerprint).
    side = Library.scan(settings.content_dir, sources=[])
    env = page_environment(settings, asset_url=Assets(settings.static_dir).url)
    env.globals["can_ask"] = settings.feedback_endpoint is not None  # as export's static copy
    env.globals["has_page"] = lambda slug: slug in side.pages  # as PageRenderer's
    views = _feedback_views(settings, record.built_at, comparisons, counts)
    shared = {"nav_categories": tuple(MenuItem(*c) for c in record.categories)}
    edited = {comparison.slug: comparison for comparison in comparisons}
    sources = {entry.slug: path for path, entry in record.files.items()}
    files: dict[Path, bytes] = {}
    for comparison in comparisons:
        related_slugs, lone_tags = neighbours[comparison.slug]
        related = tuple(edited.get(slug) or _parsed(named[sources[slug]]) for slug in related_slugs)
        context = comparison_page.build(
            comparison,
            related=related,
            lone_tags=lone_tags,
            feedback=views[comparison.slug],
            site_url=settings.site_url,
            site_name=settings.site_name,
            profiles=side.profiles,
            authors=side.authors,
        )
        files[out / "compare" / comparison.slug / "index.html"] = render_html(env, context, shared)
        files[out / "compare" / f"{comparison.slug}.json"] = render_json(context)
    return files


def _meter_counts(settings: Settings, slugs: Iterable[str]) -> Counts | None:
    """Each page's counts, read once: its page is rendered with them and the record keeps
    them. With the stdlib's sqlite3 when the site keeps them in a plain SQLite file
    (``app/feedback/meter_file.py``); else through the feedback store, which imports
    SQLAlchemy (PostgreSQL, a URL only it reads as a file, a file without the notes table).
    None when the database does not answer."""
    from app.feedback.meter_file import read_meters

    counts = read_meters(settings.resolved_database_url, slugs)
    return counts if counts is not None else _store_counts(settings)


def _store_counts(settings: Settings) -> Counts | None:
    """Every page's counts through the store, as the app reads them at its start (its schema
    made first: a database without the notes table, a deleted SQLite file say, holds no
    notes, as the export's path and the server find); None while the database cannot
    answer."""
    from sqlalchemy.exc import SQLAlchemyError

    from app.db import make_engine
    from app.feedback.store import FeedbackStore

    store = FeedbackStore(
        make_engine(settings.resolved_database_url, connect_timeout=settings.database_timeout),
        timeout=settings.database_timeout,
    )
    try:
        store.create_schema()
        return store.meter_counts()
    except SQLAlchemyError as error:
        logging.getLogger(__name__).warning(
            "database unreachable (%s); pages keep the notes' counts they show", error
        )
        return None
    finally:
        store.dispose()


def _feedback_views(
    settings: Settings, built_at: float, comparisons: list[Comparison], counts: Counts
) -> dict[str, FeedbackView]:
    """Each page's feedback section as the export renders it (``Feedback.page_part`` after
    ``export_forms(built_at)``), from ``counts`` (``_meter_counts``)."""
    from app.feedback.tokens import FormTokens, load_secret, site_origin
    from app.feedback.view import feedback_view, meter_since

    settings.data_dir.mkdir(parents=True, exist_ok=True)  # as Feedback does
    secret = load_secret(
        settings.secret_key, settings.data_dir, database_url=settings.resolved_database_url
    )
    tokens = FormTokens(
        secret, min_seconds=settings.feedback_min_seconds, site=site_origin(settings.site_url)
    )
    views: dict[str, FeedbackView] = {}
    for comparison in comparisons:
        change = comparison.last_pick_change
        meter = meter_since(
            counts.get(comparison.slug, {}), change.day if change is not None else None
        )
        views[comparison.slug] = feedback_view(
            comparison,
            meter,
            tokens,
            thanks=False,
            now=built_at,
            exported=True,
            can_send=settings.feedback_endpoint is not None,
        )
    return views


def _same_files_linked(settings: Settings, out: Path, written: dict[Path, bytes]) -> bool:
    """Whether each page links the same files outside the comparisons as its last build did:
    a link to a file the build did not write (a script or an image in its text) needs the
    crawl, and one gone may leave a file no page links (the other path handles both)."""
    from app.commands.links import links

    for path, body in written.items():
        if path.suffix != ".html":
            continue
        try:
            before = path.read_bytes()
        except OSError:
            return False
        url = "/" + path.relative_to(out).parent.as_posix()
        old, new = (
            {
                link
                for link in links(page, url, settings.site_url)
                if not link.startswith("/compare/")
            }
            for page in (before, body)
        )
        if old != new:
            return False
    return True


def _parsed(source: SourceFile) -> Comparison:
    comparison, _problems = parse_file(source)
    assert comparison is not None  # it built last time and its bytes have not changed
    return comparison


def _write(out: Path, path: Path, body: bytes, *, precompress: bool) -> None:
    """A file of ``out`` and its compressed siblings, as export.py's ``Files.write`` writes
    them: never through a link (``files.unlink_links``, ``files.write_file``)."""
    from app.commands.files import unlink_links, write_file
    from app.render.cached_page import brotli_bytes, gzip_bytes

    unlink_links(out, path.parent.relative_to(out).as_posix(), set())
    path.parent.mkdir(parents=True, exist_ok=True)
    write_file(str(path), body)
    if not precompress:
        return
    if len(body) > _COMPRESSED_OVER:
        write_file(f"{path}.gz", gzip_bytes(body))
        write_file(f"{path}.br", brotli_bytes(body))
    else:  # shrunk below the size worth compressing: no stale sibling left to be served
        for sibling in (".gz", ".br"):
            path.with_name(path.name + sibling).unlink(missing_ok=True)


def _forms_until(built_at: float) -> float:
    from app.feedback.tokens import EXPORT_VALID_SECONDS

    return built_at + EXPORT_VALID_SECONDS
