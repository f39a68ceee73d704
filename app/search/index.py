"""The search index over the library: SQLite FTS5, ranked by bm25.

The tables are contentless (``content = ''``): snippets are cut from the comparisons already
in memory, so the index holds no second copy of every page's text. The server keeps it as a
file in the data folder named by the content (``index_file_name``), opened read-only:
its pages live in the kernel's page cache, shared by every worker, not in each process's
heap, and a restart on unchanged content opens the file instead of indexing again (issue 18:
RSS with 10,000 comparisons loaded went from 270 to 212 MB; at 100,000 the file is 425 MB, in
the page cache, not the heap). Without a folder (tests, benches) it is built in memory. A cold
start writes the file while its worker processes parse the library (``app.search.stream``):
rowids follow publication order without being positions (``row_id``), so each row can be
made before all pages are parsed; the file keeps its rowids.

One index per library version, built off the request path (a background thread warms it after
each load; the first search waits for it if it is not ready). Ranking reads bare rowids; snippets
are made only for the shown rows; recent result pages are kept in an LRU per index, since an
index never changes. The reader's text never reaches FTS5 as query syntax: we split it into
Unicode words ourselves and send each as a quoted string with a trailing ``*`` (prefix match),
so ``NEAR(``, ``AND``, quotes and ``*`` are just words.

A word that no longer indexed word starts with goes without the ``*`` (``whole_words``): it
matches exactly the pages, and the scores, the prefix would, but FTS5 answers a prefix by
merging the position lists of every word under it into one list first, which for common words
cost 3-5x the rest of the query (1.1 ms against 0.2 ms to walk 2,000 matches of three such
words). The index's sorted vocabulary, read once after the build, tells which words have longer
relatives.

Broad queries rank a bounded set. bm25 costs about 2-3 µs of CPU per matching row, so a word
found on all 10,000 pages took 25-30 ms per term, far over the 10 ms p99 target (issue 6). When a
query matches more than ``rank_limit`` pages (250 by default: for a word on 11,000 of 100,000
pages, 2,000 cost 13-18 ms of CPU, 500 4-6 ms, 250 2.5-4 ms), bm25 ranks only

- the newest ``rank_limit`` matches (rowids follow publication order, so "newest" is a rowid
  floor found by walking the match list without scoring it), and
- the newest ``rank_limit`` older pages whose title or option names hold every word (the pages
  a reader most likely wants, whatever their age; found in a small table of names alone),

merged by score, so the order within that set is exactly the full ranking's. The trade-off: an
old page that has the words only in its body, tags or category is not found by a query that
matches more than ``rank_limit`` pages; it is found by adding a word. ``Results`` says when this
happened (``capped``). Queries matching fewer pages are ranked in full.

Words on most pages are not scored at all: bm25 gives them nothing but its cost, and a query
made only of them lists pages in a static order, title first (``app.search.ranking``, which
holds the SQL of ranking and says why).

Over 400 lines: building the tables, querying them and live preview's in-place row updates
(``SearchIndex.update``) share the tables' layout and must change together.
"""

from __future__ import annotations

import array
import bisect
import functools
import hashlib
import inspect
import itertools
import logging
import marshal
import os
import queue
import re
import sqlite3
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from markupsafe import Markup

from app.atomic import write_atomic
from app.content.model import Comparison
from app.sealed import opened, seal
from app.search.ranking import WEIGHTS, Vocabulary, plan, ranked
from app.search.snippets import WordFinder, highlight, snippet

if TYPE_CHECKING:
    from app.search.stream import IndexStream

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 200  # longer input is cut, so a 3,000-char query costs what a short one does
MAX_TERMS = 12
# Most matches bm25 scores for one query (plus as many title/option matches); see the docstring.
RANK_LIMIT = 250
CACHE_SIZE = 1024  # recent result pages kept per index (the index is per library version)
TEXT_CACHE_SIZE = 2048  # rows whose indexed text is kept for snippets (~3 KB each)
# Up to six letters: a longer prefix is merged from its words at query time, and at 100,000
# synthetic pages a five-letter one ("tool5", of 200,000 option names) merged 22,000 of them
# (the slowest distinct queries, ~60 ms of CPU).
_PREFIXES = "2 3 4 5 6"
COLUMN_WEIGHTS = WEIGHTS  # the static export's index ranks with the same weights
# Control characters never reach the index: the snippet markers (app/search/snippets.py) are two of
# them, and they must never come from a page's own text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WORD = re.compile(r"\w+")
# Cheap Markdown-to-text: enough for matching and snippets, ~100x faster than rendering.
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_MARKS = re.compile(r"[`*_#>|~]+")
# Each pattern tests every character of a page's body (0.1-0.3 ms apiece, most of a search's
# CPU when its pages' text is not cached yet); these cheap scans skip the text they cannot change.
_MARKS = "`*_#>|~"
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])


def query_terms(text: str) -> list[str]:
    """The reader's words, as FTS5 will see them: Unicode word runs, capped in length and count."""
    # Lone surrogates (possible from a decoded URL) cannot be encoded for SQLite: drop them.
    clean = text[:MAX_QUERY_CHARS].encode("utf-8", "ignore").decode("utf-8")
    words = _WORD.findall(clean)
    # lower(), not casefold(): the tokenizer keeps "ß" (casefold makes it "ss", found nowhere).
    return [word.lower() for word in words if word.strip("_")][:MAX_TERMS]


def match_expression(terms: Iterable[str], exact: Collection[str] = ()) -> str:
    """``["rclo", "sync"]`` -> ``"rclo"* "sync"*``: every word as a prefix string, all required;
    the words in ``exact`` (see :func:`whole_words`) without the ``*``."""
    # Words hold only \w characters, so they can never contain the double quote.
    return " ".join(f'"{term}"' if term in exact else f'"{term}"*' for term in terms)


def whole_words(vocabulary: Sequence[str], terms: Iterable[str]) -> set[str]:
    """The terms to match as whole words rather than as prefixes.

    - A single ASCII letter or digit: as a prefix, "c" would match every word starting with c
      (and make FTS5 merge all of them); a reader typing "c vs rust" means the word.
    - An indexed word that no other indexed word starts with: the same pages and scores as the
      prefix, for less work. ``vocabulary`` is sorted; a term found in it verbatim is already in
      the tokenizer's folded form (folding is idempotent), so FTS5 reads it as that same word.
    """
    chosen: set[str] = set()
    for term in terms:
        if len(term) == 1 and term.isascii():
            chosen.add(term)
            continue
        at = bisect.bisect_left(vocabulary, term)
        if at < len(vocabulary) and vocabulary[at] == term:
            if at + 1 == len(vocabulary) or not vocabulary[at + 1].startswith(term):
                chosen.add(term)
    return chosen


def sole_completions(vocabulary: Sequence[str], terms: Iterable[str]) -> dict[str, str]:
    """Terms (two letters or more) that start exactly one indexed word and are not words
    themselves, mapped to that word. ``vocabulary`` is sorted and in the tokenizer's folded
    form; a term that folding would change finds nothing here and stays a prefix."""
    found: dict[str, str] = {}
    for term in terms:
        if len(term) < 2:
            continue
        at = bisect.bisect_left(vocabulary, term)
        if at == len(vocabulary) or vocabulary[at] == term:
            continue
        word = vocabulary[at]
        if word.startswith(term) and (
            at + 1 == len(vocabulary) or not vocabulary[at + 1].startswith(term)
        ):
            found[term] = word
    return found


def index_text(text: str) -> str:
    """Text as the index keeps it: composed (NFC, so "e" + U+0301 is the "é" the snippets fold
    and mark) and without control characters."""
    if text.isascii():  # NFC leaves ASCII as it is: only control characters could change
        raw = text.encode("ascii")
        if len(raw.translate(None, _CONTROL_BYTES)) == len(raw):
            return text
    return _CONTROL.sub(" ", unicodedata.normalize("NFC", text))


def markdown_text(source: str) -> str:
    """Markdown to plain words for the index (links keep their text, marks go)."""
    text = _MD_LINK.sub(r"\1", source) if "[" in source else source
    if any(mark in text for mark in _MARKS):
        text = _MD_MARKS.sub(" ", text)
    return index_text(text)


def document_columns(comparison: Comparison) -> tuple[str, str, str, str]:
    """What the index holds of a page: title, option names, category and tags, body (the
    server's index and the static export's, ``app.commands.static_search``)."""
    return (
        index_text(comparison.title),
        index_text(" ".join(comparison.option_names)),
        index_text(" ".join((comparison.category, *comparison.tags))),
        _body(comparison),
    )


def _body(comparison: Comparison) -> str:
    parts = [comparison.summary, comparison.intro]
    for option in comparison.options:
        parts.append(option.description)
        parts.extend(option.pros)
        parts.extend(option.cons)
    parts.append(comparison.verdict)
    parts.extend(case.body for case in comparison.use_cases)
    parts.append(comparison.bottom_line)
    return markdown_text("\n".join(parts))


@functools.cache
def _code_version() -> str:
    """Changes with what goes into the index and how (the functions that make the rows and
    the tables, the tokenizer's prefixes), so no stale file is used; query code may change."""
    digest = hashlib.sha256(_PREFIXES.encode())
    for function in (
        index_text,
        markdown_text,
        _body,
        document_columns,
        row_id,
        rowids_of,
        create_tables,
        bulk_load_settings,
        finish_tables,
        _build,
        _rows,
    ):
        digest.update(inspect.getsource(function).encode())
    return digest.hexdigest()


def index_file_name(ordered: Sequence[Comparison]) -> str:
    """The index file of these comparisons in this order: named by their slugs and content
    hashes, so a restart (or another worker) on unchanged content reuses the file."""
    digest = hashlib.sha256(_code_version().encode())
    for comparison in ordered:
        digest.update(f"{comparison.slug}\0{comparison.content_hash}\0".encode())
    return f"search-{digest.hexdigest()[:32]}.sqlite3"


# A row's rowid: its publication day above, the rank of its slug below (``row_id``).
_RANK_BITS = 24


def row_id(published: date, rank: int) -> int:
    """The rowid of a page published on ``published`` whose slug has ``rank`` among the
    slugs of its library (or of every file found: any ranking in slug order will do).

    Rowids follow publication order, ties by slug, as ranking needs (``app.search.ranking``:
    newest first is ``ORDER BY rowid DESC``), without being positions: a worker process that
    parsed one file can make that file's row alone, before the others are parsed
    (``app.search.stream``), and a row keeps its rowid however many pages come before it.
    """
    if not 0 <= rank < 1 << _RANK_BITS:
        raise ValueError(f"slug rank {rank} out of range")
    return (published.toordinal() << _RANK_BITS) | rank


def rowids_of(ordered: Sequence[Comparison]) -> list[int]:
    """The rowids of ``ordered`` (sorted by publication, then slug), ranking their slugs."""
    ranks = {slug: rank for rank, slug in enumerate(sorted(c.slug for c in ordered))}
    return [row_id(c.published, ranks[c.slug]) for c in ordered]


def _open(
    ordered: Sequence[Comparison], folder: Path | None, stream: IndexStream | None = None
) -> tuple[sqlite3.Connection, Path | None, array.array[int]]:
    """A connection to the index of ``ordered``: in memory without a folder; else the file in
    ``folder`` named by the content, made first when missing (or unreadable): from the rows
    ``stream`` wrote while the files were parsed when it holds exactly these pages, else
    built here; that file (None in memory); and the rowids of ``ordered``, in order.

    On disk the index costs no resident memory of its own: its pages are read through the
    kernel's page cache, which every worker of the machine shares, and a warm
    start (unchanged content) opens the file instead of indexing 100,000 pages again.
    """
    if folder is None:
        if stream is not None:
            stream.abandon()
        return _in_memory(ordered)
    path = folder / index_file_name(ordered)
    _remove_abandoned(folder)
    try:
        db, rowids = _open_file(path, len(ordered))
        if stream is not None:
            stream.abandon()
        return db, path, rowids
    except (sqlite3.Error, OSError, ValueError):
        pass
    try:
        finished = stream.finish(ordered) if stream is not None else None
        if finished is not None:
            partial = finished
        else:
            folder.mkdir(parents=True, exist_ok=True)
            partial = folder / f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp"
            partial.unlink(missing_ok=True)
            db = sqlite3.connect(partial)
            try:
                db.execute("PRAGMA journal_mode = OFF")
                db.execute("PRAGMA synchronous = OFF")
                _build(db, ordered)
                finish_tables(db, rowids_of(ordered))
                db.commit()
            finally:
                db.close()
        os.replace(partial, path)  # whole or not there: a crash leaves only a .tmp
        for old in (*folder.glob("search-*.sqlite3"), *folder.glob("search-*.vocabulary")):
            if old.name not in (path.name, _vocabulary_path(path).name):
                old.unlink(missing_ok=True)  # a worker still reading it keeps its open file
        db, rowids = _open_file(path, len(ordered))
        return db, path, rowids
    except (sqlite3.Error, OSError, ValueError) as exc:
        log.warning("cannot keep the search index in %s (%s); keeping it in memory", folder, exc)
        if stream is not None:
            stream.abandon()  # its file, if not renamed into place
        return _in_memory(ordered)


def _in_memory(
    ordered: Sequence[Comparison],
) -> tuple[sqlite3.Connection, None, array.array[int]]:
    db = sqlite3.connect(":memory:", check_same_thread=False)
    _build(db, ordered)
    return db, None, array.array("q", rowids_of(ordered))


# A partial index or edit copy untouched this long is abandoned, whatever its pid says (a
# restarted container's server often has the pid of the one before): a build writes all along.
_ABANDONED_SECONDS = 600.0


def _remove_abandoned(folder: Path) -> None:
    """Remove the partial index files (``_open``) and edit copies (``_make_writable``) that
    no process will finish: a server stopped meanwhile exits without its build thread's
    cleanup, and each such file is up to an index's size (~350 MB at 100,000 pages).

    A file is abandoned when the process named in it is gone, or it was not written for
    ``_ABANDONED_SECONDS``; another process's build (workers share the folder) is left alone."""
    try:
        partials = [*folder.glob(".search-*.tmp"), *folder.glob(".edited-*.tmp")]
    except OSError:
        return
    now = time.time()
    for partial in partials:
        name = partial.name
        owner = name.split(".")[-3] if name.startswith(".search-") else name.split("-")[1]
        try:
            stale = now - partial.stat().st_mtime > _ABANDONED_SECONDS
            if stale or (owner.isdigit() and not _alive(int(owner))):
                partial.unlink()
        except OSError:  # gone meanwhile (its build finished), or not ours to remove
            continue


def _alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (this machine's, as the pids in the names are)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # exists, another user's; or no pid at all
        return True
    return True


def _vocabulary_path(path: Path) -> Path:
    """Where the words of the index file ``path`` are kept (``_vocabulary``)."""
    return path.with_suffix(".vocabulary")


def _vocabulary(db: sqlite3.Connection, path: Path | None) -> Vocabulary:
    """Every word of the index and the pages holding it, read from the file kept beside the
    index file ``path`` when there is one, else from the index (and then kept there).

    Reading them from FTS5 walks the whole index: 0.27 s of CPU of a warm start at 100,000
    comparisons, against 2 ms for the marshal file. An index file never changes (it is named
    by its content and opened immutable), so neither do its words; live preview's edits
    change only the copy in memory (``SearchIndex.update``)."""
    kept = None if path is None else _vocabulary_path(path)
    if kept is not None:
        try:
            payload = opened(kept.read_bytes())  # None: damaged, or an unsealed older file
            words, counts = marshal.loads(payload) if payload is not None else (None, None)
            if isinstance(words, list) and isinstance(counts, list) and len(words) == len(counts):
                return Vocabulary(zip(words, counts, strict=True))
        except (OSError, EOFError, ValueError, TypeError, MemoryError):
            pass  # absent or damaged: read from the index and written again
    db.execute("CREATE VIRTUAL TABLE temp.vocabulary USING fts5vocab(main, docs, row)")
    try:
        rows: list[tuple[str, int]] = db.execute("SELECT term, doc FROM vocabulary").fetchall()
    finally:
        db.execute("DROP TABLE temp.vocabulary")
    vocabulary = Vocabulary(rows)
    if kept is not None:
        try:
            words = [word for word, _count in rows]
            write_atomic(kept, seal(marshal.dumps((words, [count for _word, count in rows]))))
        except OSError as exc:  # a read-only data folder costs warm starts, nothing else
            log.info("cannot keep the search vocabulary in %s: %s", kept, exc)
    return vocabulary


def _open_file(path: Path, rows: int) -> tuple[sqlite3.Connection, array.array[int]]:
    """A finished index file, read-only, and its ``rows`` rowids in publication order;
    raises if absent, unfinished or not of ``rows`` pages.

    Read, not memory-mapped: mapped pages count in each process's resident memory (up to the
    whole file, ~350 MB at 100,000 comparisons), read pages sit in the kernel's page cache,
    shared and reclaimable, plus SQLite's own small cache per connection."""
    if not path.is_file():
        raise FileNotFoundError(path)
    db = sqlite3.connect(f"{path.as_uri()}?mode=ro&immutable=1", uri=True, check_same_thread=False)
    try:
        db.execute("PRAGMA cache_size = -8192")  # KiB: the hot b-tree pages of common words
        ((kept,),) = db.execute("SELECT rowids FROM complete").fetchall()
        rowids = array.array("q", kept)
        if len(rowids) != rows or any(a >= b for a, b in itertools.pairwise(rowids)):
            raise ValueError(f"{path.name} holds other rowids")
    except (sqlite3.Error, ValueError, TypeError):
        db.close()
        raise
    return db, rowids


def create_tables(db: sqlite3.Connection) -> None:
    """The two contentless FTS5 tables, empty."""
    tokenize = "tokenize = 'unicode61 remove_diacritics 2'"
    # Prefix indexes answer the short prefixes readers type ("rcl", "dist") from one b-tree
    # range instead of merging every token that starts with them.
    db.execute(
        "CREATE VIRTUAL TABLE docs USING fts5(title, options, tags, body, content = '', "
        f"{tokenize}, prefix = '{_PREFIXES}')"
    )
    # Titles and option names again, on their own: finding the pages that name every word
    # then walks only those short lists, where a column filter on ``docs`` walked every body
    # match of the words (0.02 ms against 0.9 ms for three common words).
    db.execute(
        "CREATE VIRTUAL TABLE names USING fts5(title, options, content = '', "
        f"{tokenize}, prefix = '{_PREFIXES}')"
    )


def bulk_load_settings(db: sqlite3.Connection) -> None:
    """No merging while many rows go in (``merge_tables`` merges once at the end).

    By default FTS5 merges segments as rows go in ('automerge' 4, 'crisismerge' 16), then
    'optimize' merges them all again. At 100,000 comparisons the docs table took 12.0 s of CPU
    so, 8.1 s without the early merges (the tables hold the same rows either way: queries
    answer the same). A larger in-memory hash ('hashsize', 1 MB by default) flushes fewer,
    larger segments, which 'optimize' then merges faster (3.8 against 2.5 s at 100,000)."""
    for table in ("docs", "names"):
        db.execute(f"INSERT INTO {table}({table}, rank) VALUES ('automerge', 0)")
        db.execute(f"INSERT INTO {table}({table}, rank) VALUES ('crisismerge', {_MAX_SEGMENTS})")
        db.execute(f"INSERT INTO {table}({table}, rank) VALUES ('hashsize', {_HASH_BYTES})")


def merge_tables(db: sqlite3.Connection) -> None:
    """Merge each table's b-trees into one (queries on a bulk-loaded table are then faster),
    and go back to FTS5's merge defaults, kept in the file: live preview's edits
    (``SearchIndex.update``) add a segment each, which must be merged as they come."""
    for table in ("docs", "names"):
        db.execute(f"INSERT INTO {table}({table}) VALUES ('optimize')")
        db.execute(f"INSERT INTO {table}({table}, rank) VALUES ('automerge', 4)")
        db.execute(f"INSERT INTO {table}({table}, rank) VALUES ('crisismerge', 16)")


def finish_tables(db: sqlite3.Connection, rowids: Sequence[int]) -> None:
    """Mark an index file whole, with the rowids of its pages in publication order: which
    comparison each rowid is, for whoever opens the file (``_open_file``)."""
    db.execute("CREATE TABLE complete(rowids BLOB)")
    db.execute("INSERT INTO complete(rowids) VALUES (?)", (array.array("q", rowids).tobytes(),))


def insert_row(db: sqlite3.Connection, rowid: int, columns: tuple[str, str, str, str]) -> None:
    """One page's row in both tables (``document_columns``), outside a bulk load."""
    db.execute(
        "INSERT INTO docs(rowid, title, options, tags, body) VALUES (?, ?, ?, ?, ?)",
        (rowid, *columns),
    )
    db.execute("INSERT INTO names(rowid, title, options) VALUES (?, ?, ?)", (rowid, *columns[:2]))


def delete_row(db: sqlite3.Connection, rowid: int, columns: tuple[str, str, str, str]) -> None:
    """Take one page's row out of both tables: contentless tables need the values it was
    indexed with (``columns``), so bm25's statistics stay exact."""
    db.execute(
        "INSERT INTO docs(docs, rowid, title, options, tags, body) "
        "VALUES ('delete', ?, ?, ?, ?, ?)",
        (rowid, *columns),
    )
    db.execute(
        "INSERT INTO names(names, rowid, title, options) VALUES ('delete', ?, ?, ?)",
        (rowid, *columns[:2]),
    )


def _build(db: sqlite3.Connection, ordered: Sequence[Comparison]) -> None:
    """Both contentless FTS5 tables (rowids by ``rowids_of``), merged."""
    create_tables(db)
    bulk_load_settings(db)
    named: list[tuple[int, str, str]] = []
    with db:
        db.executemany(
            "INSERT INTO docs(rowid, title, options, tags, body) VALUES (?, ?, ?, ?, ?)",
            _rows(ordered, rowids_of(ordered), named),
        )
        db.executemany("INSERT INTO names(rowid, title, options) VALUES (?, ?, ?)", named)
        merge_tables(db)


# Segments one level of an FTS5 table may hold before it is merged during a bulk load (its
# most is 2,000): 1,000 against 64 saved another 1.5 s of the docs table's 8-9 s at 100,000.
_MAX_SEGMENTS = 1000
_HASH_BYTES = 16 << 20
# Rows whose text one thread makes for the SQLite writer at a time (``_rows``).
_BATCH = 256


def _rows(
    ordered: Sequence[Comparison], rowids: Sequence[int], named: list[tuple[int, str, str]]
) -> Iterator[tuple[int, str, str, str, str]]:
    """``docs``' rows in rowid order, each page's title and option names also added to
    ``named``. The text is made in a thread of its own while SQLite indexes the rows made
    before: SQLite releases the GIL while it tokenizes, so the two share the cores (the text is
    2.2 s of CPU at 100,000 comparisons, FTS5's inserts 6-8 s)."""
    made: queue.Queue[list[tuple[int, str, str, str, str]] | BaseException | None] = queue.Queue(
        maxsize=8
    )
    stop = threading.Event()  # the writer failed: make no more

    def hand(item: list[tuple[int, str, str, str, str]] | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                made.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def make() -> None:
        try:
            for start in range(0, len(ordered), _BATCH):
                batch = [
                    (rowid, *document_columns(comparison))
                    for rowid, comparison in zip(
                        rowids[start : start + _BATCH], ordered[start : start + _BATCH], strict=True
                    )
                ]
                if not hand(batch):
                    return
            hand(None)
        except BaseException as exc:  # raised again in the writer's thread
            hand(exc)

    maker = threading.Thread(target=make, name="search-index-text", daemon=True)
    maker.start()
    try:
        while (batch := made.get()) is not None:
            if isinstance(batch, BaseException):
                raise batch
            for row in batch:
                named.append((row[0], row[1], row[2]))
                yield row
    finally:
        stop.set()
        maker.join()


_EPOCH_DAY = date(1970, 1, 1).toordinal()


def _day_start(day: date) -> float:
    """``Comparison.published_at.timestamp()`` (the day's start, UTC) from the day alone:
    the same float, without a datetime per comparison."""
    return float((day.toordinal() - _EPOCH_DAY) * 86400)


@dataclass(frozen=True, slots=True)
class Hit:
    slug: str
    snippet: Markup  # HTML: escaped text with <mark> around matched words


@dataclass(frozen=True, slots=True)
class Results:
    terms: list[str]
    hits: list[Hit]
    has_next: bool
    # More pages matched than the index ranks: older body-only matches were left out.
    capped: bool = False

    def kept(self) -> Kept:
        """These results as the index's LRU keeps them (see ``Kept``)."""
        slugs = tuple(hit.slug for hit in self.hits)
        snippets = tuple(str(hit.snippet) for hit in self.hits)  # str(): a plain str copy
        return slugs, snippets, self.has_next, self.capped

    @classmethod
    def from_kept(cls, terms: list[str], kept: Kept) -> Results:
        slugs, snippets, has_next, capped = kept
        hits = [Hit(slug, Markup(html)) for slug, html in zip(slugs, snippets, strict=True)]
        return cls(terms, hits, has_next, capped)


# A kept result page: slugs and snippets' HTML, plain strings in tuples, which the cyclic
# garbage collector stops tracking once it has seen them. Kept as ``Results``, each page's
# ~50 Hit and Markup objects stayed tracked, and every full collection walked the whole LRU:
# after 1,000 distinct queries ~34,000 objects and a 21-24 ms full collection (100,000
# comparisons), paid by whichever request triggers it.
Kept = tuple[tuple[str, ...], tuple[str, ...], bool, bool]


class SearchIndex:
    """An FTS5 table over one set of comparisons; read-only after build, safe across threads."""

    def __init__(
        self,
        comparisons: Iterable[Comparison],
        *,
        cache_size: int = CACHE_SIZE,
        rank_limit: int = RANK_LIMIT,
        folder: Path | None = None,
        stream: IndexStream | None = None,
    ) -> None:
        """``stream``: the rows written while the library was parsed, used when they are
        exactly these comparisons' (``app.search.stream``)."""
        # Rows go in publication order, so the newest matches are a rowid range FTS5 walks
        # without scoring, and ties in bm25 break newest first without reading any column.
        # By day, which orders as ``published_at`` (the day's start) does without making
        # 100,000 datetimes (a quarter of a warm start's index opening).
        ordered = sorted(comparisons, key=lambda c: (c.published, c.slug))
        # The tables are contentless: the text of a shown row comes from its comparison.
        self._comparisons = ordered
        # Cleaning a page's Markdown for its snippet is ~30% of a broad query's CPU; the rows
        # shown most (the newest, the best named) repeat across queries.
        self._columns = functools.lru_cache(maxsize=TEXT_CACHE_SIZE)(self._columns_of)
        self._db, path, rowids = _open(ordered, folder, stream)
        # Ascending, as ``ordered``: a rowid's comparison is found by bisection. An array:
        # 0.8 MB at 100,000 pages, against 4 MB as a list of ints.
        self._rowids = rowids
        self._writable = False  # a file opened read-only until ``update`` copies it
        self._lock = threading.Lock()
        # The older named pages go to SQLite as bound values (``_ranked_broad``): never more
        # than this SQLite allows (32,766 since 3.32; 999 before).
        variables = self._db.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        self._rank_limit = max(1, min(rank_limit, variables - 8))
        self._slugs = [c.slug for c in ordered]
        # Visibility lives here, not in UNINDEXED columns: filtering in SQL read each matching
        # row's whole stored record (body included), which cost as much as ranking it.
        self._drafts = frozenset(rowid for rowid, c in zip(rowids, ordered, strict=True) if c.draft)
        scheduled = sorted(
            (_day_start(c.published), rowid)
            for rowid, c in zip(rowids, ordered, strict=True)
            if not c.draft
        )
        self._published = [stamp for stamp, _ in scheduled]
        self._published_rowids = [rowid for _, rowid in scheduled]
        self._cache: OrderedDict[tuple[object, ...], Kept] = OrderedDict()
        self._cache_size = cache_size
        self._edits = 0  # live preview's in-place updates so far (``update``)
        self._rows = len(ordered)
        # Every word and the pages holding it: which words have longer relatives, and which
        # are common (app.search.ranking), without counting anything per query.
        self._vocabulary = _vocabulary(self._db, path)

    def update(self, swaps: Sequence[tuple[Comparison, Comparison]]) -> None:
        """Re-index edited pages in place (live preview), each ``(old, new)`` with the same
        slug, publication moment and draft state, so every row keeps its rowid.

        A contentless table deletes a row given the values it was indexed with, which the
        kept comparison gives; FTS5 keeps bm25's statistics (row count, column sizes, word
        frequencies) exact through deletes, so ranks are those of an index built afresh. A
        file-backed index is first copied to a private writable file (the shared one is read
        only and named by the content it holds).
        """
        with self._lock:
            self._make_writable()
            with self._db:
                for old, new in swaps:
                    at = bisect.bisect_left(
                        self._comparisons,
                        (old.published_at, old.slug),
                        key=lambda c: (c.published_at, c.slug),
                    )
                    rowid = self._rowids[at]
                    before, after = document_columns(self._comparisons[at]), document_columns(new)
                    delete_row(self._db, rowid, before)
                    insert_row(self._db, rowid, after)
                    self._comparisons[at] = new
                    self._vocabulary = self._vocabulary.edited(
                        self._words_of(before), self._words_of(after)
                    )
            self._cache.clear()
            self._columns.cache_clear()
            self._edits += 1

    def _words_of(self, columns: tuple[str, str, str, str]) -> list[str]:
        """One row's distinct words, tokenized by a scratch table made with ``docs``' own
        definition, so the vocabulary's page counts follow an edit (which words are common,
        ``app.search.ranking``) without re-reading the whole index (seconds at 100,000)."""
        (definition,) = self._db.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'docs'"
        ).fetchone()
        self._db.execute(definition.replace("TABLE docs", "TABLE temp.scratch", 1))
        try:
            self._db.execute(
                "INSERT INTO temp.scratch(title, options, tags, body) VALUES (?, ?, ?, ?)",
                columns,
            )
            self._db.execute(
                "CREATE VIRTUAL TABLE temp.scratch_words USING fts5vocab(temp, scratch, row)"
            )
            return [term for (term,) in self._db.execute("SELECT term FROM scratch_words")]
        finally:
            self._db.execute("DROP TABLE IF EXISTS temp.scratch_words")
            self._db.execute("DROP TABLE temp.scratch")

    @property
    def writable(self) -> bool:
        """Whether ``update`` can write at once (in memory, or copied already)."""
        return self._writable

    def make_writable(self) -> None:
        """``_make_writable`` for a thread of its own (``Searcher.prepare_edits``)."""
        with self._lock:
            try:
                self._make_writable()
            except sqlite3.Error as exc:  # closed meanwhile (replaced), or no room: ``update``
                log.info("search index not copied for edits yet: %s", exc)  # tries again

    def _make_writable(self) -> None:
        """Swap a read-only index file for a private writable copy, unlinked at once (the
        open connection keeps it; its journal stays in memory, so no file is left behind)."""
        if self._writable:
            return
        (_seq, _name, path), *_ = self._db.execute("PRAGMA database_list").fetchall()
        if path:  # else in memory, writable already
            copy = Path(path).with_name(f".edited-{os.getpid()}-{id(self)}.tmp")
            writable = sqlite3.connect(copy, check_same_thread=False)
            try:
                self._db.backup(writable)
                writable.execute("PRAGMA journal_mode = MEMORY")
                writable.execute("PRAGMA synchronous = OFF")
            except sqlite3.Error:
                writable.close()
                raise
            finally:
                copy.unlink(missing_ok=True)
            self._db.close()
            self._db = writable
        self._writable = True

    def _hidden(self, now: datetime) -> frozenset[int]:
        """Rowids a reader must not see at ``now``: drafts and pages published later."""
        first_future = bisect.bisect_right(self._published, now.timestamp())
        if first_future == len(self._published):
            return self._drafts
        return self._drafts | frozenset(self._published_rowids[first_future:])

    def search(
        self,
        text: str,
        *,
        now: datetime,
        drafts: bool = False,
        limit: int = 24,
        offset: int = 0,
    ) -> Results:
        """Ranked hits for the reader's text; drafts and future pages only when ``drafts``."""
        terms = query_terms(text)
        if not terms:
            return Results(terms, [], False)
        hidden: frozenset[int] = frozenset() if drafts else self._hidden(now)
        # The index never changes, so a query's results change only when pages go live:
        # the hidden set's size says which pages are live (drafts fixed, schedule sorted).
        key = (tuple(terms), len(hidden), limit, offset)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
        if cached is not None:
            return Results.from_kept(terms, cached)
        # A prefix with one completion in the index is that word: the same rows and scores,
        # without FTS5 merging the prefix's terms (a third of a two-word query at 100,000).
        words = self._vocabulary.words
        completions = sole_completions(words, terms)
        matched = [completions.get(term, term) for term in terms]
        exact = whole_words(words, matched)
        query = plan(matched, exact, self._vocabulary, rows=self._rows, rank_limit=self._rank_limit)
        # Over-fetch by the hidden count, then drop them.
        wanted = offset + limit + 1
        try:
            with self._lock:
                ranked_rows, capped = ranked(
                    self._db, query, fetch=wanted + len(hidden), rank_limit=self._rank_limit
                )
                rows = [rowid for rowid in ranked_rows if rowid not in hidden][offset:wanted]
                shown = self._shown_text(rows[:limit])
                edits = self._edits
        except (sqlite3.OperationalError, sqlite3.ProgrammingError):
            # Our expression is always well formed; a closed (replaced) index is the one way
            # here, and a reader must never see a 500 for it.
            log.exception("search failed for terms %r", terms)
            return Results(terms, [], False)
        # Snippets outside the lock: plain Python over the shown rows' text.
        finder = WordFinder(matched, exact)
        hits = [
            Hit(
                self._slugs[self._position(rowid)], highlight(snippet(shown.get(rowid, ()), finder))
            )
            for rowid in rows[:limit]
        ]
        results = Results(terms, hits, len(rows) > limit, capped)
        with self._lock:
            if self._edits != edits:  # live preview re-indexed a page meanwhile: not kept
                return results
            self._cache[key] = results.kept()
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return results

    def _shown_text(self, rowids: list[int]) -> dict[int, tuple[str, ...]]:
        """The indexed text of the shown rows, body first, for their snippets."""
        shown: dict[int, tuple[str, ...]] = {}
        for rowid in rowids:
            title, options, tags, body = self._columns(rowid)
            shown[rowid] = (body, title, options, tags)
        return shown

    def _columns_of(self, rowid: int) -> tuple[str, str, str, str]:
        return document_columns(self._comparisons[self._position(rowid)])

    def _position(self, rowid: int) -> int:
        """Where the page of ``rowid`` is in publication order (rowids are sparse)."""
        return bisect.bisect_left(self._rowids, rowid)

    def close(self) -> None:
        with self._lock:
            self._db.close()


class Searcher:
    """Keeps one index per library version; builds the next one off the request path."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder  # where index files are kept; None: in memory
        self._index: SearchIndex | None = None
        self._version = -1
        self._build_lock = threading.Lock()
        # The rows written while a library version was parsed (``warm``), until its index
        # is made from them (whoever asks first: the warm-up or a reader's search).
        self._stream: tuple[int, IndexStream] | None = None
        self._stream_lock = threading.Lock()

    def index_for(self, version: int, comparisons: Iterable[Comparison]) -> SearchIndex:
        """The index for this library version, building it now if nobody has yet."""
        index = self._index
        if index is not None and self._version == version:
            return index
        with self._build_lock:
            stream = self._claim_stream(version)
            if self._index is not None and self._version == version:
                if stream is not None:
                    stream.abandon()
                return self._index
            started = time.perf_counter()
            try:
                index = SearchIndex(comparisons, folder=self.folder, stream=stream)
            except BaseException:
                if stream is not None:
                    stream.abandon()
                raise
            old, self._index, self._version = self._index, index, version
            log.info("search index ready in %.1f s", time.perf_counter() - started)
        if old is not None:
            old.close()
        return index

    def _claim_stream(self, version: int) -> IndexStream | None:
        """The stream of rows for ``version``, now this caller's; one of an older version is
        abandoned (its library was replaced before its index was made)."""
        with self._stream_lock:
            pending = self._stream
            if pending is None or pending[0] > version:
                return None
            self._stream = None
        if pending[0] < version:
            pending[1].abandon()
            return None
        return pending[1]

    @property
    def version(self) -> int:
        """The library version of the index kept now (-1: none yet)."""
        return self._version

    def patch(
        self, base: int, version: int, swaps: Sequence[tuple[Comparison, Comparison]]
    ) -> bool:
        """Move the kept index from library version ``base`` to ``version`` by re-indexing
        the edited pages (``SearchIndex.update``); False if it holds another version."""
        with self._build_lock:
            index = self._index
            if index is None or self._version != base:
                return False
            index.update(swaps)
            self._version = version
            return True

    def prepare_edits(self) -> threading.Thread | None:
        """Copy the kept index, if read-only, to a writable file in a daemon thread (SQLite
        copies without holding the GIL), so the first search after an edit does not wait."""
        index = self._index
        if index is None or index.writable:
            return None
        thread = threading.Thread(target=index.make_writable, name="search-copy", daemon=True)
        thread.start()
        return thread

    def expect(self, version: int, stream: IndexStream) -> None:
        """Make the index of library ``version`` from ``stream``'s rows when they are its
        comparisons' (``app.search.stream``). Called before that version is published:
        the first search may come before the warm-up, and must not build it the slow way."""
        with self._stream_lock:
            replaced, self._stream = self._stream, (version, stream)
        if replaced is not None:
            replaced[1].abandon()

    def warm(self, version: int, comparisons: list[Comparison]) -> threading.Thread:
        """Build the index in a daemon thread, so startup and reloads never wait for it."""
        thread = threading.Thread(
            target=self.index_for, args=(version, comparisons), name="search-index", daemon=True
        )
        thread.start()
        return thread
