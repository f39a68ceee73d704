"""The search words a build keeps in OUT for the next: each page's read back only when asked."""

from __future__ import annotations

import marshal
from pathlib import Path

from app.commands.search_terms import NAME, StoredTerms


def test_words_kept_by_one_build_are_read_back_by_the_next(tmp_path: Path) -> None:
    words = StoredTerms()
    words["a1"] = ({"vim": 9, "emacs": 4}, 12)
    words["b2"] = ({"nano": 5}, 3)
    words["gone"] = ({"ed": 4}, 1)
    words.save(tmp_path, keep=["a1", "b2"])  # a page no longer built leaves no words
    again = StoredTerms.load(tmp_path)
    assert sorted(again) == ["a1", "b2"] and len(again) == 2
    assert again["a1"] == ({"vim": 9, "emacs": 4}, 12)
    assert again.get("gone") is None and "gone" not in again
    # Changed and kept again: the new words, the untouched page's bytes as they were.
    again["a1"] = ({"vim": 8}, 11)
    again.save(tmp_path, keep=["a1", "b2"])
    third = StoredTerms.load(tmp_path)
    assert dict(third) == {"a1": ({"vim": 8}, 11), "b2": ({"nano": 5}, 3)}


def test_a_damaged_page_or_file_means_words_cut_again_not_an_error(tmp_path: Path) -> None:
    stored = {"a1": marshal.dumps(({"vim": 9}, 1)), "b2": b"\x00not marshal"}
    (tmp_path / NAME).write_bytes(marshal.dumps(stored))
    words = StoredTerms.load(tmp_path)
    assert words.get("a1") == ({"vim": 9}, 1)
    assert words.get("b2") is None  # the build cuts that page into words again
    assert "b2" not in words and dict(words.items()) == {"a1": ({"vim": 9}, 1)}
    (tmp_path / NAME).write_bytes(b"a file of another format")
    assert len(StoredTerms.load(tmp_path)) == 0
    (tmp_path / NAME).write_bytes(marshal.dumps({"a1": ({"vim": 9}, 1)}))  # the "-2" shape
    assert len(StoredTerms.load(tmp_path)) == 0


def test_saving_removes_the_files_of_older_formats(tmp_path: Path) -> None:
    for name in (".nicepick-search-terms.marshal", ".nicepick-search-terms-2.marshal"):
        (tmp_path / name).write_bytes(b"older")
    StoredTerms().save(tmp_path, keep=[])
    assert sorted(p.name for p in tmp_path.iterdir()) == [NAME]
