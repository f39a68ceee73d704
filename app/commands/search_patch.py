"""Patch the static search index for pages whose words changed and nothing else: the quick
incremental build's part of ``app/commands/static_search.py``.

A body edit keeps the page's number (the index orders pages by publication and slug, both
unchanged) and its result chunk (title, category, pick, summary), so only three things can
differ from a full build's index: the postings of the words the page lost or gained, its
length in ``meta.json`` (and the mean length), and the way terms are split into shards. The
split depends on each prefix's total size (``_shards``), which the record keeps per shard;
when an edit would move a boundary (a shard crossing ``SHARD_BYTES``, a split prefix falling
under it), ``patch`` answers None and the caller builds the whole index instead; a word
under a split prefix with no shard for its next letter gets the new small shard a full build
would make, and a shard left with no word goes, as a full build makes none (a page's own
word added and then taken away again).
Otherwise each touched shard file is read and changed, and its bytes are what a full build
writes.

An incremental build (``app/commands/export.py``) patches the index the same way
(``patched_index``) when the pages are the last build's, in the same order: a title, tag or
option edit changes the page's words and, for its title, category, pick or summary, its
document chunk, which is written again. A page added after every other (an editor's newest
page) is patched in as well, numbered last; anything else (a page removed, added among the
others or moved in the order) writes the whole index.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence, Set
from pathlib import Path

from app.commands.static_search import (
    CHUNK,
    FOLDER,
    MAX_PREFIX,
    SHARD_BYTES,
    PageTerms,
    Terms,
    chunk_json,
    chunk_path,
    index_json,
    page_terms,
    shard_name,
)
from app.content.model import Comparison


def shard_sizes(out: Path) -> dict[str, int]:
    """Each shard's size as ``_shards`` counts it (``_Term.size``), read from the index in
    ``out``; empty when there is none."""
    folder = out / FOLDER
    try:
        shards: list[str] = json.loads((folder / "meta.json").read_bytes())["shards"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    sizes: dict[str, int] = {}
    for prefix in shards:
        body = json.loads((folder / "t" / f"{shard_name(prefix)}.json").read_bytes())
        sizes[prefix] = _size(body)
    return sizes


def _home(term: str, split: set[str]) -> str:
    """The shard a term belongs in, walking ``_shards``' splits: an existing one, or the new
    leaf a full build would make for it under a split prefix."""
    prefix = ""
    while prefix in split:
        if len(term) <= len(prefix):
            break  # a split prefix's own term (the prefix itself)
        prefix = term[: len(prefix) + 1]
    return prefix


def patch(
    out: Path, changes: list[tuple[int, Terms, Terms]], sizes: dict[str, int]
) -> dict[Path, bytes | None] | None:
    """The index files that ``changes`` (page number, its old and its new ``page_terms``)
    rewrite in ``out`` (None: a shard file that goes), with ``sizes`` updated; None (and
    ``sizes`` as they were) when a full build would split the shards differently."""
    folder = out / FOLDER
    if not sizes:
        return None  # no index to patch
    shards = set(sizes)
    split = {prefix[:end] for prefix in shards for end in range(len(prefix))}
    # shard -> term -> page -> its new weight (0: the page lost the word). By page too: two
    # pages edited in one build often gain or lose the same word (a category renamed in
    # both), and each must be patched.
    edits: dict[str, dict[str, dict[int, int]]] = {}
    lengths: dict[int, int] = {}
    for number, (old, _old_length), (new, new_length) in changes:
        lengths[number] = new_length
        for term in old.keys() | new.keys():
            if old.get(term, 0) == new.get(term, 0):
                continue
            home = _home(term, split)
            edits.setdefault(home, {}).setdefault(term, {})[number] = new.get(term, 0)
    bodies: dict[str, dict[str, list[int]]] = {}
    emptied: set[str] = set()
    new_sizes = dict(sizes)
    for prefix, terms in edits.items():
        body = (
            json.loads((folder / "t" / f"{shard_name(prefix)}.json").read_bytes())
            if prefix in shards
            else {}  # a word under a split prefix with no shard for its next letter yet
        )
        for term, weights in terms.items():
            pages = _decode(body.get(term, []))
            for number, weight in weights.items():
                if weight:
                    pages[number] = weight
                else:
                    pages.pop(number, None)
            if pages:
                body[term] = _encode(pages)
            else:
                body.pop(term, None)
        if not body:
            # No word left under it: ``_shards`` makes shards of the prefixes that hold some.
            if prefix not in shards:
                continue  # a word added and taken away in one build: nothing to write
            emptied.add(prefix)
            del new_sizes[prefix]
            continue
        new_sizes[prefix] = _size(body)
        bodies[prefix] = dict(sorted(body.items()))
    if not _same_split(sizes, new_sizes, split, set(bodies) | emptied):
        return None
    meta = json.loads((folder / "meta.json").read_bytes())
    for number, length in sorted(lengths.items()):
        if number == len(meta["lengths"]):
            meta["lengths"].append(length)  # a page added after the last one
        elif number < len(meta["lengths"]):
            meta["lengths"][number] = length
        else:
            return None
    meta["pages"] = len(meta["lengths"])
    meta["shards"] = sorted(new_sizes)
    # As write_search_index computes it, so the float prints the same.
    meta["average"] = (sum(meta["lengths"]) / meta["pages"]) if meta["pages"] else 0
    files: dict[Path, bytes | None] = {
        folder / "t" / f"{shard_name(p)}.json": index_json(b) for p, b in bodies.items()
    }
    files.update((folder / "t" / f"{shard_name(p)}.json", None) for p in emptied)
    files[folder / "meta.json"] = index_json(meta)
    sizes.clear()
    sizes.update(new_sizes)
    return files


def patched_index(
    out: Path,
    pages: Sequence[Comparison],
    changed: Set[str],
    *,
    built: Mapping[str, str],
    known: PageTerms,
    order: Sequence[str],
    sizes: dict[str, int],
) -> dict[Path, bytes | None] | None:
    """The index files in ``out`` that the ``changed`` pages (slugs) rewrite (None: one that
    goes), when ``pages``
    (the visible ones, in ``ordered`` order) are those of the index, whose page order and
    shard sizes were ``order`` and ``sizes``; ``built``: each page's content hash in it,
    ``known``: words by content hash (the changed pages' are added). None when only a full
    build can say: other pages, a page's old words unknown, or the shards split otherwise."""
    if [c.slug for c in pages[: len(order)]] != list(order):
        return None
    number = {slug: n for n, slug in enumerate(order)}
    changes: list[tuple[int, Terms, Terms]] = []
    chunks: set[int] = set()
    # Pages after the last one (an editor's new page, the newest): numbered after the rest,
    # which keep theirs; each gains its words from none.
    added = {page.slug for page in pages[len(order) :]}
    for last in range(len(order), len(pages)):
        comparison = pages[last]
        new = known.get(comparison.content_hash)
        if new is None:
            new = known[comparison.content_hash] = page_terms(comparison)
        changes.append((last, ({}, 0), new))
        chunks.add(last // CHUNK)
    for slug in sorted(changed - added):
        at = number.get(slug)
        old = known.get(built.get(slug, ""))
        if at is None or old is None:
            return None
        comparison = pages[at]
        new = known.get(comparison.content_hash)
        if new is None:
            new = known[comparison.content_hash] = page_terms(comparison)
        changes.append((at, old, new))
        chunks.add(at // CHUNK)
    files = patch(out, changes, sizes)
    if files is None:
        return None
    for chunk in sorted(chunks):  # its title, category, pick or summary may be new
        files[chunk_path(out, chunk)] = chunk_json(pages, chunk)
    return files


def _size(body: dict[str, list[int]]) -> int:
    # _Term.size: len(text) + 6 per posting; a posting is two numbers of the flat list.
    return sum(len(term) + 3 * len(flat) for term, flat in body.items())


def _same_split(
    before: dict[str, int], after: dict[str, int], split: set[str], touched: set[str]
) -> bool:
    """Whether ``_shards`` cuts the new sizes as it cut the old: each split prefix above a
    touched shard still over ``SHARD_BYTES``, each touched leaf still within it."""
    checked = {prefix[:end] for prefix in touched for end in range(len(prefix) + 1)}
    under: dict[str, int] = dict.fromkeys(checked, 0)
    for prefix, size in after.items():
        for end in range(len(prefix) + 1):
            if prefix[:end] in under:
                under[prefix[:end]] += size
    for node, size in under.items():
        if node in split:
            if size <= SHARD_BYTES:
                return False
        elif size > SHARD_BYTES and len(node) < MAX_PREFIX and before.get(node) != size:
            return False
    return True


def _decode(flat: list[int]) -> dict[int, int]:
    pages: dict[int, int] = {}
    page = 0
    for index in range(0, len(flat), 2):
        page += flat[index]
        pages[page] = flat[index + 1]
    return pages


def _encode(pages: dict[int, int]) -> list[int]:
    flat: list[int] = []
    previous = 0
    for page in sorted(pages):
        flat += (page - previous, pages[page])
        previous = page
    return flat
