"""Search for a static host: the export's index files, read by ``static/search.js``.

The server ranks with SQLite FTS5's bm25 (``app/search/index.py``, ``app/search/ranking.py``):
every word of the query is required as a prefix, columns weighted title 10, options 6, category
and tags 3, body 1, ties to the newer page; a word on more than half the pages (and more than
the rank limit) only filters; a query of such words alone lists title holders, then
title-and-option holders, then the rest, newest first; a query over the rank limit scores only
its newest matches and the newest older pages whose title and option names hold every word.
The export writes what those rules need and nothing else, so the script ranks as the server
does, in the browser:

- ``search-index/meta.json``: the number of pages, their mean length in tokens, each page's
  length (bm25 normalises by it), the column weights, the server's rank limit, and the list of
  term shards;
- ``search-index/t/<prefix>.json``: the terms that start with ``prefix`` (and with no longer
  shard's prefix), each with its pages and, for each, ``4 * sum(w_c * f_c) + where``: the
  weighted count FTS5's bm25 sums per phrase, and where the term is (``TITLE`` 2, ``OPTIONS``
  1, both 3), which the static order and the rank limit's named pages read; page numbers
  delta-encoded;
- ``search-index/d/<n>.json``: what a result shows (slug, title, category, pick, summary) for
  pages ``n * CHUNK`` onwards, fetched only for the results on screen.

Pages are cut into words as FTS5's ``unicode61 remove_diacritics 2`` tokenizer cuts them
(``tokens_of``; a test compares the two). Reading FTS5's own tokens back (``fts5vocab``
``instance``) cost 4.5 us a token, 20 s for 10,000 pages; this costs a quarter of that.
Shards split by longer prefixes until each is under ``SHARD_BYTES``: a query fetches the
metadata, one or a few shards per word and the few document chunks it shows. Differences
from the server: no snippets (the summary is shown), and only exported pages count, in bm25's
statistics and in which words are on more than half the pages (the server's index also holds
drafts and future pages).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.content.model import Comparison
from app.search.index import COLUMN_WEIGHTS, RANK_LIMIT, document_columns

FOLDER = "search-index"
CHUNK = 16  # pages per document chunk: 24 results touch at most 24 chunks of ~2.5 KB
SHARD_BYTES = 24 * 1024  # a shard over this is split by the next character of its terms
_MAX_PREFIX = 12
MAX_PREFIX = _MAX_PREFIX  # for app/commands/search_patch.py, which must split as _shards
_WEIGHTS = tuple(int(weight) for weight in COLUMN_WEIGHTS)
_TOKEN = re.compile(r"[^\W_]+")
# Where a term is on a page, the low two bits of its posting's value: the server's static
# order and its rank limit's named pages ask whether the title, or the title and option
# names, hold every word (app/search/ranking.py).
TITLE, OPTIONS = 2, 1
_WHERE = (TITLE, OPTIONS, 0, 0)  # by column: title, options, category and tags, body

Write = Callable[[Path, bytes], None]


@dataclass(frozen=True)
class _Term:
    text: str
    postings: list[tuple[int, int]]  # (page number, 4 * weighted count + where), page order

    def encoded(self) -> list[int]:
        flat: list[int] = []
        previous = 0
        for page, weight in self.postings:
            flat += (page - previous, weight)
            previous = page
        return flat

    def size(self) -> int:
        return len(self.text) + 6 * len(self.postings)  # a good guess of its JSON bytes


def ordered(comparisons: Sequence[Comparison]) -> list[Comparison]:
    """Pages in the server's row order: publication time, then slug (ties go to later rows)."""
    return sorted(comparisons, key=lambda c: (c.published_at, c.slug))


def page_terms(comparison: Comparison) -> tuple[dict[str, int], int]:
    """A page's terms, each with ``4 * sum(w_c * f_c) + where`` (the weighted count FTS5's
    bm25 adds up per query word, and the ``TITLE`` / ``OPTIONS`` bits of the columns holding
    it), and its length in tokens."""
    weighted: dict[str, int] = {}
    length = 0
    for text, weight, where in zip(document_columns(comparison), _WEIGHTS, _WHERE, strict=True):
        tokens = tokens_of(text)
        length += len(tokens)
        # Each distinct word once, with its count (counted in C; a page's ~540 words are a
        # few hundred distinct): adding a multiple of 4 keeps the low bits, so ``count``
        # steps of ``4 * weight`` are one step of their sum.
        for token, count in Counter(tokens).items():
            weighted[token] = (weighted.get(token, 0) + 4 * weight * count) | where
    return weighted, length


def tokens_of(text: str) -> list[str]:
    """Words as FTS5's ``unicode61 remove_diacritics 2`` cuts them: runs of letters and
    digits (the underscore separates), lower case, combining marks removed."""
    if not text.isascii():
        text = "".join(ch for ch in unicodedata.normalize("NFD", text) if not _is_mark(ch))
    return _TOKEN.findall(text.lower())


def _is_mark(ch: str) -> bool:
    return unicodedata.category(ch).startswith("M")


Terms = tuple[dict[str, int], int]  # page_terms(): a page's weighted words, its length
PageTerms = MutableMapping[str, Terms]  # content hash -> page_terms() (search_terms.py)


def _terms(pages: Sequence[Comparison], known: PageTerms) -> tuple[list[_Term], list[int]]:
    """Every indexed term with its postings, and each page's length in tokens; ``known``
    holds each page's terms by content hash, filled in for pages it lacked."""
    postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
    lengths: list[int] = []
    for number, comparison in enumerate(pages):
        found = known.get(comparison.content_hash)
        if found is None:
            found = known[comparison.content_hash] = page_terms(comparison)
        weighted, length = found
        lengths.append(length)
        for term, weight in weighted.items():
            postings[term].append((number, weight))
    return [_Term(term, postings[term]) for term in sorted(postings)], lengths


def _shards(terms: list[_Term], prefix: str = "") -> dict[str, list[_Term]]:
    """Terms grouped by the shortest prefix that keeps each group under ``SHARD_BYTES``."""
    if (
        sum(term.size() for term in terms) <= SHARD_BYTES
        or len(prefix) >= _MAX_PREFIX
        or prefix
        and all(len(term.text) <= len(prefix) for term in terms)
    ):
        return {prefix: terms}
    own = [term for term in terms if len(term.text) <= len(prefix)]
    children: dict[str, list[_Term]] = defaultdict(list)
    for term in terms:
        if len(term.text) > len(prefix):
            children[term.text[: len(prefix) + 1]].append(term)
    shards: dict[str, list[_Term]] = {prefix: own} if own else {}
    for child, members in children.items():
        shards.update(_shards(members, child))
    return shards


def shard_name(prefix: str) -> str:
    """A file name for a prefix: its UTF-8 bytes in hex (any script, no escaping questions)."""
    return prefix.encode("utf-8").hex() or "_"


def write_search_index(
    out: Path, comparisons: Sequence[Comparison], write: Write, known: PageTerms | None = None
) -> int:
    """Write the index files for ``comparisons`` (the visible ones) into ``out``; return how
    many files were written. ``known``: pages' terms from the last build, by content hash
    (cutting 10,000 pages into words is most of the index's time); new ones are added."""
    pages = ordered(comparisons)
    terms, lengths = _terms(pages, {} if known is None else known)
    shards = _shards(terms)
    folder = out / FOLDER
    written = 0
    for prefix, members in shards.items():
        body = {term.text: term.encoded() for term in members}
        write(folder / "t" / f"{shard_name(prefix)}.json", _json(body))
        written += 1
    for start in range(0, len(pages), CHUNK):
        write(chunk_path(out, start // CHUNK), chunk_json(pages, start // CHUNK))
        written += 1
    meta = {
        "pages": len(pages),
        "average": (sum(lengths) / len(pages)) if pages else 0,
        "lengths": lengths,
        "weights": [int(w) for w in COLUMN_WEIGHTS],
        "rank_limit": RANK_LIMIT,
        "chunk": CHUNK,
        "shards": sorted(shards),
    }
    write(folder / "meta.json", _json(meta))
    return written + 1


def chunk_path(out: Path, number: int) -> Path:
    """Where document chunk ``number`` is written."""
    return out / FOLDER / "d" / f"{number}.json"


def chunk_json(pages: Sequence[Comparison], number: int) -> bytes:
    """Document chunk ``number`` of ``pages`` (in ``ordered`` order): what each result shows."""
    start = number * CHUNK
    return _json(
        [
            [c.slug, c.title, c.category, c.category_slug, c.pick, c.summary]
            for c in pages[start : start + CHUNK]
        ]
    )


def _json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def index_json(value: object) -> bytes:
    """An index file's bytes, as ``write_search_index`` writes them (for a patch of it)."""
    return _json(value)
