"""Live preview copies the shared search index file only for edits it patches into it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from app.search.index import SearchIndex
from app.settings import Settings
from app.site import Site
from tests.conftest import GOOD


def copied(index: SearchIndex) -> bool:
    """Whether the index was copied to a writable file, once any copy under way is done."""
    for thread in threading.enumerate():
        if thread.name == "search-copy":
            thread.join()
    return index.writable


def test_only_an_edit_patched_in_place_copies_the_search_index_file(
    settings: Settings, write_content: Callable[[str, str], Path]
) -> None:
    vim = write_content("vim-vs-emacs.md", GOOD)
    nano = write_content("nano-vs-emacs.md", GOOD.replace("Vim", "Nano").replace("vim", "nano"))
    site = Site(settings)
    site.load()
    kept = site.search_index()
    assert not kept.writable  # the shared file, opened read-only

    # A file that stops parsing: the next search builds a new index, so nothing is copied.
    nano.write_text(nano.read_text().replace("pick: Nano", "pick: Nobody"), encoding="utf-8")
    site.reload_files([nano])
    assert not copied(kept)

    # A title edit is patched into the index of this version: its copy is made now.
    index = site.search_index()
    assert index is not kept and not index.writable
    vim.write_text(GOOD.replace("title: Vim vs Emacs", "title: Vim vs Emacs again"))
    site.reload_files([vim])
    assert copied(index)
    found = site.search_index().search("again", now=site.now()).hits
    assert [hit.slug for hit in found] == ["vim-vs-emacs"]
