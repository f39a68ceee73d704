"""Patching the static search index for a page's new words gives the bytes a full index gives,
or refuses when the shards would be split differently."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date
from pathlib import Path

from app.commands.search_patch import patch, patched_index, shard_sizes
from app.commands.static_search import (
    FOLDER,
    ordered,
    page_terms,
    shard_name,
    write_search_index,
)
from app.content.model import Comparison
from app.content.parse import parse_text
from tests.conftest import GOOD


def pages(count: int, rng: random.Random, words: list[str]) -> list[Comparison]:
    base, _problems = parse_text(GOOD, path="vim-vs-emacs.md", slug="vim-vs-emacs")
    assert base is not None
    return [
        replace(
            base,
            slug=f"page-{number}",
            intro=" ".join(rng.choices(words, k=40)),
            content_hash=f"hash-{number}",
        )
        for number in range(count)
    ]


def index(out: Path, comparisons: list[Comparison]) -> dict[str, bytes]:
    def write(path: Path, body: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)

    write_search_index(out, comparisons, write)
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}


def apply(files: dict[Path, bytes | None]) -> None:
    """Write what a patch writes, and remove the shards it empties, as a build does."""
    for path, body in files.items():
        if body is None:
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)


def files_in(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_a_patched_index_is_the_full_index_of_the_edited_pages(tmp_path: Path) -> None:
    rng = random.Random(17)
    # Enough distinct words (~70 KB of terms) that the index splits into several shards.
    words = ["".join(rng.choices("abcdefghij", k=rng.randint(3, 8))) for _ in range(2500)]
    site = pages(200, rng, words)
    patched = 0
    for attempt in range(12):
        before, after = tmp_path / f"before-{attempt}", tmp_path / f"after-{attempt}"
        index(before, site)
        assert len(shard_sizes(before)) > 3
        number = rng.randrange(len(site))
        page = ordered(site)[number]
        # New words: some known, some under letters no shard holds yet ("k".."o").
        extra = rng.choices(words, k=5) + ["".join(rng.choices("klmno", k=4))]
        edited = replace(page, intro=page.intro + " " + " ".join(extra), content_hash="new")
        if attempt % 3 == 0:  # also drop words
            edited = replace(edited, intro=" ".join(edited.intro.split()[10:]))
        new_site = [edited if c.slug == page.slug else c for c in site]
        full = index(after, new_site)
        files = patch(before, [(number, page_terms(page), page_terms(edited))], shard_sizes(before))
        if files is None:
            continue  # the shards split differently: the caller writes the whole index
        patched += 1
        apply(files)
        now = {
            p.relative_to(before).as_posix(): p.read_bytes()
            for p in before.rglob("*")
            if p.is_file()
        }
        assert sorted(n for n in now.keys() | full.keys() if now.get(n) != full.get(n)) == []
        assert all(p.relative_to(before).as_posix().startswith(FOLDER) for p in files)
    assert patched >= 6  # most edits keep the split


def test_pages_edited_together_that_gain_and_lose_the_same_words_are_all_patched(
    tmp_path: Path,
) -> None:
    # One build after a word was added to several pages and another taken from them (a
    # category renamed in each): the patch kept one page per word, the last edited, so the
    # others were missing from the word's postings until a full build.
    rng = random.Random(18)
    words = ["".join(rng.choices("abcdefghij", k=rng.randint(3, 8))) for _ in range(2500)]
    site = pages(200, rng, words)
    in_order = ordered(site)
    common = "zebra"
    numbers = sorted(rng.sample(range(len(in_order)), 5))
    lost = in_order[numbers[0]].intro.split()[0]
    changes = []
    edited: dict[str, Comparison] = {}
    for number in numbers:
        page = in_order[number]
        intro = " ".join(word for word in page.intro.split() if word != lost)
        after = replace(page, intro=f"{intro} {common}", content_hash=f"new-{number}")
        edited[page.slug] = after
        changes.append((number, page_terms(page), page_terms(after)))
    before, full_out = tmp_path / "before", tmp_path / "full"
    index(before, site)
    full = index(full_out, [edited.get(c.slug, c) for c in site])
    files = patch(before, changes, shard_sizes(before))
    assert files is not None
    apply(files)
    now = {
        p.relative_to(before).as_posix(): p.read_bytes() for p in before.rglob("*") if p.is_file()
    }
    assert sorted(n for n in now.keys() | full.keys() if now.get(n) != full.get(n)) == []


def test_a_word_added_then_taken_away_again_removes_the_shard_it_made(tmp_path: Path) -> None:
    # A page's own new word under letters no shard held made a new small shard; taking it
    # away emptied that shard, and the patch gave up: every such edit wrote the whole index
    # (~1,000 files at 10,000 pages). A full build makes no shard without words: it goes.
    rng = random.Random(19)
    words = ["".join(rng.choices("abcdefghij", k=rng.randint(3, 8))) for _ in range(2500)]
    site = pages(200, rng, words)
    number = 7
    page = ordered(site)[number]
    with_word = replace(page, intro=page.intro + " zqxzq", content_hash="with")  # no "z" shard
    out, full_out = tmp_path / "out", tmp_path / "full"
    index(out, [with_word if c.slug == page.slug else c for c in site])
    sizes = shard_sizes(out)
    files = patch(out, [(number, page_terms(with_word), page_terms(page))], sizes)
    assert files is not None
    assert [path.name for path, body in files.items() if body is None] == [
        f"{shard_name('z')}.json"
    ]
    apply(files)
    full = index(full_out, site)
    assert files_in(out) == full
    assert sizes == shard_sizes(out)


def test_a_page_after_every_other_is_patched_in_numbered_last(tmp_path: Path) -> None:
    rng = random.Random(20)
    words = ["".join(rng.choices("abcdefghij", k=rng.randint(3, 8))) for _ in range(2500)]
    site = pages(200, rng, words)
    newest = replace(site[0], slug="page-newest", content_hash="newest", published=date(2030, 1, 1))
    out, full_out = tmp_path / "out", tmp_path / "full"
    index(out, site)
    known = {page.content_hash: page_terms(page) for page in site}
    files = patched_index(
        out,
        ordered([*site, newest]),
        {newest.slug},
        built={page.slug: page.content_hash for page in site},
        known=known,
        order=[page.slug for page in ordered(site)],
        sizes=shard_sizes(out),
    )
    assert files is not None
    apply(files)
    assert files_in(out) == index(full_out, [*site, newest])
