"""The search index over the library: SQLite FTS5 in memory, ranked by bm25.

One index per library version, built off the request path (a background thread warms it after
each load; the first search waits for it if it is not ready). The reader's text never reaches
FTS5 as query syntax: we split it into Unicode words ourselves and send each as a quoted string
with a trailing ``*`` (prefix match), so ``NEAR(``, ``AND``, quotes and ``*`` are just words.
"""

from __future__ import annotations

import html
import logging
import re
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup

from app.content.model import Comparison

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 200  # longer input is cut, so a 3,000-char query costs what a short one does
MAX_TERMS = 12
# bm25 weights by column: slug (unindexed), title, options, tags+category, body.
_WEIGHTS = (0.0, 10.0, 6.0, 3.0, 1.0)
# Snippet markers: control characters that the indexed text never contains (we strip them),
# so after HTML-escaping the snippet they can be swapped for <mark> safely.
_OPEN, _CLOSE = "\x02", "\x03"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WORD = re.compile(r"\w+")
# Cheap Markdown-to-text: enough for matching and snippets, ~100x faster than rendering.
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_MARKS = re.compile(r"[`*_#>|~]+")


def query_terms(text: str) -> list[str]:
    """The reader's words, as FTS5 will see them: Unicode word runs, capped in length and count."""
    # Lone surrogates (possible from a decoded URL) cannot be encoded for SQLite: drop them.
    clean = text[:MAX_QUERY_CHARS].encode("utf-8", "ignore").decode("utf-8")
    words = _WORD.findall(clean)
    return [word.casefold() for word in words if word.strip("_")][:MAX_TERMS]


def match_expression(terms: Iterable[str]) -> str:
    """``["rclo", "sync"]`` -> ``"rclo"* "sync"*``: every word as a prefix string, all required."""
    # Words hold only \w characters, so they can never contain the double quote.
    return " ".join(f'"{term}"*' for term in terms)


def markdown_text(source: str) -> str:
    """Markdown to plain words for the index (links keep their text, marks go)."""
    text = _MD_LINK.sub(r"\1", source)
    text = _MD_MARKS.sub(" ", text)
    return _CONTROL.sub(" ", text)


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


@dataclass(frozen=True, slots=True)
class Hit:
    slug: str
    snippet: Markup  # HTML: escaped text with <mark> around matched words


@dataclass(frozen=True, slots=True)
class Results:
    terms: list[str]
    hits: list[Hit]
    has_next: bool


def highlight(raw: str) -> Markup:
    """Escape snippet text, then turn our private markers into ``<mark>`` tags."""
    escaped = html.escape(raw, quote=True)
    return Markup(escaped.replace(_OPEN, "<mark>").replace(_CLOSE, "</mark>"))


class SearchIndex:
    """An FTS5 table over one set of comparisons; read-only after build, safe across threads."""

    def __init__(self, comparisons: Iterable[Comparison]) -> None:
        # One connection shared by the server's threads; the lock serialises use of it.
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._lock = threading.Lock()
        self._db.execute(
            "CREATE VIRTUAL TABLE docs USING fts5("
            "slug UNINDEXED, title, options, tags, body, draft UNINDEXED, published UNINDEXED, "
            "tokenize = 'unicode61 remove_diacritics 2')"
        )
        rows = (
            (
                c.slug,
                _CONTROL.sub(" ", c.title),
                _CONTROL.sub(" ", " ".join(c.option_names)),
                _CONTROL.sub(" ", " ".join((c.category, *c.tags))),
                _body(c),
                int(c.draft),
                c.published_at.timestamp(),
            )
            for c in comparisons
        )
        with self._db:
            self._db.executemany("INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            # Merge the b-trees once: queries on a freshly bulk-loaded table are then faster.
            self._db.execute("INSERT INTO docs(docs) VALUES ('optimize')")

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
        weights = ", ".join(str(w) for w in _WEIGHTS)
        sql = (
            f"SELECT slug, snippet(docs, -1, ?, ?, '…', 16) FROM docs "
            f"WHERE docs MATCH ? {'' if drafts else 'AND draft = 0 AND published <= ?'} "
            f"ORDER BY bm25(docs, {weights}), slug LIMIT ? OFFSET ?"
        )
        params: list[object] = [_OPEN, _CLOSE, match_expression(terms)]
        if not drafts:
            params.append(now.timestamp())
        params += [limit + 1, offset]
        try:
            with self._lock:
                rows = self._db.execute(sql, params).fetchall()
        except (sqlite3.OperationalError, sqlite3.ProgrammingError):
            # Our expression is always well formed; a closed (replaced) index is the one way
            # here, and a reader must never see a 500 for it.
            log.exception("search failed for terms %r", terms)
            return Results(terms, [], False)
        hits = [Hit(slug, highlight(snippet or "")) for slug, snippet in rows[:limit]]
        return Results(terms, hits, len(rows) > limit)

    def close(self) -> None:
        with self._lock:
            self._db.close()


class Searcher:
    """Keeps one index per library version; builds the next one off the request path."""

    def __init__(self) -> None:
        self._index: SearchIndex | None = None
        self._version = -1
        self._build_lock = threading.Lock()

    def index_for(self, version: int, comparisons: Iterable[Comparison]) -> SearchIndex:
        """The index for this library version, building it now if nobody has yet."""
        index = self._index
        if index is not None and self._version == version:
            return index
        with self._build_lock:
            if self._index is not None and self._version == version:
                return self._index
            index = SearchIndex(comparisons)
            old, self._index, self._version = self._index, index, version
        if old is not None:
            old.close()
        return index

    def warm(self, version: int, comparisons: list[Comparison]) -> threading.Thread:
        """Build the index in a daemon thread, so startup and reloads never wait for it."""
        thread = threading.Thread(
            target=self.index_for, args=(version, comparisons), name="search-index", daemon=True
        )
        thread.start()
        return thread
