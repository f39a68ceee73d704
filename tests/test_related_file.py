"""The related index kept in the data folder: read back only for the very same comparisons."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from fastapi.testclient import TestClient

from app.content.model import Comparison
from app.pages import related_file
from app.pages.navigation import RelatedIndex
from app.settings import Settings
from tests.conftest import GOOD, SiteMaker
from tests.test_related_scale import comparison


def pages() -> list[Comparison]:
    """More pages per key than the pools keep, so which ones are kept matters."""
    return [
        comparison(n, category=f"Category {n % 3}", tags=(f"tag-{n % 5}", f"pair-{n // 2}"))
        for n in range(400)
    ]


def slugs(found: list[Comparison]) -> list[str]:
    return [c.slug for c in found]


def test_read_back_answers_as_the_index_built(tmp_path: Path) -> None:
    candidates = pages()
    built = RelatedIndex(candidates, per_key=8)
    path = tmp_path / related_file.FILE_NAME
    related_file.write(path, candidates, built, per_key=8)

    read = related_file.read(path, candidates, per_key=8)

    assert read is not None
    for page in candidates:
        assert slugs(read.related(page)) == slugs(built.related(page))
        assert read.lone_tags(page) == built.lone_tags(page)
    # the pages found are the candidates themselves, not copies
    assert read.related(candidates[0])[0] in candidates


def test_an_edited_page_is_not_read_back(tmp_path: Path) -> None:
    candidates = pages()
    path = tmp_path / related_file.FILE_NAME
    related_file.write(path, candidates, RelatedIndex(candidates))
    edited = list(candidates)
    edited[7] = dataclasses.replace(edited[7], tags=("elsewhere",), content_hash="edited")

    assert related_file.read(path, edited) is None
    assert related_file.read(path, candidates[:-1]) is None  # a page gone (or unpublished)
    assert related_file.read(path, candidates[::-1]) is None  # another order
    assert related_file.read(path, candidates, per_key=8) is None  # pools of another length
    assert related_file.read(path, candidates) is not None


def test_a_damaged_or_missing_file_is_built_again(tmp_path: Path) -> None:
    candidates = pages()
    path = tmp_path / related_file.FILE_NAME
    assert related_file.read(path, candidates) is None
    path.write_bytes(b"\x00not marshal")
    assert related_file.read(path, candidates) is None


NANO = GOOD.replace("Vim", "Nano").replace("vim", "nano")
# The same file once edited to share nothing with vim-vs-emacs: other options, tags, category.
NANO_ALONE = (
    NANO.replace("Emacs", "Pico")
    .replace("category: Dev Tools", "category: Office")
    .replace("tags: [editors, terminal]", "tags: [office]")
    .replace("- terminal", "- office")
    .replace("- lisp", "- office")
)


def related_slugs(client: TestClient, slug: str) -> list[str]:
    twin = client.get(f"/compare/{slug}.json").json()
    return [other["slug"] for other in twin["related"]]


def test_a_restart_reads_the_kept_index_and_an_edit_between_starts_is_seen(
    settings: Settings, make_site: SiteMaker
) -> None:
    first = make_site({"vim-vs-emacs.md": GOOD, "nano-vs-emacs.md": NANO})
    assert related_slugs(first, "vim-vs-emacs") == ["nano-vs-emacs"]
    kept = settings.data_dir / related_file.FILE_NAME
    assert kept.is_file()

    again = make_site({})  # unchanged content: the same links, from the kept lists
    assert related_slugs(again, "vim-vs-emacs") == ["nano-vs-emacs"]

    edited = make_site({"nano-vs-emacs.md": NANO_ALONE})
    assert related_slugs(edited, "vim-vs-emacs") == []
    assert related_slugs(edited, "nano-vs-emacs") == []


def test_a_byte_changed_in_the_kept_lists_is_never_read_back_as_other_links(
    tmp_path: Path,
) -> None:
    # A flipped bit in a kept position is still a valid position (marshal has no checksum):
    # it must not turn into another page's related links.
    candidates = pages()
    built = RelatedIndex(candidates, per_key=8)
    path = tmp_path / related_file.FILE_NAME
    related_file.write(path, candidates, built, per_key=8)
    kept = path.read_bytes()
    for offset in range(len(kept) - 400, len(kept)):
        damaged = bytearray(kept)
        damaged[offset] ^= 1
        path.write_bytes(bytes(damaged))
        read = related_file.read(path, candidates, per_key=8)
        if read is not None:
            for page in candidates:
                assert slugs(read.related(page)) == slugs(built.related(page)), offset
