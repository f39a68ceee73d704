"""Which rows a query ranks, and in what order: the SQL of one search over the index's tables.

bm25 is FTS5's ranking, with one cost that grows with the library and not with the results:
before scoring its first row it walks the whole match list of every word of the query to count
the pages holding it (the word's idf). A word on every one of 100,000 pages costs ~10 ms of CPU
for that count alone, each time, whatever else the query asks. For such a word the count buys
nothing: bm25's idf is ``log((N - n + 0.5) / (n + 0.5))``, below zero once a word is on more than
half the pages, and FTS5 then uses 1e-6 instead, so the word adds nothing to any score but a
tie-break. So a query's words are split by how many pages hold them (known from the index's
vocabulary, read once per index, so no query counts anything):

- a **common** word, on more than half the pages *and* on more than ``rank_limit`` pages (a
  small site ranks every word, as before, at no cost), must match but is not scored;
- every other word is scored by bm25 exactly as before, with the same weights and statistics.

A query of rarer words is ranked as before, up to those 1e-6 tie-breaks. A query whose words are
all common (in prose: "the", "with"; in a library of comparisons, maybe "latency") has nothing
bm25 would tell apart but word counts scaled by 1e-6, and is answered in the index's static
order instead, title first as always: pages whose title holds every word, then those whose title
and option names hold them, then every other match; newest first within each. That reads only
the rows a page shows, whatever the library's size, and leaves nothing out: every match is on
some page. (Before, such a query scored its 2,000 newest matches by word count.) The static
export's search (``static/search.js``) applies these rules and the rank limit below the same
way, from the page counts and the title/option bits its index files hold
(``app/commands/static_search.py``); a change here must be made there too (the browser tests
compare the two).

A query with scored words that matches more than ``rank_limit`` pages scores a bounded set, as
described in ``app.search.index``: the newest ``rank_limit`` matches and the newest
``rank_limit`` older pages whose title and option names hold every word.
"""

from __future__ import annotations

import bisect
import itertools
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# bm25 weights by column: title, options, tags+category, body. bm25 is lower for better rows;
# ties go to the newer page (higher rowid: rows are in publication order).
WEIGHTS = (10.0, 6.0, 3.0, 1.0)
_SCORE = f"bm25(docs, {', '.join(str(w) for w in WEIGHTS)})"
_BY_SCORE = f"ORDER BY {_SCORE}, rowid DESC"
_NEWEST = "ORDER BY rowid DESC LIMIT ?"


class Vocabulary:
    """The index's words, sorted, with how many pages hold each: read once per index."""

    def __init__(self, counts: Iterable[tuple[str, int]]) -> None:
        ordered = sorted(counts)
        self.words = [word for word, _ in ordered]
        self._counts = [count for _, count in ordered]
        # Pages holding words[:i] summed, so a prefix's words are summed in two bisections.
        self._running = [0, *itertools.accumulate(count for _, count in ordered)]

    def edited(self, removed: Iterable[str], added: Iterable[str]) -> Vocabulary:
        """This vocabulary after one page lost the words ``removed`` and gained ``added`` (a
        live edit, ``SearchIndex.update``). A word left on no page stays, counted 0: it
        matches nothing, so it changes no answer."""
        counts = dict(zip(self.words, self._counts, strict=True))
        for word in removed:
            counts[word] -= 1
        for word in added:
            counts[word] = counts.get(word, 0) + 1
        return Vocabulary(counts.items())

    def pages(self, term: str, *, exact: bool) -> int:
        """Pages holding ``term`` (``exact``) or a word it starts: for a prefix, the sum over
        its words, which counts a page holding two of them twice (an upper bound)."""
        start = bisect.bisect_left(self.words, term)
        if exact:
            found = start < len(self.words) and self.words[start] == term
            return self._running[start + 1] - self._running[start] if found else 0
        end = bisect.bisect_left(self.words, term + "\U0010ffff", start)
        return self._running[end] - self._running[start]


@dataclass(frozen=True, slots=True)
class Plan:
    """One query as FTS5 expressions: what must match, and which of it bm25 scores."""

    matched: str  # every word, all required
    scored: str  # the words bm25 ranks by; empty when every word is common
    in_titles: str  # every word, all in the title


def phrase(term: str, exact: bool) -> str:
    # Words hold only \w characters, so they can never contain the double quote.
    return f'"{term}"' if exact else f'"{term}"*'


def plan(
    terms: Sequence[str],
    exact: Iterable[str],
    vocabulary: Vocabulary,
    *,
    rows: int,
    rank_limit: int,
) -> Plan:
    """Split ``terms`` into scored and common words (see the module docstring)."""
    whole = set(exact)
    phrases = [phrase(term, term in whole) for term in terms]
    common = max(rows // 2, rank_limit)
    scored = [
        text
        for term, text in zip(terms, phrases, strict=True)
        if vocabulary.pages(term, exact=term in whole) <= common
    ]
    matched = " ".join(phrases)
    return Plan(matched, " ".join(scored), "{title} : (" + matched + ")")


def ranked(
    db: sqlite3.Connection, query: Plan, *, fetch: int, rank_limit: int
) -> tuple[list[int], bool]:
    """The best ``fetch`` rowids, best first; and whether matches were left unranked."""
    if not query.scored:
        return _static(db, query, fetch), False
    # Walking the matches newest first without scoring them is ~30x cheaper than bm25:
    # the rank_limit-th newest is the floor, and a row past it means the query is broad.
    newest = [
        rowid
        for (rowid,) in db.execute(
            f"SELECT rowid FROM docs WHERE docs MATCH ? {_NEWEST}", (query.matched, rank_limit + 1)
        )
    ]
    capped = len(newest) > rank_limit
    if not newest:
        return [], False
    if capped:
        return _ranked_broad(db, query, newest[:rank_limit], fetch, rank_limit), True
    if query.scored == query.matched:
        rows = db.execute(
            f"SELECT rowid FROM docs WHERE docs MATCH ? {_BY_SCORE} LIMIT ?",
            (query.matched, fetch),
        ).fetchall()
        return [rowid for (rowid,) in rows], False
    return [rowid for rowid, _ in _scores(db, query.scored, newest, fetch)], False


def _static(db: sqlite3.Connection, query: Plan, fetch: int) -> list[int]:
    """Title holders, then title-and-options holders, then the rest; newest first in each."""
    found: dict[int, None] = {}
    for sql, expression in (
        (f"SELECT rowid FROM names WHERE names MATCH ? {_NEWEST}", query.in_titles),
        (f"SELECT rowid FROM names WHERE names MATCH ? {_NEWEST}", query.matched),
        (f"SELECT rowid FROM docs WHERE docs MATCH ? {_NEWEST}", query.matched),
    ):
        # Each list may repeat every row already found: ask for that many more.
        for (rowid,) in db.execute(sql, (expression, fetch + len(found))):
            found.setdefault(rowid)
        if len(found) >= fetch:
            break
    return list(found)[:fetch]


def _ranked_broad(
    db: sqlite3.Connection, query: Plan, newest: list[int], fetch: int, rank_limit: int
) -> list[int]:
    """The best ``fetch`` of: the ``newest`` matches, and the newest rank_limit older pages
    whose title and option names hold every word.

    Two rankings, merged by score: FTS5's bm25 takes its statistics from the whole table,
    so a row scores the same in either query, and the merge is the one ranking of the
    union. Each query reads only its own rows: ``rowid >= floor`` is a range FTS5 seeks
    to, and the older named rows are filtered inside their rowid span by ``+rowid IN``
    (plain ``rowid IN`` makes FTS5 run the whole match once per value).
    """
    floor = newest[-1]
    if query.scored == query.matched:
        scored = db.execute(
            f"SELECT rowid, {_SCORE} FROM docs WHERE docs MATCH ? AND rowid >= ? "
            f"{_BY_SCORE} LIMIT ?",
            (query.matched, floor, fetch),
        ).fetchall()
    else:
        scored = _scores(db, query.scored, newest, fetch)
    named = [
        rowid
        for (rowid,) in db.execute(
            "SELECT rowid FROM names WHERE names MATCH ? AND rowid < ? ORDER BY rowid DESC LIMIT ?",
            (query.matched, floor, rank_limit),
        )
    ]
    if named:
        scored += _scores(db, query.scored, named, fetch)
        scored.sort(key=lambda row: (row[1], -row[0]))  # the SQL order, over both
    return [rowid for rowid, _score in scored[:fetch]]


def _scores(
    db: sqlite3.Connection, scored: str, rowids: list[int], fetch: int
) -> list[tuple[int, float]]:
    """The best ``fetch`` of ``rowids`` (newest first) by bm25 over the ``scored`` words."""
    marks = ", ".join("?" * len(rowids))
    return db.execute(
        f"SELECT rowid, {_SCORE} FROM docs WHERE docs MATCH ? "
        f"AND rowid BETWEEN ? AND ? AND +rowid IN ({marks}) {_BY_SCORE} LIMIT ?",
        (scored, rowids[-1], rowids[0], *rowids, fetch),
    ).fetchall()
