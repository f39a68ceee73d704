"""Search-result snippets: a short excerpt of a page's text around the reader's words, marked.

The search index (``app.search.index``) finds and ranks pages; this module shows why each one
matched. Words are found the way the index matched them: each reader's word as the start of a
word in the text (or as a whole word, for the words the index matched exactly), ignoring case
and the diacritics of Latin letters, with letters, digits and combining marks making up words,
as in SQLite's ``unicode61`` tokenizer.

Made in Python rather than by FTS5's ``snippet()``, which tokenized every column of each shown
row again and walked the query's matches across the rows' range: 1.3-2 ms per results page,
against 0.2-0.6 ms here (a plain substring search over the folded text finds candidates; the few
candidates are then checked for word boundaries).
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Collection, Iterable, Iterator

from markupsafe import Markup

# Snippet markers: control characters that the indexed text never contains (the index strips
# them), so after HTML-escaping the snippet they can be swapped for <mark> safely.
OPEN, CLOSE = "\x02", "\x03"
# A snippet shows about SNIPPET_CHARS of text, starting up to LEAD_CHARS before the first match.
SNIPPET_CHARS = 160
LEAD_CHARS = 40


def _fold_table() -> dict[int, str]:
    """Characters the tokenizer folds -> what it folds them to, one character for one.

    Latin letters with diacritics become their lowercase base letter, as ``remove_diacritics``
    does, and the few letters with a second lowercase form become the usual one (final sigma,
    long s, micro sign). ``str.translate`` with this table keeps every character at its
    position, so a match found in the folded text marks the same characters of the original.
    """
    table: dict[int, str] = {ord("ς"): "σ", ord("ſ"): "s", ord("µ"): "μ"}
    # Latin-1 Supplement, Latin Extended-A and -B, Latin Extended Additional (Vietnamese).
    for code in (*range(0xC0, 0x250), *range(0x1E00, 0x1F00)):
        decomposed = unicodedata.normalize("NFKD", chr(code))
        base = decomposed[:1]
        marks = decomposed[1:]
        if marks and base.isascii() and base.isalpha():
            if all(unicodedata.combining(mark) for mark in marks):
                table[code] = base.lower()
    return table


_FOLD = _fold_table()


def fold(text: str) -> str:
    """Lowercase, folded as the tokenizer folds, and exactly as long as ``text``.

    ``str.lower`` keeps the length of every character but "İ", which the table maps first
    (tests/test_snippets.py checks every code point).
    """
    return text.translate(_FOLD).lower()


def _in_word(char: str) -> bool:
    """Letters, digits and combining marks make words, as in the ``unicode61`` tokenizer."""
    return char.isalnum() or unicodedata.category(char)[0] == "M"


class WordFinder:
    """Where the reader's words occur in a text: as prefixes of its words, or whole words."""

    def __init__(self, terms: Iterable[str], exact: Collection[str] = ()) -> None:
        # The reader's words are folded like the text ("café" finds "Cafe"); longest first, so
        # "kafka" is tried before "ka"; an empty term would match anywhere.
        folded: dict[str, bool] = {}  # folded word -> matched whole (a prefix if either is)
        for term in filter(None, terms):
            key = fold(term)
            folded[key] = folded.get(key, True) and term in exact
        ordered = sorted(folded, key=len, reverse=True)
        self._prefixes = tuple(term for term in ordered if not folded[term])
        self._exact = frozenset(term for term in ordered if folded[term])
        # Plain alternation, no case folding or word assertions: re finds these fast; word
        # boundaries are checked below on the few candidates.
        self._candidates = re.compile("|".join(re.escape(term) for term in ordered) or "(?!)")

    def spans(self, folded: str, start: int = 0, end: int | None = None) -> Iterator[range]:
        """Each matched word's span in ``folded`` (see ``fold``), in order."""
        stop = len(folded) if end is None else end
        at = start
        while (found := self._candidates.search(folded, at, stop)) is not None:
            begin, finish = found.span()
            at = begin + 1
            if begin > 0 and _in_word(folded[begin - 1]):
                continue  # inside a word
            whole_word = finish == len(folded) or not _in_word(folded[finish])
            if found.group() in self._exact and whole_word:
                pass
            elif any(folded.startswith(prefix, begin) for prefix in self._prefixes):
                while finish < len(folded) and _in_word(folded[finish]):
                    finish += 1  # mark the whole word the prefix starts
            else:
                continue
            yield range(begin, finish)
            at = finish


def excerpt(text: str, words: WordFinder) -> str | None:
    """About ``SNIPPET_CHARS`` of ``text`` from a little before its first match, the matches
    between ``OPEN`` and ``CLOSE``, "…" where cut; None when none of the words is in ``text``."""
    folded = fold(text)
    first = next(words.spans(folded), None)
    if first is None:
        return None
    return _window(text, folded, words, first)


def snippet(columns: Iterable[str], words: WordFinder) -> str:
    """From the first column holding a match (body, title, options, tags), else the body's
    opening: a match can be in no column's text only through a tokenizer corner case."""
    texts = tuple(columns)
    for text in texts:
        found = excerpt(text, words)
        if found is not None:
            return found
    return opening(texts[0]) if texts else ""


def opening(text: str) -> str:
    """The first ``SNIPPET_CHARS`` of ``text``, for a page whose match was not in its text."""
    if len(text) <= SNIPPET_CHARS:
        return " ".join(text.split())
    cut = text.rfind(" ", 0, SNIPPET_CHARS)
    return " ".join(text[: cut if cut > 0 else SNIPPET_CHARS].split()) + "…"


def _window(text: str, folded: str, words: WordFinder, first: range) -> str:
    start = first.start - LEAD_CHARS
    if start <= 0:
        start = 0
    else:  # begin at a word
        space = _first_space(text, start, first.start)
        start = first.start if space == -1 else space + 1
    end = start + SNIPPET_CHARS
    if end >= len(text):
        end = len(text)
    else:  # end at a word
        space = _last_space(text, first.stop, end)
        end = max(end, first.stop) if space == -1 else space
    pieces = ["…"] if start > 0 else []
    at = start
    for span in words.spans(folded, start, end):
        pieces += [text[at : span.start], OPEN, text[span.start : span.stop], CLOSE]
        at = span.stop
    pieces.append(text[at:end])
    if end < len(text):
        pieces.append("…")
    return " ".join("".join(pieces).split())  # one line: the body's newlines are spaces


def _first_space(text: str, start: int, end: int) -> int:
    found = [at for at in (text.find(" ", start, end), text.find("\n", start, end)) if at != -1]
    return min(found, default=-1)


def _last_space(text: str, start: int, end: int) -> int:
    return max(text.rfind(" ", start, end), text.rfind("\n", start, end))


def highlight(raw: str) -> Markup:
    """Escape snippet text, then turn the markers into ``<mark>`` tags."""
    escaped = html.escape(raw, quote=True)
    return Markup(escaped.replace(OPEN, "<mark>").replace(CLOSE, "</mark>"))
