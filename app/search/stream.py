"""The search index written while a cold load parses the library (issue 18).

A cold start at 100,000 comparisons parsed on every core for ~15 s, loaded the library on one
(~4 s), then built the index on one (~17 s: FTS5 inserts from one writer, then 'optimize')
while the other core idled. Here each parse worker also makes the index rows of the pages it
parsed (``index_row``: their text and rowid), and one writer thread in the server inserts each
chunk's rows into a partial index file as the chunks arrive, then merges it while the library
loads. The rows can be made before every file is parsed because rowids need only follow
publication order, not count positions (``app.search.index.row_id``): a file's rank among
the slugs of all files found (``slug_ranks``) is known before any is parsed.

The rows are of the files as each worker parsed them, before the library's cross-file rules
(which drop a page whose slug or options another page has, never change one): ``finish``
uses the file only for exactly the library's pages, by slug and content hash. Rows of dropped
pages are deleted (FTS5's 'delete' with the values they were indexed with, from the dropped
comparison; bm25's statistics stay exact), pages the workers did not parse (found in the parse
cache) are added; anything else (a row whose values are not at hand) and the index is built
the usual way instead.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import queue
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from app.content.model import Comparison
from app.content.sources import SourceFile, slug_for
from app.search.index import (
    bulk_load_settings,
    create_tables,
    delete_row,
    document_columns,
    finish_tables,
    insert_row,
    merge_tables,
    row_id,
)

log = logging.getLogger(__name__)

# A written row: the page's slug and content hash, then its rowid and indexed columns.
StreamRow = tuple[str, str, int, str, str, str, str]
# Rows inserted together (about 10 MB of text at 100,000 pages). The chunks come in file
# order, not rowid order, so each chunk inserted alone made a segment of its own: ~400 at
# 100,000 pages, which the final 'optimize' merged in 4.6 s of CPU after the parse; ten
# chunks sorted together make a tenth as many (the same rows either way).
_WRITE_ROWS = 2_500


def slug_ranks(sources: Sequence[SourceFile]) -> list[int]:
    """Each file's rank by its page's slug (then by its place in ``sources``, so two files
    giving one slug rank apart): the low part of its row's rowid."""
    slugs = [slug_for(source.slug) for source in sources]
    ranks = [0] * len(sources)
    for rank, at in enumerate(sorted(range(len(sources)), key=lambda at: (slugs[at], at))):
        ranks[at] = rank
    return ranks


def index_row(comparison: Comparison, rank: int) -> StreamRow:
    """In a parse worker: the row of a page parsed from the file of slug rank ``rank``."""
    return (
        comparison.slug,
        comparison.content_hash,
        row_id(comparison.published, rank),
        *document_columns(comparison),
    )


class IndexStream:
    """A partial index file in ``folder`` filled from parsed chunks (``take``) by a thread of
    its own; merged once the parse ends (``end``); handed over by ``finish`` or removed by
    ``abandon``."""

    def __init__(self, folder: Path, sources: Sequence[SourceFile]) -> None:
        self.folder = folder
        self.sources = sources
        # Pages parsed but left out of the library (a duplicate slug or pair): their rows
        # are deleted with these values. Set by the loader before ``finish``.
        self.dropped: Sequence[Comparison] = ()
        self._queue: queue.SimpleQueue[list[StreamRow] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._abandoned = False
        self._partial: Path | None = None
        self._error: BaseException | None = None
        self._db: sqlite3.Connection | None = None  # the writer's, while it writes
        self._written: dict[str, list[tuple[int, str]]] = {}  # slug -> (rowid, content hash)
        self._keys: list[int] | None = None

    def keys(self) -> list[int]:
        """Each source's slug rank (``slug_ranks``): made only when files are parsed here
        (``PerFile.keys``), once."""
        if self._keys is None:
            self._keys = slug_ranks(self.sources)
        return self._keys

    @property
    def started(self) -> bool:
        """Whether rows came (files were parsed in worker processes): else nothing to use."""
        return self._thread is not None

    def take(self, rows: list[StreamRow]) -> None:
        """Queue one chunk's rows for the writer (started by the first)."""
        if not rows:
            return
        with self._lock:
            if self._abandoned:
                return
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._write, name="search-index-stream", daemon=True
                )
                self._thread.start()
        self._queue.put(rows)

    def end(self) -> None:
        """No more rows: the writer merges the file now (beside the library's load)."""
        self._queue.put(None)

    def _write(self) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            # Named as ``_open`` names its partial files, so an abandoned one is removed the
            # same way (``_remove_abandoned``).
            partial = self.folder / f".search-stream.{os.getpid()}.{threading.get_ident()}.tmp"
            partial.unlink(missing_ok=True)
            with self._lock:
                if self._abandoned:
                    return
                self._partial = partial
            db = sqlite3.connect(partial, check_same_thread=False)
            with self._lock:
                self._db = db
            try:
                if self._abandoned:
                    return
                db.execute("PRAGMA journal_mode = OFF")
                db.execute("PRAGMA synchronous = OFF")
                create_tables(db)
                bulk_load_settings(db)
                pending: list[StreamRow] = []
                while True:
                    rows = self._queue.get()
                    if self._abandoned:
                        return
                    if rows is not None:
                        pending.extend(rows)
                    if pending and (rows is None or len(pending) >= _WRITE_ROWS):
                        self._insert(db, pending)
                        pending = []
                    if rows is None:
                        break
                if self._abandoned:  # ``abandon`` ends the queue too: no merge for nothing
                    return
                with db:
                    merge_tables(db)
            finally:
                with self._lock:
                    self._db = None
                db.close()
        except BaseException as exc:  # reported by ``finish``, which then builds as before
            self._error = exc

    def _insert(self, db: sqlite3.Connection, rows: list[StreamRow]) -> None:
        """Insert rows (several chunks' worth) in rowid order, in one transaction."""
        # FTS5 flushes a segment at each commit and whenever a rowid is lower than the one
        # before: sorted and committed together, these rows make about one segment.
        rows.sort(key=lambda row: row[2])
        with db:
            db.executemany(
                "INSERT INTO docs(rowid, title, options, tags, body) VALUES (?, ?, ?, ?, ?)",
                [row[2:] for row in rows],
            )
            db.executemany(
                "INSERT INTO names(rowid, title, options) VALUES (?, ?, ?)",
                [row[2:5] for row in rows],
            )
        for slug, content_hash, rowid, *_ in rows:
            self._written.setdefault(slug, []).append((rowid, content_hash))

    def finish(self, ordered: Sequence[Comparison]) -> Path | None:
        """The partial file, made whole as the index of ``ordered`` (sorted by publication,
        then slug) for the caller to rename into place; None (and no file left) when no rows
        were written or they cannot be made exactly these pages'."""
        with self._lock:
            thread = self._thread
        if thread is None:
            return None
        self.end()  # idempotent for the writer: it stops at the first
        thread.join()
        try:
            if self._error is not None:
                raise self._error
            if self._partial is None:
                raise ValueError("no partial file")
            rowids, deleted, added = self._reconcile(ordered)
            db = sqlite3.connect(self._partial)
            try:
                db.execute("PRAGMA journal_mode = OFF")
                db.execute("PRAGMA synchronous = OFF")
                with db:
                    for rowid, comparison in deleted:
                        delete_row(db, rowid, document_columns(comparison))
                    for rowid, comparison in added:
                        insert_row(db, rowid, document_columns(comparison))
                    if deleted or added:
                        merge_tables(db)
                    finish_tables(db, rowids)
            finally:
                db.close()
            log.info(
                "search rows written during the parse used (%d deleted, %d added)",
                len(deleted),
                len(added),
            )
            return self._partial
        except Exception as exc:
            log.warning("search rows written during the parse not used (%s); indexing again", exc)
            self.abandon()
            return None
        finally:
            self._written = {}  # ~20 MB at 100,000 pages, not needed again

    def _reconcile(
        self, ordered: Sequence[Comparison]
    ) -> tuple[list[int], list[tuple[int, Comparison]], list[tuple[int, Comparison]]]:
        """The rowids of ``ordered``; the written rows to delete (rowid and the comparison
        with their values); the pages to add. Raises ValueError when they cannot be found."""
        written = {slug: sorted(rows) for slug, rows in self._written.items()}
        ranks: dict[str, int] | None = None
        rowids: list[int] = []
        added: list[tuple[int, Comparison]] = []
        for comparison in ordered:
            rows = written.get(comparison.slug, [])
            found = next((row for row in rows if row[1] == comparison.content_hash), None)
            if found is not None:
                rows.remove(found)
                rowids.append(found[0])
                continue
            if ranks is None:
                ranks = {s.display: rank for s, rank in zip(self.sources, self.keys(), strict=True)}
            rank = ranks.get(comparison.source)
            if rank is None:
                raise ValueError(f"no file found for {comparison.slug}")
            rowid = row_id(comparison.published, rank)
            rowids.append(rowid)
            added.append((rowid, comparison))
        if len(added) > len(ordered) // 2:
            # Most pages came from the parse cache (a reload): adding them here one by one
            # costs more than the usual build, whose text is made beside its writer.
            raise ValueError(f"{len(added)} of {len(ordered)} pages were not parsed in workers")
        if any(a >= b for a, b in itertools.pairwise(rowids)):
            raise ValueError("rowids out of publication order")
        values = {(c.slug, c.content_hash): c for c in self.dropped}
        deleted: list[tuple[int, Comparison]] = []
        for slug, rows in written.items():
            for rowid, content_hash in rows:
                dropped = values.get((slug, content_hash))
                if dropped is None:
                    raise ValueError(f"the row of {slug} cannot be deleted")
                deleted.append((rowid, dropped))
        return rowids, deleted, added

    def abandon(self) -> None:
        """Stop the writer and remove its file (the server stops, or the rows are unused)."""
        with self._lock:
            self._abandoned = True
            thread, partial = self._thread, self._partial
            if self._db is not None:
                self._db.interrupt()  # a merge takes seconds: stop it now
        if thread is not None:
            self.end()
            if thread is not threading.current_thread():
                thread.join()
            partial = self._partial
        if partial is not None:
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)
