"""The static search index: words cut as the server's FTS5 cuts them, shards that cover it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.commands.static_search import OPTIONS, TITLE, _shards, _Term, page_terms, tokens_of
from app.content.library import Library
from tests.conftest import GOOD

SAMPLES = [
    "PostgreSQL 17.2 vs SQLite 3.47",
    "Crème brûlée, naïve café — Ångström",
    "snake_case and kebab-case; C++ and C#",
    "Ünïcödé ДЖЕМ Straße 東京 tokyo2026",
    "e\u0301 composed and decomposed é",
]


@pytest.mark.parametrize("text", SAMPLES)
def test_words_are_cut_as_fts5_cuts_them(text: str) -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize = 'unicode61 remove_diacritics 2')")
    db.execute("INSERT INTO t(rowid, x) VALUES (1, ?)", (text,))
    db.execute("CREATE VIRTUAL TABLE temp.v USING fts5vocab(main, t, instance)")
    fts5 = [term for (term,) in db.execute('SELECT term FROM temp.v ORDER BY "offset"')]
    assert tokens_of(text) == fts5


def test_every_term_lands_in_the_longest_shard_prefix_of_it() -> None:
    terms = [_Term(f"tool{n}a", [(n, 1)] * 40) for n in range(400)] + [_Term("to", [(0, 1)])]
    shards = _shards(terms)
    assert len(shards) > 1
    for prefix, members in shards.items():
        for term in members:
            assert term.text.startswith(prefix)
            longer = [p for p in shards if len(p) > len(prefix) and term.text.startswith(p)]
            assert not longer, (term.text, prefix, longer)
    assert sorted(t.text for members in shards.values() for t in members) == sorted(
        t.text for t in terms
    )


def test_each_posting_says_whether_the_title_or_the_option_names_hold_the_word(
    tmp_path: Path,
) -> None:
    (tmp_path / "vim-vs-emacs.md").write_text(
        GOOD.replace("title: Vim vs Emacs", "title: Vim Duel")
    )
    (comparison,) = Library.load(tmp_path).comparisons.values()
    terms, _length = page_terms(comparison)
    assert terms["vim"] % 4 == TITLE | OPTIONS
    assert terms["emacs"] % 4 == OPTIONS  # not in this title
    assert terms["duel"] == 4 * 10 + TITLE  # title weight 10, once
    assert terms["modal"] == 4 * 2  # twice in the body (weight 1), in neither
    assert terms["editors"] == 4 * (3 + 2)  # a tag (weight 3) and twice in the body
